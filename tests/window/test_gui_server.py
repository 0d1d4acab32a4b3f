"""The window's "Local server" switch and remote servers as models, driven like a user would.

Real widgets offscreen, the real bundled SmolLM2 in the window's engine process, the official ``openai``
client against the window's server, and a real `nook serve` subprocess as the remote server.
"""

from __future__ import annotations

import socket
import threading

import httpx
import openai
import pytest
from PySide6.QtCore import Qt

from desktop_app.main_window import MainWindow
from engine.chat.presets import get_preset
from engine.models.bundled import DEFAULT_CHAT_MODEL
from tests.support.serve_helpers import free_port, nook_serve, port_is_free

pytestmark = pytest.mark.slow
TIMEOUT_MS = 120_000
KEY = "sk-window-remote-0123456789"


def wait_loaded(qtbot, window: MainWindow, name: str) -> None:
    c = window.controller
    qtbot.waitUntil(lambda: c.loading is None and c.loaded_entry is not None and c.loaded_entry.name == name,
                    timeout=TIMEOUT_MS)


def switch_server(qtbot, window: MainWindow, on: bool, state: str) -> None:
    panel = window.settings.server_panel
    window.show_page("settings")
    qtbot.mouseClick(panel.switch, Qt.MouseButton.LeftButton)
    assert panel.switch.isChecked() == on
    qtbot.waitUntil(lambda: window.controller.server.state == state, timeout=30_000)


def test_local_server_switch_serves_the_window_model_and_logs_requests(qtbot, make_window):
    window = make_window()
    c = window.controller
    panel = window.settings.server_panel
    port = free_port()
    panel.host.setText("127.0.0.1")
    panel.port.setValue(port)
    qtbot.mouseClick(panel.apply_address_button, Qt.MouseButton.LeftButton)
    assert c.server.port == port

    # no model yet: the server answers, and says what to do
    switch_server(qtbot, window, True, "running")
    url = f"http://127.0.0.1:{port}/v1"
    assert panel.url.text() == url and url in panel.status.text()
    refused = httpx.post(url + "/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
    assert refused.status_code == 503 and "load one" in refused.json()["error"]["message"]

    qtbot.mouseClick(window.welcome.bundled_button, Qt.MouseButton.LeftButton)
    wait_loaded(qtbot, window, DEFAULT_CHAT_MODEL)
    client = openai.OpenAI(base_url=url, api_key="unused", timeout=60)
    assert [m.id for m in client.models.list().data][0] == DEFAULT_CHAT_MODEL
    reply = client.chat.completions.create(model=DEFAULT_CHAT_MODEL, max_tokens=6, temperature=0,
                                           messages=[{"role": "user", "content": "Name a colour."}])
    assert reply.choices[0].message.content and reply.usage.completion_tokens <= 6
    qtbot.waitUntil(lambda: panel.log_model.rowCount() >= 3, timeout=5_000)
    newest = panel.log_model.entry(0)
    assert (newest.method, newest.path, newest.status, newest.model) == (
        "POST", "/v1/chat/completions", 200, DEFAULT_CHAT_MODEL)
    assert newest.completion_tokens == reply.usage.completion_tokens
    assert newest.prompt_tokens == reply.usage.prompt_tokens
    assert [panel.log_model.entry(i).status for i in (1, 2)] == [200, 503]
    shown = [panel.log_model.index(0, col).data() for col in range(panel.log_model.columnCount())]
    assert "POST" in shown and "/v1/chat/completions" in shown and DEFAULT_CHAT_MODEL in shown

    # one model, two users: an API reply streaming while the window sends; both finish, one after the other
    streamed: list[str] = []

    def stream_from_api() -> None:
        for chunk in client.chat.completions.create(model=DEFAULT_CHAT_MODEL, max_tokens=24, temperature=0,
                                                    stream=True, messages=[{"role": "user", "content": "Count."}]):
            streamed.extend(c.delta.content or "" for c in chunk.choices)

    api = threading.Thread(target=stream_from_api)
    api.start()
    qtbot.waitUntil(lambda: len(streamed) > 1, timeout=TIMEOUT_MS)  # the API reply holds the model now
    window.show_page("chat")
    window.chat.drawer.fields["max_tokens"].setValue(4)
    qtbot.keyClicks(window.chat.composer.edit, "Hello")
    qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not c.busy and c.session is not None and len(c.session.thread()) == 2,
                    timeout=TIMEOUT_MS)
    api.join(60)
    assert c.session.thread()[-1].status == "complete" and c.session.thread()[-1].content
    assert "".join(streamed).strip()
    qtbot.waitUntil(lambda: panel.log_model.rowCount() >= 4, timeout=5_000)
    newest = panel.log_model.entry(0)
    assert newest.status == 200 and 0 < newest.completion_tokens <= 24

    switch_server(qtbot, window, False, "off")
    assert port_is_free(port)
    assert panel.status.text() == panel.tr("Off")
    assert c.settings.setting("server.enabled") is False


def test_a_busy_port_is_reported_and_the_switch_comes_back_on_with_the_window(qtbot, make_window):
    window = make_window()
    c = window.controller
    panel = window.settings.server_panel
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        panel.port.setValue(port)
        qtbot.mouseClick(panel.apply_address_button, Qt.MouseButton.LeftButton)
        switch_server(qtbot, window, True, "failed")
        assert "already in use" in panel.status.text() and "another port" in panel.status.text()
    # another address needs a key: refused before anything listens, served once one is generated
    panel.host.setText("0.0.0.0")
    panel.port.setValue(free_port())
    qtbot.mouseClick(panel.apply_address_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "API key" in c.server.problem, timeout=10_000)
    assert c.server.state == "failed" and port_is_free(panel.port.value())
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    key = panel.key.text()
    assert key.startswith("sk-nook-") and len(key) > 40 and c.server.api_key == key
    qtbot.waitUntil(lambda: c.server.state == "running", timeout=30_000)
    url = f"http://127.0.0.1:{c.server.port}/v1"
    assert httpx.get(url + "/models").status_code == 401
    assert httpx.get(url + "/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    # this machine has no OS keyring: the key lives for this session only, and never in the database
    assert not c.server.key_in_keyring and "no OS keyring" in panel.key_hint.text()
    assert key.encode() not in b"".join(p.read_bytes() for p in c.store.db.path.parent.glob("inglenook.db*"))
    # clearing the key stops serving on that address
    panel.key.setText("")
    panel.key.editingFinished.emit()
    qtbot.waitUntil(lambda: c.server.state == "failed" and port_is_free(panel.port.value()), timeout=30_000)
    panel.host.setText("127.0.0.1")
    panel.port.setValue(free_port())
    qtbot.mouseClick(panel.apply_address_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: c.server.state == "running", timeout=30_000)
    port = c.server.port
    window.close()
    assert port_is_free(port)  # closing the window stopped the server
    again = make_window()
    qtbot.waitUntil(lambda: again.controller.server.state == "running", timeout=30_000)
    assert again.settings.server_panel.switch.isChecked()
    assert httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 200


def test_a_remote_server_added_picked_and_chatted_with(qtbot, make_window, tmp_path):
    """A real `nook serve` (its own data folder, API key on) becomes a model in the window."""
    (tmp_path / "server-home").mkdir()
    with nook_serve(tmp_path / "server-home", "--ctx", "2048", "--threads", "1", api_key=KEY) as (url, _proc):
        window = make_window()
        c = window.controller
        page = window.models_page
        window.show_page("models")
        qtbot.mouseClick(page.add_server_button, Qt.MouseButton.LeftButton)
        dialog = page.server_dialog
        assert dialog is not None and dialog.isVisible()
        dialog.name.setText("office")
        dialog.url.setText(url)
        dialog.key.setText("sk-wrong-key-000000")
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.test_button.isEnabled() and "401" in dialog.result.text(), timeout=20_000)
        assert "refused the API key" in dialog.result.text()
        dialog.key.setText(KEY)
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "Connected" in dialog.result.text(), timeout=20_000)
        assert DEFAULT_CHAT_MODEL in dialog.result.text()
        qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
        assert not dialog.isVisible()
        entry = c.registry.get("office")
        assert entry.is_remote and entry.url == url
        assert page.selected() is not None and page.selected().name == "office"
        qtbot.waitUntil(lambda: DEFAULT_CHAT_MODEL in page.fit.text(), timeout=20_000)
        assert page.server_models[0] == DEFAULT_CHAT_MODEL  # then the server's embedding model

        # the key is not in the database in any form
        db_bytes = b"".join(p.read_bytes() for p in c.store.db.path.parent.glob("inglenook.db*"))
        assert KEY.encode() not in db_bytes

        # choose it in the chat's model picker, set a preset, send
        window.show_page("chat")
        row = window.models.row_of("office")
        assert row >= 0
        window.chat.picker.setCurrentIndex(row)
        window.chat.picker.activated.emit(row)
        wait_loaded(qtbot, window, "office")
        assert c.host.is_remote and c.host.loaded.name == DEFAULT_CHAT_MODEL
        assert c.host.local.loaded is None
        assert "office" in window.model_status.text() and url in window.model_status.text()
        drawer = window.chat.drawer
        drawer.preset.setCurrentIndex(drawer.preset.findData("concise"))
        drawer.fields["max_tokens"].setValue(8)
        drawer.fields["temperature"].setValue(0.0)
        qtbot.keyClicks(window.chat.composer.edit, "What is the capital of France?")
        qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not c.busy and c.session is not None and len(c.session.thread()) == 2,
                        timeout=TIMEOUT_MS)
        reply = c.session.thread()[-1]
        assert reply.role == "assistant" and reply.content.strip() and reply.status == "complete"
        # what the window sent (the preset's system prompt, then the question) gives the same greedy reply
        # when sent to the server directly: the preset reached the remote model
        messages = c.session.model_messages(c.session.thread()[:1])
        assert messages[0] == {"role": "system", "content": get_preset("concise").system}
        direct = httpx.post(url + "/chat/completions", headers={"Authorization": f"Bearer {KEY}"}, timeout=60,
                            json={"messages": messages, "max_tokens": 8, "temperature": 0,
                                  "seed": reply.params.get("seed", -1) if reply.params else -1})
        assert direct.json()["choices"][0]["message"]["content"].strip() == reply.content.strip()
        conversation = c.store.get_conversation(c.conversation_id)
        assert conversation.model == "office" and conversation.preset == "concise"
        assert window.chat.view.widgets[-1].shown_text().strip() == reply.content.strip()

        # documents: a collection chosen next to the model answers through the server, with its sources
        docs = tmp_path / "docs"
        docs.mkdir()
        (docs / "lighthouse.md").write_text(
            "# The Lighthouse\n\nThe lamp of Varne Point is fed with whale oil and can be seen for eighteen "
            "miles.\n", encoding="utf-8")
        (docs / "bread.txt").write_text("Sourdough bread needs a starter of flour and water.\n", encoding="utf-8")
        with qtbot.waitSignal(window.library.index_finished, timeout=TIMEOUT_MS):
            window.library.add_paths([docs], name="harbour")
        window.chat_collections.fill_menu()
        next(a for a in window.chat_collections.menu.actions() if a.text() == "harbour").trigger()
        window.library.documents.k = 2
        before = len(c.session.thread()) if c.session is not None else 0
        assert c.send("How far can the lamp of Varne Point be seen?")
        qtbot.waitUntil(lambda: not c.busy and c.session is not None and len(c.session.thread()) == before + 2,
                        timeout=TIMEOUT_MS)
        assert c.store.get_conversation(c.conversation_id).extra["collections"] == ["harbour"]
        assert c.session.thread()[-1].content.strip() and c.host.is_remote
        block = window.chat.view.widgets[-1].sources_block
        assert block is not None and block.items
        qtbot.mouseClick(block.toggle, Qt.MouseButton.LeftButton)
        assert "lighthouse.md" in block.items[0].text()
