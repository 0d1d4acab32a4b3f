"""The `nook` command. Each subcommand lives in its own module; this one only parses and dispatches."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from desktop_app.cli.common import add_load_args, add_sampling_args, fail
from engine.errors import InglenookError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nook", description="Inglenook: private, on-device LLM chat.")
    parser.add_argument("--verbose", "-v", action="store_true", help="log what the engine does")
    sub = parser.add_subparsers(dest="command")

    chat = sub.add_parser("chat", help="chat in the terminal (streaming)")
    add_load_args(chat)
    add_sampling_args(chat)
    chat.add_argument("--preset", "-p", help="prompt preset (see `nook presets`)")
    chat.add_argument("--system", "-s", help="system prompt")
    chat.add_argument("--conversation", "-c", type=int, help="continue a saved conversation by id")

    ask = sub.add_parser("ask", help="ask one question and print the answer")
    ask.add_argument("question")
    add_load_args(ask)
    add_sampling_args(ask)
    ask.add_argument("--preset", "-p")
    ask.add_argument("--system", "-s")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of streaming text")

    models = sub.add_parser("models", help="list, add, download, inspect and remove models")
    msub = models.add_subparsers(dest="models_action", required=True)
    mlist = msub.add_parser("list")
    mlist.add_argument("--json", action="store_true")
    mlist.add_argument("--all", action="store_true", help="include embedding models and tokenizers")
    madd = msub.add_parser("add", help="register a GGUF file from disk")
    madd.add_argument("path")
    madd.add_argument("--name")
    minfo = msub.add_parser("info")
    minfo.add_argument("name")
    mrm = msub.add_parser("remove")
    mrm.add_argument("name")
    mrm.add_argument("--delete-file", action="store_true", help="also delete a downloaded file")
    mset = msub.add_parser("set", help="per-model settings")
    mset.add_argument("name")
    mset.add_argument("--ctx", type=int)
    mset.add_argument("--threads", type=int)
    mset.add_argument("--gpu-layers")
    mset.add_argument("--chat-template", help="a Jinja chat template that overrides the model's own")
    mdl = msub.add_parser("download", help="download a GGUF from the Hugging Face Hub (or a mirror)")
    mdl.add_argument("repo", help="e.g. bartowski/SmolLM2-360M-Instruct-GGUF")
    mdl.add_argument("filename", nargs="?", help="the GGUF file; omit to list the repo's GGUF files")
    mdl.add_argument("--list", action="store_true")
    mdl.add_argument("--name")
    mdl.add_argument("--endpoint", help="Hub endpoint or mirror, e.g. https://hf-mirror.com (or set HF_ENDPOINT)")
    mdl.add_argument("--token", default=os.environ.get("HF_TOKEN"))

    sessions = sub.add_parser("sessions", help="saved conversations")
    ssub = sessions.add_subparsers(dest="sessions_action", required=True)
    slist = ssub.add_parser("list")
    slist.add_argument("--limit", type=int)
    slist.add_argument("--json", action="store_true")
    sshow = ssub.add_parser("show")
    sshow.add_argument("id", type=int)
    ssearch = ssub.add_parser("search")
    ssearch.add_argument("text")
    sren = ssub.add_parser("rename")
    sren.add_argument("id", type=int)
    sren.add_argument("title")
    sdel = ssub.add_parser("delete")
    sdel.add_argument("id", type=int)
    sexp = ssub.add_parser("export")
    sexp.add_argument("id", type=int)
    sexp.add_argument("--format", choices=["md", "json"], default="md")
    sexp.add_argument("--output", "-o")

    presets = sub.add_parser("presets", help="prompt presets")
    psub = presets.add_subparsers(dest="presets_action")
    psub.add_parser("list")
    pshow = psub.add_parser("show")
    pshow.add_argument("name")

    gpu = sub.add_parser("gpu", help="what this build can offload, and a plan for a model")
    gpu.add_argument("--model", "-m")
    gpu.add_argument("--ctx", type=int, default=4096)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    command = args.command or "chat"
    if args.command is None:
        args = build_parser().parse_args(["chat", *(argv or sys.argv[1:])])
    try:
        return _dispatch(command, args)
    except InglenookError as exc:
        return fail(exc)
    except KeyboardInterrupt:
        return 130


def _dispatch(command: str, args: argparse.Namespace) -> int:
    if command == "chat":
        from desktop_app.cli.chat import run_chat

        return run_chat(args)
    if command == "ask":
        from desktop_app.cli.chat import run_ask

        return run_ask(args)
    if command == "models":
        from desktop_app.cli.models import run_models

        return run_models(args)
    if command == "sessions":
        from desktop_app.cli.sessions import run_sessions

        return run_sessions(args)
    if command == "presets":
        from desktop_app.cli.models import run_presets

        return run_presets(args)
    if command == "gpu":
        from desktop_app.cli.models import run_gpu

        return run_gpu(args)
    raise InglenookError(f"Unknown command {command}.")


if __name__ == "__main__":
    sys.exit(main())
