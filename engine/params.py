"""Settings for loading a model and for sampling a reply."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from engine.errors import InglenookError

# the system prompt of a conversation that sets none (and of LoRA training examples without one)
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Answer directly and briefly. If you do not know, say so."


def physical_cores() -> int:
    """Physical cores (llama.cpp is slower with hyper-threads than without)."""
    try:
        import psutil

        n = psutil.cpu_count(logical=False)
    except Exception:  # psutil missing or the platform hides it
        n = None
    return max(1, n or os.cpu_count() or 1)


@dataclass
class LoadOptions:
    """How to load a model. ``n_gpu_layers``: "auto" asks the planner, -1 offloads all, 0 none."""

    n_ctx: int = 4096
    n_threads: int = field(default_factory=physical_cores)
    n_batch: int = 512
    n_gpu_layers: int | Literal["auto"] = "auto"
    use_mmap: bool = True
    chat_template: str | None = None  # a Jinja template that overrides the model's own
    seed: int = -1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SamplingParams:
    """Sampling settings of one reply. ``seed`` -1 means random."""

    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_tokens: int = 1024
    seed: int = -1
    stop: list[str] = field(default_factory=list)
    # a GBNF grammar (text, so it crosses to the engine process) the reply must follow; see engine.structured
    grammar: str | None = None
    json_schema: str | None = None  # the JSON schema ``grammar`` was made from, if any (shown again to the user)

    def validate(self) -> SamplingParams:
        problems = []
        if not 0 <= self.temperature <= 5:
            problems.append("temperature must be between 0 and 5")
        if not 0 < self.top_p <= 1:
            problems.append("top_p must be in (0, 1]")
        if self.top_k < 0:
            problems.append("top_k must be >= 0 (0 = off)")
        if not 0 <= self.min_p < 1:
            problems.append("min_p must be in [0, 1)")
        if not 0.5 <= self.repeat_penalty <= 2:
            problems.append("repeat_penalty must be between 0.5 and 2")
        if self.max_tokens < 1:
            problems.append("max_tokens must be >= 1")
        if problems:
            raise InglenookError("Invalid sampling parameters: " + "; ".join(problems) + ".")
        return self

    @classmethod
    def greedy(cls, **overrides: Any) -> SamplingParams:
        base = dict(temperature=0.0, top_p=1.0, top_k=1, min_p=0.0, repeat_penalty=1.0, seed=0)
        base.update(overrides)
        return cls(**base)

    def updated(self, **changes: Any) -> SamplingParams:
        """A copy with some fields changed; unknown names are an error with the valid ones listed."""
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise InglenookError(
                f"Unknown parameter(s) {', '.join(sorted(unknown))}; valid: {', '.join(sorted(names))}."
            )
        data = asdict(self)
        for key, value in changes.items():
            current = data[key]
            if isinstance(current, bool) or current is None:
                data[key] = value
            elif isinstance(current, int) and not isinstance(value, int):
                data[key] = int(float(value))
            elif isinstance(current, float):
                data[key] = float(value)
            elif isinstance(current, list) and isinstance(value, str):
                data[key] = [value]
            else:
                data[key] = value
        return SamplingParams(**data).validate()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
