"""`nook feedback export`: the replies rated or edited in the window, as LoRA training examples."""

from __future__ import annotations

import argparse
import sys

from engine.chat.feedback import feedback_examples, write_examples
from engine.chat.history import HistoryStore
from engine.lora.train import MIN_EXAMPLES


def add_feedback_parser(sub) -> None:
    feedback = sub.add_parser("feedback", help="ratings and edits of replies, as training examples")
    fsub = feedback.add_subparsers(dest="feedback_action", required=True)
    export = fsub.add_parser("export", help="write the liked and edited replies as a JSONL file for `nook lora train`")
    export.add_argument("--out", "-o", required=True, metavar="FILE", help="the .jsonl file to write")
    export.add_argument("--conversation", "-c", type=int, action="append",
                        help="only this conversation (repeatable)")


def run_feedback(args: argparse.Namespace) -> int:
    store = HistoryStore()
    try:
        export = feedback_examples(store, conversation_ids=args.conversation)
        path = write_examples(export.examples, args.out)
    finally:
        store.close()
    print(f"Wrote {path}: {export.describe()}.")
    if export.missing():
        print(f"Training needs at least {MIN_EXAMPLES} examples: rate or edit {export.missing()} more "
              "replies (thumbs up, or Edit reply in the window).", file=sys.stderr)
    return 0
