"""engine.models.hub against HubStandIn, a real local HTTP server standing in for the Hugging Face Hub
(the real Hub cannot be reached from here). The real huggingface_hub client and the real httpx
downloader are what run; only the server is a stand-in."""

from __future__ import annotations

import filecmp
import hashlib
import random
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import DownloadCancelled, DownloadError, OfflineError
from engine.models.hub import (
    DEFAULT_ENDPOINT,
    DownloadProgress,
    HubClient,
    HubFile,
    resolve_endpoint,
)
from tests.support.hub_standin import HubStandIn
from tests.support.small_disk import mounted_tmpfs

REPO = "inglenook-test/SmolLM2-135M-Instruct-GGUF"
SMOL = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMALL = "tiny-test.Q8_0.gguf"
MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def no_hub_login(monkeypatch, tmp_path):
    """Keep the developer's own Hub login, endpoint and offline settings out of these tests."""
    import huggingface_hub.constants as hf_constants

    for name in (
        "HF_OIDC_RESOURCE",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_ENDPOINT",
        "INGLENOOK_HF_ENDPOINT",
        "HF_HUB_OFFLINE",
        "INGLENOOK_OFFLINE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)  # read once, when huggingface_hub is imported


@pytest.fixture
def hub() -> Iterator[HubStandIn]:
    with HubStandIn() as standin:
        yield standin


@pytest.fixture(scope="session")
def small_file(tmp_path_factory) -> Path:
    """4 MiB of reproducible bytes that start like a GGUF; for tests where the size doesn't matter."""
    path = tmp_path_factory.mktemp("small") / SMALL
    path.write_bytes(b"GGUF" + random.Random(1234).randbytes(4 * MiB - 4))
    return path


@pytest.fixture(scope="session")
def smollm2_sha256(smollm2_path) -> str:
    return hashlib.sha256(smollm2_path.read_bytes()).hexdigest()


def client_for(hub: HubStandIn, **kwargs) -> HubClient:
    return HubClient(endpoint=hub.endpoint, timeout=10.0, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------- endpoint


def test_resolve_endpoint_order(monkeypatch):
    assert resolve_endpoint() == DEFAULT_ENDPOINT == "https://huggingface.co"
    monkeypatch.setenv("HF_ENDPOINT", "https://hf-mirror.com/")
    assert resolve_endpoint() == "https://hf-mirror.com"
    monkeypatch.setenv("INGLENOOK_HF_ENDPOINT", "http://127.0.0.1:9")
    assert resolve_endpoint() == "http://127.0.0.1:9"
    assert resolve_endpoint("hf-mirror.com") == "https://hf-mirror.com"
    assert HubClient().endpoint == "http://127.0.0.1:9"


# ---------------------------------------------------------------------------- listing


def test_list_gguf_files_with_sizes_and_hashes(hub, smollm2_path, smollm2_sha256, small_file, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# a model card\n")
    hub.add_file(REPO, SMOL, smollm2_path)
    hub.add_file(REPO, "README.md", readme, lfs=False)
    hub.add_file(REPO, "Q8_0/split-00001-of-00002.gguf", small_file)
    hub.add_file(REPO, "Q8_0/split-00002-of-00002.gguf", small_file)

    files = client_for(hub).list_gguf_files(REPO)

    small_sha = hashlib.sha256(small_file.read_bytes()).hexdigest()
    assert files == [
        HubFile(REPO, "Q8_0/split-00001-of-00002.gguf", 4 * MiB, small_sha),
        HubFile(REPO, "Q8_0/split-00002-of-00002.gguf", 4 * MiB, small_sha),
        HubFile(REPO, SMOL, smollm2_path.stat().st_size, smollm2_sha256),
    ]
    assert hub.count("GET", f"/api/models/{REPO}/revision/main") == 1


def test_list_uses_hf_endpoint_from_the_environment(hub, small_file, monkeypatch, tmp_path):
    hub.add_file(REPO, SMALL, small_file)
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    client = HubClient()
    assert client.endpoint == hub.endpoint
    assert [f.filename for f in client.list_gguf_files(REPO)] == [SMALL]
    path = client.download(REPO, SMALL, tmp_path)
    assert filecmp.cmp(path, small_file, shallow=False)


def test_standin_speaks_the_model_info_api(hub, small_file):
    """huggingface_hub's own model_info parses what the stand-in serves (fidelity check)."""
    from huggingface_hub import HfApi

    served = hub.add_file(REPO, SMALL, small_file)
    api = HfApi(endpoint=hub.endpoint)
    info = api.model_info(REPO, files_metadata=True)
    assert info.id == REPO
    assert info.sha == HubStandIn.COMMIT
    (sibling,) = info.siblings
    assert sibling.rfilename == SMALL
    assert sibling.size == 4 * MiB
    assert sibling.lfs is not None and sibling.lfs.sha256 == served.sha256
    assert api.model_info(REPO, revision=HubStandIn.COMMIT).sha == HubStandIn.COMMIT


def test_standin_speaks_the_tree_api_with_pagination(hub, small_file, tmp_path):
    """huggingface_hub's list_repo_tree follows the stand-in's Link pagination (fidelity check)."""
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile, RepoFolder

    readme = tmp_path / "README.md"
    readme.write_text("# a model card\n")
    hub.add_file(REPO, "README.md", readme, lfs=False)
    hub.add_file(REPO, SMALL, small_file)
    hub.add_file(REPO, "Q8_0/split-00001-of-00002.gguf", small_file)
    hub.add_file(REPO, "Q8_0/split-00002-of-00002.gguf", small_file)
    hub.tree_page_size = 2
    api = HfApi(endpoint=hub.endpoint)

    entries = list(api.list_repo_tree(REPO, recursive=True))
    assert [(type(e).__name__, e.path) for e in entries] == [
        ("RepoFolder", "Q8_0"),
        ("RepoFile", "Q8_0/split-00001-of-00002.gguf"),
        ("RepoFile", "Q8_0/split-00002-of-00002.gguf"),
        ("RepoFile", "README.md"),
        ("RepoFile", SMALL),
    ]
    assert hub.count("GET", "/tree/main") == 3
    small = entries[-1]
    assert isinstance(small, RepoFile) and small.size == 4 * MiB
    assert small.lfs is not None and small.lfs.sha256 == hashlib.sha256(small_file.read_bytes()).hexdigest()
    assert entries[3].lfs is None

    top = list(api.list_repo_tree(REPO))
    assert [e.path for e in top] == ["Q8_0", "README.md", SMALL]
    assert isinstance(top[0], RepoFolder)


# ---------------------------------------------------------------------------- downloading


def test_full_download_is_identical_and_reports_progress(hub, smollm2_path, tmp_path):
    hub.add_file(REPO, SMOL, smollm2_path)
    events: list[DownloadProgress] = []

    path = client_for(hub).download(REPO, SMOL, tmp_path / "models", progress=events.append)

    assert path == tmp_path / "models" / SMOL
    assert filecmp.cmp(path, smollm2_path, shallow=False)
    assert not (tmp_path / "models" / (SMOL + ".part")).exists()
    total = smollm2_path.stat().st_size
    assert events, "no progress was reported"
    assert all(e.total == total and e.resumed_from == 0 and e.filename == SMOL for e in events)
    done = [e.downloaded for e in events]
    assert done == sorted(done)
    assert done[-1] == total
    assert events[-1].bytes_per_s > 0
    (get,) = hub.file_gets()
    assert get.range is None


def test_interrupted_download_resumes_from_the_part(hub, smollm2_path, tmp_path):
    hub.add_file(REPO, SMOL, smollm2_path)
    hub.drop_after, hub.drops_left = 40 * MiB, 1
    client = client_for(hub, retries=0)

    with pytest.raises(DownloadError) as failed:
        client.download(REPO, SMOL, tmp_path)
    assert not isinstance(failed.value, DownloadCancelled)
    assert "run the same download again to resume" in str(failed.value)
    part = tmp_path / (SMOL + ".part")
    have = part.stat().st_size
    assert 0 < have <= 40 * MiB
    assert not (tmp_path / SMOL).exists()

    events: list[DownloadProgress] = []
    path = client.download(REPO, SMOL, tmp_path, progress=events.append)

    assert hub.file_gets()[-1].range == f"bytes={have}-"
    assert hub.file_gets()[-1].status == 206
    assert events[0].resumed_from == have and events[0].downloaded == have
    assert events[-1].downloaded == smollm2_path.stat().st_size
    assert filecmp.cmp(path, smollm2_path, shallow=False)
    assert not part.exists()


def test_dropped_connections_are_resumed_within_one_call(hub, small_file, tmp_path):
    hub.add_file(REPO, SMALL, small_file)
    hub.drop_after, hub.drops_left = 1 * MiB, 2

    path = client_for(hub).download(REPO, SMALL, tmp_path)

    assert [g.range for g in hub.file_gets()] == [None, f"bytes={MiB}-", f"bytes={2 * MiB}-"]
    assert filecmp.cmp(path, small_file, shallow=False)


def test_cancel_keeps_the_part_and_a_later_download_resumes(hub, small_file, tmp_path):
    hub.add_file(REPO, SMALL, small_file)
    hub.delay_per_chunk = 0.05  # 16 chunks of 256 KiB: the transfer takes about a second
    cancel = threading.Event()

    def on_progress(p: DownloadProgress) -> None:
        if p.downloaded >= MiB:
            cancel.set()

    with pytest.raises(DownloadCancelled) as cancelled:
        client_for(hub).download(REPO, SMALL, tmp_path, progress=on_progress, cancel=cancel)
    assert "is kept" in str(cancelled.value)
    part = tmp_path / (SMALL + ".part")
    have = part.stat().st_size
    assert MiB <= have < 4 * MiB
    assert not (tmp_path / SMALL).exists()

    hub.delay_per_chunk = 0.0
    path = client_for(hub).download(REPO, SMALL, tmp_path)
    assert hub.file_gets()[-1].range == f"bytes={have}-"
    assert filecmp.cmp(path, small_file, shallow=False)


def test_cancel_before_start_fetches_nothing(hub, small_file, tmp_path):
    hub.add_file(REPO, SMALL, small_file)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DownloadCancelled):
        client_for(hub).download(REPO, SMALL, tmp_path, cancel=cancel)
    assert hub.file_gets() == []


def test_server_that_ignores_range_still_ends_correct(hub, small_file, tmp_path):
    hub.add_file(REPO, SMALL, small_file)
    hub.ignore_range = True
    (tmp_path / (SMALL + ".part")).write_bytes(small_file.read_bytes()[:MiB])
    events: list[DownloadProgress] = []

    path = client_for(hub).download(REPO, SMALL, tmp_path, progress=events.append)

    (get,) = hub.file_gets()
    assert get.range == f"bytes={MiB}-" and get.status == 200
    assert events[-1].resumed_from == 0
    assert filecmp.cmp(path, small_file, shallow=False)


def test_download_when_the_server_announces_no_size(hub, small_file, tmp_path):
    hub.add_file(REPO, SMALL, small_file)
    hub.hide_size = True  # chunked transfer, no X-Linked-Size: the SHA-256 is still checked
    events: list[DownloadProgress] = []
    path = client_for(hub).download(REPO, SMALL, tmp_path, progress=events.append)
    assert filecmp.cmp(path, small_file, shallow=False)
    assert all(e.total is None for e in events) and events[-1].downloaded == 4 * MiB


def test_stale_part_larger_than_the_file_is_replaced(hub, small_file, tmp_path):
    hub.add_file(REPO, SMALL, small_file)
    (tmp_path / (SMALL + ".part")).write_bytes(b"x" * (5 * MiB))
    path = client_for(hub).download(REPO, SMALL, tmp_path)
    assert [g.range for g in hub.file_gets()] == [None]
    assert filecmp.cmp(path, small_file, shallow=False)


def test_wrong_bytes_fail_the_hash_check_and_are_deleted(hub, small_file, tmp_path):
    hub.add_file(REPO, SMALL, small_file)
    hub.corrupt = True
    with pytest.raises(DownloadError, match="download it again") as failed:
        client_for(hub).download(REPO, SMALL, tmp_path)
    assert "SHA-256" in str(failed.value)
    assert not (tmp_path / SMALL).exists()
    assert not (tmp_path / (SMALL + ".part")).exists()


def test_expected_sha256_that_disagrees_with_the_hub_fails_before_downloading(hub, small_file, tmp_path):
    hub.add_file(REPO, SMALL, small_file)
    with pytest.raises(DownloadError, match="expected hash is wrong"):
        client_for(hub).download(REPO, SMALL, tmp_path, expected_sha256="0" * 64)
    assert hub.file_gets() == []


def test_expected_sha256_checks_a_small_non_lfs_file(hub, tmp_path):
    """Small git files have a SHA-1 ETag, so only the caller's hash can check them."""
    source = tmp_path / "src" / "config.json"
    source.parent.mkdir()
    source.write_text('{"ok": true}\n')
    hub.add_file(REPO, "config.json", source, lfs=False)
    good = hashlib.sha256(source.read_bytes()).hexdigest()
    path = client_for(hub).download(REPO, "config.json", tmp_path / "a", expected_sha256=good)
    assert path.read_bytes() == source.read_bytes()
    with pytest.raises(DownloadError, match="download it again"):
        client_for(hub).download(REPO, "config.json", tmp_path / "b", expected_sha256="f" * 64)
    assert not (tmp_path / "b" / "config.json").exists()


def test_existing_complete_file_is_not_downloaded_again(hub, small_file, tmp_path):
    hub.add_file(REPO, SMALL, small_file)
    client = client_for(hub)
    first = client.download(REPO, SMALL, tmp_path)
    second = client.download(REPO, SMALL, tmp_path)
    assert first == second
    assert len(hub.file_gets()) == 1


def test_file_in_a_subfolder_lands_in_the_same_subfolder(hub, small_file, tmp_path):
    hub.add_file(REPO, "Q8_0/split-00001-of-00002.gguf", small_file)
    path = client_for(hub).download(REPO, "Q8_0/split-00001-of-00002.gguf", tmp_path)
    assert path == tmp_path / "Q8_0" / "split-00001-of-00002.gguf"
    assert filecmp.cmp(path, small_file, shallow=False)


@pytest.mark.parametrize("name", ["../escape.gguf", "/etc/passwd", "a/../../b.gguf", ""])
def test_file_names_that_leave_the_folder_are_refused(hub, name, tmp_path):
    hub.add_repo(REPO)
    with pytest.raises(DownloadError, match="not a valid file name"):
        client_for(hub).download(REPO, name, tmp_path / "models")
    assert hub.requests == []


# ---------------------------------------------------------------------------- errors


def test_missing_file_lists_the_gguf_files_that_exist(hub, smollm2_path, small_file, tmp_path):
    hub.add_file(REPO, SMOL, smollm2_path)
    hub.add_file(REPO, SMALL, small_file)
    with pytest.raises(DownloadError) as failed:
        client_for(hub).download(REPO, "SmolLM2-135M-Instruct.Q9_9.gguf", tmp_path)
    message = str(failed.value)
    assert not isinstance(failed.value, OfflineError)
    assert "has no file 'SmolLM2-135M-Instruct.Q9_9.gguf'" in message
    assert SMOL in message and SMALL in message
    assert list(tmp_path.iterdir()) == []


def test_missing_file_in_a_repo_without_ggufs(hub, tmp_path):
    hub.add_repo(REPO)
    with pytest.raises(DownloadError, match="no GGUF files at all"):
        client_for(hub).download(REPO, SMOL, tmp_path)


@pytest.mark.parametrize("status", [404, 401])  # the real Hub answers 401 to anonymous callers
def test_missing_repo(hub, status, tmp_path):
    hub.missing_repo_status = status
    client = client_for(hub)
    with pytest.raises(DownloadError, match="No repository nobody/nothing-GGUF") as failed:
        client.download("nobody/nothing-GGUF", SMOL, tmp_path)
    assert not isinstance(failed.value, OfflineError)
    with pytest.raises(DownloadError, match="No repository nobody/nothing-GGUF"):
        client.list_gguf_files("nobody/nothing-GGUF")


def test_missing_revision(hub, small_file, tmp_path):
    hub.add_file(REPO, SMALL, small_file)
    with pytest.raises(DownloadError, match="no revision 'v9'"):
        client_for(hub).download(REPO, SMALL, tmp_path, revision="v9")
    with pytest.raises(DownloadError, match="no revision 'v9'"):
        client_for(hub).list_gguf_files(REPO, revision="v9")


@pytest.mark.parametrize("variable", ["HF_HUB_OFFLINE", "INGLENOOK_OFFLINE"])
def test_offline_mode_fails_at_once(hub, small_file, monkeypatch, variable, tmp_path):
    hub.add_file(REPO, SMALL, small_file)
    monkeypatch.setenv(variable, "1")
    client = client_for(hub)
    with pytest.raises(OfflineError, match="nook models add PATH") as failed:
        client.download(REPO, SMALL, tmp_path)
    assert f"({variable}=1)" in str(failed.value) and f"Unset {variable} to download" in str(failed.value)
    with pytest.raises(OfflineError):
        client.list_gguf_files(REPO)
    assert hub.requests == []


def test_nothing_listening_is_offline_error_naming_the_endpoint(tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}"
    client = HubClient(endpoint=endpoint, timeout=5.0)
    with pytest.raises(OfflineError) as failed:
        client.download(REPO, SMOL, tmp_path)
    message = str(failed.value)
    assert endpoint in message
    assert "--endpoint https://hf-mirror.com" in message and "HF_ENDPOINT" in message
    with pytest.raises(OfflineError, match="Cannot reach"):
        client.list_gguf_files(REPO)
    assert list(tmp_path.iterdir()) == []


def test_gated_repo_needs_a_token(hub, small_file, tmp_path):
    hub.add_file(REPO, SMALL, small_file)
    hub.required_token = "hf_standin_secret"
    hub.cdn_host = "localhost"  # the file bytes come from another origin, as from the Hub's CDN

    with pytest.raises(DownloadError, match="token") as failed:
        client_for(hub).download(REPO, SMALL, tmp_path)
    assert not isinstance(failed.value, OfflineError)
    assert any(r.status == 401 for r in hub.requests)
    with pytest.raises(DownloadError, match="token"):
        client_for(hub, token="hf_wrong").download(REPO, SMALL, tmp_path)
    assert any(r.status == 403 for r in hub.requests)
    assert hub.file_gets() == []

    path = client_for(hub, token="hf_standin_secret").download(REPO, SMALL, tmp_path)
    assert filecmp.cmp(path, small_file, shallow=False)
    (cdn_get,) = hub.file_gets()
    assert cdn_get.host.startswith("localhost") and cdn_get.authorization is None  # token not leaked
    assert [r.authorization for r in hub.requests if "/resolve/" in r.path][-1] == "Bearer hf_standin_secret"


# ---------------------------------------------------------------------------- disk space


@pytest.fixture
def tiny_disk(tmp_path) -> Iterator[Path]:
    """A real 1 MiB tmpfs, so the disk really fills up. Needs root; skipped elsewhere."""
    with mounted_tmpfs(tmp_path / "tiny", "1m") as mount:
        yield mount


def test_not_enough_space_is_refused_before_downloading(hub, small_file, tiny_disk):
    hub.add_file(REPO, SMALL, small_file)
    with pytest.raises(DownloadError, match="Not enough disk space") as failed:
        client_for(hub).download(REPO, SMALL, tiny_disk)
    assert "4.0 MiB more are needed" in str(failed.value)
    assert hub.file_gets() == []


def test_disk_filling_up_mid_download_keeps_the_part(hub, small_file, tiny_disk):
    hub.add_file(REPO, SMALL, small_file)
    hub.hide_size = True  # no size announced, so the space check cannot see it coming
    with pytest.raises(DownloadError, match="The disk is full") as failed:
        client_for(hub).download(REPO, SMALL, tiny_disk)
    assert "run the same download again to resume" in str(failed.value)
    assert (tiny_disk / (SMALL + ".part")).exists()
    assert not (tiny_disk / SMALL).exists()
