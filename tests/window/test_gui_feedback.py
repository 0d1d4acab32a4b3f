"""Feedback on replies and sentence support in the real window (offscreen), on real SQLite and, where a
reply is needed, the real bundled model.

Conversations built directly in the store (with the messages' ``extra`` written by the test) are
test data, the way the chat saves them; the widgets that show them are the real ones.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCharFormat, QTextCursor

from engine.chat.feedback import get_feedback, rate
from engine.lora.train import MIN_EXAMPLES, load_examples

pytestmark = pytest.mark.slow
LOAD_TIMEOUT_MS = 120_000
REPLY_TIMEOUT_MS = 120_000


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def conversation(store, *turns: str, extra: dict | None = None) -> list:
    c = store.create_conversation("test data")
    return [store.add_message(c.id, "user" if i % 2 == 0 else "assistant", text,
                              extra=extra if i == len(turns) - 1 else None) for i, text in enumerate(turns)]


def test_thumbs_and_edit_are_kept_and_shown_after_reopening(qtbot, make_window):
    window = make_window()
    c = window.controller
    click(qtbot, window.welcome.bundled_button)
    qtbot.waitUntil(lambda: c.loading is None and c.loaded_entry is not None, timeout=LOAD_TIMEOUT_MS)
    window.chat.drawer.fields["max_tokens"].setValue(6)
    window.chat.drawer.fields["temperature"].setValue(0.0)
    qtbot.keyClicks(window.chat.composer.edit, "Say hello.")
    qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not c.busy and len(window.chat.view.widgets) == 2, timeout=REPLY_TIMEOUT_MS)
    question, reply = window.chat.view.widgets
    assert not question.up_button.isVisible() and reply.up_button.isVisible() and reply.down_button.isVisible()
    original = reply.text

    click(qtbot, reply.up_button)
    assert reply.up_button.isChecked() and get_feedback(c.store, reply.message.id).rating == 1
    click(qtbot, reply.down_button)  # the other thumb replaces the rating
    assert reply.down_button.isChecked() and not reply.up_button.isChecked()
    assert get_feedback(c.store, reply.message.id).rating == -1

    click(qtbot, reply.edit_button)  # "Edit reply"
    assert reply.edit_button.text() == "Edit reply" and reply.editor.toPlainText() == original
    reply.editor.setPlainText("Hello! How can I help?")
    click(qtbot, reply._save_button)
    assert reply.editor is None and "How can I help?" in reply.body.toPlainText()
    assert reply.status_label.text() == "edited by you" and original.strip()[:10] in reply.status_label.toolTip()
    saved = get_feedback(c.store, reply.message.id)
    assert saved.edited == "Hello! How can I help?" and saved.rating == -1
    assert c.store.get_message(reply.message.id).content == original  # the model's text is kept

    conversation_id = c.conversation_id
    c.conversations.new_conversation()
    assert window.chat.view.widgets == []
    c.conversations.open_conversation(conversation_id)
    reopened = window.chat.view.widgets[-1]
    assert reopened.down_button.isChecked() and not reopened.up_button.isChecked()
    assert "How can I help?" in reopened.body.toPlainText()
    click(qtbot, reopened.down_button)  # the same thumb again takes the rating back; the edit stays
    assert not reopened.down_button.isChecked() and get_feedback(c.store, reply.message.id).rating is None
    click(qtbot, reopened.up_button)
    window.close()

    second = make_window()  # the next start shows the same state
    again = second.chat.view.widgets[-1]
    assert second.controller.conversation_id == conversation_id
    assert again.up_button.isChecked() and again.shown_reply() == "Hello! How can I help?"


def test_make_a_style_from_rated_replies(qtbot, make_window):
    window = make_window()
    c = window.controller
    replies = [conversation(c.store, f"Question {i}?", f"Answer {i}.")[-1] for i in range(MIN_EXAMPLES)]
    for reply in replies[:3]:
        rate(c.store, reply.id, "up")
    window.show_page("chat")
    window.chat.settings_button.setChecked(True)
    panel = window.chat.drawer.lora
    assert panel.rated_button.isVisible()

    click(qtbot, panel.rated_button)  # too few: it says how many more are needed
    qtbot.waitUntil(lambda: panel.message.isVisible(), timeout=10_000)
    assert f"edit {MIN_EXAMPLES - 3} more" in panel.message.text()
    assert window.chat.drawer.training_dialog is None

    for reply in replies[3:]:
        rate(c.store, reply.id, "up")
    click(qtbot, panel.rated_button)
    qtbot.waitUntil(lambda: window.chat.drawer.training_dialog is not None, timeout=10_000)
    dialog = window.chat.drawer.training_dialog
    assert dialog.isVisible() and not panel.message.isVisible()
    path = dialog.path.text()
    assert path.endswith("rated-replies.jsonl") and str(c.data_dir()) in path
    assert dialog.name.text() == "my-replies" and f"{MIN_EXAMPLES} examples" in dialog.outcome.text()
    examples = load_examples(path)  # what "Start training" would read
    assert sorted(e.messages[-1]["content"] for e in examples) == sorted(f"Answer {i}." for i in range(MIN_EXAMPLES))
    dialog.close()


SUPPORT_ANSWER = ("Proof the dough in the fridge for 12 to 16 hours. Bake it at 250°C for six hours.\n\n"
                  "- Shape it **gently** before the cold proof.")


def support_extra() -> dict:
    text = SUPPORT_ANSWER
    first_end = text.index("hours.") + len("hours.")
    second_start = first_end + 1
    second_end = text.index("six hours.") + len("six hours.")
    third_start = text.index("- Shape")
    return {
        "collections": ["Bakery"],
        "sources": [{"n": 1, "path": "/tmp/sourdough.md", "page": None, "heading": "Proofing",
                     "snippet": "Refrigerate for 12 to 16 hours."}],
        "support": [
            {"start": 0, "end": first_end, "supported": True, "score": 0.8, "source_n": 1,
             "evidence": "Refrigerate for 12 to 16 hours."},
            {"start": second_start, "end": second_end, "supported": False, "score": 0.1, "source_n": None,
             "evidence": None},
            {"start": third_start, "end": len(text), "supported": False, "score": 0.2, "source_n": None,
             "evidence": None},
        ],
    }


def underline_styles(browser, needle: str) -> set:
    """The underline styles of the characters of ``needle`` in a rendered message."""
    document = browser.document()
    found = document.find(needle)
    assert not found.isNull(), needle
    styles = set()
    for position in range(found.selectionStart() + 1, found.selectionEnd() + 1):
        cursor = QTextCursor(document)
        cursor.setPosition(position)
        form: QTextCharFormat = cursor.charFormat()
        styles.add((form.underlineStyle(), form.toolTip()))
    return styles


def test_unsupported_sentences_are_marked_with_a_notice(qtbot, make_window):
    window = make_window()
    c = window.controller
    *_, reply = conversation(c.store, "How long should sourdough proof?", SUPPORT_ANSWER, extra=support_extra())
    c.conversations.open_conversation(reply.conversation_id)
    window.show_page("chat")
    widget = window.chat.view.widgets[-1]
    dotted = QTextCharFormat.UnderlineStyle.DotLine
    tip = "No source supports this sentence"
    assert underline_styles(widget.body, "Bake it at 250°C") == {(dotted, tip)}
    assert underline_styles(widget.body, "in the fridge") == {(QTextCharFormat.UnderlineStyle.NoUnderline, "")}
    assert underline_styles(widget.body, "gently") == {(dotted, tip)}  # bold inside a marked list item
    assert "\ue000" not in widget.body.toPlainText() and "- Shape" not in widget.body.toPlainText()  # still a list
    assert widget.support_notice.isVisible() and "2 of 3 sentences" in widget.support_label.text()
    assert widget.quotes_button.isVisible()

    # once the user edits the reply, the marks (which point into the model's text) are gone
    c.feedback.edit(reply.id, "Refrigerate for 12 to 16 hours.")
    assert not widget.support_label.isVisible() and widget.body.toPlainText().startswith("Refrigerate")
    assert widget.quotes_button.isVisible()  # an edited reply can still be answered with quotes
    c.feedback.edit(reply.id, "")
    assert widget.support_label.isVisible()


def make_documents(folder):
    folder.mkdir(parents=True)
    (folder / "sourdough.md").write_text(
        "# Proofing\n\nAfter shaping, refrigerate the dough for 12 to 16 hours. A cold proof develops flavour. "
        "Bake the loaf in a hot oven at 250°C for about 40 minutes.\n", encoding="utf-8")
    (folder / "tides.md").write_text(
        "# Tides\n\nSpring tides happen near the full and new moon, when the sun and moon pull together.\n",
        encoding="utf-8")
    return folder


def test_answer_with_quotes_adds_a_quoted_version_with_highlighted_sources(qtbot, make_window, tmp_path):
    window = make_window()
    c, page = window.controller, window.library
    docs = make_documents(tmp_path / "docs")
    page.library.create("Bakery", [docs])
    summary = page.library.index("Bakery")  # the real indexer, real embeddings, real LanceDB
    assert summary.added == 2
    click(qtbot, window.welcome.bundled_button)
    qtbot.waitUntil(lambda: c.loading is None and c.loaded_entry is not None, timeout=LOAD_TIMEOUT_MS)
    window.chat_collections.fill_menu()
    next(a for a in window.chat_collections.menu.actions() if a.text() == "Bakery").trigger()
    window.chat.drawer.fields["max_tokens"].setValue(8)
    window.chat.drawer.fields["temperature"].setValue(0.0)
    page.documents.k = 2
    assert c.send("How long should the dough proof in the fridge?")
    qtbot.waitUntil(lambda: not c.busy, timeout=REPLY_TIMEOUT_MS)
    reply = window.chat.view.widgets[-1]
    assert reply.message.extra.get("sources") and reply.quotes_button.isVisible()
    # the chat saved which sentences the sources support; the view marks exactly the unsupported ones
    support = reply.message.extra.get("support")
    assert isinstance(support, list)
    unsupported = [s for s in support if not s["supported"]]
    assert reply.unsupported_count == len(unsupported)
    assert reply.support_label.isVisibleTo(reply) == bool(unsupported)
    if unsupported:
        assert f"of {len(support)} sentences" in reply.support_label.text()

    click(qtbot, reply.quotes_button)
    qtbot.waitUntil(lambda: window.chat.view.widgets[-1].message.id != reply.message.id, timeout=30_000)
    quoted = window.chat.view.widgets[-1]
    assert quoted.message.extra["answer"] == "quotes" and quoted.branch_label.text() == "2/2"
    assert "refrigerate the dough for 12 to 16 hours [1]." in quoted.text
    assert quoted.quotes_button.isHidden() and quoted.unsupported_count == 0  # quotes are supported
    block = quoted.sources_block
    assert block is not None and block.toggle.isChecked() and not block.body.isHidden()  # shows each quote's source
    first = block.items[0].text()
    assert "sourdough.md" in first and "#fde68a" in first and "12 to 16 hours" in first
    assert c.store.get_message(reply.message.id).content == reply.text  # the original reply is kept
    click(qtbot, quoted.prev_button)
    assert window.chat.view.widgets[-1].message.id == reply.message.id
