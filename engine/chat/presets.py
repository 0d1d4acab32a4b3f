"""Prompt presets: a system prompt, optional few-shot examples and sampling defaults.

Shipped presets live in ``resources/presets``; the user's own in ``<data dir>/presets`` and
win over shipped ones with the same name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import PresetError
from engine.paths import data_dir, resources_dir

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass
class Preset:
    name: str
    title: str
    system: str
    few_shot: list[dict[str, str]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    title_zh: str = ""
    builtin: bool = True
    output: str = ""  # "json": every reply is one JSON object, enforced by a grammar (engine.structured)

    def messages(self) -> list[dict]:
        """The system prompt and the few-shot turns, ready to go before the conversation."""
        out = [{"role": "system", "content": self.system}] if self.system else []
        for example in self.few_shot:
            out.append({"role": "user", "content": example["user"]})
            out.append({"role": "assistant", "content": example["assistant"]})
        return out

    def sampling_params(self) -> dict[str, Any]:
        """The sampling parameters choosing this preset sets: its own, and the output grammar.

        A JSON preset brings the JSON-object grammar; any other takes a JSON preset's grammar away again.
        """
        from engine.structured import json_object_grammar

        return {**self.params, "grammar": json_object_grammar() if self.output == "json" else None,
                "json_schema": None}

    def as_dict(self) -> dict:
        data = {"name": self.name, "title": self.title, "title_zh": self.title_zh, "description": self.description,
                "system": self.system, "few_shot": self.few_shot, "params": self.params}
        if self.output:
            data["output"] = self.output
        return data


def user_presets_dir() -> Path:
    path = data_dir() / "presets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _load(path: Path, builtin: bool) -> Preset:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        few_shot = data.get("few_shot", [])
        if not all(isinstance(x, dict) and {"user", "assistant"} <= set(x) for x in few_shot):
            raise ValueError("each few_shot item needs 'user' and 'assistant'")
        return Preset(
            name=data.get("name") or path.stem, title=data.get("title") or path.stem, system=data.get("system", ""),
            few_shot=few_shot, params=data.get("params", {}), description=data.get("description", ""),
            title_zh=data.get("title_zh", ""), builtin=builtin, output=_output(data.get("output", "")),
        )
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        raise PresetError(f"The preset file {path} is not valid ({exc}); fix or delete it.") from exc


def _output(value) -> str:
    if value not in ("", "json"):
        raise ValueError(f"'output' must be \"json\" or absent, not {value!r}")
    return value


def list_presets() -> list[Preset]:
    """All presets, shipped and the user's; a broken user file is skipped, not fatal."""
    found: dict[str, Preset] = {}
    for folder, builtin in ((resources_dir() / "presets", True), (user_presets_dir(), False)):
        for path in sorted(folder.glob("*.json")):
            try:
                preset = _load(path, builtin)
            except PresetError:
                continue
            found[preset.name] = preset
    return sorted(found.values(), key=lambda p: (not p.builtin, p.name))


def get_preset(name: str) -> Preset:
    for preset in list_presets():
        if preset.name == name:
            return preset
    names = ", ".join(p.name for p in list_presets())
    raise PresetError(f"No preset called {name!r}; available: {names}.")


def save_user_preset(name: str, system: str, *, title: str | None = None, few_shot: list | None = None,
                     params: dict | None = None, description: str = "") -> Preset:
    if not _NAME.match(name):
        raise PresetError("A preset name uses lowercase letters, digits, '-', '_' or '.', up to 64 characters.")
    preset = Preset(name=name, title=title or name, system=system, few_shot=few_shot or [],
                    params=params or {}, description=description, builtin=False)
    path = user_presets_dir() / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(preset.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)
    return preset


def delete_user_preset(name: str) -> None:
    path = user_presets_dir() / f"{name}.json"
    if not path.exists():
        raise PresetError(f"No user preset called {name!r} (shipped presets cannot be deleted).")
    path.unlink()
