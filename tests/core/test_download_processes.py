"""`nook models download` as processes: killed with SIGKILL half-way, the next run resumes the `.part` file
and finishes; two at once on the same file, the second says so and the first is not disturbed.

A real `nook` process downloads the real SmolLM2 file from ``HubStandIn`` (the local STAND-IN for the
Hugging Face Hub, which cannot be reached from here), slowed down so that it can be killed mid-way.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.support.cli import NOOK
from tests.support.hub_standin import HubStandIn

pytestmark = pytest.mark.slow

REPO = "someone/SmolLM2-GGUF"
FILE = "smol.Q4_1.gguf"
HUB_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "INGLENOOK_HF_ENDPOINT", "HF_HUB_OFFLINE",
           "INGLENOOK_OFFLINE")


def nook_env() -> dict[str, str]:
    """This test's data folder, and none of the developer's own Hub settings."""
    return {k: v for k, v in os.environ.items() if k not in HUB_ENV}


def nook(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*NOOK, *args], capture_output=True, text=True, env=nook_env(), timeout=timeout)


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def hub_models() -> list[dict]:
    listed = nook("models", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return [m for m in json.loads(listed.stdout) if m["source"] == "hub"]


def test_a_download_killed_with_sigkill_resumes_and_ends_verified(smollm2_path, data_home):
    part = data_home / "models" / REPO.replace("/", "__") / (FILE + ".part")
    final = part.with_name(FILE)
    with HubStandIn() as hub:
        hub.add_file(REPO, FILE, smollm2_path)
        hub.delay_per_chunk = 0.05  # 256 KiB every 50 ms: about 20 s for the whole file
        proc = subprocess.Popen([sys.executable, "-m", "desktop_app.cli", "models", "download", REPO, FILE,
                                 "--endpoint", hub.endpoint], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=nook_env())
        try:
            deadline = time.monotonic() + 60
            while not (part.exists() and part.stat().st_size >= 8 << 20):
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "the download did not get going"
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=10) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stderr.close()
        kept = part.stat().st_size
        assert 8 << 20 <= kept < smollm2_path.stat().st_size
        assert not final.exists()
        assert hub_models() == []  # no half entry in the registry

        hub.delay_per_chunk = 0.0
        gets_before = len(hub.file_gets())
        again = nook("models", "download", REPO, FILE, "--endpoint", hub.endpoint)
        assert again.returncode == 0, again.stderr
        assert "verified" in again.stderr
        ranges = [r.range for r in hub.file_gets()[gets_before:]]
    resumed_at = [int(m.group(1)) for r in ranges if r and (m := re.fullmatch(r"bytes=(\d+)-", r))]
    assert resumed_at[:1] == [kept], ranges  # resumed where the killed run stopped, not started over
    assert not part.exists() and sha256_of(final) == sha256_of(smollm2_path)
    (entry,) = hub_models()
    assert entry["repo_id"] == REPO and entry["sha256"] == sha256_of(smollm2_path)
    assert entry["path"] == str(final.resolve())


def test_a_second_process_downloading_the_same_file_is_told_to_wait(smollm2_path, data_home):
    folder = data_home / "models" / REPO.replace("/", "__")
    with HubStandIn() as hub:
        hub.add_file(REPO, FILE, smollm2_path)
        hub.delay_per_chunk = 0.02  # about 8 s for the whole file
        first = subprocess.Popen([sys.executable, "-m", "desktop_app.cli", "models", "download", REPO, FILE,
                                  "--endpoint", hub.endpoint], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True, env=nook_env())
        try:
            deadline = time.monotonic() + 60
            while not (folder / (FILE + ".part")).exists():
                assert first.poll() is None and time.monotonic() < deadline, "the first download did not start"
                time.sleep(0.05)
            second = nook("models", "download", REPO, FILE, "--endpoint", hub.endpoint)
            assert first.poll() is None, "the first download ended before the second one was tried"
            _, first_err = first.communicate(timeout=120)
        finally:
            if first.poll() is None:
                first.kill()
    assert second.returncode == 2
    assert "is already being downloaded by another Inglenook process" in second.stderr
    assert first.returncode == 0 and "verified" in first_err, first_err
    assert sha256_of(folder / FILE) == sha256_of(smollm2_path)
    assert sorted(p.name for p in folder.iterdir()) == [FILE]  # no part, no lock left behind
    assert len(hub_models()) == 1
