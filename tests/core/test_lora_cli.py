"""`nook lora ...`, `--lora` and `/lora` as a user runs them: real processes, the real model, real files."""

from __future__ import annotations

import json
from functools import partial

import pytest

from engine.chat.history import HistoryStore
from engine.models.gguf import read_gguf
from tests.support.cli import run_nook
from tests.support.lora_helpers import peft_folder, peft_modules, random_adapter

pytestmark = pytest.mark.slow


nook = partial(run_nook, timeout=180)


@pytest.fixture(scope="module")
def files(tmp_path_factory, smollm2_path):
    folder = tmp_path_factory.mktemp("lora-files")
    info = read_gguf(smollm2_path)
    bigger = {"blk.0.attn_q.weight": (640, 640)}
    return {
        "strong": random_adapter(folder / "strong.gguf", info, seed=7, std=0.4),
        "bigger": random_adapter(folder / "bigger.gguf", bigger, seed=8),
        "peft": peft_folder(folder / "my-peft", peft_modules(info, rank=4, std=0.5, layers=tuple(range(30)))),
    }


def test_add_list_info_remove(files):
    added = nook("lora", "add", str(files["strong"]), "--name", "strong")
    assert added.returncode == 0, added.stderr
    assert "Added strong: rank 8, alpha 8, llama" in added.stdout and "It fits smollm2-135m-instruct" in added.stdout
    listed = nook("lora", "list")
    assert "strong" in listed.stdout and "attn_k,attn_output" in listed.stdout
    info = json.loads(nook("lora", "info", "strong").stdout)
    assert info["adapter"]["rank"] == 8 and info["fits"] == {"model": "smollm2-135m-instruct", "ok": True}
    assert nook("lora", "remove", "strong").returncode == 0
    assert json.loads(nook("lora", "list", "--json").stdout) == []


def test_bad_adapters_get_a_message(files, smollm2_path, tmp_path):
    not_adapter = nook("lora", "add", str(smollm2_path))
    assert not_adapter.returncode == 2 and "is a model, not a LoRA adapter" in not_adapter.stderr
    junk = tmp_path / "junk.gguf"
    junk.write_text("hello")
    assert "not a GGUF" in nook("lora", "add", str(junk)).stderr
    added = nook("lora", "add", str(files["bigger"]), "--name", "bigger")
    assert added.returncode == 0 and "does not fit smollm2-135m-instruct" in added.stderr
    info = json.loads(nook("lora", "info", "bigger").stdout)
    assert info["fits"]["ok"] is False and "another size" in info["fits"]["reason"]
    asked = nook("ask", "What is the capital of France?", "--lora", "bigger", "--max-tokens", "10")
    assert asked.returncode == 2 and "made for a model of another size" in asked.stderr
    unknown = nook("ask", "Hi", "--lora", "nothing-here")
    assert unknown.returncode == 2 and "No LoRA adapter called 'nothing-here'" in unknown.stderr
    scale = nook("ask", "Hi", "--lora", "bigger:3")
    assert scale.returncode == 2 and "from 0 to 2" in scale.stderr


def test_convert_a_peft_folder_and_refuse_an_unsupported_one(files, tmp_path):
    converted = nook("lora", "convert", str(files["peft"]))
    assert converted.returncode == 0, converted.stderr
    assert "210 tensor pairs, rank 4" in converted.stdout and "Registered as my-peft" in converted.stdout
    listed = json.loads(nook("lora", "list", "--json").stdout)
    assert [(e["name"], e["source"]) for e in listed] == [("my-peft", "converted")]
    config = json.loads((files["peft"] / "adapter_config.json").read_text())
    strange = tmp_path / "strange"
    strange.mkdir()
    (strange / "adapter_config.json").write_text(json.dumps({**config, "use_dora": True}))
    (strange / "adapter_model.safetensors").write_bytes((files["peft"] / "adapter_model.safetensors").read_bytes())
    refused = nook("lora", "convert", str(strange))
    assert refused.returncode == 2 and "DoRA" in refused.stderr
    removed = nook("lora", "remove", "my-peft", "--delete-file")
    assert removed.returncode == 0 and not any(p.suffix == ".gguf" for p in (tmp_path.parent).rglob("my-peft.gguf"))


def test_ask_with_lora_changes_the_answer_and_remembers_it(files):
    nook("lora", "add", str(files["strong"]), "--name", "strong")
    base = json.loads(nook("ask", "What is the capital of France?", "--json", "--temperature", "0",
                           "--max-tokens", "20").stdout)
    styled = nook("ask", "What is the capital of France?", "--json", "--temperature", "0", "--max-tokens", "20",
                  "--lora", "strong:0.8")
    assert styled.returncode == 0, styled.stderr
    data = json.loads(styled.stdout)
    assert "Paris" in base["answer"] and data["answer"] != base["answer"]
    assert data["lora"] == [{"name": "strong", "scale": 0.8}]
    store = HistoryStore()
    assert store.get_conversation(data["conversation_id"]).extra["lora"] == [{"name": "strong", "scale": 0.8}]
    store.close()


def test_chat_switches_adapters_mid_conversation(files):
    nook("lora", "add", str(files["strong"]), "--name", "strong")
    script = "\n".join([
        "/params temperature=0 max_tokens=16 repeat_penalty=1.0",
        "What is the capital of France?",
        "/lora strong",
        "/regen",
        "/lora",
        "/lora off",
        "/regen",
        "/lora nothing-here",
        "/quit",
    ]) + "\n"
    result = nook("chat", input=script)
    assert result.returncode == 0, result.stderr
    store = HistoryStore()
    replies = store.db.query("SELECT content, extra FROM messages WHERE role = 'assistant' ORDER BY id")
    store.close()
    (base, _), (styled, styled_extra), (base_again, again_extra) = [(r["content"], json.loads(r["extra"] or "{}"))
                                                                      for r in replies]
    assert "Paris" in base and styled != base and base_again == base
    assert styled_extra["lora"] == [{"name": "strong", "scale": 1.0}] and "lora" not in again_extra
    assert "[adapters: strong×1]" in result.stderr and "[adapters on: strong×1; installed: strong]" in result.stderr
    assert "[adapters: none]" in result.stderr and "No LoRA adapter called 'nothing-here'" in result.stderr
