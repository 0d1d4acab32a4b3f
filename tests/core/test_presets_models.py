"""Presets, bundled-model discovery, the model registry and sampling parameters (no model loaded)."""

from __future__ import annotations

import json
import shutil

import pytest

from engine.chat.history import HistoryStore
from engine.chat.presets import (
    delete_user_preset,
    get_preset,
    list_presets,
    save_user_preset,
    user_presets_dir,
)
from engine.errors import InglenookError, ModelError, ModelLoadError, ModelNotFoundError, PresetError
from engine.models.bundled import BUNDLED, find_bundled, installed_bundled, sha256_file
from engine.models.registry import ModelRegistry
from engine.models.templates import CHATML_TEMPLATE, ChatTemplate
from engine.params import SamplingParams


def test_shipped_presets_load_and_user_presets_override():
    names = {p.name for p in list_presets()}
    assert {"concise", "chain-of-thought", "json-output", "translator-zh-en"} <= names
    translator = get_preset("translator-zh-en")
    assert translator.title_zh and translator.few_shot[0]["user"].startswith("今天")
    messages = translator.messages()
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    save_user_preset("concise", "My own concise prompt.")
    assert get_preset("concise").system == "My own concise prompt." and not get_preset("concise").builtin
    delete_user_preset("concise")
    assert get_preset("concise").builtin
    with pytest.raises(PresetError, match="lowercase"):
        save_user_preset("Bad Name!", "x")
    with pytest.raises(PresetError, match="available"):
        get_preset("nope")


def test_a_broken_user_preset_file_is_skipped_not_fatal():
    (user_presets_dir() / "broken.json").write_text("{not json")
    (user_presets_dir() / "fewshot.json").write_text(json.dumps({"system": "s", "few_shot": [{"user": "only"}]}))
    names = {p.name for p in list_presets()}
    assert "broken" not in names and "fewshot" not in names and "concise" in names


def test_bundled_models_are_found_and_verified(tmp_path):
    found = {b.spec.name: b for b in installed_bundled()}
    assert set(found) == {s.name for s in BUNDLED}
    chat = found["smollm2-135m-instruct"]
    assert chat.path.name.endswith(".gguf") and chat.size > 90_000_000
    assert sha256_file(chat.path) == chat.sha256
    with pytest.raises(ModelNotFoundError):
        find_bundled("no-such-model")


def test_registry_add_get_settings_remove(smollm2_path, tmp_path):
    registry = ModelRegistry(HistoryStore().db)
    assert registry.default_chat_model().source == "bundled"
    copy = tmp_path / "copy.gguf"
    shutil.copy(smollm2_path, copy)
    entry = registry.add(copy, name="My Copy")
    assert entry.name == "my-copy" and entry.size == copy.stat().st_size
    with pytest.raises(ModelError, match="exists already"):
        registry.add(copy, name="my-copy")
    registry.update_settings("my-copy", n_ctx=1024, n_gpu_layers="auto")
    assert registry.get("my-copy").settings == {"n_ctx": 1024, "n_gpu_layers": "auto"}
    registry.update_settings("smollm2-135m-instruct", n_ctx=2048)
    assert registry.get("smollm2-135m-instruct").settings["n_ctx"] == 2048
    assert [e.name for e in registry.list()] == ["smollm2-135m-instruct", "my-copy"]
    with pytest.raises(InglenookError, match="Unknown model setting"):
        registry.update_settings("my-copy", bogus=1)
    with pytest.raises(ModelError, match="bundled"):
        registry.remove("smollm2-135m-instruct")
    registry.remove("my-copy")
    assert copy.exists()  # a file added from disk is never deleted
    assert registry.get(str(copy)).path == copy.resolve()  # still usable by path
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"\0" * 64)
    with pytest.raises(ModelLoadError):
        registry.add(bad)


def test_sampling_params_validate_and_update():
    params = SamplingParams().updated(temperature="0.2", max_tokens="64", stop="END")
    assert params.temperature == 0.2 and params.max_tokens == 64 and params.stop == ["END"]
    with pytest.raises(InglenookError, match="temperature"):
        SamplingParams(temperature=9).validate()
    with pytest.raises(InglenookError, match="valid:"):
        SamplingParams().updated(temprature=1)


def test_chatml_fallback_and_sandbox():
    tpl = ChatTemplate.choose(None, None, "", "")
    assert tpl.origin == "chatml" and tpl.source == CHATML_TEMPLATE
    assert tpl.render([{"role": "user", "content": "hi"}]).endswith("<|im_start|>assistant\n")
    hostile = "{{ messages.__class__.__mro__ }}"
    with pytest.raises(ModelLoadError):
        ChatTemplate.choose(hostile, None, "", "")
