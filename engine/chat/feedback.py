"""Feedback on replies: thumbs up / down and edits, kept in the app database, and the training
examples they make.

A rating is per assistant message (one each: rating again replaces it, ``None`` clears it). An
edit keeps the user's preferred text next to the model's original, which the message keeps. The
chat shows (and continues from) the edited text; ``feedback_examples`` turns the rated and edited
replies into LoRA training examples in the format ``engine.lora.train.load_examples`` reads:

* a thumbs-up reply as it is,
* an edited reply with the edited text (whatever its rating),
* a thumbs-down reply without an edit is left out: it says what not to write, not what to write.

Each example is the conversation up to that reply (the branch it is on, earlier replies with their
edits), with the conversation's own system prompt (or its preset's) first when it has one.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from engine.chat.history import HistoryStore, StoredMessage
from engine.chat.presets import get_preset
from engine.errors import HistoryError, InglenookError
from engine.lora.train import MIN_EXAMPLES

RATINGS = {"up": 1, "down": -1, 1: 1, -1: -1}


@dataclass(frozen=True)
class Feedback:
    message_id: int
    rating: int | None  # +1 thumbs up, -1 thumbs down, None not rated
    edited: str | None  # the user's preferred text, None when not edited
    updated_at: float

    @property
    def empty(self) -> bool:
        return self.rating is None and self.edited is None


@dataclass
class FeedbackExport:
    """Training examples from rated replies, and what was used or left out (and why)."""

    examples: list[dict] = field(default_factory=list)
    used_up: int = 0  # thumbs-up replies used as they are
    used_edited: int = 0  # edited replies used with the edited text
    skipped_down: int = 0  # thumbs-down without an edit
    skipped_empty: int = 0  # replies with no text (failed, or cut off before the first word)

    @property
    def used(self) -> int:
        return len(self.examples)

    def missing(self, minimum: int = MIN_EXAMPLES) -> int:
        """How many more usable ratings training needs (0 when there are enough)."""
        return max(0, minimum - self.used)

    def describe(self) -> str:
        return (f"{self.used} example(s): {self.used_up} liked, {self.used_edited} edited; left out "
                f"{self.skipped_down} disliked without an edit and {self.skipped_empty} empty")


# ------------------------------------------------------------------------------ reading
def _row(row) -> Feedback:
    return Feedback(row["message_id"], row["rating"], row["edited"], row["updated_at"])


def get_feedback(store: HistoryStore, message_id: int) -> Feedback | None:
    rows = store.db.query("SELECT * FROM message_feedback WHERE message_id = ?", (message_id,))
    return _row(rows[0]) if rows else None


def feedback_for(store: HistoryStore, message_ids: Iterable[int]) -> dict[int, Feedback]:
    """Feedback of the given messages (those without any are absent)."""
    ids = sorted({int(i) for i in message_ids})
    out: dict[int, Feedback] = {}
    for start in range(0, len(ids), 500):  # SQLite limits the number of parameters
        chunk = ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in store.db.query(f"SELECT * FROM message_feedback WHERE message_id IN ({marks})", tuple(chunk)):
            out[row["message_id"]] = _row(row)
    return out


def preferred_text(message: StoredMessage, feedback: Feedback | None) -> str:
    """What the user wants this message to say: the edit when there is one, else the original."""
    if message.role == "assistant" and feedback is not None and feedback.edited is not None:
        return feedback.edited
    return message.content


# ------------------------------------------------------------------------------ writing
def _assistant_message(store: HistoryStore, message_id: int) -> StoredMessage:
    message = store.get_message(message_id)  # HistoryError when it does not exist
    if message.role != "assistant":
        raise HistoryError(f"Message {message_id} is a {message.role} message; only the assistant's replies "
                           "can be rated or edited.")
    if message.status == "streaming":
        raise HistoryError("This reply is still being written; rate or edit it once it has finished.")
    return message


def _save(store: HistoryStore, message_id: int, rating: int | None, edited: str | None) -> Feedback | None:
    with store.db.transaction() as conn:
        if rating is None and edited is None:
            conn.execute("DELETE FROM message_feedback WHERE message_id = ?", (message_id,))
        else:
            conn.execute(
                "INSERT INTO message_feedback(message_id, rating, edited, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(message_id) DO UPDATE SET rating = excluded.rating, edited = excluded.edited, "
                "updated_at = excluded.updated_at",
                (message_id, rating, edited, time.time()),
            )
    return get_feedback(store, message_id)


def rate(store: HistoryStore, message_id: int, rating: str | int | None) -> Feedback | None:
    """Set the rating of a reply: ``"up"``/``1``, ``"down"``/``-1``, or ``None`` to clear it.

    Returns the message's feedback now (None when nothing is left)."""
    if rating is not None and rating not in RATINGS:
        raise HistoryError(f"Unknown rating {rating!r}; use up, down or none.")
    _assistant_message(store, message_id)
    current = get_feedback(store, message_id)
    return _save(store, message_id, RATINGS[rating] if rating is not None else None,
                 current.edited if current else None)


def toggle_rating(store: HistoryStore, message_id: int, rating: str | int) -> Feedback | None:
    """A thumbs button: sets the rating, or clears it when the reply already has that rating."""
    if rating not in RATINGS:
        raise HistoryError(f"Unknown rating {rating!r}; use up or down.")
    current = get_feedback(store, message_id)
    same = current is not None and current.rating == RATINGS[rating]
    return rate(store, message_id, None if same else rating)


def edit_reply(store: HistoryStore, message_id: int, text: str | None) -> Feedback | None:
    """Keep ``text`` as the preferred version of a reply (the original stays in the message).

    An empty text, ``None`` or the original text itself removes the edit."""
    message = _assistant_message(store, message_id)
    edited = text if text is not None and text.strip() and text != message.content else None
    current = get_feedback(store, message_id)
    return _save(store, message_id, current.rating if current else None, edited)


# ------------------------------------------------------------------------------ examples
def _system_prompt(store: HistoryStore, conversation_id: int) -> str | None:
    conversation = store.get_conversation(conversation_id)
    if conversation.system_prompt:
        return conversation.system_prompt
    if conversation.preset:
        try:
            return get_preset(conversation.preset).system or None
        except InglenookError:
            return None  # a deleted preset: the trainer's default system prompt is used
    return None


def _example(store: HistoryStore, reply: StoredMessage, text: str, edits: dict[int, Feedback]) -> dict | None:
    """The conversation up to ``reply`` (its branch), the reply's text being ``text``."""
    messages: list[dict] = []
    system = _system_prompt(store, reply.conversation_id)
    if system:
        messages.append({"role": "system", "content": system})
    for message in store.thread(reply.conversation_id, reply.id)[:-1]:
        content = preferred_text(message, edits.get(message.id))
        if message.role == "system" or not content.strip() or message.status == "error":
            continue
        messages.append({"role": message.role, "content": content})
    first = 1 if system else 0
    if len(messages) <= first or messages[first]["role"] != "user":
        return None  # the trainer needs a user turn first
    messages.append({"role": "assistant", "content": text})
    return {"messages": messages}


def feedback_examples(store: HistoryStore, *, conversation_ids: Iterable[int] | None = None,
                      since: float | None = None) -> FeedbackExport:
    """Training examples from the rated and edited replies (oldest feedback first)."""
    sql = ("SELECT f.* FROM message_feedback f JOIN messages m ON m.id = f.message_id "
           "WHERE m.role = 'assistant'")
    args: list = []
    if conversation_ids is not None:
        ids = [int(i) for i in conversation_ids]
        sql += f" AND m.conversation_id IN ({', '.join('?' for _ in ids) or 'NULL'})"
        args += ids
    if since is not None:
        sql += " AND f.updated_at >= ?"
        args.append(since)
    rows = [_row(r) for r in store.db.query(sql + " ORDER BY f.updated_at, f.message_id", tuple(args))]
    edits = {f.message_id: f for f in _all_edits(store)}
    export = FeedbackExport()
    for feedback in rows:
        message = store.get_message(feedback.message_id)
        if feedback.edited is not None:
            text, kind = feedback.edited, "edited"
        elif feedback.rating == 1:
            text, kind = message.content, "up"
        else:
            if feedback.rating == -1:
                export.skipped_down += 1
            continue
        example = _example(store, message, text, edits) if text.strip() else None
        if example is None:
            export.skipped_empty += 1
            continue
        export.examples.append(example)
        if kind == "edited":
            export.used_edited += 1
        else:
            export.used_up += 1
    return export


def _all_edits(store: HistoryStore) -> list[Feedback]:
    return [_row(r) for r in store.db.query("SELECT * FROM message_feedback WHERE edited IS NOT NULL")]


def write_examples(examples: list[dict], path: str | Path) -> Path:
    """Write examples as JSONL, atomically (a half-written file never replaces a good one)."""
    path = Path(path).expanduser()
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".part", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            for example in examples:
                out.write(json.dumps(example, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise HistoryError(f"{path} could not be written ({exc.strerror or exc}); choose a folder you can "
                           "write to, with free space.") from exc
    return path


def default_examples_path() -> Path:
    """Where the window writes the examples from rated replies: in the data folder."""
    from engine.paths import data_dir

    return data_dir() / "training" / "rated-replies.jsonl"
