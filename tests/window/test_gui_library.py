"""The Library page, driven like a user would: a real folder, the real indexer (LanceDB, embeddings),
the real bundled model answering from it, offscreen widgets. Only QDesktopServices.openUrl is
replaced (nothing can open files here) to record what would be opened."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QDropEvent
from PySide6.QtWidgets import QPlainTextEdit

from desktop_app.main_window import MainWindow
from engine.models.bundled import DEFAULT_CHAT_MODEL

pytestmark = pytest.mark.slow
TIMEOUT_MS = 180_000  # the CI machine is small and shared


@pytest.fixture
def window(qtbot):
    window = MainWindow(restore=False)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


def make_documents(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "lighthouse.md").write_text(
        "# The Lighthouse\n\nThe lighthouse keeper on Varne Point lights the lamp at dusk. "
        "The lamp of Varne Point is fed with whale oil and can be seen for eighteen miles.\n", encoding="utf-8")
    (folder / "bread.txt").write_text(
        "Sourdough bread needs a starter of flour and water, fed daily, and a long cold proof.\n", encoding="utf-8")
    (folder / "tides.md").write_text(
        "# Tides\n\nSpring tides happen near the full and new moon, when the sun and moon pull together.\n",
        encoding="utf-8")
    (folder / "ropes.txt").write_text("A bowline makes a fixed loop at the end of a rope.\n", encoding="utf-8")
    return folder


def drop(page, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    page.dropEvent(event)


def index_by_drop(qtbot, page, docs: Path) -> str:
    """Drop the folder on the page; the collection's name once its indexing finished."""
    progress = []
    page.index_progress.connect(lambda name, p: progress.append((name, p.phase, p.files_done, p.files_total)))
    with qtbot.waitSignal(page.index_finished, timeout=TIMEOUT_MS) as finished:
        drop(page, [docs])  # as if the folder were dropped on the page
    name, summary = finished.args
    assert name == "Harbour notes" and summary is not None and summary.added == 4 and not summary.failed
    qtbot.waitUntil(lambda: not page.workers, timeout=10_000)
    assert any(phase == "indexing" for _n, phase, _d, _t in progress)
    assert any(total == 4 for _n, _phase, _done, total in progress)
    row = [page.table.item(0, col).text() for col in range(page.COLUMNS)]
    assert row[0] == "Harbour notes" and row[1] == str(docs) and row[2] == "4" and int(row[3]) >= 4
    assert row[4] == "0" and row[5] == "0" and row[6] != "never" and "Done" in row[7]
    assert "Every file was indexed" in page.details_text(name)
    return name


def answer_from(qtbot, window, name: str, docs: Path, monkeypatch) -> None:
    """Pick the collection next to the model, then a real answer with sources that open the file."""
    c, page = window.controller, window.library
    window.show_page("chat")
    window.chat_collections.fill_menu()
    action = next(a for a in window.chat_collections.menu.actions() if a.text() == name)
    action.trigger()
    assert page.selected_collections() == [name] and c.setting("state.collections") == [name]
    assert name in window.chat_collections.button.text()
    qtbot.waitUntil(lambda: c.loading is None and c.loaded_entry is not None, timeout=TIMEOUT_MS)
    window.chat.drawer.fields["max_tokens"].setValue(6)
    page.documents.k = 2  # a short grounded prompt keeps the answer quick on a small CPU
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    assert c.send("How far can the lamp of Varne Point be seen?")
    qtbot.waitUntil(lambda: not c.busy, timeout=TIMEOUT_MS)
    assert c.store.get_conversation(c.conversation_id).extra["collections"] == [name]
    block = window.chat.view.widgets[-1].sources_block
    assert block is not None and block.items
    qtbot.mouseClick(block.toggle, Qt.MouseButton.LeftButton)
    assert "lighthouse.md" in block.items[0].text()
    block.items[0].linkActivated.emit("open")
    assert opened and opened[0].toLocalFile() == str(docs / "lighthouse.md")


def rewriting_follows_the_setting(window, name: str) -> None:
    """Off by default, as `nook ask`; the setting documents.rewrite turns it on for the window too."""
    c, page = window.controller, window.library
    assert c.session.augmenter.rewriter is None
    c.set_setting("documents.rewrite", "multi")
    page.set_selection([name], strict=False)  # re-arms the conversation's augmenter
    assert c.session.augmenter.rewriter.mode == "multi"
    c.set_setting("documents.rewrite", "off")
    page.set_selection([name], strict=False)
    assert c.session.augmenter.rewriter is None


def watch_and_resume(qtbot, window, name: str, docs: Path) -> None:
    """A new file is indexed by the watcher without asking; a second window resumes watching."""
    page = window.library
    page.select(name)
    page.watch_box.click()
    qtbot.waitUntil(lambda: page.library.is_watched(name), timeout=30_000)
    assert page.watch_box.isChecked()
    with qtbot.waitSignal(page._watch_event, timeout=60_000):
        (docs / "knots.md").write_text("# Knots\n\nA clove hitch holds a rope to a post.\n", encoding="utf-8")
    qtbot.waitUntil(lambda: page.table.item(0, 2).text() == "5", timeout=10_000)
    assert window.controller.setting("state.watched") == [name]
    second = MainWindow(restore=False)  # the same data folder
    try:
        qtbot.waitUntil(lambda: second.library.library.is_watched(name), timeout=30_000)
    finally:
        second.close()


def test_collection_indexed_then_cited_in_chat_then_removed(qtbot, window, tmp_path, monkeypatch):
    window.controller.load_model(DEFAULT_CHAT_MODEL)  # loads while the folder is indexed
    page = window.library
    window.show_page("library")
    docs = make_documents(tmp_path / "Harbour notes")
    name = index_by_drop(qtbot, page, docs)
    answer_from(qtbot, window, name, docs, monkeypatch)
    rewriting_follows_the_setting(window, name)

    # a folder that cannot be read: a message, nothing added, the page keeps working
    window.show_page("library")
    assert page.add_paths([tmp_path / "missing"]) is None
    assert "missing" in page.message.text() and page.message.isVisible()
    assert page.names() == [name]

    watch_and_resume(qtbot, window, name, docs)

    # remove: the collection goes, from the chat's choice and the watched ones too; the files stay
    assert page.remove(name, confirm=False)
    assert page.names() == [] and page.selected_collections() == []
    assert window.controller.setting("state.watched") == [] and not page.library.is_watched(name)
    assert (docs / "lighthouse.md").exists() and page.empty.isVisibleTo(page)


def test_index_settings_download_a_multilingual_embedder_and_rebuild(qtbot, window, tmp_path):
    """Chinese documents with the bundled English-only embedder are said to be full-text only; choosing a
    multilingual model in Index settings downloads it (from the Hub stand-in, which serves the bundled MiniLM
    files under the multilingual model's name: the Hub is unreachable here) and re-embeds the collection."""
    from desktop_app.collection_settings import CollectionSettingsDialog
    from engine.models.bundled import find_bundled
    from tests.core.test_chinese_retrieval import write_handbook
    from tests.support.hub_standin import HubStandIn

    page = window.library
    window.show_page("library")
    docs = tmp_path / "手册"
    docs.mkdir()
    write_handbook(docs / "handbook.md")
    with qtbot.waitSignal(page.index_finished, timeout=TIMEOUT_MS) as finished:
        name = page.add_paths([docs])
    summary = finished.args[1]
    assert summary.chunks_fulltext_only > 0
    qtbot.waitUntil(lambda: not page.workers, timeout=10_000)
    assert "full-text only" in page.status_text[name]

    details = page.show_details(name)
    text = details.findChild(QPlainTextEdit)
    qtbot.waitUntil(lambda: "full-text only" in text.toPlainText(), timeout=30_000)
    assert "Searches use the embedding model minilm" in text.toPlainText()
    details.close()

    with HubStandIn() as hub:
        hub.add_file("Xenova/multilingual-e5-small", "onnx/model_quantized.onnx",
                     find_bundled("all-minilm-l6-v2-int8").path)
        hub.add_file("Xenova/multilingual-e5-small", "tokenizer.json",
                     find_bundled("all-minilm-l6-v2-tokenizer").path, lfs=False)
        window.controller.set_setting("hub.endpoint", hub.endpoint)
        page.select(name)
        dialog = page.open_index_settings(name)
        assert isinstance(dialog, CollectionSettingsDialog)
        qtbot.waitUntil(lambda: "full-text only" in dialog.state.text(), timeout=30_000)
        choice = dialog.embedder.findData("multilingual-e5-small")
        assert "download 118 MB" in dialog.embedder.itemText(choice)
        dialog.embedder.setCurrentIndex(choice)
        assert "downloaded" in dialog.note.text()
        assert dialog.changes() == {"embedder": "multilingual-e5-small"}
        with qtbot.waitSignal(page.index_finished, timeout=TIMEOUT_MS) as rebuilt:
            dialog.accept()
            assert name in page.downloads and not page.settings_button.isEnabled()
    summary = rebuilt.args[1]
    assert summary is not None and summary.rebuilt and summary.chunks_fulltext_only == 0
    qtbot.waitUntil(lambda: not page.workers and not page.downloads, timeout=10_000)
    details = page.library.index_details(page.library.get(name))
    assert details["searching_with"] == "multilingual-e5-small" and details["fulltext_only"] == 0


def test_a_failed_embedder_download_says_so_and_keeps_the_index(qtbot, window, tmp_path):
    page = window.library
    window.show_page("library")
    docs = make_documents(tmp_path / "Harbour notes")
    with qtbot.waitSignal(page.index_finished, timeout=TIMEOUT_MS):
        name = page.add_paths([docs])
    qtbot.waitUntil(lambda: not page.workers, timeout=10_000)
    window.controller.set_setting("hub.endpoint", "http://127.0.0.1:9")  # nothing listens there
    assert page.apply_index_settings(name, {"embedder": "bge-m3"})
    qtbot.waitUntil(lambda: not page.downloads, timeout=60_000)
    assert "could not be downloaded" in page.message.text()
    assert page.library.get(name).setting("embedder") == "minilm"
    assert page.library.index_details(page.library.get(name))["chunks"] > 0
