"""The Evaluate page and the question-set review, driven in the real window (offscreen) with the real bundled
model, a tiny real collection (real embeddings, real LanceDB) and the real evaluation core. Answers are
capped at a few tokens so a run of two configurations on two questions takes seconds."""

from __future__ import annotations

import json
import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices

from desktop_app.main_window import MainWindow
from knowledge.evaluation.configs import EvalConfig
from knowledge.evaluation.questions import load_questions

pytestmark = pytest.mark.slow
LOAD_TIMEOUT_MS = 120_000
RUN_TIMEOUT_MS = 240_000


@pytest.fixture
def window(qtbot):
    window = MainWindow(restore=False)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


def make_collection(window, folder) -> str:
    folder.mkdir(parents=True)
    (folder / "sourdough.md").write_text(
        "# Proofing\n\nAfter shaping, refrigerate the dough for 12 to 16 hours. A cold proof develops flavour.\n",
        encoding="utf-8")
    (folder / "tides.md").write_text(
        "# Tides\n\nSpring tides happen near the full and new moon, when the sun and moon pull together.\n",
        encoding="utf-8")
    library = window.library.library
    library.create("Bakery", [folder])
    assert library.index("Bakery").added == 2
    return "Bakery"


def write_set(path) -> str:
    lines = [{"id": "proof", "question": "How long should the dough proof in the fridge?",
              "reference": "12 to 16 hours", "sources": ["sourdough.md"]},
             {"id": "tides", "question": "When do spring tides happen?",
              "reference": "near the full and new moon", "sources": ["tides.md"]}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return str(path)


def load_model(qtbot, window) -> None:
    qtbot.mouseClick(window.welcome.bundled_button, Qt.MouseButton.LeftButton)
    c = window.controller
    qtbot.waitUntil(lambda: c.loading is None and c.loaded_entry is not None, timeout=LOAD_TIMEOUT_MS)


def two_configs(page, collection: str) -> None:
    while page.configs:
        page.config_list.setCurrentRow(0)
        page.remove_config()
    assert page.add_config(EvalConfig("no retrieval", retrieval="off", max_tokens=6))
    assert page.add_config(EvalConfig("hybrid", collections=[collection], retrieval="hybrid", k=2, max_tokens=6))
    assert page.checked_names() == ["no retrieval", "hybrid"]


def test_run_two_configurations_see_the_chart_and_the_answers_side_by_side(qtbot, window, tmp_path, monkeypatch):
    collection = make_collection(window, tmp_path / "docs")
    load_model(qtbot, window)
    window.show_page("evaluate")
    page = window.evaluate
    assert window.nav_buttons["evaluate"].text() == "Evaluate"
    assert page.set_question_set(write_set(tmp_path / "set.jsonl"))
    assert page.results.question_list.count() == 2 and "2 questions" in page.set_info.text()
    two_configs(page, collection)

    seen_records = []
    page.progressed.connect(seen_records.append)
    qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    assert page.running and not page.run_button.isEnabled() and page.cancel_button.isEnabled()
    with qtbot.waitSignal(page.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        pass
    assert finished.args == [False] and "Done" in page.status.text()
    assert any(p.phase == "answer" for p in seen_records) and any(p.phase == "judge" for p in seen_records)

    # the chart: retrieval measures for the configuration that retrieves, none for the one that does not
    assert page.results.chart.value("hybrid", "hit@k") == 1.0  # the gold file was retrieved for both questions
    assert page.results.chart.value("no retrieval", "hit@k") is None
    assert page.results.chart.value("hybrid", "faithfulness") is not None
    assert page.summary["hybrid"]["n"] == 2 and page.summary["no retrieval"]["n"] == 2
    assert not page.results.chart.grab().isNull()
    assert page.results.comparisons.isVisible() and "hybrid vs no retrieval" in page.results.comparisons.text()

    # a question's answers side by side, with sources and measures
    page.results.question_list.setCurrentRow(0)
    assert list(page.results.answer_views) == ["no retrieval", "hybrid"]
    hybrid = page.results.answer_views["hybrid"].toPlainText()
    assert "sourdough.md" in hybrid and "12 to 16 hours" in hybrid and "Hit@k" in hybrid
    assert "sourdough.md" not in page.results.answer_views["no retrieval"].toPlainText()
    record = page.records[("hybrid", "proof")]
    assert record["answer"] and record["answer"].strip()[:15] in hybrid

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    report = page.open_report()
    assert report is not None and report.exists() and opened[0].toLocalFile() == str(report)
    assert "hybrid" in report.read_text(encoding="utf-8")


def test_cancel_keeps_the_window_responsive_and_run_again_resumes(qtbot, window, tmp_path):
    collection = make_collection(window, tmp_path / "docs")
    load_model(qtbot, window)
    page = window.evaluate
    window.show_page("evaluate")
    page.set_question_set(write_set(tmp_path / "set.jsonl"))
    two_configs(page, collection)

    assert page.run()
    assert not window.controller.send("Hello?")  # the chat waits while the run uses the model
    assert "evaluation is running" in window.notice.text()
    qtbot.waitUntil(lambda: len(page.records) >= 1, timeout=RUN_TIMEOUT_MS)
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    assert "Stopping" in page.status.text()
    window.show_page("chat")  # the window answers while the run winds down
    assert window.current_page == "chat"
    qtbot.waitUntil(lambda: not page.running, timeout=RUN_TIMEOUT_MS)
    assert "Run again" in page.status.text() and page.run_button.isEnabled()
    records_file = page.out_dir / "records.jsonl"
    answered_before = [json.loads(line) for line in records_file.read_text().splitlines() if line.strip()]
    assert 1 <= len(answered_before) < 4

    progress = []
    page.progressed.connect(progress.append)
    window.show_page("evaluate")
    assert page.run()
    qtbot.waitUntil(lambda: not page.running, timeout=RUN_TIMEOUT_MS)
    assert "Done" in page.status.text()
    answered_now = [p for p in progress if p.phase == "answer"]
    assert len(answered_now) == 4 - len(answered_before)  # only what was missing was answered
    finished = {(r["config"], r["question_id"]): r for r in
                (json.loads(line) for line in records_file.read_text().splitlines() if line.strip())}
    assert len(finished) == 4
    first = answered_before[0]
    assert finished[(first["config"], first["question_id"])]["answer"] == first["answer"]

    # a configuration added later: only its answers are new, the others are kept
    page.add_config(EvalConfig("hybrid k1", collections=[collection], retrieval="hybrid", k=1, max_tokens=6))
    progress.clear()
    assert page.run()
    qtbot.waitUntil(lambda: not page.running, timeout=RUN_TIMEOUT_MS)
    assert {(p.config, p.question_id) for p in progress if p.phase == "answer"} == {
        ("hybrid k1", "proof"), ("hybrid k1", "tides")}
    assert page.summary["hybrid k1"]["n"] == 2 and page.summary["hybrid"]["n"] == 2


def test_review_a_question_set_edit_delete_mark_and_save(qtbot, window, tmp_path):
    path = tmp_path / "drafts.jsonl"
    path.write_text(
        json.dumps({"id": "g1", "question": "What is proofing?", "reference": "resting the dough",
                    "sources": [{"file": "sourdough.md", "page": 2}], "extra": {"draft": True}}) + "\n" +
        json.dumps({"id": "g2", "question": "Bad draft?", "extra": {"draft": True}}) + "\n", encoding="utf-8")
    page = window.evaluate
    page.set_question_set(str(path))
    assert "2 not reviewed" in page.set_info.text()
    dialog = page.open_review()
    assert dialog.table.rowCount() == 2 and "2 not reviewed" in dialog.status.text()
    assert dialog.table.item(0, 3).text() == "sourdough.md#2"
    dialog.table.item(0, 1).setText("What does proofing a dough mean?")
    dialog.table.item(0, 3).setText("sourdough.md#2; notes.txt")
    dialog.table.selectRow(1)
    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert dialog.table.rowCount() == 1
    dialog.table.selectRow(0)
    qtbot.mouseClick(dialog.reviewed_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    saved = load_questions(path)
    assert [q.question for q in saved] == ["What does proofing a dough mean?"]
    assert [(s.file, s.page) for s in saved[0].sources] == [("sourdough.md", 2), ("notes.txt", None)]
    assert "draft" not in saved[0].extra
    assert page.results.question_list.count() == 1 and "not reviewed" not in page.set_info.text()  # the page follows


def test_draft_questions_from_a_collection_then_cancel(qtbot, window, tmp_path):
    collection = make_collection(window, tmp_path / "docs")
    load_model(qtbot, window)
    dialog = window.evaluate.open_review()
    assert dialog.collection.findText(collection) >= 0
    dialog.collection.setCurrentText(collection)
    assert dialog.draft(collection, n=2)
    assert dialog.cancel_button.isVisible() and not dialog.draft_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=RUN_TIMEOUT_MS)
    assert dialog.draft_button.isEnabled() and "drafts" in dialog.status.text()
    for row in range(dialog.table.rowCount()):  # whatever the small model drafted is marked for review
        assert dialog.table.item(row, 4).checkState() == Qt.CheckState.Unchecked

    assert dialog.draft(collection, n=20)
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=RUN_TIMEOUT_MS)
    assert "stopped" in dialog.status.text()


def test_the_evaluate_page_speaks_chinese(qtbot, window):
    from desktop_app.i18n import install_language

    assert install_language("zh_CN")
    try:
        qtbot.waitUntil(lambda: window.nav_buttons["evaluate"].text() == "评估", timeout=5000)
        page = window.evaluate
        assert page.run_button.text() == "运行" and page.report_button.text() == "打开报告"
        assert page.results.metric_labels()["faithfulness"].startswith("忠实度")
    finally:
        install_language("en")
    qtbot.waitUntil(lambda: window.nav_buttons["evaluate"].text() == "Evaluate", timeout=5000)


def test_a_configuration_with_another_model_loads_it_through_the_window(qtbot, window, tmp_path, smollm2_path):
    copy = tmp_path / "second.gguf"
    shutil.copyfile(smollm2_path, copy)
    second = window.models_page.add_file(str(copy))
    assert second is not None
    load_model(qtbot, window)
    first = window.controller.loaded_entry.name
    page = window.evaluate
    page.set_question_set(write_set(tmp_path / "set.jsonl"))
    while page.configs:
        page.config_list.setCurrentRow(0)
        page.remove_config()
    page.add_config(EvalConfig("loaded", retrieval="off", max_tokens=4))
    page.add_config(EvalConfig("second model", model=second.name, retrieval="off", max_tokens=4))
    started = []
    window.controller.loader.load_started.connect(started.append)
    assert page.run()
    qtbot.waitUntil(lambda: not page.running, timeout=RUN_TIMEOUT_MS)
    assert started == [second.name]  # through the window's loader: the status bar showed it
    assert window.controller.loaded_entry.name == second.name != first
    assert all(not r.get("error") and r.get("model") for r in page.records.values()), page.records
    assert len(page.records) == 4


def test_the_configuration_form_offers_the_valid_choices_and_refuses_bad_ones(qtbot, window, tmp_path):
    collection = make_collection(window, tmp_path / "docs")
    page = window.evaluate
    dialog = page.config_dialog(EvalConfig("mine", collections=[collection], k=3, lora=[{"name": "pirate", "scale": 0.5}]),
                                taken={"other"})
    assert dialog.styles.text() == "pirate:0.5" and dialog.k.value() == 3
    assert [dialog.collections.item(i).text() for i in range(dialog.collections.count())] == [collection]
    dialog.name.setText("other")
    dialog._accept()
    assert dialog.problem.isVisibleTo(dialog) and "other" in dialog.problem.text()
    dialog.name.setText("strict quotes")
    dialog.collections.item(0).setCheckState(Qt.CheckState.Unchecked)
    dialog._accept()
    assert "Tick a collection" in dialog.problem.text()
    dialog.collections.item(0).setCheckState(Qt.CheckState.Checked)
    dialog.strict.setChecked(True)
    dialog.answer.setCurrentIndex(dialog.answer.findData("quotes"))
    dialog.styles.setText("pirate:1.2, formal")
    config = dialog.config()
    assert (config.name, config.strict, config.answer, config.k) == ("strict quotes", True, "quotes", 3)
    assert config.lora == [{"name": "pirate", "scale": 1.2}, {"name": "formal", "scale": 1.0}]
    assert page.add_config(config) and "strict quotes" in page.checked_names()
    assert "strict" in page.config_list.item(page.config_list.count() - 1).text()
    assert window.controller.setting("eval.configs")[-1]["answer"] == "quotes"  # kept in the settings


def test_a_judge_model_is_checked_and_a_weak_one_is_named_as_such(qtbot, window, tmp_path):
    collection = make_collection(window, tmp_path / "docs")
    load_model(qtbot, window)
    page = window.evaluate
    page.set_question_set(write_set(tmp_path / "set.jsonl"))
    two_configs(page, collection)
    page.set_checked(["hybrid"])
    page.judge.setCurrentIndex(page.judge.findData(window.controller.loaded_entry.name))
    page.judge_check_limit = 6  # a few labelled cases keep the test short; the app checks all of them
    assert page.run()
    qtbot.waitUntil(lambda: not page.running, timeout=RUN_TIMEOUT_MS)
    check = page.summary["_judge_check"]
    assert check is not None and check["n"] == 6
    note = page.results.judge_note
    assert note.isVisibleTo(page) and f"on {check['n']} labelled cases" in note.text()
    assert ("too weak to trust" in note.text()) == (not check["trustworthy"])
    record = page.records[("hybrid", "proof")]
    judged = {m.get("judged_by") for m in record["metrics"].values() if isinstance(m, dict)}
    assert "judge-free" in judged  # the judge-free measures are always there, labelled
