"""`nook sessions ...`: list, show, search, rename, delete and export conversations."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from desktop_app.cli.common import print_json
from engine.chat.history import HistoryStore


def run_sessions(args: argparse.Namespace) -> int:
    store = HistoryStore()
    action = args.sessions_action
    if action == "list":
        conversations = store.list_conversations(limit=args.limit)
        if args.json:
            print_json([{"id": c.id, "title": c.title, "model": c.model, "updated_at": c.updated_at}
                        for c in conversations])
        for c in [] if args.json else conversations:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.updated_at))
            print(f"{c.id:5}  {when}  {c.model or '-':24} {c.title}")
    elif action == "show":
        print(store.export_markdown(args.id))
    elif action == "search":
        for conversation, snippet in store.search(args.text):
            print(f"{conversation.id:5}  {conversation.title}\n       {snippet}")
    elif action == "rename":
        store.rename(args.id, args.title)
    elif action == "delete":
        store.delete(args.id)
        print(f"Deleted conversation {args.id}")
    elif action == "export":
        text = (json.dumps(store.export_json(args.id), ensure_ascii=False, indent=2)
                if args.format == "json" else store.export_markdown(args.id))
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            print(f"Exported to {args.output}")
        else:
            print(text)
    return 0
