"""The app database, ``inglenook.db``: settings, the model and LoRA registries, and chat history.

Its schema is a list of named migrations owned here; ``engine.store`` runs them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from engine.errors import HistoryError
from engine.paths import database_path
from engine.store import SQLiteStore, run_script


def create_settings_and_chat(conn: sqlite3.Connection) -> None:
    """Settings, conversations and their branching messages."""
    run_script(
        conn,
        """
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            model TEXT,
            system_prompt TEXT,
            preset TEXT,
            params TEXT NOT NULL DEFAULT '{}',
            extra TEXT NOT NULL DEFAULT '{}',
            head_id INTEGER
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
            content TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'complete',
            model TEXT,
            params TEXT,
            timings TEXT,
            error TEXT,
            created_at REAL NOT NULL
        );
        CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
        CREATE INDEX messages_by_parent ON messages(parent_id);
        CREATE INDEX conversations_by_update ON conversations(updated_at DESC);
        """
    )


def add_models_table(conn: sqlite3.Connection) -> None:
    """The model registry moves into the database (local files, downloads, per-model settings)."""
    run_script(
        conn,
        """
        CREATE TABLE models (
            name TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'chat',
            source TEXT NOT NULL DEFAULT 'local',
            repo_id TEXT,
            filename TEXT,
            sha256 TEXT,
            size INTEGER,
            added_at REAL NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}'
        );
        """
    )


def add_message_writer_pid(conn: sqlite3.Connection) -> None:
    """Which process is streaming a reply, so another process never marks a live reply as dead."""
    conn.execute("ALTER TABLE messages ADD COLUMN writer_pid INTEGER")


def add_message_extra(conn: sqlite3.Connection) -> None:
    """Opaque per-message data from higher layers (e.g. the sources an answer was grounded on)."""
    conn.execute("ALTER TABLE messages ADD COLUMN extra TEXT")


def add_remote_servers(conn: sqlite3.Connection) -> None:
    """OpenAI-compatible servers used as models (their API keys live in the OS keyring, never here)."""
    run_script(
        conn,
        """
        CREATE TABLE remote_servers (
            name TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            added_at REAL NOT NULL
        );
        """
    )


def add_message_feedback(conn: sqlite3.Connection) -> None:
    """The user's verdict on an assistant reply: thumbs up/down and an edited, preferred text.

    One row per message (so one rating each); the message keeps its original text. Deleting the
    message (or its conversation) deletes its feedback.
    """
    run_script(
        conn,
        """
        CREATE TABLE message_feedback (
            message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
            rating INTEGER CHECK (rating IN (-1, 1)),
            edited TEXT,
            updated_at REAL NOT NULL
        );
        CREATE INDEX message_feedback_by_update ON message_feedback(updated_at)
        """
    )


APP_MIGRATIONS = [create_settings_and_chat, add_models_table, add_message_writer_pid, add_message_extra,
                  add_remote_servers, add_message_feedback]


def open_app_db(path: Path | str | None = None) -> SQLiteStore:
    """Open (creating or upgrading) the app database; failures are ``HistoryError``s that say what to do."""
    return SQLiteStore(path or database_path(), APP_MIGRATIONS, what="the app database (settings, models and "
                       "chat history)", error=HistoryError)
