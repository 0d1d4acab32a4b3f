"""Feedback on replies on real SQLite: rate, re-rate, toggle, edit, export; the trainer reads the export."""

from __future__ import annotations

import json
import sqlite3

import pytest

from engine.appdb import APP_MIGRATIONS
from engine.chat.feedback import (
    edit_reply,
    feedback_examples,
    feedback_for,
    get_feedback,
    rate,
    toggle_rating,
    write_examples,
)
from engine.chat.history import HistoryStore
from engine.errors import HistoryError, TrainingDataError
from engine.lora.train import MIN_EXAMPLES, load_examples


@pytest.fixture
def store(tmp_path):
    s = HistoryStore(tmp_path / "nook.db")
    yield s
    s.close()


def chat(store, *turns: str, system: str | None = None):
    """A conversation of alternating user / assistant turns; returns (conversation, messages)."""
    conversation = store.create_conversation("t", system_prompt=system)
    messages = [store.add_message(conversation.id, "user" if i % 2 == 0 else "assistant", text)
                for i, text in enumerate(turns)]
    return conversation, messages


def test_rate_rerate_toggle_and_clear(store):
    _, (_q, a) = chat(store, "q", "a")
    assert get_feedback(store, a.id) is None
    assert rate(store, a.id, "up").rating == 1
    assert rate(store, a.id, "down").rating == -1  # one rating per message: re-rating replaces it
    assert store.db.query("SELECT COUNT(*) AS n FROM message_feedback")[0]["n"] == 1
    assert toggle_rating(store, a.id, "down") is None  # the same thumb again clears it
    assert get_feedback(store, a.id) is None
    assert toggle_rating(store, a.id, "up").rating == 1
    assert toggle_rating(store, a.id, "down").rating == -1  # the other thumb switches
    assert rate(store, a.id, None) is None


def test_edit_keeps_the_original_and_the_rating(store):
    _, (_q, a) = chat(store, "q", "the model's answer")
    rate(store, a.id, "down")
    feedback = edit_reply(store, a.id, "a better answer")
    assert feedback.edited == "a better answer" and feedback.rating == -1
    assert store.get_message(a.id).content == "the model's answer"  # the original is kept
    assert edit_reply(store, a.id, "the model's answer").edited is None  # back to the original: no edit
    assert edit_reply(store, a.id, "again").edited == "again"
    assert edit_reply(store, a.id, "   ").rating == -1 and get_feedback(store, a.id).edited is None


def test_bad_targets_are_refused_with_a_reason(store):
    _, (q, a) = chat(store, "q", "a")
    with pytest.raises(HistoryError, match="only the assistant"):
        rate(store, q.id, "up")
    with pytest.raises(HistoryError, match="no message"):
        rate(store, 9999, "up")
    with pytest.raises(HistoryError, match="Unknown rating"):
        rate(store, a.id, "sideways")
    streaming = store.add_message(a.conversation_id, "assistant", "partial", parent_id=q.id, status="streaming")
    with pytest.raises(HistoryError, match="still being written"):
        edit_reply(store, streaming.id, "x")
    assert get_feedback(store, a.id) is None


def test_feedback_survives_reopening_and_goes_with_its_conversation(tmp_path):
    path = tmp_path / "nook.db"
    first = HistoryStore(path)
    conversation, (_q, a) = chat(first, "q", "a")
    rate(first, a.id, "up")
    edit_reply(first, a.id, "edited")
    first.close()
    second = HistoryStore(path)
    assert feedback_for(second, [a.id])[a.id].rating == 1
    assert feedback_for(second, [a.id])[a.id].edited == "edited"
    second.delete(conversation.id)
    assert second.db.query("SELECT COUNT(*) AS n FROM message_feedback")[0]["n"] == 0
    second.close()


def test_an_older_database_is_upgraded_and_keeps_its_messages(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for number, migration in enumerate(APP_MIGRATIONS[:-1], start=1):
        migration(conn)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute("INSERT INTO conversations(title, created_at, updated_at) VALUES ('old', 0, 0)")
    conn.execute("INSERT INTO messages(conversation_id, role, content, created_at) VALUES (1, 'user', 'q', 0)")
    conn.execute("INSERT INTO messages(conversation_id, parent_id, role, content, created_at)"
                 " VALUES (1, 1, 'assistant', 'a', 0)")
    conn.close()
    store = HistoryStore(path)
    assert store.db.version == len(APP_MIGRATIONS)
    assert rate(store, 2, "up").rating == 1
    assert [m.content for m in store.thread(1, 2)] == ["q", "a"]
    store.close()


def test_export_uses_liked_and_edited_replies_with_their_context(store, tmp_path):
    _, (q1, a1, q2, a2) = chat(store, "q1", "a1", "q2", "a2", system="Be brief.")
    _, (_b1, b2) = chat(store, "other question", "disliked answer")
    _, (_c1, c2) = chat(store, "third", "disliked but fixed")
    rate(store, a1.id, "up")
    edit_reply(store, a1.id, "a1 as the user wants it")  # used with the edit, and as context of a2
    rate(store, a2.id, "up")
    rate(store, b2.id, "down")
    rate(store, c2.id, "down")
    edit_reply(store, c2.id, "the fix")
    export = feedback_examples(store)
    assert (export.used, export.used_up, export.used_edited, export.skipped_down) == (3, 1, 2, 1)
    by_reply = {e["messages"][-1]["content"]: e["messages"] for e in export.examples}
    assert by_reply["a1 as the user wants it"] == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1 as the user wants it"}]
    assert [m["content"] for m in by_reply["a2"]] == ["Be brief.", "q1", "a1 as the user wants it", "q2", "a2"]
    assert [m["content"] for m in by_reply["the fix"]] == ["third", "the fix"]
    assert "disliked answer" not in json.dumps(export.examples)
    assert export.missing() == MIN_EXAMPLES - 3

    path = write_examples(export.examples, tmp_path / "out" / "rated.jsonl")
    assert len(load_examples(path, minimum=1)) == 3
    with pytest.raises(TrainingDataError, match=f"at least {MIN_EXAMPLES}"):
        load_examples(path)  # three are too few for the trainer, which says so


def test_enough_ratings_make_a_file_the_trainer_accepts(store, tmp_path):
    for i in range(MIN_EXAMPLES + 2):
        _, (_q, a) = chat(store, f"question {i}", f"answer {i}")
        rate(store, a.id, "up")
    _, (_q, empty) = chat(store, "q", "")
    rate(store, empty.id, "up")
    export = feedback_examples(store)
    assert export.used == MIN_EXAMPLES + 2 and export.skipped_empty == 1 and export.missing() == 0
    examples = load_examples(write_examples(export.examples, tmp_path / "rated.jsonl"))
    assert [m["content"] for m in examples[0].messages] == ["question 0", "answer 0"]


def test_writing_to_a_place_that_cannot_be_written_says_so(store, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HistoryError, match="could not be written"):
        write_examples([{"messages": []}], blocker / "sub" / "rated.jsonl")


def test_the_conversation_goes_on_from_the_edited_reply(store, host):
    from engine.chat.session import ChatSession

    session = ChatSession(host, store, system_prompt="S")
    q = store.add_message(session.conversation_id, "user", "q")
    a = store.add_message(session.conversation_id, "assistant", "original")
    edit_reply(store, a.id, "edited")
    assert [m["content"] for m in session.model_messages(store.thread(session.conversation_id))] == \
        ["S", "q", "edited"]
    assert q.id < a.id


def test_cli_exports_the_rated_replies(tmp_path):
    import os
    import subprocess
    import sys

    store = HistoryStore()  # the data folder of this test (INGLENOOK_HOME), as the CLI opens it
    _, (_q, a) = chat(store, "How do I proof dough?", "Refrigerate it for 12 to 16 hours.")
    _, (_q, b) = chat(store, "Capital of France?", "Berlin.")
    rate(store, a.id, "up")
    rate(store, b.id, "down")
    store.close()
    out = tmp_path / "rated.jsonl"
    done = subprocess.run([sys.executable, "-m", "desktop_app.cli", "feedback", "export", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    assert "1 example(s): 1 liked, 0 edited" in done.stdout and "1 disliked" in done.stdout
    assert f"rate or edit {MIN_EXAMPLES - 1} more" in done.stderr
    assert [e.messages[-1]["content"] for e in load_examples(out, minimum=1)] == ["Refrigerate it for 12 to 16 hours."]
