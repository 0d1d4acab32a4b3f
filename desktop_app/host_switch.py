"""The window's one model owner, whether the model is local or on a remote server.

Everything in the window (the conversation, the replies, LoRA styles, the local API server) holds this one
object, with ``ModelHost``'s calls. A local model loads in the engine process (``local``); a target
``remote:<URL>[#model]`` connects a ``ModelHost`` over the remote runtime instead (what the CLI's
``--model remote:URL`` does), on that host's own thread, so the GUI thread never waits for the network.
Once connected it becomes the active one and the local model is unloaded; loading a local model again
closes the remote connection. Only the latest load decides which is active.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from engine.host import ModelHost
from engine.params import LoadOptions
from engine.runtimes.base import LoadedModel

log = logging.getLogger(__name__)
REMOTE_PREFIX = "remote:"


class HostSwitch:
    """``ModelHost``'s calls, sent to the local engine or to the connected remote server."""

    def __init__(self, local) -> None:
        self.local = local
        self.remote: ModelHost | None = None
        self.active = local
        self.session_keys: dict[str, str] = {}  # base URL -> key, for keys no OS keyring could keep
        self._generation = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ what the active host does
    @property
    def loaded(self) -> LoadedModel | None:
        return self.active.loaded

    @property
    def is_remote(self) -> bool:
        return self.active is self.remote and self.remote is not None

    @property
    def adapters(self):
        return self.active.adapters

    def chat(self, messages, params, *args, **kwargs):
        return self.active.chat(messages, params, *args, **kwargs)

    def complete(self, prompt, params, *args, **kwargs):
        return self.active.complete(prompt, params, *args, **kwargs)

    def count_tokens(self, text: str) -> int:
        return self.active.count_tokens(text)

    def reset_cache(self) -> None:
        self.active.reset_cache()

    def __getattr__(self, name: str) -> Any:  # pid, info... of the engine process
        return getattr(self.__dict__["local"], name)

    # ------------------------------------------------------------------ loading
    def load(self, path: Path | str, options: LoadOptions | None = None,
             progress: Callable[[float], bool | None] | None = None) -> Future[LoadedModel]:
        with self._lock:
            self._generation += 1
            generation = self._generation
        if isinstance(path, str) and path.startswith(REMOTE_PREFIX):
            return self._connect(path, options or LoadOptions(), generation)
        self._drop_remote()
        return self.local.load(path, options, progress)

    def _connect(self, target: str, options: LoadOptions, generation: int) -> Future[LoadedModel]:
        from engine.runtimes.remote import RemoteBackend, RemoteTarget

        parsed = RemoteTarget.parse(target)
        host = ModelHost(RemoteBackend(parsed, api_key=self.session_keys.get(parsed.base_url)))
        result: Future[LoadedModel] = Future()

        def connected(future: Future) -> None:
            error = future.exception()
            if error is not None:
                _close_quietly(host)
                result.set_exception(error)
                return
            with self._lock:
                current = generation == self._generation
                if current:
                    old, self.remote, self.active = self.remote, host, host
            if not current:  # a later load won
                _close_quietly(host)
                result.set_exception(_superseded())
                return
            if old is not None:
                _close_quietly(old)
            if self.local.loaded is not None:
                self.local.unload()  # the remote server is the model now: free the local one's memory
            result.set_result(future.result())

        host.load(target, options).add_done_callback(connected)
        return result

    def _drop_remote(self) -> None:
        with self._lock:
            old, self.remote, self.active = self.remote, None, self.local
        if old is not None:
            threading.Thread(target=_close_quietly, args=(old,), name="inglenook-remote-close", daemon=True).start()

    def unload(self) -> Future[None]:
        self._drop_remote()
        return self.local.unload()

    def close(self) -> None:
        self._drop_remote()
        self.local.close()


def _close_quietly(host: ModelHost) -> None:
    try:
        host.close()
    except Exception:
        log.exception("closing a remote connection failed")


def _superseded():
    from engine.errors import LoadCancelled

    return LoadCancelled("A newer model choice replaced this one.")
