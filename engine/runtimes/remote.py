"""A remote runtime: any OpenAI-compatible server (``nook serve``, llama.cpp's or llama-cpp-python's server,
vLLM, LM Studio, Ollama's /v1...) used as a chat runtime, streamed over HTTP with httpx.

A target is written ``remote:<base URL>[#<model>]``, e.g. ``remote:http://127.0.0.1:8080/v1#smollm2``; without
a model the server's first listed model is used. The API key comes from ``INGLENOOK_REMOTE_KEY``, else from
the OS keyring (``keyring``, when it is installed and has a working backend), else none; it is never
written to disk in plain text. Each HTTP failure is a typed error whose message says what to do.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from engine.errors import GenerationError, InglenookError, NoModelLoadedError
from engine.events import Event, Finished, TextDelta, Timings
from engine.os_keyring import os_keyring
from engine.params import LoadOptions, SamplingParams
from engine.runtimes.base import LoadedModel, LoadProgress, Message
from engine.runtimes.registry import register_runtime

PREFIX = "remote:"
KEY_ENV = "INGLENOOK_REMOTE_KEY"
KEYRING_SERVICE = "inglenook-remote"
TIMEOUT = httpx.Timeout(connect=5.0, read=120.0, write=30.0, pool=5.0)


class RemoteError(InglenookError):
    """A remote server could not be used; the message says what to do."""


class RemoteUnavailableError(RemoteError):
    """The server cannot be reached, or did not answer in time."""


class RemoteAuthError(RemoteError):
    """The server refused the API key (401/403)."""


class RemoteNotFoundError(RemoteError):
    """No such endpoint or model on the server (404)."""


class RemoteRateLimitError(RemoteError):
    """The server asks to slow down (429)."""


class RemoteServerError(RemoteError):
    """The server failed (5xx), or answered something that is not the OpenAI API."""


class RemoteKeyError(RemoteError):
    """An API key cannot be kept safely here (no working OS keyring)."""


@dataclass(frozen=True)
class RemoteTarget:
    base_url: str
    model: str | None = None

    @classmethod
    def parse(cls, spec: str) -> RemoteTarget:
        """``remote:<base URL>[#<model>]``."""
        rest = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
        url, _, model = rest.partition("#")
        url = url.rstrip("/")
        if not url.startswith(("http://", "https://")) or len(url) < 10:
            raise RemoteError(f"{spec!r} is not a remote model; write remote:<base URL>[#<model>], e.g. "
                              "remote:http://127.0.0.1:8080/v1#smollm2-135m-instruct.")
        return cls(url, model or None)


def is_remote(name: str | None) -> bool:
    return bool(name) and name.startswith(PREFIX)


# ----------------------------------------------------------------------------- keys
def remote_key(base_url: str) -> str | None:
    """The API key for ``base_url``: ``INGLENOOK_REMOTE_KEY``, else the OS keyring, else None."""
    key = os.environ.get(KEY_ENV)
    if key:
        return key
    keyring = os_keyring()
    if keyring is None:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, base_url)
    except Exception:
        return None


def has_keyring() -> bool:
    """Whether keys can be kept here (an OS keyring with a working backend)."""
    return os_keyring() is not None


def forget_remote_key(base_url: str) -> None:
    """Remove the key kept for ``base_url`` (nothing happens when none is kept, or there is no keyring)."""
    keyring = os_keyring()
    if keyring is None:
        return
    try:
        keyring.delete_password(KEYRING_SERVICE, base_url)
    except Exception:  # none was kept
        pass


def save_remote_key(base_url: str, key: str) -> None:
    """Keep ``key`` for ``base_url`` in the OS keyring; refused (never written in plain text) without one."""
    keyring = os_keyring()
    if keyring is None:
        raise RemoteKeyError("There is no working OS keyring here, so the key is not saved (Inglenook never "
                             f"writes keys in plain text). Set {KEY_ENV} for this session instead.")
    try:
        keyring.set_password(KEYRING_SERVICE, base_url, key)
    except Exception as exc:
        raise RemoteKeyError(f"The OS keyring refused the key ({exc}); set {KEY_ENV} instead.") from None


# ----------------------------------------------------------------------------- errors
def _error_for(response: httpx.Response, base_url: str) -> RemoteError:
    status = response.status_code
    try:
        detail = response.json()["error"]["message"]
    except Exception:
        detail = response.text[:200].strip() or response.reason_phrase
    if status in (401, 403):
        return RemoteAuthError(f"{base_url} refused the API key ({status}: {detail}). Set {KEY_ENV} to the "
                               "server's key (or save it in the OS keyring) and try again.")
    if status == 404:
        return RemoteNotFoundError(f"{base_url} has no such endpoint or model ({detail}). Check that the base "
                                   "URL ends in /v1 and that the model is one the server lists.")
    if status == 429:
        wait = response.headers.get("retry-after")
        return RemoteRateLimitError(f"{base_url} asks to slow down (429: {detail}). Wait "
                                    f"{wait + ' s' if wait else 'a moment'} and send again.")
    if status >= 500:
        return RemoteServerError(f"{base_url} failed ({status}: {detail}). Try again; if it keeps failing, "
                                 "look at the server's log.")
    return RemoteError(f"{base_url} refused the request ({status}: {detail}).")


def _transport_error(exc: httpx.HTTPError, base_url: str) -> RemoteError:
    if isinstance(exc, httpx.TimeoutException):
        return RemoteUnavailableError(f"{base_url} did not answer in time ({type(exc).__name__}). Is the server "
                                      "overloaded? Try again, or a smaller model there.")
    return RemoteUnavailableError(f"Cannot reach {base_url} ({exc}). Is the server running, and is the URL "
                                  "right (e.g. http://127.0.0.1:8080/v1)?")


PROBE_TIMEOUT = httpx.Timeout(3.0)


def list_server_models(url: str, api_key: str | None = None, timeout: httpx.Timeout = PROBE_TIMEOUT) -> list[str]:
    """The models a server lists (``GET /models``), asked with a short timeout; a typed ``RemoteError`` that
    says what to do when it cannot be asked. ``api_key`` None: the key kept for it (``remote_key``)."""
    target = RemoteTarget.parse(url)
    key = api_key if api_key is not None else remote_key(target.base_url)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = httpx.get(target.base_url + "/models", headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise _transport_error(exc, target.base_url) from None
    if response.status_code != 200:
        raise _error_for(response, target.base_url)
    try:
        data = response.json()
        models = [m["id"] for m in data.get("data", []) if isinstance(m, dict) and "id" in m]
    except (ValueError, AttributeError):
        raise RemoteServerError(f"{target.base_url}/models did not answer with a model list; is this the "
                                "server's /v1 address?") from None
    if target.model is not None and target.model not in models:
        raise RemoteNotFoundError(f"{target.base_url} has no model {target.model!r}; it has: "
                                  f"{', '.join(models) or 'none'}.")
    return models


class RemoteBackend:
    """Chat through an OpenAI-compatible server. Not thread-safe: one owner thread (``ModelHost``) calls it."""

    name = "remote"

    def __init__(self, target: RemoteTarget | str | None = None, api_key: str | None = None,
                 timeout: httpx.Timeout = TIMEOUT) -> None:
        self.target = RemoteTarget.parse(target) if isinstance(target, str) else target
        self._key = api_key
        self._timeout = timeout
        self._client: httpx.Client | None = None
        self._loaded: LoadedModel | None = None
        self.models: list[str] = []

    # ----------------------------------------------------------------------------- loading
    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def load(self, path: Path | str, options: LoadOptions, progress: LoadProgress | None = None) -> LoadedModel:
        """Connect: list the server's models and choose one. ``path`` is the target when none was given."""
        if self.target is None:
            self.target = RemoteTarget.parse(str(path))
        started = time.perf_counter()
        self.unload()
        base = self.target.base_url
        key = self._key if self._key is not None else remote_key(base)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(base_url=base, headers=headers, timeout=self._timeout)
        try:
            data = self._get_json("/models")
            self.models = [m["id"] for m in data.get("data", []) if isinstance(m, dict) and "id" in m]
        except BaseException:
            self.unload()
            raise
        model = self._choose(self.models)
        if progress is not None:
            progress(1.0)
        self._loaded = LoadedModel(path=Path(base), name=model, architecture="remote", n_ctx=options.n_ctx,
                                   n_ctx_train=0, n_gpu_layers=0, total_layers=0, chat_template_origin="server",
                                   load_ms=(time.perf_counter() - started) * 1000,
                                   offload_message=f"Remote model on {base}.", details={"models": self.models})
        return self._loaded

    def _choose(self, models: list[str]) -> str:
        wanted = self.target.model
        if wanted is None:
            if not models:
                self.unload()
                raise RemoteNotFoundError(f"{self.target.base_url} lists no models; name one with #<model>.")
            return models[0]
        if models and wanted not in models:
            self.unload()
            raise RemoteNotFoundError(f"{self.target.base_url} has no model {wanted!r}; it has: "
                                      f"{', '.join(models)}.")
        return wanted

    def _get_json(self, path: str) -> dict:
        try:
            response = self._client.get(path)
        except httpx.HTTPError as exc:
            raise _transport_error(exc, self.target.base_url) from None
        if response.status_code != 200:
            raise _error_for(response, self.target.base_url)
        try:
            return response.json()
        except ValueError:
            raise RemoteServerError(f"{self.target.base_url}{path} did not answer with JSON; is this the "
                                    "server's /v1 address?") from None

    def unload(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None
        self._loaded = None

    def _require(self) -> httpx.Client:
        if self._client is None or self._loaded is None:
            raise NoModelLoadedError("No remote model is connected; use --model remote:<base URL>[#<model>].")
        return self._client

    # ----------------------------------------------------------------------------- replies
    def count_tokens(self, text: str) -> int:
        """An estimate (about four characters a token): the server's tokenizer is not reachable here."""
        return max(1, len(text) // 4) if text else 0

    def invalidate_cache(self) -> None:
        """The server keeps its own cache."""

    def chat(self, messages: list[Message], params: SamplingParams,
             should_stop: Callable[[], bool] | None = None) -> Iterator[Event]:
        client = self._require()
        params.validate()
        if params.grammar:
            raise GenerationError("Output grammars (JSON schema) cannot be enforced through a remote server "
                                  "here; ask the server for response_format directly, or use a local model.")
        body = {"model": self._loaded.name, "messages": [{"role": m["role"], "content": m["content"]}
                                                         for m in messages],
                "stream": True, "stream_options": {"include_usage": True}, "temperature": params.temperature,
                "top_p": params.top_p, "max_tokens": params.max_tokens}
        if params.seed >= 0:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = params.stop[:4]
        yield from self._stream(client, body, should_stop)

    def _stream(self, client: httpx.Client, body: dict, should_stop) -> Iterator[Event]:
        started = time.perf_counter()
        state = _StreamState()
        try:
            with client.stream("POST", "/chat/completions", json=body) as response:
                if response.status_code != 200:
                    response.read()
                    raise _error_for(response, self.target.base_url)
                for line in response.iter_lines():
                    if should_stop is not None and should_stop():
                        state.reason = "cancelled"
                        break  # leaving the block closes the connection: the server stops
                    text = state.feed(line, self.target.base_url)
                    if text:
                        state.first = state.first or time.perf_counter()
                        yield TextDelta(text)
                    if state.done:
                        break
        except httpx.HTTPError as exc:
            raise _transport_error(exc, self.target.base_url) from None
        yield state.finished(started)


class _StreamState:
    """What has arrived of one streamed reply (server-sent events of chat.completion.chunk objects)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.reason = "stop"
        self.usage: dict = {}
        self.first: float | None = None
        self.done = False

    def feed(self, line: str, base_url: str) -> str:
        if not line.startswith("data:"):
            return ""
        data = line[5:].strip()
        if data == "[DONE]":
            self.done = True
            return ""
        try:
            chunk = json.loads(data)
        except ValueError:
            raise RemoteServerError(f"{base_url} sent something that is not an event stream ({data[:80]!r}).") \
                from None
        if "error" in chunk:
            raise RemoteServerError(f"{base_url} failed while replying: {chunk['error'].get('message')}.")
        self.usage = chunk.get("usage") or self.usage
        text = ""
        for choice in chunk.get("choices") or []:
            text += (choice.get("delta") or {}).get("content") or ""
            if choice.get("finish_reason"):
                self.reason = "length" if choice["finish_reason"] == "length" else "stop"
        if text:
            self.parts.append(text)
        return text

    def finished(self, started: float) -> Finished:
        ended = time.perf_counter()
        first = self.first or ended
        completion = self.usage.get("completion_tokens") or len(self.parts)
        timings = Timings(prompt_tokens=self.usage.get("prompt_tokens") or 0, cached_tokens=0,
                          completion_tokens=completion, prompt_ms=(first - started) * 1000,
                          first_token_ms=(first - started) * 1000, decode_ms=(ended - first) * 1000)
        return Finished(reason=self.reason, timings=timings, text="".join(self.parts))


register_runtime("remote", RemoteBackend)
