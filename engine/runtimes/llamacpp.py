"""The llama.cpp runtime, through llama-cpp-python.

Every file is checked by ``engine.models.gguf`` before llama.cpp opens it, so a damaged download gives a
message instead of taking the process down. Replies stream token by token; the evaluated prefix
stays in the KV cache between turns (llama-cpp-python's ``generate`` reuses the longest common
prefix), so a long conversation does not re-read its history each turn.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from engine import llama_native
from engine.errors import (
    GenerationError,
    InglenookError,
    LoadCancelled,
    ModelLoadError,
    ModelNotFoundError,
    NoModelLoadedError,
)
from engine.events import ContextNotice, Event, Finished, TextDelta, Timings
from engine.hardware import check_context_fits, resolve_n_gpu_layers
from engine.models.gguf import GGUFInfo, check_architecture_supported, read_gguf
from engine.models.templates import ChatTemplate
from engine.params import LoadOptions, SamplingParams
from engine.runtimes.base import LoadedModel, LoadProgress, Message
from engine.runtimes.registry import register_runtime

log = logging.getLogger(__name__)

_LOAD_LOCK = threading.Lock()  # the progress hook patches a module function for the load's duration



class LlamaCppBackend:
    """Chat with a GGUF model in-process. Not thread-safe: one owner thread calls it."""

    name = "llama.cpp"

    def __init__(self) -> None:
        self._llm = None
        self._loaded: LoadedModel | None = None
        self._info: GGUFInfo | None = None
        self._template: ChatTemplate | None = None
        self._stops: list[str] = []
        self._pieces: _TokenPieces | None = None
        self._adapters = None  # engine.lora.live.LoraAdapters, made on first use
        self._threads = self._threads_now = 0

    @property
    def adapters(self):
        """LoRA adapters on the loaded model (``engine.lora.live.LoraAdapters``); owner thread only."""
        if self._adapters is None:
            from engine.lora.live import LoraAdapters

            self._adapters = LoraAdapters(self)
        return self._adapters

    # ----------------------------------------------------------------- loading
    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    @property
    def llama(self):
        """The underlying ``llama_cpp.Llama`` (for adapters); raises when nothing is loaded."""
        return self._require()

    @property
    def gguf_info(self) -> GGUFInfo | None:
        return self._info

    def load(self, path: Path, options: LoadOptions, progress: LoadProgress | None = None) -> LoadedModel:
        path = Path(path).expanduser()
        started = time.perf_counter()
        info = read_gguf(path)
        if info.is_lora_adapter:
            raise ModelLoadError(
                f"{path} is a LoRA adapter, not a model; load a base model and add the adapter with "
                "`nook lora add`."
            )
        check_architecture_supported(info)
        n_ctx_train = info.context_length or 0
        n_ctx = options.n_ctx or n_ctx_train or 4096
        if n_ctx_train and n_ctx > n_ctx_train:
            log.info("context %d is beyond what %s was trained on (%d); using %d", n_ctx, path.name,
                     n_ctx_train, n_ctx_train)
            n_ctx = n_ctx_train
        check_context_fits(info, n_ctx)
        n_gpu_layers, plan = resolve_n_gpu_layers(options.n_gpu_layers, info, n_ctx)

        self.unload()  # free the old model before the new one takes memory
        llm = self._construct(path, options, n_ctx, n_gpu_layers, progress)
        try:
            template = ChatTemplate.choose(
                info.chat_template, options.chat_template, llama_native.special_token_text(llm, "bos"),
                llama_native.special_token_text(llm, "eos"),
            )
        except InglenookError:
            llm.close()
            raise
        self._llm, self._info, self._template = llm, info, template
        self._threads = self._threads_now = llm.n_threads
        self._stops = template.stop_strings()
        self._pieces = _TokenPieces(llm)
        self._loaded = LoadedModel(
            path=path,
            name=info.name or path.stem,
            architecture=info.architecture or "unknown",
            n_ctx=llm.n_ctx(),
            n_ctx_train=n_ctx_train,
            n_gpu_layers=n_gpu_layers,
            total_layers=plan.total_layers,
            chat_template_origin=template.origin,
            load_ms=(time.perf_counter() - started) * 1000,
            offload_message=plan.message,
            details={"quantization": info.quantization, "parameters": info.parameter_count},
        )
        return self._loaded

    def _construct(self, path: Path, options: LoadOptions, n_ctx: int, n_gpu_layers: int,
                   progress: LoadProgress | None):
        llama_cpp, _ = llama_native.modules()
        kwargs = dict(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=options.n_threads,
            n_threads_batch=options.n_threads,
            n_batch=min(options.n_batch, n_ctx),
            n_gpu_layers=n_gpu_layers,
            use_mmap=options.use_mmap,
            verbose=False,
        )
        if options.seed >= 0:
            kwargs["seed"] = options.seed
        cancelled = threading.Event()
        try:
            with _LOAD_LOCK, llama_native.progress_hook(progress, cancelled):
                return llama_cpp.Llama(**kwargs)
        except (ValueError, RuntimeError, OSError) as exc:
            if cancelled.is_set():
                raise LoadCancelled(f"Loading {path.name} was cancelled.") from None
            if not path.exists():
                raise ModelNotFoundError(f"{path} disappeared while loading; add the model again.") from exc
            raise ModelLoadError(
                f"llama.cpp could not load {path.name} ({exc}). The file passed Inglenook's checks, so "
                "this llama.cpp build may not support it, or memory ran out: try a smaller context "
                "or another quantization."
            ) from exc

    def unload(self) -> None:
        """Free the model and its context now, not whenever the garbage collector gets to it.

        LoRA adapters belong to the model: they are detached and freed first.
        """
        if self._adapters is not None:
            self._adapters.release()
        if self._llm is not None:
            with contextlib.suppress(Exception):
                self._llm.close()
        self._llm = None
        self._pieces = None
        self._loaded = None
        self._info = None
        self._template = None

    def _require(self):
        if self._llm is None:
            raise NoModelLoadedError("No model is loaded; load one with `nook chat --model NAME` or the model picker.")
        return self._llm

    # ------------------------------------------------------------------ tokens
    def count_tokens(self, text: str) -> int:
        return len(self._require().tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def render(self, messages: list[Message]) -> str:
        """The exact prompt text for ``messages`` (for debugging and tests)."""
        self._require()
        return self._template.render(messages)

    def _encode(self, messages: list[Message]) -> list[int]:
        llm = self._require()
        text = self._template.render(messages)
        bos = self._template.bos_token
        add_bos = llm._model.add_bos_token() and not (bos and text.startswith(bos))
        return llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def invalidate_cache(self) -> None:
        """Forget the evaluated tokens, so the next reply is computed from scratch.

        Needed after anything that changes the weights (a LoRA switch): otherwise the cached
        prefix was computed with the old weights and the reply silently differs.
        """
        llm = self._require()
        llm.reset()
        llm._ctx.kv_cache_clear() if hasattr(llm._ctx, "kv_cache_clear") else None

    # -------------------------------------------------------------------- chat
    def fit_messages(self, messages: list[Message], reserve: int) -> tuple[list[int], list[Message], int]:
        """Tokens of the longest recent history that leaves ``reserve`` tokens for the reply.

        The system prompt and the last message always stay; older turns go first, a whole
        exchange at a time so the history never starts with an orphaned assistant reply.
        Returns (tokens, kept messages, number dropped).
        """
        n_ctx = self._require().n_ctx()
        system = [m for m in messages[:1] if m.get("role") == "system"]
        rest = list(messages[len(system):])
        dropped = 0
        tokens = self._encode(system + rest)
        while len(tokens) + reserve > n_ctx and len(rest) > 1:
            rest.pop(0)
            dropped += 1
            while len(rest) > 1 and rest[0].get("role") != "user":
                rest.pop(0)
                dropped += 1
            tokens = self._encode(system + rest)
        if len(tokens) >= n_ctx - 8:
            raise GenerationError(
                f"The message is {len(tokens)} tokens but the context holds {n_ctx}; shorten it or "
                "load the model with a larger context size."
            )
        return tokens, system + rest, dropped

    @property
    def loaded_threads(self) -> int:
        """The threads the model was loaded with: the most a reply decodes on."""
        return self._threads

    @property
    def threads_now(self) -> int:
        return self._threads_now

    def use_threads(self, n_threads: int) -> None:
        """Decode on ``n_threads`` from the next token on (the host picks them; ``engine.cpu_share``)."""
        llm = self._require()
        if n_threads != self._threads_now:
            llama_native.set_threads(llm, n_threads)
            self._threads_now = n_threads

    def chat(self, messages: list[Message], params: SamplingParams,
             should_stop: Callable[[], bool] | None = None) -> Iterator[Event]:
        llm = self._require()
        params.validate()
        n_ctx = llm.n_ctx()
        reserve = max(1, min(params.max_tokens, n_ctx // 4))
        tokens, _, dropped = self.fit_messages(messages, reserve)
        if dropped:
            yield ContextNotice(dropped_messages=dropped, prompt_tokens=len(tokens), n_ctx=n_ctx)
        yield from self._stream(tokens, params, should_stop)

    def complete(self, prompt: str, params: SamplingParams,
                 should_stop: Callable[[], bool] | None = None) -> Iterator[Event]:
        """Continue ``prompt`` as plain text: no chat template, no template stop strings."""
        llm = self._require()
        params.validate()
        tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=llm._model.add_bos_token(), special=False)
        if len(tokens) >= llm.n_ctx() - 8:
            raise GenerationError(
                f"The prompt is {len(tokens)} tokens but the context holds {llm.n_ctx()}; shorten it or "
                "load the model with a larger context size."
            )
        yield from self._stream(tokens, params, should_stop, template_stops=False)

    def _stream(self, tokens: list[int], params: SamplingParams,
                should_stop: Callable[[], bool] | None, template_stops: bool = True) -> Iterator[Event]:
        llm = self._require()
        n_ctx = llm.n_ctx()
        budget = min(params.max_tokens, n_ctx - len(tokens) - 1)
        grammar = llama_native.grammar(llm, params.grammar) if params.grammar else None
        cached = _common_prefix(llm._input_ids[: llm.n_tokens], tokens)
        llm.set_seed(params.seed if params.seed >= 0 else random.randrange(2**31))
        stops = list(dict.fromkeys((self._stops if template_stops else []) + list(params.stop)))
        scanner = _StopScanner(stops)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        piece_of = self._pieces.piece  # per token: a dict lookup, not two calls into llama.cpp
        parts: list[str] = []
        n_out = 0
        reason = "length"
        error = None
        clock = ReplyClock(llm)
        generator = llm.generate(tokens, top_k=params.top_k, top_p=params.top_p, min_p=params.min_p,
                                 temp=params.temperature, repeat_penalty=params.repeat_penalty,
                                 grammar=grammar)
        try:
            for token in generator:
                if clock.first is None:
                    clock.first_token()
                piece = piece_of(token)
                if piece is None:  # end of generation
                    reason = "stop"
                    break
                n_out += 1
                text, hit = scanner.feed(decoder.decode(piece))
                if text:
                    parts.append(text)
                    yield TextDelta(text)
                if hit:
                    reason = "stop"
                    break
                if should_stop is not None and should_stop():
                    reason = "cancelled"
                    break
                if n_out >= budget:
                    reason = "length" if budget == params.max_tokens else "context"
                    break
        except Exception as exc:  # llama_decode failures surface as RuntimeError
            reason, error = "error", f"llama.cpp failed while generating: {exc}"
            log.exception("generation failed")
        finally:
            generator.close()
        timings = clock.timings(len(tokens), cached, n_out)
        if not scanner.hit:
            tail = scanner.flush() + decoder.decode(b"", final=True)
            if tail:
                parts.append(tail)
                yield TextDelta(tail)
        yield Finished(reason=reason, timings=timings, text="".join(parts), error=error)


class ReplyClock:
    """A reply's wall-clock times and llama.cpp's share of them (its own perf counters): the time to
    the first token and what of it was prompt reading, the time after it and what of it was decoding.
    ``benchmarks/bench_decode.py`` times its raw llama-cpp-python loop with it too, so both sides of
    its ratios are measured the same way."""

    def __init__(self, llm) -> None:
        self._llm = llm
        self.started = time.perf_counter()
        self.first: float | None = None
        self._prompt_ms, self._decode_ms = llama_native.model_ms(llm)

    def first_token(self) -> None:
        self.first = time.perf_counter()
        prompt_ms, decode_ms = llama_native.model_ms(self._llm)
        self._prompt_ms = prompt_ms - self._prompt_ms + decode_ms - self._decode_ms  # from now on: spent
        self._decode_ms = decode_ms  # from now on: the count when the first token came

    def timings(self, prompt_tokens: int, cached: int, n_out: int) -> Timings:
        ended = time.perf_counter()
        first = self.first or ended
        model_decode = llama_native.model_ms(self._llm)[1] - self._decode_ms if self.first else 0.0
        return Timings(prompt_tokens=prompt_tokens, cached_tokens=cached, completion_tokens=n_out,
                       prompt_ms=(first - self.started) * 1000, first_token_ms=(first - self.started) * 1000,
                       decode_ms=(ended - first) * 1000, model_decode_ms=model_decode,
                       model_prompt_ms=self._prompt_ms if self.first else 0.0)


class _TokenPieces:
    """Each token's text (bytes) for one loaded model, or None for an end-of-generation token.

    Asked once per generated token: the answer never changes for a model, so it is looked up in a
    dict after the first time. Measured between decode steps, where the CPU caches are cold, every
    microsecond of Python costs several; two calls into llama.cpp per token cost ~0.05 ms of a
    ~15 ms token on SmolLM2 (benchmarks/bench_decode.py, "around" time)."""

    def __init__(self, llm) -> None:
        self._llm = llm
        self._known: dict[int, bytes | None] = {}

    def piece(self, token: int) -> bytes | None:
        known = self._known.get(token, False)
        if known is False:
            eog = llama_native.token_is_eog(self._llm, token)
            known = self._known[token] = None if eog else self._llm.detokenize([token])
        return known


class _StopScanner:
    """Holds back text that might be the start of a stop string, so it never reaches the user."""

    def __init__(self, stops: list[str]):
        self.stops = [s for s in stops if s]
        self.starts = "".join(sorted({s[0] for s in self.stops}))  # a stop can only begin with one of these
        self.pending = ""
        self.hit = False

    def feed(self, text: str) -> tuple[str, bool]:
        if not self.stops:
            return text, False
        if not self.pending and not any(c in text for c in self.starts):
            return text, False  # most tokens: nothing that could begin a stop string
        self.pending += text
        cut = min((i for i in (self.pending.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            out, self.pending, self.hit = self.pending[:cut], "", True
            return out, True
        keep = 0
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(self.pending)), 0, -1):
                if self.pending.endswith(stop[:size]):
                    keep = max(keep, size)
                    break
        out = self.pending[: len(self.pending) - keep]
        self.pending = self.pending[len(out):]
        return out, False

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out


def _common_prefix(a, b) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


register_runtime("llama.cpp", LlamaCppBackend)
