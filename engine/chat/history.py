"""Conversations and their messages, stored as a tree so edits and regenerations branch.

Each message points at its parent; a conversation's ``head_id`` is the leaf of the branch on
screen. Regenerating adds a sibling assistant message; editing an earlier user message adds a
sibling user message. Nothing is overwritten, so no answer is ever lost.

A reply is saved while it streams (status ``streaming``) and finalised at the end. If the process
is killed, the next start turns leftover ``streaming`` rows into ``incomplete``: the text that was
streamed so far stays, marked as cut off.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.appdb import open_app_db
from engine.errors import HistoryError

STATUSES = ("complete", "streaming", "stopped", "incomplete", "error")
AT_HEAD: Any = object()  # default parent: the conversation's current head (None means "a root message")


@dataclass
class Conversation:
    id: int
    title: str
    created_at: float
    updated_at: float
    model: str | None = None
    system_prompt: str | None = None
    preset: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    head_id: int | None = None


@dataclass
class StoredMessage:
    id: int
    conversation_id: int
    parent_id: int | None
    role: str
    content: str
    status: str
    created_at: float
    model: str | None = None
    params: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_chat(self) -> dict:
        return {"role": self.role, "content": self.content}


def _conversation(row) -> Conversation:
    return Conversation(
        id=row["id"], title=row["title"], created_at=row["created_at"], updated_at=row["updated_at"],
        model=row["model"], system_prompt=row["system_prompt"], preset=row["preset"],
        params=json.loads(row["params"] or "{}"), extra=json.loads(row["extra"] or "{}"), head_id=row["head_id"],
    )


def _message(row) -> StoredMessage:
    def load(value):
        return json.loads(value) if value else None

    return StoredMessage(
        id=row["id"], conversation_id=row["conversation_id"], parent_id=row["parent_id"], role=row["role"],
        content=row["content"], status=row["status"], created_at=row["created_at"], model=row["model"],
        params=load(row["params"]), timings=load(row["timings"]), error=row["error"],
        extra=load(row["extra"]) or {},
    )


class HistoryStore:
    """All chat history and settings. Safe to share between threads."""

    def __init__(self, path: Path | str | None = None):
        self.db = open_app_db(path)
        self.recovered = self._recover_interrupted()

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------ settings
    def get_setting(self, key: str, default: Any = None) -> Any:
        rows = self.db.query("SELECT value FROM settings WHERE key = ?", (key,))
        return json.loads(rows[0]["value"]) if rows else default

    def set_setting(self, key: str, value: Any) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, ensure_ascii=False)),
            )

    # ------------------------------------------------------- conversations
    def create_conversation(self, title: str = "New chat", *, model: str | None = None,
                            system_prompt: str | None = None, preset: str | None = None,
                            params: dict | None = None, extra: dict | None = None) -> Conversation:
        now = time.time()
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO conversations(title, created_at, updated_at, model, system_prompt, preset, params, extra)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (title, now, now, model, system_prompt, preset, json.dumps(params or {}), json.dumps(extra or {})),
            )
            conversation_id = cur.lastrowid
        return self.get_conversation(conversation_id)

    def get_conversation(self, conversation_id: int) -> Conversation:
        rows = self.db.query("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        if not rows:
            raise HistoryError(f"There is no conversation {conversation_id}; `nook sessions list` shows them.")
        return _conversation(rows[0])

    def list_conversations(self, limit: int | None = None) -> list[Conversation]:
        sql = "SELECT * FROM conversations ORDER BY updated_at DESC, id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_conversation(r) for r in self.db.query(sql)]

    def update_conversation(self, conversation_id: int, **changes: Any) -> Conversation:
        allowed = {"title", "model", "system_prompt", "preset", "params", "extra", "head_id"}
        unknown = set(changes) - allowed
        if unknown:
            raise HistoryError(f"Cannot change {', '.join(sorted(unknown))} of a conversation.")
        self.get_conversation(conversation_id)
        if not changes:
            return self.get_conversation(conversation_id)
        values = [json.dumps(v, ensure_ascii=False) if k in ("params", "extra") else v for k, v in changes.items()]
        assignments = ", ".join(f"{k} = ?" for k in changes)
        with self.db.transaction() as conn:
            conn.execute(
                f"UPDATE conversations SET {assignments}, updated_at = ? WHERE id = ?",
                (*values, time.time(), conversation_id),
            )
        return self.get_conversation(conversation_id)

    def rename(self, conversation_id: int, title: str) -> Conversation:
        title = title.strip()
        if not title:
            raise HistoryError("A conversation needs a non-empty title.")
        return self.update_conversation(conversation_id, title=title)

    def delete(self, conversation_id: int) -> None:
        self.get_conversation(conversation_id)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM messages WHERE conversation_id = ?", (conversation_id,))
            conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def search(self, text: str, limit: int = 50) -> list[tuple[Conversation, str]]:
        """Conversations whose title or any message contains ``text`` (case-insensitive for ASCII)."""
        needle = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.db.query(
            "SELECT c.*, (SELECT m.content FROM messages m WHERE m.conversation_id = c.id "
            "  AND m.content LIKE ? ESCAPE '\\' ORDER BY m.id LIMIT 1) AS hit "
            "FROM conversations c WHERE c.title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m "
            "  WHERE m.conversation_id = c.id AND m.content LIKE ? ESCAPE '\\') "
            "ORDER BY c.updated_at DESC LIMIT ?",
            (needle, needle, needle, limit),
        )
        return [(_conversation(r), _snippet(r["hit"] or r["title"], text)) for r in rows]

    # ------------------------------------------------------------ messages
    def add_message(self, conversation_id: int, role: str, content: str, *, parent_id: int | None = AT_HEAD,
                    status: str = "complete", model: str | None = None, params: dict | None = None,
                    timings: dict | None = None, move_head: bool = True, extra: dict | None = None) -> StoredMessage:
        """Append a message under ``parent_id`` (default: the current head) and make it the head."""
        if status not in STATUSES:
            raise HistoryError(f"Unknown message status {status!r}.")
        conversation = self.get_conversation(conversation_id)
        if parent_id is AT_HEAD:
            parent_id = conversation.head_id
        now = time.time()
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO messages(conversation_id, parent_id, role, content, status, model, params, timings,"
                " created_at, writer_pid, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, parent_id, role, content, status, model,
                 json.dumps(params) if params is not None else None,
                 json.dumps(timings) if timings is not None else None, now,
                 os.getpid() if status == "streaming" else None,
                 json.dumps(extra, ensure_ascii=False) if extra else None),
            )
            message_id = cur.lastrowid
            if move_head:
                conn.execute("UPDATE conversations SET head_id = ?, updated_at = ? WHERE id = ?",
                             (message_id, now, conversation_id))
        return self.get_message(message_id)

    def get_message(self, message_id: int) -> StoredMessage:
        rows = self.db.query("SELECT * FROM messages WHERE id = ?", (message_id,))
        if not rows:
            raise HistoryError(f"There is no message {message_id}.")
        return _message(rows[0])

    def update_message(self, message_id: int, content: str, *, status: str | None = None,
                       timings: dict | None = None, error: str | None = None, extra: dict | None = None) -> None:
        """Save a streaming reply's text so far, or finalise it (``extra``, when given, replaces the
        message's extra). One short transaction each call."""
        sets, args = ["content = ?"], [content]
        if status is not None:
            if status not in STATUSES:
                raise HistoryError(f"Unknown message status {status!r}.")
            sets.append("status = ?")
            args.append(status)
        if timings is not None:
            sets.append("timings = ?")
            args.append(json.dumps(timings))
        if error is not None:
            sets.append("error = ?")
            args.append(error)
        if extra is not None:
            sets.append("extra = ?")
            args.append(json.dumps(extra, ensure_ascii=False))
        with self.db.transaction() as conn:
            conn.execute(f"UPDATE messages SET {', '.join(sets)} WHERE id = ?", (*args, message_id))

    def thread(self, conversation_id: int, head_id: int | None = None) -> list[StoredMessage]:
        """Messages from the root to ``head_id`` (default: the conversation's head), oldest first."""
        if head_id is None:
            head_id = self.get_conversation(conversation_id).head_id
        if head_id is None:
            return []
        rows = self.db.query(
            "WITH RECURSIVE chain(id, parent_id, depth) AS ("
            "  SELECT id, parent_id, 0 FROM messages WHERE id = ? AND conversation_id = ?"
            "  UNION ALL SELECT m.id, m.parent_id, chain.depth + 1 FROM messages m JOIN chain ON m.id = chain.parent_id"
            ") SELECT messages.* FROM chain JOIN messages ON messages.id = chain.id ORDER BY chain.depth DESC",
            (head_id, conversation_id),
        )
        return [_message(r) for r in rows]

    def siblings(self, message_id: int) -> list[StoredMessage]:
        """Alternatives to a message (itself included): other answers or other edits of one turn."""
        message = self.get_message(message_id)
        rows = self.db.query(
            "SELECT * FROM messages WHERE conversation_id = ? AND parent_id IS ? AND role = ? ORDER BY id",
            (message.conversation_id, message.parent_id, message.role),
        )
        return [_message(r) for r in rows]

    def set_head(self, conversation_id: int, message_id: int) -> None:
        """Show another branch: the deepest latest descendant of ``message_id`` becomes the head."""
        leaf = message_id
        while True:
            rows = self.db.query("SELECT id FROM messages WHERE parent_id = ? ORDER BY id DESC LIMIT 1", (leaf,))
            if not rows:
                break
            leaf = rows[0]["id"]
        self.update_conversation(conversation_id, head_id=leaf)

    def _recover_interrupted(self) -> int:
        """Replies that were streaming when their process died become ``incomplete``.

        A reply another running process is still streaming (a second window, the CLI) is left alone.
        """
        rows = self.db.query("SELECT id, writer_pid, created_at FROM messages WHERE status = 'streaming'")
        dead = [r["id"] for r in rows if not _process_alive(r["writer_pid"], r["created_at"])]
        if not dead:
            return 0
        with self.db.transaction() as conn:
            conn.executemany("UPDATE messages SET status = 'incomplete' WHERE id = ? AND status = 'streaming'",
                             [(i,) for i in dead])
        return len(dead)

    # ------------------------------------------------------------- export
    def export_json(self, conversation_id: int) -> dict:
        conversation = self.get_conversation(conversation_id)
        return {
            "format": "inglenook.conversation/1",
            "id": conversation.id,
            "title": conversation.title,
            "created_at": conversation.created_at,
            "updated_at": conversation.updated_at,
            "model": conversation.model,
            "system_prompt": conversation.system_prompt,
            "preset": conversation.preset,
            "params": conversation.params,
            "messages": [
                {"id": m.id, "parent_id": m.parent_id, "role": m.role, "content": m.content, "status": m.status,
                 "model": m.model, "timings": m.timings, "created_at": m.created_at, **({"extra": m.extra} if m.extra else {})}
                for m in self.thread(conversation_id)
            ],
        }

    def export_markdown(self, conversation_id: int) -> str:
        conversation = self.get_conversation(conversation_id)
        lines = [f"# {conversation.title}", ""]
        if conversation.model:
            lines += [f"*Model: {conversation.model}*", ""]
        if conversation.system_prompt:
            lines += ["**System**", "", conversation.system_prompt, ""]
        for message in self.thread(conversation_id):
            label = {"user": "You", "assistant": "Assistant", "system": "System"}[message.role]
            lines += [f"**{label}**", "", message.content]
            if message.status in ("incomplete", "stopped", "error"):
                lines.append(f"\n*({message.status})*")
            for source in message.extra.get("sources", []):
                where = f", page {source['page']}" if source.get("page") else ""
                lines.append(f"\n> [{source['n']}] {source['path']}{where}")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"


def _process_alive(pid: int | None, since: float) -> bool:
    """Is the process that started streaming at ``since`` still running? (pid reuse is detected)."""
    if not pid:
        return False
    try:
        import psutil

        return psutil.Process(pid).create_time() <= since + 1.0
    except Exception:  # no such process, or psutil cannot tell
        return False


def _snippet(text: str, needle: str, width: int = 60) -> str:
    index = text.lower().find(needle.lower())
    if index < 0:
        return text[: width * 2]
    start = max(0, index - width)
    prefix = "…" if start else ""
    end = index + len(needle) + width
    suffix = "…" if end < len(text) else ""
    return prefix + text[start:end].replace("\n", " ") + suffix
