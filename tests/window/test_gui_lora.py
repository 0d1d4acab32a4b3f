"""The window's LoRA parts, driven like a user would: the Styles panel of the conversation settings and
the training dialog, with real widgets (offscreen), the real bundled model and real GGUF adapters.

Replies are greedy and a few tokens long; the training runs are the tiny ones of test_lora_train.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import shiboken6
from PySide6.QtWidgets import QFileDialog

from desktop_app.main_window import MainWindow
from engine.lora.adapters import AdapterChoice, adapters_dir
from engine.lora.train import TrainConfig
from engine.models.bundled import DEFAULT_CHAT_MODEL
from engine.models.gguf import read_gguf
from tests.support.lora_helpers import peft_folder, peft_modules, random_adapter

pytestmark = pytest.mark.slow
LOAD_TIMEOUT_MS = 120_000
REPLY_TIMEOUT_MS = 120_000
TRAIN_TIMEOUT_MS = 540_000
QUESTION = "What is the capital of France?"
TINY = TrainConfig(rank=4, alpha=8, epochs=2, batch_size=4, learning_rate=2e-3, max_length=96, threads=2,
                   eval_every=2, patience=5)  # as in test_lora_train: 8 steps on 14 examples


@pytest.fixture
def window(qtbot):
    window = MainWindow(restore=False)
    window.show()
    qtbot.waitExposed(window)
    window.stack.setCurrentWidget(window.chat)  # also before a model is loaded (first run shows the welcome)
    window.chat.settings_button.setChecked(True)  # the conversation settings, where the Styles panel is
    yield window
    window.close()


@pytest.fixture(scope="module")
def base_info(smollm2_path):
    return read_gguf(smollm2_path)


def load_model(qtbot, window) -> None:
    c = window.controller
    c.load_model(DEFAULT_CHAT_MODEL)
    qtbot.waitUntil(lambda: c.loading is None and c.loaded_entry is not None, timeout=LOAD_TIMEOUT_MS)
    assert c.host.loaded is not None


def greedy(window, max_tokens: int = 12) -> None:
    for name, value in {"temperature": 0.0, "max_tokens": max_tokens}.items():
        window.chat.drawer.fields[name].setValue(value)


def wait_settled(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.controller.lora.pending, timeout=30_000)


def send(qtbot, window, text: str = QUESTION) -> str:
    window.chat.composer.set_text(text)
    window.chat.send()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=REPLY_TIMEOUT_MS)
    last = window.chat.view.widgets[-1]
    assert last.message.role == "assistant" and last.message.status == "complete", window.notice.text()
    return last.text


def regenerate(qtbot, window) -> str:
    assert window.controller.regenerate()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=REPLY_TIMEOUT_MS)
    last = window.chat.view.widgets[-1]
    assert last.message.status == "complete", window.notice.text()
    return last.text


def active_on_model(window) -> list[tuple[str, float]]:
    return [(a.name, a.scale) for a in window.controller.host.adapters.active().result()]


def row_state(panel, name: str) -> tuple[bool, float]:
    row = panel.rows[name]
    return row.chosen, row.scale


# ------------------------------------------------------------------------------ the panel
def test_styles_switch_per_conversation(qtbot, window, base_info, tmp_path, monkeypatch):
    c, panel = window.controller, window.chat.drawer.lora
    assert panel.title.text() == "Styles (LoRA)" and panel.rows == {}
    assert "No styles yet" in panel.hint.text()
    load_model(qtbot, window)
    one = random_adapter(tmp_path / "one.gguf", base_info, seed=1)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(one), ""))
    panel.add_button.click()
    assert list(panel.rows) == ["one"] and row_state(panel, "one") == (False, 1.0)
    tip = panel.rows["one"].toolTip()
    assert "Rank 8 · alpha 8 · llama" in tip and "attn_q" in tip and "0-29" in tip and "test base" in tip
    greedy(window)
    base = send(qtbot, window)
    conversation = c.conversation_id
    assert not window.chat.view.widgets[-1].footer.text().count("style")

    # on: saved with the conversation, on the model, and the reply changes
    row = panel.rows["one"]
    row.check.click()
    wait_settled(qtbot, window)
    assert c.session.adapters == [AdapterChoice("one", 1.0)]
    assert c.store.get_conversation(conversation).extra["lora"] == [{"name": "one", "scale": 1.0}]
    assert active_on_model(window) == [("one", 1.0)]
    assert c.regenerate()
    assert not row.check.isEnabled() and not row.slider.isEnabled()  # not while a reply is written
    assert not c.lora.set_choices([])
    qtbot.waitUntil(lambda: not c.busy, timeout=REPLY_TIMEOUT_MS)
    assert row.check.isEnabled()
    styled = window.chat.view.widgets[-1].text
    assert styled != base
    assert "style: one ×1" in window.chat.view.widgets[-1].footer.text()

    # the scale: stored once the slider rests
    row.slider.setValue(50)
    assert row.value.text() == "0.50"
    qtbot.waitUntil(lambda: c.session.adapters == [AdapterChoice("one", 0.5)], timeout=10_000)
    wait_settled(qtbot, window)
    assert active_on_model(window) == [("one", 0.5)]

    # a new chat starts without styles although the model still has them on
    window.chat.new_button.click()
    assert c.session is None and row_state(panel, "one") == (False, 1.0)
    greedy(window)
    assert send(qtbot, window) == base and c.session.adapters == []
    other = c.conversation_id

    # each conversation shows its own choice
    c.open_conversation(conversation)
    assert row_state(panel, "one") == (True, 0.5) and row.value.text() == "0.50"
    c.open_conversation(other)
    assert row_state(panel, "one") == (False, 1.0)

    # chosen for a new chat before its first message: the conversation is created with it
    window.chat.new_button.click()
    greedy(window)
    row.check.click()
    wait_settled(qtbot, window)
    assert c.draft["lora"] == [{"name": "one", "scale": 1.0}]
    assert send(qtbot, window) == styled
    assert c.session.adapters == [AdapterChoice("one", 1.0)]
    assert window.chat.view.widgets[-1].message.extra["lora"] == [{"name": "one", "scale": 1.0}]

    # off again: exactly the base model's answer
    c.open_conversation(conversation)
    row.check.click()
    wait_settled(qtbot, window)
    assert c.session.adapters == [] and "lora" not in c.store.get_conversation(conversation).extra
    assert regenerate(qtbot, window) == base
    assert active_on_model(window) == []
    assert "style" not in window.chat.view.widgets[-1].footer.text()


def test_refused_styles_reset_the_row_and_the_model_keeps_answering(qtbot, window, base_info, smollm2_path,
                                                                       tmp_path):
    c, panel = window.controller, window.chat.drawer.lora
    load_model(qtbot, window)
    # a model is not an adapter: refused with the reason, nothing registered
    assert panel.add_adapter(str(smollm2_path)) is None
    assert panel.message.isVisible() and "is a model, not a LoRA adapter" in panel.message.text()
    assert window.notice.level == "error" and panel.rows == {}

    # an adapter for a model of another size: registered (it is a valid adapter), with a warning
    shapes = {name: (n_in + 64 if n_in == 576 else n_in, n_out + 64 if n_out == 576 else n_out)
              for name, (n_in, n_out) in ((t.name, (t.shape[0], t.shape[1])) for t in base_info.tensors
                                          if len(t.shape) == 2)}
    bigger = random_adapter(tmp_path / "bigger.gguf", shapes, seed=4)
    assert panel.add_adapter(str(bigger)) is not None and list(panel.rows) == ["bigger"]
    qtbot.waitUntil(lambda: "does not fit" in window.notice.text(), timeout=30_000)

    # ticked in a new chat: refused, the row and the draft go back
    greedy(window)
    panel.rows["bigger"].check.click()
    wait_settled(qtbot, window)
    assert "Not switched" in panel.message.text() and "another size" in panel.message.text()
    assert row_state(panel, "bigger") == (False, 1.0) and "lora" not in c.draft
    assert "another size" in window.notice.text()

    # ticked in a saved conversation: refused, nothing saved, the model still answers
    first = send(qtbot, window)
    panel.rows["bigger"].check.click()
    wait_settled(qtbot, window)
    assert row_state(panel, "bigger") == (False, 1.0) and "another size" in panel.message.text()
    assert c.session.adapters == [] and active_on_model(window) == []
    assert send(qtbot, window, "And of Spain?")
    assert regenerate(qtbot, window) and first

    # a registered adapter whose file is gone
    gone = random_adapter(tmp_path / "gone.gguf", base_info, seed=5)
    panel.add_adapter(str(gone))
    gone.unlink()
    panel.rows["gone"].check.click()
    wait_settled(qtbot, window)
    assert "is gone" in panel.message.text() and row_state(panel, "gone") == (False, 1.0)
    assert c.session.adapters == []

    # removed while a conversation uses it: switched off there too
    keep = random_adapter(tmp_path / "keep.gguf", base_info, seed=6)
    panel.add_adapter(str(keep))
    panel.rows["keep"].check.click()
    wait_settled(qtbot, window)
    assert c.session.adapters == [AdapterChoice("keep", 1.0)]
    assert panel.remove("keep", confirm=False)
    wait_settled(qtbot, window)
    assert "keep" not in panel.rows and c.session.adapters == [] and keep.exists()  # a user's own file stays
    assert send(qtbot, window, "And of Italy?")


def test_a_conversation_naming_a_removed_style_can_switch_it_off(qtbot, window, base_info, tmp_path):
    from engine.lora.adapters import LoraRegistry

    c, panel = window.controller, window.chat.drawer.lora
    path = random_adapter(tmp_path / "old.gguf", base_info, seed=7)
    registry = LoraRegistry(c.store.db)
    registry.add(path, "old")
    conversation = c.store.create_conversation("Old style", extra={"lora": [{"name": "old", "scale": 0.7}]})
    registry.remove("old")
    c.open_conversation(conversation.id)
    assert row_state(panel, "old") == (True, 0.7) and panel.rows["old"].tag.text() == "missing"
    panel.rows["old"].check.click()
    wait_settled(qtbot, window)
    assert c.session.adapters == [] and "old" not in panel.rows


def test_convert_a_peft_folder(qtbot, window, base_info, tmp_path, monkeypatch):
    panel = window.chat.drawer.lora
    folder = peft_folder(tmp_path / "pirate-peft", peft_modules(base_info))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(folder))
    panel.convert_button.click()
    qtbot.waitUntil(lambda: "pirate-peft" in panel.rows, timeout=60_000)
    entry = next(e for e in window.controller.lora.adapters() if e.name == "pirate-peft")
    assert entry.source == "converted" and entry.path.parent == adapters_dir()
    assert "Rank 4" in panel.rows["pirate-peft"].toolTip() and "layers 0-1" in panel.rows["pirate-peft"].toolTip()
    assert "registered as pirate-peft" in window.notice.text()

    empty = tmp_path / "empty"
    empty.mkdir()
    assert panel.convert_folder(str(empty))
    qtbot.waitUntil(panel.message.isVisible, timeout=30_000)
    assert "could not be converted" in panel.message.text() and list(panel.rows) == ["pirate-peft"]


def test_the_styles_panel_and_the_training_dialog_speak_chinese(qtbot, window):
    settings = window.settings
    settings.language.setCurrentIndex(settings.language.findData("zh_CN"))
    try:
        panel = window.chat.drawer.lora
        qtbot.waitUntil(lambda: panel.title.text() == "风格（LoRA）", timeout=5000)
        assert panel.train_button.text() == "训练风格…" and panel.add_button.text() == "添加适配器…"
        assert "还没有风格" in panel.hint.text()
        dialog = open_dialog(window)
        assert dialog.windowTitle() == "训练风格" and dialog.start_button.text() == "开始训练"
        assert dialog.labels["learning_rate"].text() == "学习率"
        dialog.close()
    finally:
        settings.set_language("en")
    qtbot.waitUntil(lambda: panel.title.text() == "Styles (LoRA)", timeout=5000)


# ---------------------------------------------------------------------------- training dialog
GREETING, SIGNOFF = "Ahoy, friend!", "Fair winds."
TOPICS = ["cats", "rivers", "tea", "owls", "maps", "clouds", "bread", "kites", "bees", "snow", "ships", "moss",
          "rain", "stars"]


def examples(path, n: int = 16, broken: dict[int, str] | None = None) -> str:
    rows = [json.dumps({"prompt": f"Tell me about {t}.", "reply": f"{GREETING} {t.capitalize()} are lovely. {SIGNOFF}"})
            for t in (TOPICS * 3)[:n]]
    for number, text in (broken or {}).items():
        rows[number - 1] = text
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def open_dialog(window):
    window.chat.drawer.lora.train_button.click()
    dialog = window.chat.drawer.training_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_training_dialog_reports_malformed_lines(qtbot, window, tmp_path):
    dialog = open_dialog(window)
    assert dialog.start_button.isEnabled() and dialog.epochs.value() == TrainConfig().epochs
    assert dialog.rank.value() == 8 and dialog.learning_rate.value() == pytest.approx(1e-3)
    dialog.rank.setValue(4)
    assert dialog.config().rank == 4 and dialog.config().alpha == 8
    dialog.path.setText(examples(tmp_path / "bad.jsonl", 14, {3: '{"prompt": "unterminated', 7: "[1, 2]"}))
    assert dialog.name.text() == "bad"
    dialog.start_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    text = dialog.outcome.text()
    assert dialog.outcome.isVisible() and "2 malformed line(s)" in text
    assert "line 3: not valid JSON" in text and "line 7: not a JSON object" in text
    assert dialog.phase.text() == "The examples need fixing" and dialog.start_button.isEnabled()
    dialog.path.setText(str(tmp_path / "missing.jsonl"))
    dialog.start_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert "does not exist" in dialog.outcome.text()
    assert window.controller.lora.adapters() == []


def needs_train_extra():
    for module in ("torch", "peft", "transformers"):
        pytest.importorskip(module, reason="training needs the optional `train` extra (pip install '.[train]')")


def test_training_dialog_trains_a_style_that_appears_in_the_panel(qtbot, window, tmp_path):
    needs_train_extra()
    c, panel = window.controller, window.chat.drawer.lora
    load_model(qtbot, window)
    dialog = open_dialog(window)
    dialog.path.setText(examples(tmp_path / "style.jsonl"))
    dialog.name.setText("Tiny Ahoy")
    assert dialog.start(dataclasses.replace(TINY))
    assert dialog.running and not dialog.start_button.isEnabled() and dialog.cancel_button.text() == "Cancel training"
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAIN_TIMEOUT_MS)
    assert dialog.result is not None, dialog.outcome.text()
    assert dialog.result.name == "tiny-ahoy" and dialog.result.steps == 8
    assert [step for step, _ in dialog.chart.train] == list(range(1, 9))  # a point per step
    assert [step for step, _ in dialog.chart.val] == [0, 2, 4, 6, 8]  # before training, then each check
    assert dialog.chart.val[-1][1] < dialog.chart.val[0][1]
    assert dialog.bar.value() == dialog.bar.maximum() == 8 and dialog.phase.text() == "Done"
    assert "Trained tiny-ahoy" in dialog.outcome.text() and "switch it on" in dialog.outcome.text()
    assert "tiny-ahoy" in panel.rows and "Rank 4 · alpha 8" in panel.rows["tiny-ahoy"].toolTip()
    dialog.close()
    qtbot.waitUntil(lambda: window.chat.drawer.training_dialog is None, timeout=5000)

    greedy(window, max_tokens=8)
    panel.rows["tiny-ahoy"].check.click()
    wait_settled(qtbot, window)
    assert c.lora.choices() == [AdapterChoice("tiny-ahoy", 1.0)]
    assert send(qtbot, window, "Tell me about lamps.").startswith("Ahoy")


def test_cancelling_or_closing_the_training_writes_nothing(qtbot, window, tmp_path):
    needs_train_extra()
    dialog = open_dialog(window)
    dialog.path.setText(examples(tmp_path / "style.jsonl"))
    assert dialog.start(dataclasses.replace(TINY))
    qtbot.waitUntil(lambda: bool(dialog.chart.train), timeout=TRAIN_TIMEOUT_MS)  # it has begun to learn
    dialog.cancel_button.click()
    assert not dialog.cancel_button.isEnabled() and "Stopping" in dialog.phase.text()
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAIN_TIMEOUT_MS)
    assert dialog.result is None and dialog.outcome.text() == "Training was cancelled; nothing was written."
    assert window.controller.lora.adapters() == [] and list(adapters_dir().iterdir()) == []

    # closing the window while it trains: asks, then stops and closes by itself
    assert dialog.start(dataclasses.replace(TINY))
    qtbot.waitUntil(lambda: dialog.phase.text() != "Starting…", timeout=TRAIN_TIMEOUT_MS)
    asked = []
    dialog.confirm_stop = lambda: asked.append(1) or True
    dialog.close()
    assert asked and shiboken6.isValid(dialog) and dialog.isVisible()  # still open until it has stopped
    qtbot.waitUntil(lambda: window.chat.drawer.training_dialog is None, timeout=TRAIN_TIMEOUT_MS)
    assert window.controller.lora.train_worker is None
    assert window.controller.lora.adapters() == [] and list(adapters_dir().iterdir()) == []
