"""The window, driven like a user would: real widgets (offscreen), the real bundled model, real SQLite.

Replies are kept short (a few tokens) so the file stays quick on a small CPU.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QApplication, QGroupBox, QLabel, QLineEdit

from desktop_app.main_window import MainWindow
from engine.models.bundled import DEFAULT_CHAT_MODEL

pytestmark = pytest.mark.slow
LOAD_TIMEOUT_MS = 120_000
REPLY_TIMEOUT_MS = 120_000


@pytest.fixture
def window(make_window) -> MainWindow:
    return make_window()


def wait_loaded(qtbot, window: MainWindow, name: str = DEFAULT_CHAT_MODEL) -> None:
    c = window.controller
    qtbot.waitUntil(lambda: c.loading is None and c.loaded_entry is not None and c.loaded_entry.name == name,
                    timeout=LOAD_TIMEOUT_MS)


def wait_idle(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=REPLY_TIMEOUT_MS)


def set_sampling(window: MainWindow, **values) -> None:
    for name, value in values.items():
        window.chat.drawer.fields[name].setValue(value)


def type_and_send(qtbot, window: MainWindow, text: str) -> None:
    qtbot.keyClicks(window.chat.composer.edit, text)
    qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Return)


def start_with_bundled(qtbot, window: MainWindow) -> None:
    assert window.current_page == "welcome"
    qtbot.mouseClick(window.welcome.bundled_button, Qt.MouseButton.LeftButton)
    wait_loaded(qtbot, window)


# ------------------------------------------------------------------------------------ main flow
def test_first_run_load_ask_stream_stop_regenerate_edit(qtbot, window):
    c = window.controller
    assert window.current_page == "welcome" and window.welcome.bundled_button.isEnabled()
    qtbot.mouseClick(window.welcome.bundled_button, Qt.MouseButton.LeftButton)
    assert c.loading == DEFAULT_CHAT_MODEL and window.cancel_load_button.isVisible()
    wait_loaded(qtbot, window)
    assert window.current_page == "chat"
    assert not window.load_bar.isVisible()
    assert DEFAULT_CHAT_MODEL in window.model_status.text()

    # a long answer, watched while it streams, then stopped
    set_sampling(window, max_tokens=300, temperature=0.7)
    type_and_send(qtbot, window, "Write a long story about a lighthouse keeper and a storm.")
    assert window.chat.composer.text() == ""
    qtbot.waitUntil(lambda: c.busy and window.chat.view.streaming_widget() is not None, timeout=10_000)
    view = window.chat.view
    user_widget, reply_widget = view.widgets
    user_revision = user_widget.body.document().revision()
    assert window.chat.composer.stop_button.isVisible()
    seen: list[str] = []

    def grown() -> bool:
        text = reply_widget.shown_text()
        if not seen or text != seen[-1]:
            seen.append(text)
        return len(seen) >= 4

    qtbot.waitUntil(grown, timeout=REPLY_TIMEOUT_MS)
    assert c.busy, "the reply should still be streaming"
    assert all(len(a) <= len(b) + 1 for a, b in zip(seen, seen[1:], strict=False))  # it grows, token by token
    assert reply_widget.segments or reply_widget.tail is not None
    assert user_widget.body.document().revision() == user_revision  # the rest is not re-rendered
    qtbot.mouseClick(window.chat.composer.stop_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    stopped = view.widgets[-1]
    assert stopped is reply_widget and not stopped.streaming
    assert stopped.message.status == "stopped" and stopped.status_label.text() == "stopped"
    saved = c.store.get_message(stopped.message.id)
    assert saved.content == stopped.text and saved.content.strip()
    assert window.chat.composer.send_button.isVisible()

    # regenerate: a second answer, the first kept as a sibling
    set_sampling(window, max_tokens=6, temperature=0.0)
    qtbot.mouseClick(window.chat.regenerate_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    answer = view.widgets[-1]
    assert answer.message.id != stopped.message.id and answer.message.role == "assistant"
    assert answer.message.status == "complete" and answer.text.strip()
    assert answer.branch_label.text() == "2/2" and answer.prev_button.isEnabled()
    assert "tok/s" in window.chat.status.text() and "context" in window.chat.status.text()
    qtbot.mouseClick(answer.prev_button, Qt.MouseButton.LeftButton)  # back to the stopped answer
    assert view.widgets[-1].message.id == stopped.message.id

    # edit the question and continue from it: a new branch, the old one kept
    question = view.widgets[0]
    question.start_editing()
    question.editor.setPlainText("What is the capital of France?")
    qtbot.mouseClick(question._save_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    edited = view.widgets[0]
    assert edited.text == "What is the capital of France?" and edited.branch_label.text() == "2/2"
    assert len(view.widgets) == 2 and view.widgets[-1].message.status == "complete"
    assert len(c.store.siblings(edited.message.id)) == 2


def test_state_is_restored_on_the_next_start(qtbot, make_window):
    first = make_window()
    start_with_bundled(qtbot, first)
    set_sampling(first, max_tokens=4, temperature=0.0)
    type_and_send(qtbot, first, "Say hello.")
    wait_idle(qtbot, first)
    conversation_id = first.controller.conversation_id
    first.resize(790, 610)
    first.close()

    second = make_window()
    assert second.current_page == "chat"
    assert second.controller.conversation_id == conversation_id
    assert [w.message.role for w in second.chat.view.widgets] == ["user", "assistant"]
    assert second.chat.list.currentIndex().row() == 0
    assert second.controller.loading == DEFAULT_CHAT_MODEL  # the last model loads by itself
    wait_loaded(qtbot, second)
    assert (second.width(), second.height()) == (790, 610)


# ----------------------------------------------------------------------------------- bad input
def test_broken_model_file_gives_a_message_and_the_app_keeps_working(qtbot, window, tmp_path, smollm2_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(smollm2_path.read_bytes()[: 2 * 1024 * 1024])  # a download cut short
    window.welcome.add_file.emit(str(broken))  # what "Choose a GGUF file…" does
    assert window.notice.level == "error" and "broken.gguf" in window.notice.text()
    assert window.current_page == "welcome" and window.controller.host.loaded is None
    assert [e.name for e in window.models.entries] == [DEFAULT_CHAT_MODEL]

    # a file that was fine when added and broke later: the load fails, with the reason
    later = tmp_path / "later.gguf"
    shutil.copyfile(smollm2_path, later)
    assert window.models_page.add_file(str(later)) is not None
    os.truncate(later, 3 * 1024 * 1024)
    window.controller.load_model(window.models.entries[-1].name)
    qtbot.waitUntil(lambda: window.controller.loading is None, timeout=LOAD_TIMEOUT_MS)
    assert window.notice.level == "error" and "could not be loaded" in window.notice.text()
    assert window.controller.host.loaded is None

    start_with_bundled(qtbot, window)  # and the app still works


def test_cancelling_a_load(qtbot, window):
    window.controller.load_model(DEFAULT_CHAT_MODEL)
    qtbot.mouseClick(window.cancel_load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.loading is None, timeout=LOAD_TIMEOUT_MS)
    assert window.controller.host.loaded is None
    assert window.notice.level == "info" and "cancelled" in window.notice.text()
    assert not window.load_bar.isVisible()


def test_full_disk_keeps_the_message_and_the_conversation(qtbot, window):
    c = window.controller
    start_with_bundled(qtbot, window)
    set_sampling(window, max_tokens=4, temperature=0.0)
    type_and_send(qtbot, window, "Say hi.")
    wait_idle(qtbot, window)
    before = [w.text for w in window.chat.view.widgets]

    pages = c.store.db.query("PRAGMA page_count")[0][0]
    c.store.db.query(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(Exception, match="disk is full"):  # use up the last free space
        for i in range(10_000):
            c.store.set_setting(f"filler.{i}", "x" * 400)
    long_message = "Tell me everything about the sea, its tides and its storms. " * 200  # needs new pages
    window.chat.composer.set_text(long_message)
    qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.notice.isVisible() and window.notice.level == "error", timeout=REPLY_TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert "disk is full" in window.notice.text()
    assert window.chat.composer.text() == long_message  # nothing typed is lost
    assert [w.text for w in window.chat.view.widgets] == before
    assert len(c.store.thread(c.conversation_id)) == 2

    c.store.db.query("PRAGMA max_page_count = 1073741823")  # space freed: it works again
    window.chat.composer.set_text("Say bye.")
    qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    assert len(window.chat.view.widgets) == 4 and window.chat.view.widgets[-1].message.status == "complete"


def _tiny_gguf(path: Path, megabytes: int = 3) -> Path:
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("Tiny Test")
    writer.add_context_length(256)
    writer.add_tensor("blk.0.attn_q.weight", np.zeros((megabytes * 256, 1024), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_download_failing_half_way_keeps_the_part_and_resumes(qtbot, window, tmp_path, monkeypatch):
    from tests.support.hub_standin import HubStandIn

    for name in ("HF_TOKEN", "HF_ENDPOINT", "INGLENOOK_HF_ENDPOINT", "HF_HUB_OFFLINE", "INGLENOOK_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    repo, filename = "inglenook-test/Tiny-GGUF", "tiny.Q8_0.gguf"
    source = _tiny_gguf(tmp_path / filename)
    page = window.models_page
    with HubStandIn() as hub:
        hub.add_file(repo, filename, source)
        window.settings.set_endpoint(hub.endpoint)
        window.show_page("models")
        page.repo.setText(repo)
        page.list_button.click()  # may be scrolled out of view
        qtbot.waitUntil(lambda: page.files.count() == 1
                        and page.files.item(0).data(Qt.ItemDataRole.UserRole) == filename, timeout=30_000)

        # the first request breaks after 1 MiB; every retry after it gets nothing: the line is down
        hub.drop_after, hub.drops_left, hub.delay_per_chunk = 1024 * 1024, 1, 0.05

        def line_goes_down() -> None:
            deadline = time.monotonic() + 30
            while hub.drops_left and time.monotonic() < deadline:
                time.sleep(0.001)
            hub.drop_after, hub.drops_left = 0, 1000

        threading.Thread(target=line_goes_down, daemon=True).start()
        page.download_button.click()  # may be scrolled out of view
        assert page.cancel_button.isVisible(), window.notice.text()
        qtbot.waitUntil(lambda: window.controller.download_worker is None, timeout=60_000)
        assert window.notice.level == "error" and "resume" in window.notice.text()
        assert page.partials.count() == 1 and page.resume_button.isVisible()
        partial = page.partials.item(0).data(Qt.ItemDataRole.UserRole)
        assert partial.size == 1024 * 1024 and partial.filename == filename

        hub.drop_after, hub.drops_left, hub.delay_per_chunk = None, 0, 0.0  # the line is back
        page.resume_button.click()  # may be scrolled out of view
        qtbot.waitUntil(lambda: window.controller.download_worker is None, timeout=60_000)
        assert any(r.range == "bytes=1048576-" for r in hub.file_gets())
    assert [e.source for e in window.models.entries] == ["bundled", "hub"]
    assert page.partials.count() == 0 and not page.partials.isVisible()
    assert page.selected().name == window.models.entries[-1].name
    assert "Downloaded and verified" in page.progress_label.text()


def test_unusable_data_folder_gives_a_message(qtbot, window, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    assert not window.settings.change_data_dir(str(a_file))
    assert window.notice.level == "error" and "not a folder" in window.notice.text()
    assert not window.settings.change_data_dir(str(a_file / "inside"))
    assert window.notice.level == "error" and "cannot be used" in window.notice.text()
    target = tmp_path / "elsewhere"
    assert window.settings.change_data_dir(str(target))
    assert window.notice.level == "info" and str(target) in window.notice.text()
    config = Path(os.environ["INGLENOOK_CONFIG_DIR"]) / "location.json"
    assert json.loads(config.read_text())["data_dir"] == str(target.resolve())


# ----------------------------------------------------------------------- conversations, sources
def test_conversation_list_search_rename_delete_export(qtbot, make_window, tmp_path):
    from engine.chat.history import HistoryStore

    store = HistoryStore()
    for title, question in [("Trip to Lisbon", "Which museums?"), ("Sourdough", "How long to proof?")]:
        conversation = store.create_conversation(title)
        store.add_message(conversation.id, "user", question)
        store.add_message(conversation.id, "assistant", "An **answer** with `code`.")
    store.close()
    window = make_window()
    chat = window.chat
    window.show_page("chat")
    assert chat.conversations.rowCount() == 2
    chat.search.setText("proof")
    qtbot.waitUntil(lambda: chat.conversations.rowCount() == 1, timeout=5000)
    qtbot.mouseClick(chat.list.viewport(), Qt.MouseButton.LeftButton,
                     pos=chat.list.visualRect(chat.conversations.index(0)).center())
    assert [w.text for w in chat.view.widgets] == ["How long to proof?", "An **answer** with `code`."]
    assert "<b>answer</b>" not in chat.view.widgets[1].body.toPlainText()  # rendered, not raw
    conversation_id = window.controller.conversation_id

    chat.rename(conversation_id, "Bread")
    assert chat.conversations.data(chat.conversations.index(0)) == "Bread"
    markdown, as_json = tmp_path / "bread.md", tmp_path / "bread.json"
    chat.export(conversation_id, str(markdown))
    chat.export(conversation_id, str(as_json))
    assert "# Bread" in markdown.read_text() and json.loads(as_json.read_text())["title"] == "Bread"
    chat.export(conversation_id, str(tmp_path / "missing-folder" / "x.md"))
    assert window.notice.level == "error" and "could not be written" in window.notice.text()

    chat.search.setText("")
    chat.delete(conversation_id, confirm=False)
    qtbot.waitUntil(lambda: chat.conversations.rowCount() == 1, timeout=5000)
    assert window.controller.conversation_id is None and chat.view.widgets == []
    assert chat.view.empty.isVisible()


def test_a_long_conversation_opens_with_its_newest_messages(qtbot, make_window):
    from engine.chat.history import HistoryStore

    store = HistoryStore()
    conversation = store.create_conversation("Long")
    for i in range(30):
        store.add_message(conversation.id, "user", f"Question {i}")
        store.add_message(conversation.id, "assistant", f"Answer {i}")
    store.close()
    window = make_window()
    window.controller.open_conversation(conversation.id)
    view = window.chat.view
    assert len(view.widgets) == 24 and view.widgets[-1].text == "Answer 29"
    assert view.more_button.isVisibleTo(view) and view.more_button.text() == "Show 24 earlier messages"
    qtbot.mouseClick(view.more_button, Qt.MouseButton.LeftButton)
    assert len(view.widgets) == 48 and view.more_button.text() == "Show 12 earlier messages"
    view.show_earlier()
    assert [w.text for w in view.widgets[:2]] == ["Question 0", "Answer 0"] and len(view.widgets) == 60
    assert not view.more_button.isVisibleTo(view)


def test_sources_under_an_answer_open_the_file(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    from engine.chat.history import StoredMessage

    manual = tmp_path / "manual.pdf"
    manual.write_bytes(b"%PDF-1.4\n")
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    sources = [{"n": 1, "path": str(manual), "page": 4, "heading": "Safety", "snippet": "Keep the lid closed."},
               {"n": 2, "path": str(tmp_path / "gone.txt"), "page": None, "heading": None, "snippet": "Old."}]
    answer = StoredMessage(7, 1, 6, "assistant", "Keep the lid closed [1].", "complete", 0.0,
                           extra={"sources": sources})
    view = window.chat.view
    view.set_thread([StoredMessage(6, 1, None, "user", "How?", "complete", 0.0), answer])
    block = view.widgets[-1].sources_block
    window.stack.setCurrentWidget(window.chat)
    assert block is not None and block.toggle.text() == "2 sources" and not block.body.isVisible()
    qtbot.mouseClick(block.toggle, Qt.MouseButton.LeftButton)
    assert block.body.isVisible()
    assert "manual.pdf" in block.items[0].text() and "page 4" in block.items[0].text()
    assert "Keep the lid closed." in block.items[0].text()
    block.items[0].linkActivated.emit("open")
    assert opened and opened[0].toLocalFile() == str(manual) and opened[0].fragment() == "page=4"
    with qtbot.waitSignal(view.problem) as problem:
        block.items[1].linkActivated.emit("open")
    assert "no longer exists" in problem.args[0]
    assert window.notice.level == "error"


def test_a_json_schema_in_the_settings_shapes_every_reply(qtbot, window):
    start_with_bundled(qtbot, window)
    drawer = window.chat.drawer
    drawer.schema.setPlainText("{not json")
    drawer.flush()
    assert not drawer.schema_problem.isHidden() and "not valid JSON" in drawer.schema_problem.text()
    schema = {"type": "object", "required": ["city", "rank"],
              "properties": {"city": {"type": "string", "maxLength": 20}, "rank": {"type": "integer"}}}
    drawer.schema.setPlainText(json.dumps(schema))
    drawer.flush()
    assert drawer.schema_problem.isHidden()
    set_sampling(window, max_tokens=60, temperature=0.0)
    type_and_send(qtbot, window, "Name a big city.")
    wait_idle(qtbot, window)
    answer = json.loads(window.chat.view.widgets[-1].message.content)
    assert set(answer) == {"city", "rank"} and isinstance(answer["rank"], int)
    assert json.loads(window.controller.conversations.current.session.params.json_schema) == schema
    drawer.schema.setPlainText("")
    drawer.flush()
    assert window.controller.conversations.current.session.params.grammar is None


def test_dropped_turns_are_announced_under_the_chat(qtbot, window):
    from engine.events import ContextNotice

    window.stack.setCurrentWidget(window.chat)
    window.controller.reply_notice.emit(ContextNotice(dropped_messages=3, prompt_tokens=900, n_ctx=1024))
    assert window.chat.notice.isVisible()
    assert "3 older messages" in window.chat.notice.text() and "1024-token" in window.chat.notice.text()


def test_code_blocks_are_highlighted_and_copied(qtbot, window):
    from engine.chat.history import StoredMessage

    text = "Here:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\nDone."
    view = window.chat.view
    view.set_thread([StoredMessage(1, 1, None, "assistant", text, "complete", 0.0)])
    widget = view.widgets[0]
    html = widget.body.toHtml()
    assert "color:" in html and "def" in widget.body.toPlainText()
    widget.body.link_clicked.emit("copy:0")
    assert QApplication.clipboard().text() == "def add(a, b):\n    return a + b"


# ------------------------------------------------------------------------------------ language
ALLOWED = {"Inglenook", "GGUF", "Hugging", "Face", "Hub", "CPU", "GPU", "Markdown", "JSON", "Top", "Min",
           "INGLENOOK_HOME", "SmolLM", "Instruct", "English", "PDF", "Word", "PowerPoint", "https", "http",
           "scripts", "setup", "sh", "hf", "mirror", "com", "huggingface", "co", "bartowski", "tmp", "Light",
           "API", "URL", "OpenAI"}  # technical names that stay as they are in Chinese too


def _visible_english(root) -> list[str]:
    found = []
    for widget in root.findChildren(QLabel) + root.findChildren(QAbstractButton) + root.findChildren(QGroupBox) \
            + root.findChildren(QLineEdit):
        if not widget.isVisibleTo(root) and not isinstance(widget, QGroupBox):
            continue
        if isinstance(widget, QGroupBox):
            text = widget.title()
        elif isinstance(widget, QLineEdit):
            text = widget.placeholderText()
        else:
            text = widget.text()
        text = re.sub(r"<[^>]+>", " ", text)
        text = re.sub(r"(\S*[/\\]\S*)|(\S+\.\S+)", " ", text)  # paths, file names, addresses
        words = [w for w in re.findall(r"[A-Za-z_]{3,}", text) if w not in ALLOWED]
        if words:
            found.append(f"{type(widget).__name__}: {text.strip()!r}")
    return found


def test_language_switch_changes_the_visible_strings(qtbot, window):
    assert window.nav_buttons["chat"].text() == "Chat"
    window.show_page("settings")
    settings = window.settings
    settings.language.setCurrentIndex(settings.language.findData("zh_CN"))
    assert window.controller.setting("ui.language") == "zh_CN"
    qtbot.waitUntil(lambda: window.nav_buttons["chat"].text() == "聊天", timeout=5000)
    assert window.chat.new_button.text() == "新对话"
    assert window.welcome.title.text() == "欢迎使用 Inglenook"
    assert window.settings.theme.currentText() == "浅色"
    assert window.model_status.text() == "未加载模型"
    for name in ("welcome", "chat", "library", "models", "settings"):
        window.show_page(name)
        leftovers = _visible_english(window)
        assert not leftovers, f"untranslated on {name}: {leftovers}"
    settings.set_language("en")
    qtbot.waitUntil(lambda: window.nav_buttons["chat"].text() == "Chat", timeout=5000)
    assert window.chat.new_button.text() == "New chat" and window.settings.theme.currentText() == "Light"


def test_every_string_is_translated_and_compiled(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    try:
        import build_translations as bt
    finally:
        sys.path.pop(0)
    committed = bt.TRANSLATIONS / "inglenook_zh_CN.ts"
    fresh = tmp_path / "fresh.ts"
    fresh.write_bytes(committed.read_bytes())
    subprocess.run([bt.tool("pyside6-lupdate"), *bt.SOURCES, "-no-obsolete", "-locations", "none",
                    "-ts", str(fresh)], cwd=bt.ROOT, check=True, capture_output=True)
    assert bt.unfinished(fresh) == [], "new strings: run scripts/build_translations.py and translate them"
    qm = tmp_path / "fresh.qm"
    subprocess.run([bt.tool("pyside6-lrelease"), str(committed), "-qm", str(qm)], check=True, capture_output=True)
    assert qm.read_bytes() == committed.with_suffix(".qm").read_bytes(), "rebuild the .qm: scripts/build_translations.py"


# ------------------------------------------------------------------------------------- no display
def test_nook_without_a_display_explains_instead_of_crashing(tmp_path):
    from desktop_app.gui import NO_DISPLAY, display_problem

    assert display_problem({}) == NO_DISPLAY
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert "no X server" in display_problem({"DISPLAY": ":987"})
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "desktop_app.cli"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and "nook chat" in result.stderr


def test_the_installed_pyside_does_not_corrupt_reference_counts():
    """PySide6 6.12.0 on Python 3.11 crashes the window after a few thousand calls (see gui.pyside_problem)."""
    from desktop_app.gui import pyside_problem

    assert pyside_problem() is None


def test_garbage_cycles_are_collected_on_the_gui_thread_only(qtbot, make_window):
    """A worker thread never runs the cyclic collector (it could free PySide objects there and deadlock
    the window: desktop_app/gc_guard.py); the GUI thread's timer collects what the workers left."""
    import gc
    import threading
    import weakref

    make_window()
    assert not gc.isenabled()

    class Node:
        pass

    refs = []

    def make_cycles() -> None:
        for _ in range(3 * gc.get_threshold()[0]):
            a, b = Node(), Node()
            a.other, b.other = b, a
            refs.append(weakref.ref(a))

    worker = threading.Thread(target=make_cycles)
    worker.start()
    worker.join()
    assert all(r() is not None for r in refs)  # the worker's allocations did not collect
    qtbot.waitUntil(lambda: all(r() is None for r in refs), timeout=10_000)
