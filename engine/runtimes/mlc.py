"""The MLC LLM runtime, written against MLC's documented Python API — UNVERIFIED.

MLC LLM (https://llm.mlc.ai) runs models compiled for its TVM-based engine (Vulkan, Metal, CUDA, ROCm)::

    from mlc_llm import MLCEngine
    engine = MLCEngine(model)
    for response in engine.chat.completions.create(messages=[...], model=model, stream=True):
        for choice in response.choices:
            print(choice.delta.content, end="")
    engine.terminate()

No machine this project runs on has had MLC LLM and a compiled model, so this runtime is tested only
against a stand-in module that imitates that documented API (tests/support/mlc_standin.py); README and
`nook doctor` say so. It is registered only when ``mlc_llm`` can be imported, and chosen with
``--model mlc:<compiled model folder or HF://mlc-ai/...>``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.errors import GenerationError, InglenookError, ModelLoadError, NoModelLoadedError
from engine.events import Event, Finished, TextDelta, Timings
from engine.params import LoadOptions, SamplingParams
from engine.runtimes.base import LoadedModel, LoadProgress, Message
from engine.runtimes.registry import register_runtime

PREFIX = "mlc:"
VERIFIED = False  # tested only against a stand-in of MLC's documented API
INSTALL_HINT = "pip install mlc-llm (see https://llm.mlc.ai for the wheel matching your GPU)"


class MlcUnavailableError(InglenookError):
    """MLC LLM is not installed, or cannot be imported here."""


def mlc_available() -> bool:
    """Whether ``mlc_llm`` can be found (already imported, or installed)."""
    if "mlc_llm" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("mlc_llm") is not None
    except (ImportError, ValueError):
        return False


def _import_mlc():
    try:
        return importlib.import_module("mlc_llm")
    except Exception as exc:  # ImportError, or a broken native library inside it
        raise MlcUnavailableError(f"MLC LLM cannot be imported ({exc}); {INSTALL_HINT}.") from None


class MlcBackend:
    """Chat with an MLC-compiled model through ``mlc_llm.MLCEngine``. One owner thread calls it."""

    name = "mlc"

    def __init__(self) -> None:
        self._mlc = _import_mlc()
        self._engine = None
        self._model: str | None = None
        self._loaded: LoadedModel | None = None

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def load(self, path: Path | str, options: LoadOptions, progress: LoadProgress | None = None) -> LoadedModel:
        spec = str(path)
        model = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
        started = time.perf_counter()
        self.unload()
        try:
            self._engine = self._mlc.MLCEngine(model, device=os.environ.get("INGLENOOK_MLC_DEVICE", "auto"))
        except Exception as exc:
            raise ModelLoadError(f"MLC LLM could not load {model} ({exc}). Give a folder compiled for MLC "
                                 "(it holds mlc-chat-config.json) or an HF://mlc-ai/... model.") from None
        self._model = model
        if progress is not None:
            progress(1.0)
        self._loaded = LoadedModel(path=Path(model), name=Path(model.rstrip("/")).name or model,
                                   architecture="mlc", n_ctx=options.n_ctx, n_ctx_train=0, n_gpu_layers=0,
                                   total_layers=0, chat_template_origin="mlc-chat-config",
                                   load_ms=(time.perf_counter() - started) * 1000,
                                   offload_message="MLC LLM runtime (unverified).", details={"verified": VERIFIED})
        return self._loaded

    def unload(self) -> None:
        if self._engine is not None:
            try:
                self._engine.terminate()
            except Exception:  # a dying engine must not keep the next model from loading
                pass
        self._engine = None
        self._loaded = None

    def count_tokens(self, text: str) -> int:
        """An estimate (about four characters a token); MLC's tokenizer is inside its engine."""
        return max(1, len(text) // 4) if text else 0

    def invalidate_cache(self) -> None:
        """MLC keeps its own prefix cache per request."""

    def chat(self, messages: list[Message], params: SamplingParams,
             should_stop: Callable[[], bool] | None = None) -> Iterator[Event]:
        if self._engine is None:
            raise NoModelLoadedError("No MLC model is loaded; use --model mlc:<compiled model folder>.")
        params.validate()
        if params.grammar:
            raise GenerationError("Output grammars (JSON schema) are not wired to the MLC runtime; use a GGUF "
                                  "model for structured output.")
        kwargs = dict(messages=[{"role": m["role"], "content": m["content"]} for m in messages], model=self._model,
                      stream=True, temperature=params.temperature, top_p=params.top_p, max_tokens=params.max_tokens,
                      stream_options={"include_usage": True})
        if params.stop:
            kwargs["stop"] = list(params.stop)
        if params.seed >= 0:
            kwargs["seed"] = params.seed
        yield from self._stream(kwargs, should_stop)

    def _stream(self, kwargs: dict, should_stop: Callable[[], bool] | None) -> Iterator[Event]:
        started = time.perf_counter()
        first = None
        parts: list[str] = []
        reason, usage = "stop", None
        responses = self._engine.chat.completions.create(**kwargs)
        try:
            for response in responses:
                if should_stop is not None and should_stop():
                    reason = "cancelled"
                    break
                usage = getattr(response, "usage", None) or usage
                for choice in response.choices or []:
                    text = getattr(choice.delta, "content", None) or ""
                    if text:
                        first = first or time.perf_counter()
                        parts.append(text)
                        yield TextDelta(text)
                    if choice.finish_reason:
                        reason = "length" if choice.finish_reason == "length" else "stop"
        except Exception as exc:
            raise GenerationError(f"MLC LLM failed while generating: {exc}") from None
        finally:
            close = getattr(responses, "close", None)
            if close is not None:
                close()  # a generator left early aborts its request in MLC's engine
        yield _finished(reason, parts, usage, started, first)


def _finished(reason: str, parts: list[str], usage, started: float, first: float | None) -> Finished:
    ended = time.perf_counter()
    first = first or ended
    timings = Timings(prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0, cached_tokens=0,
                      completion_tokens=getattr(usage, "completion_tokens", 0) or len(parts),
                      prompt_ms=(first - started) * 1000, first_token_ms=(first - started) * 1000,
                      decode_ms=(ended - first) * 1000)
    return Finished(reason=reason, timings=timings, text="".join(parts))


def register() -> bool:
    """Register the runtime as "mlc" when MLC LLM can be imported; True when it is (again) registered."""
    if not mlc_available():
        return False
    register_runtime("mlc", MlcBackend, replace=True)
    return True


register()
