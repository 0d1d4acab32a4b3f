"""`nook models ...`, `nook presets ...`, `nook gpu`."""

from __future__ import annotations

import argparse
import sys
import threading

from desktop_app.cli.common import print_json
from engine.chat.history import HistoryStore
from engine.chat.presets import delete_user_preset, get_preset, list_presets, save_user_preset
from engine.errors import DownloadCancelled, InglenookError
from engine.hardware import detect_gpu_support, plan_for_model
from engine.models.gguf import read_gguf
from engine.models.registry import ModelEntry, ModelRegistry
from engine.units import format_bytes


def _registry() -> ModelRegistry:
    return ModelRegistry(HistoryStore().db)


def run_models(args: argparse.Namespace) -> int:
    registry = _registry()
    action = args.models_action
    if action == "list":
        entries = registry.list(None if args.all else "chat")
        local = [e for e in entries if not e.is_remote]
        remote = [e for e in entries if e.is_remote]
        if args.json:
            print_json([e.as_dict() for e in local] + [{**e.as_dict(), **_remote_state(e)} for e in remote])
            return 0
        for entry in local:
            print(f"{entry.name:32} {entry.source:8} {format_bytes(entry.size):>9}  {entry.path}")
        for entry in remote:
            print(f"{entry.name:32} {'remote':8} {'':>9}  {entry.url}  {_describe_remote(_remote_state(entry))}")
        if not entries:
            print("No models yet: run scripts/setup.sh for the bundled one, or `nook models add PATH`.")
    elif action == "add":
        entry = registry.add(args.path, name=args.name)
        print(f"Added {entry.name} ({format_bytes(entry.size)}) from {entry.path}")
    elif action == "add-remote":
        return _add_remote(registry, args)
    elif action == "remove":
        entry = registry.remove(args.name, delete_file=args.delete_file)
        if entry.is_remote:
            _forget_key(registry, entry)
        print(f"Removed {entry.name}" + (" and deleted its file" if args.delete_file else ""))
    elif action == "info":
        entry = registry.get(args.name)
        info = read_gguf(entry.path) if not entry.is_remote and entry.path.suffix == ".gguf" else None
        data = entry.as_dict() if not entry.is_remote else {**entry.as_dict(), **_remote_state(entry)}
        if info is not None:
            data["gguf"] = info.summary()
            plan = plan_for_model(info, entry.settings.get("n_ctx") or 4096)
            data["gpu_plan"] = {"n_gpu_layers": plan.n_gpu_layers, "fit": plan.fit, "message": plan.message}
        print_json(data)
    elif action == "set":
        changes = {"n_ctx": args.ctx, "n_threads": args.threads, "chat_template": args.chat_template,
                   "n_gpu_layers": (args.gpu_layers if args.gpu_layers in (None, "auto") else int(args.gpu_layers))}
        entry = registry.update_settings(args.name, **changes)
        print_json(entry.settings)
    elif action == "download":
        return _download(registry, args)
    return 0


def _remote_state(entry: ModelEntry) -> dict:
    """A remote server's model list, asked with a short timeout; an unreachable server is a state, not a failure."""
    from engine.runtimes.remote import RemoteError, RemoteUnavailableError, list_server_models

    try:
        return {"state": "reachable", "models": list_server_models(entry.url)}
    except RemoteUnavailableError as exc:
        return {"state": "unreachable", "models": [], "problem": str(exc)}
    except RemoteError as exc:
        return {"state": "refused", "models": [], "problem": str(exc)}


def _describe_remote(state: dict) -> str:
    if state["state"] == "reachable":
        return "models: " + (", ".join(state["models"]) or "none")
    return f"{state['state']}: {state['problem']}"


def _add_remote(registry: ModelRegistry, args: argparse.Namespace) -> int:
    """Keep the server (name and URL in the database, the key in the OS keyring), then say what it serves."""
    from engine.runtimes.remote import RemoteKeyError, RemoteTarget, has_keyring, save_remote_key

    key = sys.stdin.readline().strip() if args.api_key_stdin else None
    if args.api_key_stdin and not key:
        raise InglenookError("--api-key-stdin was given but standard input held no key; pipe it in, e.g. "
                             "`printf %s \"$KEY\" | nook models add-remote NAME URL --api-key-stdin`.")
    if key and not has_keyring():
        raise RemoteKeyError("There is no working OS keyring here, so the key cannot be kept (Inglenook never "
                             "writes keys in plain text). Add the server without --api-key-stdin and set "
                             "INGLENOOK_REMOTE_KEY when you use it.")
    entry = registry.add_remote(args.name, args.url)
    if key:
        try:
            save_remote_key(RemoteTarget.parse(entry.url).base_url, key)
        except RemoteKeyError:
            registry.remove(entry.name)
            raise
    print(f"Added {entry.name}: {entry.url}" + (" (its key is in the OS keyring)" if key else ""))
    print(f"  {_describe_remote(_remote_state(entry))}")
    return 0


def _forget_key(registry: ModelRegistry, entry: ModelEntry) -> None:
    """Forget the server's key, unless another kept server uses the same base URL."""
    from engine.runtimes.remote import RemoteTarget, forget_remote_key

    base = RemoteTarget.parse(entry.url).base_url
    if not any(e.is_remote and RemoteTarget.parse(e.url).base_url == base for e in registry.list("chat")):
        forget_remote_key(base)


def _download(registry: ModelRegistry, args: argparse.Namespace) -> int:
    from engine.models.hub import HubClient

    if not args.filename or args.list:
        files = HubClient(endpoint=args.endpoint, token=args.token).list_gguf_files(args.repo)
        for item in files:
            print(f"{item.filename:60} {format_bytes(item.size):>9}")
        if not files:
            print(f"{args.repo} has no GGUF files.")
        return 0
    cancel = threading.Event()

    def show(progress) -> None:
        total = progress.total or 0
        pct = f"{progress.downloaded / total * 100:5.1f}%" if total else ""
        print(f"\r\033[K{progress.filename}: {format_bytes(progress.downloaded)} / {format_bytes(total)} {pct} "
              f"{format_bytes(int(progress.bytes_per_s))}/s", end="", file=sys.stderr, flush=True)

    try:
        entry = registry.download(args.repo, args.filename, endpoint=args.endpoint, name=args.name,
                                  progress=show, cancel=cancel, token=args.token)
    except KeyboardInterrupt:
        cancel.set()
        print("\nCancelled; run the same command again to resume.", file=sys.stderr)
        return 130
    except DownloadCancelled as exc:
        print(f"\n{exc}", file=sys.stderr)
        return 130
    print(f"\nDownloaded and verified {entry.name}: {entry.path}", file=sys.stderr)
    return 0


def run_presets(args: argparse.Namespace) -> int:
    if args.presets_action == "show":
        print_json(get_preset(args.name).as_dict())
        return 0
    if args.presets_action == "add":
        params = {"temperature": args.temperature} if args.temperature is not None else {}
        preset = save_user_preset(args.name, args.system, title=args.title, params=params)
        print(f"Saved preset {preset.name}")
        return 0
    if args.presets_action == "remove":
        delete_user_preset(args.name)
        print(f"Deleted preset {args.name}")
        return 0
    for preset in list_presets():
        origin = "" if preset.builtin else " (yours)"
        print(f"{preset.name:20} {preset.title}{origin}")
    return 0


def run_gpu(args: argparse.Namespace) -> int:
    support = detect_gpu_support()
    data = {"offload_supported": support.offload_supported, "message": support.message,
            "devices": [vars(d) for d in support.devices]}
    if args.model:
        entry = _registry().get(args.model)
        plan = plan_for_model(read_gguf(entry.path), args.ctx, support)
        data["plan"] = {"model": entry.name, "n_ctx": args.ctx, "n_gpu_layers": plan.n_gpu_layers,
                        "total_layers": plan.total_layers, "fit": plan.fit, "message": plan.message}
    print_json(data)
    return 0
