"""Configurations to compare: CONFIGS.json is a list of named settings, one per way of answering.

Each object needs only ``name``; missing keys take the defaults below (the app's own defaults: hybrid
retrieval of 5 passages, no rewriting, no adapters, the model's answer). The first configuration is
the baseline every other one is compared against. Unknown keys, duplicate names, retrieval modes,
rewrite modes and presets that do not exist are refused with the valid values.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from knowledge.evaluation.records import EvaluationError

RETRIEVAL_MODES = ("off", "vector", "fulltext", "hybrid")
REWRITE_MODES = ("off", "standalone", "multi", "hyde")
ANSWER_MODES = ("model", "quotes", "none")
MAX_TOKENS_LIMIT = 8192


@dataclass
class EvalConfig:
    name: str
    model: str | None = None          # a model name (`nook models list`); None: the default chat model
    preset: str | None = None
    system_prompt: str | None = None
    collections: list[str] = field(default_factory=list)
    retrieval: str = "hybrid"         # off | vector | fulltext | hybrid
    k: int = 5
    rewrite: str = "off"
    strict: bool = False
    lora: list[dict] = field(default_factory=list)  # [{"name": ..., "scale": 1.0}]
    answer: str = "model"             # model | quotes (support.quote_answer) | none (retrieval only)
    max_tokens: int = 256
    seed: int = 0

    @property
    def uses_documents(self) -> bool:
        return self.retrieval != "off" and bool(self.collections)

    def as_dict(self) -> dict:
        return asdict(self)


CONFIG_KEYS = tuple(f.name for f in fields(EvalConfig))


def load_configs(path: Path | str) -> list[EvalConfig]:
    """Read CONFIGS.json (a JSON list of objects); EvaluationError naming every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EvaluationError(f"There is no configuration file at {path}.") from None
    except UnicodeDecodeError:
        raise EvaluationError(f"{path} is not UTF-8 text; save it as UTF-8.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvaluationError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
    try:
        return parse_configs(data)
    except EvaluationError as exc:
        raise EvaluationError(f"{path}: {exc}") from None


def parse_configs(data) -> list[EvalConfig]:
    """Configurations from already-parsed JSON (a list of objects)."""
    if not isinstance(data, list) or not data:
        raise EvaluationError('the configurations must be a JSON list of objects, e.g. '
                              '[{"name": "off", "retrieval": "off"}, {"name": "hybrid", "collections": ["docs"]}]')
    problems: list[str] = []
    configs: list[EvalConfig] = []
    for index, item in enumerate(data, 1):
        try:
            configs.append(parse_config(item))
        except EvaluationError as exc:
            label = item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else None
            problems.append(f"configuration {index}{f' ({label})' if label else ''}: {exc}")
    names = [c.name for c in configs]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"the name {name!r} is used more than once; every configuration needs its own name")
    if problems:
        raise EvaluationError("\n  ".join(["bad configurations:", *problems]))
    return configs


def parse_config(item) -> EvalConfig:
    if not isinstance(item, dict):
        raise EvaluationError("must be a JSON object with at least a \"name\"")
    unknown = sorted(set(item) - set(CONFIG_KEYS))
    if unknown:
        raise EvaluationError(f"unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(CONFIG_KEYS)}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise EvaluationError('needs a "name" (a short label shown in the report)')
    config = EvalConfig(
        name=name.strip(),
        model=_optional_text(item, "model"),
        preset=_optional_text(item, "preset"),
        system_prompt=_optional_text(item, "system_prompt"),
        collections=_collections(item.get("collections", [])),
        retrieval=_choice(item, "retrieval", RETRIEVAL_MODES, "hybrid"),
        k=_int(item, "k", 5, 1, 50),
        rewrite=_choice(item, "rewrite", REWRITE_MODES, "off"),
        strict=_bool(item, "strict", False),
        lora=_lora(item.get("lora", [])),
        answer=_choice(item, "answer", ANSWER_MODES, "model"),
        max_tokens=_int(item, "max_tokens", 256, 1, MAX_TOKENS_LIMIT),
        seed=_int(item, "seed", 0, 0, 2**31 - 1),
    )
    _check_preset(config.preset)
    if config.answer in ("quotes", "none") and not config.uses_documents:
        raise EvaluationError(f'answer "{config.answer}" works from retrieved passages: give "collections" '
                              'and a retrieval mode other than "off"')
    return config


def _optional_text(item: dict, key: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EvaluationError(f'"{key}" must be text or null')
    return value.strip() or None


def _choice(item: dict, key: str, valid: tuple[str, ...], default: str) -> str:
    value = item.get(key, default)
    if value not in valid:
        raise EvaluationError(f'"{key}" is {value!r}; valid values: {", ".join(valid)}')
    return value


def _int(item: dict, key: str, default: int, low: int, high: int) -> int:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise EvaluationError(f'"{key}" must be a whole number from {low} to {high} (got {value!r})')
    return value


def _bool(item: dict, key: str, default: bool) -> bool:
    value = item.get(key, default)
    if not isinstance(value, bool):
        raise EvaluationError(f'"{key}" must be true or false (got {value!r})')
    return value


def _collections(value) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise EvaluationError('"collections" must be a list of collection names (see `nook collections list`)')
    return [v.strip() for v in value]


def _lora(value) -> list[dict]:
    if not isinstance(value, list):
        raise EvaluationError('"lora" must be a list like [{"name": "my-style", "scale": 1.0}]')
    out = []
    for item in value:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or set(item) - {"name", "scale"}:
            raise EvaluationError('each "lora" entry is {"name": ADAPTER, "scale": 0-2} (see `nook lora list`)')
        scale = item.get("scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 <= scale <= 2:
            raise EvaluationError(f'the LoRA scale of {item["name"]!r} must be a number from 0 to 2')
        out.append({"name": item["name"], "scale": float(scale)})
    return out


def _check_preset(name: str | None) -> None:
    if name is None:
        return
    from engine.chat.presets import list_presets

    names = [p.name for p in list_presets()]
    if name not in names:
        raise EvaluationError(f'unknown preset {name!r}; valid presets: {", ".join(names)}')
