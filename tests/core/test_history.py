"""Conversation store on real SQLite: branches, search, export, migrations, damage and disk-full."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from engine.appdb import APP_MIGRATIONS as MIGRATIONS
from engine.appdb import open_app_db
from engine.chat.history import HistoryStore
from engine.errors import HistoryError


@pytest.fixture
def store(tmp_path):
    s = HistoryStore(tmp_path / "nook.db")
    yield s
    s.close()


def test_create_list_rename_delete(store):
    a = store.create_conversation("First", model="m1", params={"temperature": 0.1})
    b = store.create_conversation("Second")
    store.add_message(a.id, "user", "hello")
    assert [c.id for c in store.list_conversations()][0] == a.id  # most recently updated first
    store.rename(b.id, "  Renamed  ")
    assert store.get_conversation(b.id).title == "Renamed"
    with pytest.raises(HistoryError):
        store.rename(b.id, "   ")
    store.delete(a.id)
    assert [c.id for c in store.list_conversations()] == [b.id]
    assert store.db.query("SELECT COUNT(*) AS n FROM messages")[0]["n"] == 0
    with pytest.raises(HistoryError, match="no conversation"):
        store.get_conversation(a.id)


def test_branching_regenerate_and_edit(store):
    c = store.create_conversation()
    u1 = store.add_message(c.id, "user", "q1")
    a1 = store.add_message(c.id, "assistant", "a1")
    u2 = store.add_message(c.id, "user", "q2")
    a2 = store.add_message(c.id, "assistant", "a2")
    # regenerate: a sibling answer under u2
    a2b = store.add_message(c.id, "assistant", "a2-again", parent_id=u2.id)
    assert [m.content for m in store.thread(c.id)] == ["q1", "a1", "q2", "a2-again"]
    assert [m.id for m in store.siblings(a2.id)] == [a2.id, a2b.id]
    # edit q1: a new branch from the root; the old one is still there
    e1 = store.add_message(c.id, "user", "q1-edited", parent_id=u1.parent_id)
    assert [m.content for m in store.thread(c.id)] == ["q1-edited"]
    store.set_head(c.id, a1.id)
    assert [m.content for m in store.thread(c.id)] == ["q1", "a1", "q2", "a2-again"]
    assert len(store.siblings(e1.id)) == 2


def test_search_finds_titles_and_messages_including_chinese(store):
    c = store.create_conversation("Trip planning")
    store.add_message(c.id, "user", "我们明天去北京的故宫参观")
    d = store.create_conversation("Recipes")
    store.add_message(d.id, "user", "How long to boil an egg? 100% sure")
    assert [x.id for x, _ in store.search("故宫")] == [c.id]
    assert [x.id for x, _ in store.search("trip")] == [c.id]
    hits = store.search("100%")
    assert [x.id for x, _ in hits] == [d.id] and "100%" in hits[0][1]
    assert store.search("%") == [] or all("%" in s for _, s in store.search("%"))


def test_export_markdown_and_json(store):
    c = store.create_conversation("Export me", model="smollm2", system_prompt="Be brief.")
    hi = store.add_message(c.id, "user", "Hi")
    store.add_message(c.id, "assistant", "Hello!", timings={"tokens_per_s": 100})
    r = store.add_message(c.id, "assistant", "cut", status="streaming", parent_id=hi.id)
    store.update_message(r.id, "cut off", status="stopped")
    md = store.export_markdown(c.id)
    assert md.startswith("# Export me") and "**You**" in md and "Hello!" not in md  # Hello! is a sibling branch
    assert "(stopped)" in md
    data = store.export_json(c.id)
    assert data["format"] == "inglenook.conversation/1"
    assert [m["content"] for m in data["messages"]] == ["Hi", "cut off"]
    json.dumps(data)


def test_streaming_rows_become_incomplete_on_next_open(tmp_path):
    path = tmp_path / "nook.db"
    s = HistoryStore(path)
    c = s.create_conversation()
    s.add_message(c.id, "user", "q")
    r = s.add_message(c.id, "assistant", "", status="streaming")
    s.update_message(r.id, "partial text")
    live = s.add_message(c.id, "assistant", "still streaming here", status="streaming")
    # the first reply's writer is a process that has exited
    dead_pid = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                  capture_output=True, text=True).stdout)
    with s.db.transaction() as conn:
        conn.execute("UPDATE messages SET writer_pid = ? WHERE id = ?", (dead_pid, r.id))
    s.close()
    s2 = HistoryStore(path)
    assert s2.recovered == 1
    assert s2.get_message(live.id).status == "streaming"  # this process is alive: left alone
    msg = s2.get_message(r.id)
    assert (msg.status, msg.content) == ("incomplete", "partial text")


def test_migrations_upgrade_an_old_database_and_refuse_a_newer_one(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO conversations(title, created_at, updated_at) VALUES ('kept', 0, 0)")
    conn.commit()
    conn.close()
    db = open_app_db(path)
    assert db.version == len(MIGRATIONS)
    assert db.query("SELECT title FROM conversations")[0]["title"] == "kept"
    db.query("SELECT * FROM models")
    db.close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(HistoryError, match="newer Inglenook"):
        open_app_db(path)


def test_a_damaged_database_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(HistoryError, match="move it aside"):
        HistoryStore(path)


def test_disk_full_is_reported_and_earlier_messages_survive(tmp_path):
    path = tmp_path / "small.db"
    store = HistoryStore(path)
    c = store.create_conversation()
    store.add_message(c.id, "user", "saved before the disk filled")
    page_count = store.db.query("PRAGMA page_count")[0][0]
    store.db.query(f"PRAGMA max_page_count = {page_count + 1}")  # SQLite's own 'disk full' limit
    with pytest.raises(HistoryError, match="disk is full"):
        for _ in range(50):
            store.add_message(c.id, "user", "x" * 100_000)
    store.close()
    reopened = HistoryStore(path)
    assert reopened.thread(c.id)[0].content == "saved before the disk filled"


def test_settings_roundtrip(store):
    assert store.get_setting("theme", "light") == "light"
    store.set_setting("theme", "dark")
    store.set_setting("langs", ["en", "zh"])
    assert store.get_setting("theme") == "dark" and store.get_setting("langs") == ["en", "zh"]
