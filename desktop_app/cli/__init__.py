"""The `nook` command. Each subcommand lives in its own module; this one only parses and dispatches."""

from __future__ import annotations

import argparse
import importlib
import logging
import multiprocessing
import os
import sys

from desktop_app.cli.common import add_load_args, add_sampling_args, fail
from desktop_app.cli.doctor import add_doctor_parser
from desktop_app.cli.evaluate import add_eval_parser
from desktop_app.cli.feedback import add_feedback_parser
from desktop_app.cli.lora import add_lora_option, add_lora_parser
from desktop_app.cli.serve import add_serve_parser
from engine.errors import InglenookError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nook",
        description="Inglenook: private, on-device LLM chat. Without a command, opens the window.",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log what the engine does")
    sub = parser.add_subparsers(dest="command")
    _add_chat_parser(sub)
    _add_ask_parser(sub)
    _add_models_parser(sub)
    _add_sessions_parser(sub)
    _add_presets_parser(sub)
    _add_collections_parser(sub)
    _add_index_and_search_parsers(sub)
    _add_embedders_parser(sub)
    add_lora_parser(sub)
    _add_gpu_parser(sub)
    add_doctor_parser(sub)
    add_serve_parser(sub)
    add_feedback_parser(sub)
    add_eval_parser(sub)
    return parser


def _add_chat_parser(sub) -> None:
    """`nook chat`: the terminal chat."""
    chat = sub.add_parser("chat", help="chat in the terminal (streaming)")
    add_load_args(chat)
    add_sampling_args(chat)
    chat.add_argument("--preset", "-p", help="prompt preset (see `nook presets`)")
    chat.add_argument("--system", "-s", help="system prompt")
    chat.add_argument("--conversation", "-c", type=int, help="continue a saved conversation by id")
    add_lora_option(chat)
    chat.add_argument("--collection", "-C", action="append", help="answer from this document collection (repeatable)")
    chat.add_argument("--strict", action="store_true", help="answer only from the documents")
    chat.add_argument("-k", type=int, default=5, help="passages to retrieve per question")
    chat.add_argument("--rewrite", choices=["off", "standalone", "multi", "hyde"], default="off",
                     help="rewrite the question with the model before searching the documents: standalone "
                          "(follow-ups made self-contained), multi (several phrasings), hyde (a hypothetical answer)")


def _add_ask_parser(sub) -> None:
    """`nook ask`: one question, one answer."""
    ask = sub.add_parser("ask", help="ask one question and print the answer")
    ask.add_argument("question")
    add_load_args(ask)
    add_sampling_args(ask)
    ask.add_argument("--preset", "-p")
    ask.add_argument("--system", "-s")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of streaming text")
    ask.add_argument("--json-schema", metavar="FILE",
                     help="the answer is one JSON document following this JSON schema (enforced by a grammar)")
    add_lora_option(ask)
    ask.add_argument("--collection", "-C", action="append",
                     help="answer from this document collection (repeatable), with cited sources")
    ask.add_argument("--strict", action="store_true", help="answer only from the documents; say so when they do not cover it")
    ask.add_argument("-k", type=int, default=5, help="how many passages to retrieve (default 5)")
    ask.add_argument("--rewrite", choices=["off", "standalone", "multi", "hyde"], default="off",
                     help="rewrite the question with the model before searching the documents: standalone "
                          "(follow-ups made self-contained), multi (several phrasings), hyde (a hypothetical answer)")


def _add_models_parser(sub) -> None:
    """`nook models list|add|add-remote|info|remove|set|download`."""
    models = sub.add_parser("models", help="list, add, download, inspect and remove models")
    msub = models.add_subparsers(dest="models_action", required=True)
    mlist = msub.add_parser("list")
    mlist.add_argument("--json", action="store_true")
    mlist.add_argument("--all", action="store_true", help="include embedding models and tokenizers")
    madd = msub.add_parser("add", help="register a GGUF file from disk")
    madd.add_argument("path")
    madd.add_argument("--name")
    mremote = msub.add_parser("add-remote", help="keep an OpenAI-compatible server as a model")
    mremote.add_argument("name", help="the name to choose it by (`nook chat --model NAME`)")
    mremote.add_argument("url", help="its base URL, e.g. http://127.0.0.1:8080/v1 (#<model> picks one of its models)")
    mremote.add_argument("--api-key-stdin", action="store_true",
                         help="read the server's API key from standard input (kept in the OS keyring)")
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


def _add_sessions_parser(sub) -> None:
    """`nook sessions list|show|search|rename|delete|export`."""
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


def _add_presets_parser(sub) -> None:
    """`nook presets [list|show|add|remove]`."""
    presets = sub.add_parser("presets", help="prompt presets")
    psub = presets.add_subparsers(dest="presets_action")
    psub.add_parser("list")
    pshow = psub.add_parser("show")
    pshow.add_argument("name")
    padd = psub.add_parser("add", help="save your own preset")
    padd.add_argument("name")
    padd.add_argument("--system", required=True, help="the system prompt")
    padd.add_argument("--title")
    padd.add_argument("--temperature", type=float)
    premove = psub.add_parser("remove", help="delete one of your presets")
    premove.add_argument("name")


def _add_collections_parser(sub) -> None:
    """`nook collections create|list|status|remove`."""
    colls = sub.add_parser("collections", help="document collections (folders to answer questions from)")
    csub = colls.add_subparsers(dest="collections_action", required=True)
    ccreate = csub.add_parser("create", help="create a collection from folders and files")
    ccreate.add_argument("name")
    ccreate.add_argument("paths", nargs="+")
    ccreate.add_argument("--exclude", action="append", help="gitignore-style pattern to leave out (repeatable)")
    ccreate.add_argument("--max-mb", type=float, help="skip files larger than this (default 50)")
    _add_index_settings(ccreate)
    cset = csub.add_parser("set", help="change how a collection is indexed (takes effect at the next `nook index`)")
    cset.add_argument("name")
    _add_index_settings(cset)
    clist = csub.add_parser("list")
    clist.add_argument("--json", action="store_true")
    cstatus = csub.add_parser("status", help="counts, and every skipped or failed file with its reason")
    cstatus.add_argument("name")
    cstatus.add_argument("--json", action="store_true")
    cremove = csub.add_parser("remove", help="forget a collection and its index (files are untouched)")
    cremove.add_argument("name")


def _add_index_settings(parser) -> None:
    parser.add_argument("--embedder", help="embedding model (`nook embedders` lists them); changing it re-embeds "
                                           "in the background while the old index keeps answering")
    parser.add_argument("--chunk-size", type=int, help="characters of Chinese (words of other scripts count 2) "
                                                       "per matched chunk (default 300)")
    parser.add_argument("--context-size", type=int, help="same units: the passage around a match given to the "
                                                         "answer (default 500)")
    parser.add_argument("--segmenter", choices=["bigram", "unigram+bigram", "jieba"],
                        help="how Chinese is split for full-text search")


def _add_embedders_parser(sub) -> None:
    """`nook embedders [list|download NAME]`."""
    emb = sub.add_parser("embedders", help="embedding models: the bundled one and multilingual ones to download")
    esub = emb.add_subparsers(dest="embedders_action")
    elist = esub.add_parser("list")
    elist.add_argument("--json", action="store_true")
    eget = esub.add_parser("download", help="download a multilingual embedding model from the Hub or a mirror")
    eget.add_argument("name")
    eget.add_argument("--endpoint", help="Hub mirror, e.g. https://hf-mirror.com (default: HF_ENDPOINT or the Hub)")


def _add_index_and_search_parsers(sub) -> None:
    """`nook index` and `nook search`."""
    index = sub.add_parser("index", help="index (or update) a collection")
    index.add_argument("name")
    index.add_argument("--watch", action="store_true", help="keep indexing changes until Ctrl-C")
    index.add_argument("--json", action="store_true", help="print the summary as JSON")

    search = sub.add_parser("search", help="search a collection (hybrid: meaning + exact words)")
    search.add_argument("name", help="collection name (several: a,b)")
    search.add_argument("query", nargs="?")
    search.add_argument("-k", type=int, default=10)
    search.add_argument("--json", action="store_true")
    search.add_argument("--queries", help="batch mode: a JSONL file of {\"id\", \"query\"} lines")
    search.add_argument("--mode", choices=["hybrid", "vector", "fulltext"], default="hybrid")
    search.add_argument("--path", help="only files whose path matches this glob, e.g. '*.pdf' or '*/contracts/*'")
    search.add_argument("--type", action="append", help="only this file type (pdf, docx, markdown, ...)")


def _add_gpu_parser(sub) -> None:
    """`nook gpu`: what this build can offload."""
    gpu = sub.add_parser("gpu", help="what this build can offload, and a plan for a model")
    gpu.add_argument("--model", "-m")
    gpu.add_argument("--ctx", type=int, default=4096)


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()  # a packaged app starts its engine process through this binary
    args = build_parser().parse_args(argv)
    if args.command is None:  # `nook` alone opens the window; `nook chat` is the terminal
        from desktop_app.gui import run_gui

        return run_gui(verbose=args.verbose)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    command = args.command
    try:
        return _dispatch(command, args)
    except InglenookError as exc:
        return fail(exc)
    except KeyboardInterrupt:
        return 130


COMMANDS = {  # command: (module in desktop_app.cli, function), imported when used so `nook` starts fast
    "chat": ("chat", "run_chat"),
    "ask": ("chat", "run_ask"),
    "models": ("models", "run_models"),
    "sessions": ("sessions", "run_sessions"),
    "presets": ("models", "run_presets"),
    "collections": ("knowledge", "run_collections"),
    "embedders": ("knowledge", "run_embedders"),
    "index": ("knowledge", "run_index"),
    "search": ("knowledge", "run_search"),
    "lora": ("lora", "run_lora"),
    "gpu": ("models", "run_gpu"),
    "doctor": ("doctor", "run_doctor"),
    "serve": ("serve", "run_serve"),
    "eval": ("evaluate", "run_eval"),
    "feedback": ("feedback", "run_feedback"),
}


def _dispatch(command: str, args: argparse.Namespace) -> int:
    if command not in COMMANDS:
        raise InglenookError(f"Unknown command {command}.")
    module, function = COMMANDS[command]
    return getattr(importlib.import_module(f"desktop_app.cli.{module}"), function)(args)


if __name__ == "__main__":
    sys.exit(main())
