"""The `nook` command as a user runs it: real processes, the real bundled model, real files."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from engine.chat.history import HistoryStore
from tests.support.cli import run_nook as nook

pytestmark = pytest.mark.slow


def test_ask_the_capital_of_france():
    result = nook("ask", "What is the capital of France?", "--temperature", "0", "--max-tokens", "40")
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout
    assert "tok/s" in result.stderr


def test_ask_json_is_one_object_and_is_saved():
    result = nook(
        "ask", "What is the capital of France?", "--json", "--temperature", "0", "--max-tokens", "30"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert "Paris" in data["answer"] and data["model"] == "smollm2-135m-instruct"
    assert data["timings"]["completion_tokens"] > 0
    listed = json.loads(nook("sessions", "list", "--json").stdout)
    assert listed[0]["id"] == data["conversation_id"]
    exported = nook("sessions", "export", str(data["conversation_id"]), "--format", "json").stdout
    assert json.loads(exported)["messages"][1]["content"] == data["answer"]


def test_ask_with_preset():
    result = nook("ask", "今天天气很好。", "--preset", "translator-zh-en", "--json", "--max-tokens", "30")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["answer"].strip()


def test_models_list_add_info_remove(tmp_path, smollm2_path):
    listed = nook("models", "list")
    assert "smollm2-135m-instruct" in listed.stdout and "bundled" in listed.stdout
    link = tmp_path / "my-model.gguf"
    os.symlink(smollm2_path, link)
    added = nook("models", "add", str(link), "--name", "mine")
    assert added.returncode == 0, added.stderr
    info = json.loads(nook("models", "info", "mine").stdout)
    assert info["gguf"]["architecture"] == "llama" and info["gguf"]["context_length"] == 8192
    assert info["gpu_plan"]["fit"] in ("cpu-only", "fits", "partial", "none")
    assert nook("models", "remove", "mine").returncode == 0
    assert "mine" not in nook("models", "list").stdout


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "empty"),
        (b"PK\x03\x04" + b"\0" * 100, "not a GGUF"),
        (b"<!DOCTYPE html><html>404</html>" + b" " * 100, "not a GGUF"),
    ],
)
def test_bad_model_files_are_refused_with_a_reason(tmp_path, content, expected):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(content)
    result = nook("models", "add", str(bad))
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    result = nook("ask", "hi", "--model", str(bad))
    assert result.returncode == 2 and expected in result.stderr


def test_missing_model_is_explained(tmp_path):
    result = nook("ask", "hi", "--model", "no-such-model")
    assert result.returncode == 2 and "nook models add" in result.stderr
    result = nook("ask", "hi", "--model", str(tmp_path / "gone.gguf"))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_chat_repl_commands():
    script = (
        "\n".join(
            [
                "/help",
                "/params temperature=0 max_tokens=20",
                "What is the capital of France?",
                "/regen",
                "/preset concise",
                "/save json",
                "/new",
                "/quit",
            ]
        )
        + "\n"
    )
    result = nook("chat", input=script)
    assert result.returncode == 0, result.stderr
    assert "/regen" in result.stdout and "Paris" in result.stdout
    assert '"format": "inglenook.conversation/1"' in result.stdout
    store = HistoryStore()
    conversations = store.list_conversations()
    assert len(conversations) == 2  # the second came from /new
    first = conversations[-1]
    assert first.preset == "concise"
    replies = [m for m in store.db.query("SELECT * FROM messages WHERE role = 'assistant'")]
    assert len(replies) == 2  # answer + regenerated answer


def test_ctrl_c_stops_the_reply_not_the_program():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "desktop_app.cli",
            "chat",
            "--max-tokens",
            "2000",
            "--temperature",
            "0",
            "--repeat-penalty",
            "1.3",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdin.write("Write a very long story about a dragon who learns to cook.\n")
    proc.stdin.flush()
    received = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(received) < 80:
        ready, _, _ = select.select([proc.stdout], [], [], 1)
        if ready:
            received += os.read(proc.stdout.fileno(), 4096).decode(errors="replace")
    assert len(received) >= 80
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    out, err = proc.communicate("/quit\n", timeout=60)
    assert proc.returncode == 0, err
    assert "[stopped]" in err
    reply = HistoryStore().db.query("SELECT status, content FROM messages WHERE role = 'assistant'")[0]
    assert reply["status"] == "stopped" and len(reply["content"]) > 20


def test_presets_and_gpu_commands():
    assert "translator-zh-en" in nook("presets").stdout
    shown = json.loads(nook("presets", "show", "json-output").stdout)
    assert shown["params"]["temperature"] == 0.0
    gpu = json.loads(nook("gpu", "--model", "smollm2-135m-instruct").stdout)
    assert isinstance(gpu["offload_supported"], bool) and gpu["message"]
    assert gpu["plan"]["total_layers"] == 31  # 30 blocks + the output layer


def test_models_download_from_a_hub_mirror_then_chat_with_it(smollm2_path):
    """`nook models download` end to end, against the local stand-in for the Hub (the Hub is unreachable here)."""
    from tests.support.hub_standin import HubStandIn

    with HubStandIn() as hub:
        hub.add_file("someone/SmolLM2-GGUF", "smol.Q4_1.gguf", smollm2_path)
        listed = nook("models", "download", "someone/SmolLM2-GGUF", "--endpoint", hub.endpoint)
        assert listed.returncode == 0, listed.stderr
        assert "smol.Q4_1.gguf" in listed.stdout
        env_endpoint = {**os.environ, "HF_ENDPOINT": hub.endpoint}
        got = subprocess.run([sys.executable, "-m", "desktop_app.cli", "models", "download", "someone/SmolLM2-GGUF",
                              "smol.Q4_1.gguf", "--name", "smol-mirror"], capture_output=True, text=True,
                             env=env_endpoint, timeout=120)
        assert got.returncode == 0, got.stderr
        assert "verified" in got.stderr
    entry = json.loads(nook("models", "info", "smol-mirror").stdout)
    assert entry["source"] == "hub" and entry["repo_id"] == "someone/SmolLM2-GGUF"
    answer = nook("ask", "What is the capital of France?", "--model", "smol-mirror", "--json", "--temperature", "0",
                  "--max-tokens", "20")
    assert "Paris" in json.loads(answer.stdout)["answer"]
    offline = subprocess.run([sys.executable, "-m", "desktop_app.cli", "models", "download", "a/b", "x.gguf"],
                             capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=60)
    assert offline.returncode == 2 and "Offline mode is on" in offline.stderr
