"""`nook models ...`, `nook presets ...`, `nook gpu`."""

from __future__ import annotations

import argparse
import sys
import threading

from desktop_app.cli.common import print_json
from engine.chat.history import HistoryStore
from engine.chat.presets import delete_user_preset, get_preset, list_presets, save_user_preset
from engine.errors import DownloadCancelled
from engine.hardware import detect_gpu_support, plan_for_model
from engine.models.gguf import read_gguf
from engine.models.registry import ModelRegistry
from engine.units import format_bytes


def _registry() -> ModelRegistry:
    return ModelRegistry(HistoryStore().db)


def run_models(args: argparse.Namespace) -> int:
    registry = _registry()
    action = args.models_action
    if action == "list":
        entries = registry.list(None if args.all else "chat")
        if args.json:
            print_json([e.as_dict() for e in entries])
            return 0
        for entry in entries:
            print(f"{entry.name:32} {entry.source:8} {format_bytes(entry.size):>9}  {entry.path}")
        if not entries:
            print("No models yet: run scripts/setup.sh for the bundled one, or `nook models add PATH`.")
    elif action == "add":
        entry = registry.add(args.path, name=args.name)
        print(f"Added {entry.name} ({format_bytes(entry.size)}) from {entry.path}")
    elif action == "remove":
        entry = registry.remove(args.name, delete_file=args.delete_file)
        print(f"Removed {entry.name}" + (" and deleted its file" if args.delete_file else ""))
    elif action == "info":
        entry = registry.get(args.name)
        info = read_gguf(entry.path) if entry.path.suffix == ".gguf" else None
        data = entry.as_dict()
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
