"""Shared pieces of the command line: opening the stores, loading a model, printing."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from dataclasses import dataclass

from engine.chat.history import HistoryStore
from engine.errors import InglenookError
from engine.events import Timings
from engine.host import ModelHost
from engine.models.registry import ModelEntry, ModelRegistry
from engine.params import LoadOptions
from engine.process import create_model_host

MLC_PREFIX = "mlc:"  # --model mlc:<compiled model>: MLC LLM (engine.runtimes.mlc), when installed
REMOTE_PREFIX = "remote:"  # --model remote:<base URL>[#<model>]: an OpenAI-compatible server (engine.runtimes.remote)


def add_load_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--model", "-m", help="model name (see `nook models list`), path to a GGUF file, or "
                       "remote:<base URL>[#<model>] for an OpenAI-compatible server")
    group.add_argument("--ctx", type=int, help="context size in tokens (default: the model's setting or 4096)")
    group.add_argument("--threads", type=int, help="CPU threads (default: physical cores)")
    group.add_argument("--gpu-layers", help="layers to offload to the GPU: a number, -1 for all, or 'auto'")


def add_sampling_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sampling")
    group.add_argument("--temperature", "--temp", type=float)
    group.add_argument("--top-p", type=float)
    group.add_argument("--top-k", type=int)
    group.add_argument("--min-p", type=float)
    group.add_argument("--repeat-penalty", type=float)
    group.add_argument("--max-tokens", type=int)
    group.add_argument("--seed", type=int)
    group.add_argument("--stop", action="append", help="stop string (repeatable)")


def sampling_overrides(args: argparse.Namespace) -> dict:
    names = ["temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens", "seed", "stop"]
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def load_options(entry: ModelEntry, args: argparse.Namespace) -> LoadOptions:
    options = LoadOptions()
    settings = dict(entry.settings)
    if getattr(args, "ctx", None):
        settings["n_ctx"] = args.ctx
    if getattr(args, "threads", None):
        settings["n_threads"] = args.threads
    if getattr(args, "gpu_layers", None) is not None:
        value = args.gpu_layers
        settings["n_gpu_layers"] = value if value == "auto" else int(value)
    for key, value in settings.items():
        if hasattr(options, key):
            setattr(options, key, value)
    return options


@dataclass
class Context:
    registry: ModelRegistry
    store: HistoryStore
    host: ModelHost | None = None

    @classmethod
    def open(cls) -> Context:
        store = HistoryStore()
        return cls(registry=ModelRegistry(store.db), store=store)

    def load_model(self, args: argparse.Namespace, name: str | None = None, quiet: bool = False) -> ModelEntry:
        wanted = name or getattr(args, "model", None)
        if wanted and wanted.startswith(REMOTE_PREFIX):
            return self._connect_remote(wanted, args, quiet)
        if wanted and wanted.startswith(MLC_PREFIX):
            return self._load_mlc(wanted, args, quiet)
        entry = self.registry.default_chat_model(wanted)
        if entry.is_remote:  # a kept server (`nook models add-remote`)
            self._connect_remote(entry.target, args, quiet)
            return entry
        if isinstance(self.host, ModelHost) and getattr(self.host.loaded, "architecture", "") in ("remote", "mlc"):
            raise InglenookError("This chat uses a remote or MLC model; start `nook chat --model NAME` for a local one.")
        if self.host is None:
            self.host = create_model_host()  # the model runs in its own process
        progress = None if quiet else _progress_printer(entry.name)
        loaded = self.host.load(entry.path, load_options(entry, args), progress).result()
        if not quiet:
            clear = "\r\033[K" if sys.stderr.isatty() else ""
            print(f"{clear}Loaded {entry.name} ({loaded.architecture}, context {loaded.n_ctx}, "
                  f"{loaded.load_ms:.0f} ms). {loaded.offload_message}", file=sys.stderr)
        return entry

    def _connect_remote(self, spec: str, args: argparse.Namespace, quiet: bool) -> ModelEntry:
        """``remote:<base URL>[#<model>]``: an OpenAI-compatible server as the model (engine.runtimes.remote)."""
        from engine.runtimes.remote import KEY_ENV, RemoteAuthError

        if self.host is not None:
            raise InglenookError("Remote models are chosen when the chat starts: `nook chat --model NAME` (a server "
                                 "kept with `nook models add-remote`) or `--model remote:URL`.")
        options = LoadOptions(n_ctx=getattr(args, "ctx", None) or 4096)
        from engine.runtimes.remote import RemoteBackend, RemoteTarget

        self.host = ModelHost(RemoteBackend(RemoteTarget.parse(spec)))
        try:
            loaded = self.host.load(spec, options).result()
        except RemoteAuthError:
            if not sys.stdin.isatty() or os.environ.get(KEY_ENV):
                raise
            # ask once; kept in the OS keyring when there is one, else in this process only
            os.environ[KEY_ENV] = getpass.getpass(f"API key for {spec[len(REMOTE_PREFIX):]}: ")
            loaded = self.host.load(spec, options).result()
            _keep_key(spec, os.environ[KEY_ENV])
        if not quiet:
            print(f"Connected to {loaded.name} ({loaded.offload_message})", file=sys.stderr)
        return ModelEntry(name=loaded.name, path=loaded.path, kind="remote", source="remote")

    def _load_mlc(self, spec: str, args: argparse.Namespace, quiet: bool) -> ModelEntry:
        """``mlc:<compiled model>``: the MLC LLM runtime (engine.runtimes.mlc, unverified), when installed."""
        from engine.runtimes.registry import runtime_names

        if "mlc" not in runtime_names():
            raise InglenookError("MLC LLM is not installed, so mlc: models cannot run; pip install mlc-llm "
                                 "(the MLC runtime is unverified: tested only against a stand-in).")
        if self.host is not None:
            raise InglenookError("MLC models are chosen when the chat starts: `nook chat --model mlc:FOLDER`.")
        self.host = ModelHost("mlc")
        loaded = self.host.load(spec, LoadOptions(n_ctx=getattr(args, "ctx", None) or 4096)).result()
        if not quiet:
            print(f"Loaded {loaded.name} with MLC LLM (unverified runtime).", file=sys.stderr)
        return ModelEntry(name=loaded.name, path=loaded.path, kind="mlc", source="mlc")

    def close(self) -> None:
        if self.host is not None:
            self.host.close()
        self.store.close()


def _keep_key(spec: str, key: str) -> None:
    from engine.runtimes.remote import RemoteKeyError, RemoteTarget, save_remote_key

    try:
        save_remote_key(RemoteTarget.parse(spec).base_url, key)
        print("The key is saved in the OS keyring.", file=sys.stderr)
    except RemoteKeyError as exc:
        print(f"The key is used for this session only: {exc}", file=sys.stderr)


def _progress_printer(name: str):
    def show(fraction: float) -> bool:
        if sys.stderr.isatty():
            print(f"\r\033[KLoading {name}… {fraction * 100:3.0f}%", end="", file=sys.stderr, flush=True)
        return True

    return show


def describe_timings(timings: Timings, n_ctx: int | None = None) -> str:
    text = f"{timings.completion_tokens} tokens, {timings.tokens_per_s:.1f} tok/s, first token {timings.first_token_ms:.0f} ms"
    if timings.cached_tokens:
        text += f", {timings.cached_tokens}/{timings.prompt_tokens} prompt tokens cached"
    if n_ctx:
        text += f", context {timings.prompt_tokens + timings.completion_tokens}/{n_ctx}"
    return text


def print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def fail(error: InglenookError) -> int:
    print(f"error: {error}", file=sys.stderr)
    return 2


