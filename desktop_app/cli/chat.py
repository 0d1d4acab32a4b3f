"""`nook chat` (a streaming REPL) and `nook ask` (one question, one answer)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from desktop_app.cli.common import Context, describe_timings, sampling_overrides
from desktop_app.cli.lora import apply_lora_args, lora_command
from engine.chat.presets import list_presets
from engine.chat.session import ChatSession
from engine.errors import InglenookError
from engine.events import ContextNotice, Finished, TextDelta
from engine.structured import json_schema_grammar, load_schema_file
from knowledge.conversation_docs import REWRITE_OFF, DocumentChoice, build_augmenter
from knowledge.library import Library

HELP = """Commands:
  /new                 start a new conversation
  /regen               answer the last message again (the old answer is kept as a branch)
  /model NAME          switch model (see `nook models list`)
  /preset NAME|none    use a prompt preset (/preset alone lists them)
  /system TEXT         set this conversation's system prompt (/system alone clears it)
  /params [k=v ...]    show or change sampling parameters, e.g. /params temperature=0.2 max_tokens=200
  /save [md|json] [FILE]  export this conversation (default: Markdown to stdout)
  /lora [NAME[:SCALE] ...|off [NAME]]  LoRA style adapters: show, switch on (scale 0-2) or off
  /help                this help;  /quit (or Ctrl-D) to leave.  Ctrl-C stops a reply, not the program."""


def stream_reply(session: ChatSession, events, out=sys.stdout) -> Finished | None:
    """Print a reply as it streams. Ctrl-C cancels the reply and keeps what was written."""
    finished = None
    iterator = iter(events)
    while True:
        try:
            event = next(iterator)
            if isinstance(event, TextDelta):
                out.write(event.text)
                out.flush()
            elif isinstance(event, ContextNotice):
                print(f"[{event.text}]", file=sys.stderr)
            elif isinstance(event, Finished):
                finished = event
        except StopIteration:
            break
        except KeyboardInterrupt:  # wherever it lands, it stops the reply and only the reply
            session.cancel()
            print("\n[stopped]", file=sys.stderr)
    out.write("\n")
    if finished is not None and finished.error:
        print(f"error: {finished.error}", file=sys.stderr)
    return finished


def run_chat(args: argparse.Namespace) -> int:
    ctx = Context.open()
    library = Library()
    try:
        entry = ctx.load_model(args)
        session = _new_session(ctx, library, args, entry.name)
        if args.conversation:
            session = ChatSession(ctx.host, ctx.store, args.conversation)
            apply_lora_args(session, args)
            for message in session.thread():
                print(f"{'you' if message.role == 'user' else 'ai'}> {message.content}")
        print("Type a message, /help for commands.", file=sys.stderr)
        return _repl(ctx, library, session, args)
    finally:
        library.close()
        ctx.close()


def _repl(ctx: Context, library: Library, session: ChatSession, args) -> int:
    while True:
        try:
            line = input("you> ")
        except EOFError:
            print()
            return 0
        except KeyboardInterrupt:
            print("\n(Ctrl-D or /quit to leave)", file=sys.stderr)
            continue
        if not line.strip():
            continue
        try:
            if line.startswith("/"):
                session, done = _command(ctx, library, session, line, args)
                if done:
                    return 0
                continue
            _print_finish(ctx, stream_reply(session, session.send(line)))
            print_sources(session)
        except InglenookError as exc:
            print(f"error: {exc}", file=sys.stderr)


def _new_session(ctx: Context, library: Library, args, model_name: str) -> ChatSession:
    session = ChatSession(ctx.host, ctx.store, model_name=model_name, preset=getattr(args, "preset", None),
                          system_prompt=getattr(args, "system", None))
    overrides = sampling_overrides(args)
    if getattr(args, "json_schema", None):
        schema = load_schema_file(args.json_schema)
        overrides["grammar"] = json_schema_grammar(schema)
        overrides["json_schema"] = json.dumps(schema, ensure_ascii=False)
    if overrides:
        session.set_params(**overrides)
    attach_collections(library, session, args)
    apply_lora_args(session, args, quiet=getattr(args, "json", False))
    return session


def attach_collections(library: Library, session: ChatSession, args) -> None:
    """Answer from documents: retrieval plus cited sources for every question of this session."""
    names = getattr(args, "collection", None)
    if not names:
        return
    library.require(names)  # a typo fails now, with the list of collections
    choice = DocumentChoice(tuple(names), args.strict)
    session.augmenter = build_augmenter(library.retriever(), session, choice, k=args.k,
                                        rewrite=getattr(args, "rewrite", REWRITE_OFF))


def print_sources(session: ChatSession, out=sys.stderr) -> None:
    outcome = session.last_outcome
    if outcome is None or session.augmenter is None:
        return
    sources = outcome.message.extra.get("sources", [])
    if not sources:
        print("[no matching passages in the documents]", file=out)
        return
    print("Sources:", file=out)
    for source in sources:
        where = f", page {source['page']}" if source.get("page") else ""
        heading = f" — {source['heading']}" if source.get("heading") else ""
        print(f"  [{source['n']}] {source['path']}{where}{heading}", file=out)


def _print_finish(ctx: Context, finished: Finished | None) -> None:
    if finished is not None and finished.reason != "error":
        n_ctx = ctx.host.loaded.n_ctx if ctx.host and ctx.host.loaded else None
        note = {"length": " (max tokens reached)", "context": " (context full)"}.get(finished.reason, "")
        print(f"\033[2m[{describe_timings(finished.timings, n_ctx)}]{note}\033[0m", file=sys.stderr)


def _command(ctx: Context, library: Library, session: ChatSession, line: str, args) -> tuple[ChatSession, bool]:
    parts = shlex.split(line)
    name, rest = parts[0].lower(), parts[1:]
    if name in ("/quit", "/exit", "/q"):
        return session, True
    if name == "/help":
        print(HELP)
    elif name == "/new":
        session = _new_session(ctx, library, args, ctx.host.loaded.name)
        print("[new conversation]", file=sys.stderr)
    elif name == "/regen":
        _print_finish(ctx, stream_reply(session, session.regenerate()))
    elif name == "/model":
        if not rest:
            print(f"[model: {ctx.host.loaded.name if ctx.host.loaded else 'none'}]")
        else:
            entry = ctx.load_model(args, name=rest[0])
            ctx.store.update_conversation(session.conversation_id, model=entry.name)
    elif name == "/preset":
        if not rest:
            for preset in list_presets():
                print(f"  {preset.name:20} {preset.title}")
        else:
            preset = session.set_preset(None if rest[0] == "none" else rest[0])
            print(f"[preset: {preset.name if preset else 'none'}]", file=sys.stderr)
    elif name == "/lora":
        lora_command(session, rest)
    elif name == "/system":
        session.set_system_prompt(" ".join(rest) or None)
        print("[system prompt set]" if rest else "[system prompt cleared]", file=sys.stderr)
    elif name == "/params":
        if rest:
            changes = dict(item.split("=", 1) for item in rest if "=" in item)
            session.set_params(**changes)
        print(json.dumps(session.params.as_dict()))
    elif name == "/save":
        fmt = rest[0] if rest and rest[0] in ("md", "json") else "md"
        target = next((r for r in rest if r not in ("md", "json")), None)
        text = (json.dumps(ctx.store.export_json(session.conversation_id), ensure_ascii=False, indent=2)
                if fmt == "json" else ctx.store.export_markdown(session.conversation_id))
        if target:
            Path(target).write_text(text, encoding="utf-8")
            print(f"[saved to {target}]", file=sys.stderr)
        else:
            print(text)
    else:
        print(f"Unknown command {name}; /help lists them.", file=sys.stderr)
    return session, False


def run_ask(args: argparse.Namespace) -> int:
    ctx = Context.open()
    library = Library()
    try:
        entry = ctx.load_model(args, quiet=args.json)
        session = _new_session(ctx, library, args, entry.name)
        events = session.send(args.question)
        if args.json:
            finished = None
            for event in events:
                if isinstance(event, Finished):
                    finished = event
            outcome = session.last_outcome
            print(json.dumps({
                "model": entry.name,
                "answer": outcome.message.content,
                "finish_reason": finished.reason if finished else "stopped",
                "error": finished.error if finished else None,
                "timings": finished.timings.as_dict() if finished else None,
                "conversation_id": session.conversation_id,
                "lora": [c.as_dict() for c in session.adapters],
                "sources": outcome.message.extra.get("sources", []) if session.augmenter else None,
            }, ensure_ascii=False))
        else:
            finished = stream_reply(session, events)
            _print_finish(ctx, finished)
            print_sources(session, out=sys.stdout)
        return 0 if finished is not None and finished.reason != "error" else 1
    finally:
        library.close()
        ctx.close()
