"""`nook lora ...` (list, add, info, remove, convert, download, train), `--lora NAME[:SCALE]` and `/lora`."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

from desktop_app.cli.common import print_json
from engine.errors import InglenookError, LoraError, TrainingCancelled
from engine.lora.adapters import (
    AdapterChoice,
    LoraRegistry,
    adapters_dir,
    check_compatible,
    merge_choices,
    parse_choice,
)
from engine.units import format_bytes


# ---------------------------------------------------------------------------------- parser
def add_lora_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lora", action="append", metavar="NAME[:SCALE]",
                        help="switch on a LoRA adapter (see `nook lora list`), scale 0-2 (default 1); repeatable")


def add_lora_parser(sub) -> None:
    lora = sub.add_parser("lora", help="LoRA style adapters: list, add, convert, train, remove")
    lsub = lora.add_subparsers(dest="lora_action", required=True)
    llist = lsub.add_parser("list")
    llist.add_argument("--json", action="store_true")
    ladd = lsub.add_parser("add", help="register a GGUF LoRA adapter from disk")
    ladd.add_argument("path")
    ladd.add_argument("--name")
    linfo = lsub.add_parser("info", help="what an adapter changes, and whether it fits a model")
    linfo.add_argument("name", help="adapter name or path")
    linfo.add_argument("--model", "-m", help="model to check it against (default: the default chat model)")
    lrm = lsub.add_parser("remove")
    lrm.add_argument("name")
    lrm.add_argument("--delete-file", action="store_true", help="also delete a file Inglenook wrote or downloaded")
    lconv = lsub.add_parser("convert", help="convert a Hugging Face PEFT adapter folder to GGUF and register it")
    lconv.add_argument("folder", help="folder with adapter_config.json and adapter_model.safetensors")
    lconv.add_argument("--model", "-m", help="the base model the adapter was trained on (default: the default model)")
    lconv.add_argument("--name")
    lconv.add_argument("--output", "-o", help="where to write the GGUF (default: Inglenook's adapters folder)")
    lconv.add_argument("--f16", action="store_true", help="store the matrices as float16 (half the size)")
    lconv.add_argument("--no-register", action="store_true", help="only write the file")
    ldl = lsub.add_parser("download", help="download a GGUF adapter from the Hugging Face Hub (or a mirror)")
    ldl.add_argument("repo")
    ldl.add_argument("filename")
    ldl.add_argument("--name")
    ldl.add_argument("--endpoint", help="Hub endpoint or mirror (or set HF_ENDPOINT)")
    ldl.add_argument("--token", default=os.environ.get("HF_TOKEN"))
    ltrain = lsub.add_parser("train", help="train a style adapter from a JSONL file of examples (needs the train extra)")
    ltrain.add_argument("data", help='JSONL: {"prompt": ..., "reply": ...} or {"messages": [...]} per line')
    ltrain.add_argument("--name", required=True)
    ltrain.add_argument("--model", "-m", help="base model (default: the default chat model)")
    ltrain.add_argument("--epochs", type=int)
    ltrain.add_argument("--rank", type=int)
    ltrain.add_argument("--alpha", type=float)
    ltrain.add_argument("--lr", type=float, dest="learning_rate")
    ltrain.add_argument("--batch-size", type=int)
    ltrain.add_argument("--max-length", type=int, help="tokens per example (longer ones are cut)")
    ltrain.add_argument("--val-fraction", type=float, help="share of examples held out (default 0.1)")
    ltrain.add_argument("--patience", type=int, help="evaluations without improvement before stopping early")
    ltrain.add_argument("--seed", type=int)
    ltrain.add_argument("--threads", type=int)
    ltrain.add_argument("--system", dest="system_prompt", help="system prompt for examples without one")
    ltrain.add_argument("--json", action="store_true", help="print the result as JSON")


# --------------------------------------------------------------------------------- commands
def run_lora(args: argparse.Namespace) -> int:
    from engine.chat.history import HistoryStore

    store = HistoryStore()
    try:
        registry = LoraRegistry(store.db)
        action = args.lora_action
        if action == "list":
            return _list(registry, args)
        if action == "add":
            entry = registry.add(args.path, name=args.name)
            info = registry.info(entry.name)
            print(f"Added {entry.name}: rank {info.rank}, alpha {info.alpha:g}, {info.architecture}, "
                  f"changes {', '.join(info.targets)} ({format_bytes(info.file_size)})")
            _fit_note(registry, entry.name, None)
        elif action == "info":
            return _info(registry, args)
        elif action == "remove":
            entry = registry.remove(args.name, delete_file=args.delete_file)
            print(f"Removed {entry.name}" + (" and deleted its file" if args.delete_file else ""))
        elif action == "convert":
            return _convert(registry, args)
        elif action == "download":
            entry = registry.download(args.repo, args.filename, endpoint=args.endpoint, name=args.name,
                                      token=args.token)
            print(f"Downloaded and registered {entry.name}: {entry.path}")
        elif action == "train":
            return _train(registry, args)
        return 0
    finally:
        store.close()


def _list(registry: LoraRegistry, args) -> int:
    rows = []
    for entry in registry.list():
        try:
            info = registry.info(entry.name).summary()
        except InglenookError as exc:
            info = {"error": str(exc)}
        rows.append({**entry.as_dict(), "adapter": info})
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("No adapters yet: `nook lora add FILE.gguf`, `nook lora convert PEFT_FOLDER` or `nook lora train DATA.jsonl`.")
    for row in rows:
        info = row["adapter"]
        what = (f"rank {info['rank']:<3} alpha {info['alpha']:<5g} {info['architecture'] or '?':8} "
                f"{','.join(info['targets'])}") if "error" not in info else f"unreadable: {info['error']}"
        print(f"{row['name']:28} {row['source']:9} {format_bytes(row['size']):>9}  {what}")
    return 0


def _info(registry: LoraRegistry, args) -> int:
    entry = registry.get(args.name)
    info = registry.info(args.name)
    data = {**entry.as_dict(), "adapter": info.summary()}
    model = _model_info(args.model)
    if model is not None:
        try:
            check_compatible(info, model[1])
            data["fits"] = {"model": model[0], "ok": True}
        except LoraError as exc:
            data["fits"] = {"model": model[0], "ok": False, "reason": str(exc)}
    print_json(data)
    return 0


def _model_info(name: str | None):
    """(name, GGUFInfo) of ``name`` or the default chat model; None when there is none to check against."""
    from engine.models.gguf import read_gguf
    from engine.models.registry import ModelRegistry

    try:
        entry = ModelRegistry().default_chat_model(name)
    except InglenookError:
        if name:
            raise
        return None
    return entry.name, read_gguf(entry.path)


def _fit_note(registry: LoraRegistry, name: str, model: str | None) -> None:
    found = _model_info(model)
    if found is None:
        return
    try:
        check_compatible(registry.info(name), found[1])
        print(f"It fits {found[0]}: switch it on with `nook chat --lora {name}`.")
    except LoraError as exc:
        print(f"note: it does not fit {found[0]}: {exc}", file=sys.stderr)


def _convert(registry: LoraRegistry, args) -> int:
    from engine.lora.convert import convert_peft
    from engine.models.registry import ModelRegistry

    base = ModelRegistry().default_chat_model(args.model)
    name = registry.unique_name(args.name or Path(args.folder).resolve().name)
    out = Path(args.output) if args.output else adapters_dir() / f"{name}.gguf"
    info = convert_peft(args.folder, base.path, out, name=name, dtype="f16" if args.f16 else "f32")
    print(f"Converted {args.folder} for {base.name}: {len(info.pairs)} tensor pairs, rank {info.rank}, "
          f"alpha {info.alpha:g} -> {out} ({format_bytes(info.file_size)})")
    if not args.no_register:
        entry = registry.add(out, name, source="converted" if not args.output else "local")
        print(f"Registered as {entry.name}: switch it on with `nook chat --lora {entry.name}`.")
    return 0


def _train(registry: LoraRegistry, args) -> int:
    from engine.lora.train import TrainConfig, load_examples, train_lora
    from engine.models.registry import ModelRegistry

    load_examples(args.data)  # a bad file is reported before the model is loaded
    base = ModelRegistry().default_chat_model(args.model)
    fields = ("epochs", "rank", "alpha", "learning_rate", "batch_size", "max_length", "val_fraction", "patience",
              "seed", "threads", "system_prompt")
    config = TrainConfig(**{f: getattr(args, f) for f in fields if getattr(args, f) is not None})
    config.chat_template = base.settings.get("chat_template")
    cancel = threading.Event()
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["result"] = train_lora(args.data, args.name, base=base.path, config=config,
                                           progress=_print_train_progress, cancel=cancel, registry=registry)
        except BaseException as exc:  # handed to the main thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="inglenook-train", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        cancel.set()
        print("\nCancelling after the current step…", file=sys.stderr)
        worker.join()
    if "error" in outcome:
        if isinstance(outcome["error"], TrainingCancelled):
            print(str(outcome["error"]), file=sys.stderr)
            return 130
        raise outcome["error"]
    _print_train_result(outcome["result"], as_json=args.json)
    return 0


def _print_train_progress(p) -> None:
    """One line per report (rewritten in place on a terminal)."""
    parts = [f"{p.phase:10}"]
    if p.total_steps:
        parts.append(f"step {p.step}/{p.total_steps} ({p.fraction * 100:3.0f}%)")
    if p.train_loss is not None:
        parts.append(f"loss {p.train_loss:.3f}")
    if p.val_loss is not None:
        parts.append(f"held-out {p.val_loss:.3f}")
    if p.eta_s is not None:
        parts.append(f"eta {p.eta_s:.0f} s")
    if p.message:
        parts.append(p.message)
    end = "\n" if p.phase in ("evaluating", "done", "loading") or not sys.stderr.isatty() else ""
    print(("\r\033[K" if sys.stderr.isatty() else "") + "  ".join(parts), end=end, file=sys.stderr, flush=True)


def _print_train_result(result, as_json: bool) -> None:
    import json

    if as_json:
        summary = {"name": result.name, "path": str(result.path), "examples": result.n_train,
                   "held_out": result.n_val, "steps": result.steps,
                   "initial_val_loss": round(result.initial_val_loss, 4),
                   "best_val_loss": round(result.best_val_loss, 4), "stopped_early": result.stopped_early,
                   "truncated_examples": result.truncated, "bf16": result.bf16, "wall_s": round(result.wall_s, 1)}
        print(json.dumps(summary))
    else:
        print(f"Trained {result.name} in {result.wall_s:.0f} s: held-out loss {result.initial_val_loss:.3f} -> "
              f"{result.best_val_loss:.3f} ({result.steps} steps{', stopped early' if result.stopped_early else ''}). "
              f"Switch it on with `nook chat --lora {result.name}`.")


# ----------------------------------------------------------------------- chat integration
def describe(choices: list[AdapterChoice]) -> str:
    return ", ".join(f"{c.name}×{c.scale:g}" for c in choices) or "none"


def apply_lora_args(session, args: argparse.Namespace, quiet: bool = False) -> None:
    """``--lora NAME[:SCALE]`` (repeatable) for a new or continued conversation."""
    texts = getattr(args, "lora", None)
    if not texts:
        return
    choices = session.set_adapters(merge_choices(session.adapters, [parse_choice(t) for t in texts]))
    if not quiet:
        print(f"[adapters: {describe(choices)}]", file=sys.stderr)


def lora_command(session, rest: list[str]) -> None:
    """``/lora`` alone shows; ``/lora NAME[:SCALE] ...`` switches on or rescales; ``/lora off [NAME]``."""
    if not rest:
        names = ", ".join(e.name for e in LoraRegistry(session.store.db).list()) or "none (see `nook lora`)"
        print(f"[adapters on: {describe(session.adapters)}; installed: {names}]", file=sys.stderr)
        return
    if rest[0] == "off":
        if len(rest) == 1:
            choices = session.set_adapters([])
        else:
            choices = session.set_adapters(merge_choices(session.adapters, [AdapterChoice(n, 0.0) for n in rest[1:]]))
    else:
        choices = session.set_adapters(merge_choices(session.adapters, [parse_choice(t) for t in rest]))
    print(f"[adapters: {describe(choices)}]", file=sys.stderr)
