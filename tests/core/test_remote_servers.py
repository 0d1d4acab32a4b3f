"""Remote servers kept as models, through the real `nook` command: add-remote, list (with each server's models,
an unreachable one shown as such), ask and chat by name, a refused key, remove. The server is a real
`nook serve` (its own data folder, the real SmolLM2 in its engine process, API key on).
"""

from __future__ import annotations

import json
import re

import pytest

from engine.chat.history import HistoryStore
from engine.errors import ModelError, ModelNotFoundError
from engine.models.registry import ModelRegistry
from tests.support.cli import run_nook as nook
from tests.support.keyring_standin import kept, standin_env
from tests.support.serve_helpers import free_port, nook_serve

pytestmark = pytest.mark.slow
KEY = "sk-remote-cli-0123456789"
MODEL = "smollm2-135m-instruct"
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}  # as on a machine without one


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("remote-servers-home")
    with nook_serve(home, "--ctx", "2048", "--threads", "1", api_key=KEY) as (url, _proc):
        yield url


def test_add_list_ask_and_remove_a_server(server, data_home):
    added = nook("models", "add-remote", "office", server, env={"INGLENOOK_REMOTE_KEY": KEY})
    assert added.returncode == 0, added.stderr
    assert f"Added office: {server}" in added.stdout and f"models: {MODEL}" in added.stdout

    listed = nook("models", "list", env={"INGLENOOK_REMOTE_KEY": KEY})
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.startswith("office"))
    assert "remote" in line and server in line and MODEL in line
    assert any(line.startswith(MODEL) for line in listed.stdout.splitlines())  # the local models are still there

    as_json = json.loads(nook("models", "list", "--json", env={"INGLENOOK_REMOTE_KEY": KEY}).stdout)
    office = next(item for item in as_json if item["name"] == "office")
    assert office["source"] == "remote" and office["url"] == server and office["state"] == "reachable"
    assert office["models"][0] == MODEL

    asked = nook("ask", "--model", "office", "What is the capital of France?", "--json", "--temperature", "0",
                 "--max-tokens", "12", env={"INGLENOOK_REMOTE_KEY": KEY})
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["model"] == "office" and answer["answer"].strip() and answer["finish_reason"] in ("stop", "length")
    store = HistoryStore()
    try:  # the conversation is kept under the server's name, like any model's
        conversation = store.get_conversation(answer["conversation_id"])
        assert conversation.model == "office"
    finally:
        store.close()

    chatted = nook("chat", "--model", "office", "--max-tokens", "6", "--temperature", "0", input="Say hello.\n/quit\n",
                   env={"INGLENOOK_REMOTE_KEY": KEY})
    assert chatted.returncode == 0, chatted.stderr
    counted = re.search(r"\[(\d+) tokens, ", chatted.stderr)  # the model may stop before the limit on another CPU
    assert counted and 1 <= int(counted.group(1)) <= 6 and server in chatted.stderr, chatted.stderr
    assert chatted.stdout.replace("you>", "").strip()  # the reply was printed

    removed = nook("models", "remove", "office")
    assert removed.returncode == 0 and "Removed office" in removed.stdout
    assert "office" not in nook("models", "list").stdout
    gone = nook("ask", "--model", "office", "hi")
    assert gone.returncode == 2 and "No model called 'office'" in gone.stderr


def test_a_refused_key_and_an_unreachable_server_are_listed_not_fatal(server, data_home):
    assert nook("models", "add-remote", "keyless", server).returncode == 0
    dead = f"http://127.0.0.1:{free_port()}/v1"
    assert nook("models", "add-remote", "gone", dead).returncode == 0

    listed = nook("models", "list", env={"INGLENOOK_REMOTE_KEY": ""})
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines() if line.strip()}
    assert "refused:" in lines["keyless"] and "refused the API key (401" in lines["keyless"]
    assert "INGLENOOK_REMOTE_KEY" in lines["keyless"]  # what to do
    assert "unreachable:" in lines["gone"] and "Cannot reach" in lines["gone"]

    asked = nook("ask", "--model", "keyless", "hi", "--max-tokens", "4", env={"INGLENOOK_REMOTE_KEY": ""})
    assert asked.returncode == 2 and "refused the API key" in asked.stderr
    asked = nook("ask", "--model", "gone", "hi", "--max-tokens", "4")
    assert asked.returncode == 2 and "Cannot reach" in asked.stderr and "Is the server running" in asked.stderr


def test_a_key_is_never_written_without_a_keyring(server, data_home):
    """Without an OS keyring --api-key-stdin is refused, nothing is added, nothing is written."""
    refused = nook("models", "add-remote", "secret", server, "--api-key-stdin", input=KEY + "\n", env=NO_KEYRING)
    assert refused.returncode == 2 and "no working OS keyring" in refused.stderr
    assert "secret" not in nook("models", "list").stdout
    db = data_home / "inglenook.db"
    assert not db.exists() or KEY.encode() not in db.read_bytes()
    empty = nook("models", "add-remote", "secret", server, "--api-key-stdin", input="\n", env=NO_KEYRING)
    assert empty.returncode == 2 and "held no key" in empty.stderr


def test_a_key_kept_in_the_os_keyring_is_used_and_forgotten(server, data_home, tmp_path):
    """With a keyring (a stand-in: none runs here) the key goes there, never into the database, and the
    server is asked with it without INGLENOOK_REMOTE_KEY; removing the server forgets the key."""
    secrets = tmp_path / "keyring.json"
    env = {**standin_env(secrets), "INGLENOOK_REMOTE_KEY": ""}
    added = nook("models", "add-remote", "vault", server, "--api-key-stdin", input=KEY + "\n", env=env)
    assert added.returncode == 0, added.stderr
    assert "its key is in the OS keyring" in added.stdout and f"models: {MODEL}" in added.stdout
    assert KEY in json.dumps(kept(secrets))
    assert KEY.encode() not in (data_home / "inglenook.db").read_bytes()

    asked = nook("ask", "--model", "vault", "Say hi.", "--max-tokens", "4", "--json", env=env)
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["model"] == "vault"

    assert nook("models", "remove", "vault", env=env).returncode == 0
    assert KEY not in json.dumps(kept(secrets))
    refused = nook("ask", "--model", f"remote:{server}", "hi", "--max-tokens", "4", env=env)
    assert refused.returncode == 2 and "refused the API key" in refused.stderr


def test_the_store_checks_names_and_urls(data_home):
    store = HistoryStore()
    try:
        registry = ModelRegistry(store.db)
        with pytest.raises(ModelError, match="not a server address"):
            registry.add_remote("bad", "ftp://example.org")
        with pytest.raises(ModelError, match="cannot be a name"):
            registry.add_remote("two words", "http://127.0.0.1:8080/v1")
        with pytest.raises(ModelError, match="exists already"):
            registry.add_remote(MODEL, "http://127.0.0.1:8080/v1")  # the bundled model's name
        entry = registry.add_remote("pinned", "remote:http://127.0.0.1:8080/v1/#other-model")
        assert entry.url == "http://127.0.0.1:8080/v1#other-model" and entry.target == "remote:" + entry.url
        with pytest.raises(ModelError, match="remote server"):
            registry.update_settings("pinned", n_ctx=1024)
        assert [e.name for e in registry.list("chat") if e.is_remote] == ["pinned"]
        assert registry.remove("pinned").is_remote
        with pytest.raises(ModelNotFoundError):
            registry.get("pinned")
    finally:
        store.close()
