"""STAND-IN for MLC LLM's ``mlc_llm`` package — NOT MLC LLM.

No machine this project runs on has MLC LLM with a compiled model, so the MLC runtime
(engine/runtimes/mlc.py) is tested against this imitation of MLC's documented Python API:
``MLCEngine(model, device=...)``, ``engine.chat.completions.create(messages=..., model=..., stream=True, ...)``
yielding OpenAI-style chunks (``choices[i].delta.content``, ``finish_reason``, a final ``usage``), and
``engine.terminate()``. Its "model" replies with the words of the last user message, reversed, one word a
chunk; a generator closed early records the request as aborted, as MLC's engine aborts it.

Tests install it with ``install(monkeypatch)``, which puts it in ``sys.modules`` as ``mlc_llm``.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

STANDIN = True  # what this module is: the runtime's tests check they are not talking to the real MLC


@dataclass
class _Delta:
    content: str | None = None
    role: str | None = None


@dataclass
class _Choice:
    delta: _Delta
    index: int = 0
    finish_reason: str | None = None


@dataclass
class _Usage:
    prompt_tokens: int
    completion_tokens: int


@dataclass
class _Chunk:
    choices: list[_Choice]
    usage: _Usage | None = None


@dataclass
class _Log:
    requests: list[dict] = field(default_factory=list)
    aborted: int = 0
    terminated: int = 0


LOG = _Log()


class _Completions:
    def __init__(self, engine: MLCEngine) -> None:
        self.engine = engine

    def create(self, *, messages, model=None, stream=False, max_tokens=None, stop=None, stream_options=None, **kw):
        if self.engine.terminated:
            raise RuntimeError("the engine was terminated")
        LOG.requests.append({"messages": messages, "model": model, "stream": stream, "max_tokens": max_tokens,
                             "stop": stop, **kw})
        if not stream:
            raise NotImplementedError("the stand-in only streams")
        return self._chunks(messages, max_tokens or 16, stop or [], bool((stream_options or {}).get("include_usage")))

    def _chunks(self, messages, max_tokens, stop, usage):
        words = [w for m in messages if m["role"] == "user" for w in m["content"].split()][::-1]
        finished = False
        sent = 0
        try:
            yield _Chunk([_Choice(_Delta(role="assistant", content=""))])
            reason = "stop"
            for word in words:
                if word in stop:
                    break
                if sent == max_tokens:
                    reason = "length"
                    break
                sent += 1
                yield _Chunk([_Choice(_Delta(content=(" " if sent > 1 else "") + word))])
            yield _Chunk([_Choice(_Delta(), finish_reason=reason)])
            if usage:
                yield _Chunk([], _Usage(prompt_tokens=sum(len(m["content"].split()) for m in messages),
                                        completion_tokens=sent))
            finished = True
        finally:
            if not finished:
                LOG.aborted += 1


class MLCEngine:
    """Stand-in for ``mlc_llm.MLCEngine`` (see the module docstring)."""

    def __init__(self, model: str, device: str = "auto", **kwargs) -> None:
        if "missing" in model:
            raise FileNotFoundError(f"Cannot find model {model}")
        self.model = model
        self.device = device
        self.terminated = False
        self.chat = types.SimpleNamespace(completions=_Completions(self))

    def terminate(self) -> None:
        self.terminated = True
        LOG.terminated += 1


def install(monkeypatch) -> types.ModuleType:
    """Put this stand-in in ``sys.modules`` as ``mlc_llm`` for the test's duration."""
    module = sys.modules[__name__]
    LOG.requests.clear()
    LOG.aborted = LOG.terminated = 0
    monkeypatch.setitem(sys.modules, "mlc_llm", module)
    return module
