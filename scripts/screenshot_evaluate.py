"""Screenshots of the Evaluate page after a real run (offscreen; no Xvfb needed).

    .venv/bin/python scripts/screenshot_evaluate.py [--out docs/screenshots]

A fresh data folder gets a small collection made from ``benchmarks/eval/docs/en`` (three files), three
questions of ``benchmarks/eval/questions.jsonl`` about them, and two configurations (no retrieval, hybrid
retrieval); the bundled model answers (48 tokens at most) and the judge-free measures are computed. One
picture per theme (English: the machine these were made on has no CJK font for the offscreen platform).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FILES = ("hr-leave-policy.md", "expense-policy.md", "recipe-sourdough.md")
SHOTS = (("en", "light"), ("en", "dark"))  # add ("zh_CN", ...) where a CJK font is installed


def settle(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def prepare(home: Path) -> tuple[Path, Path]:
    docs = home / "docs"
    (docs / "en").mkdir(parents=True)  # the set names its gold files "en/<name>"
    for name in FILES:
        shutil.copyfile(ROOT / "benchmarks" / "eval" / "docs" / "en" / name, docs / "en" / name)
    wanted = [json.loads(line) for line in (ROOT / "benchmarks" / "eval" / "questions.jsonl").read_text().splitlines()
              if line.strip()]
    chosen = [next(q for q in wanted if q.get("lang") == "en" and Path(q["file"]).name == name) for name in FILES]
    questions = home / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in chosen), encoding="utf-8")
    return docs, questions


def shoot(language: str, theme: str, out: Path) -> Path:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    home = Path(tempfile.mkdtemp(prefix="inglenook-eval-shot-"))
    os.environ["INGLENOOK_HOME"] = str(home)
    os.environ["INGLENOOK_CONFIG_DIR"] = str(home / "config")
    docs, questions = prepare(home)
    from desktop_app.main_window import MainWindow
    from engine.models.bundled import DEFAULT_CHAT_MODEL
    from knowledge.evaluation.configs import EvalConfig

    window = MainWindow(restore=False)
    window.resize(1200, 1000)
    window.show()
    c = window.controller
    c.set_setting("ui.theme", theme)
    window.set_language(language)
    window.apply_appearance()
    window.library.library.create("Policies", [docs])
    window.library.library.index("Policies")
    c.load_model(DEFAULT_CHAT_MODEL)
    while c.loading or c.loaded_entry is None:
        settle(app, 0.05)
    page = window.evaluate
    page.set_question_set(str(questions))
    while page.configs:
        page.config_list.setCurrentRow(0)
        page.remove_config()
    page.add_config(EvalConfig("no retrieval", retrieval="off", max_tokens=48))
    page.add_config(EvalConfig("hybrid", collections=["Policies"], retrieval="hybrid", k=3, max_tokens=48))
    window.show_page("evaluate")
    page.run()
    while page.running:
        settle(app, 0.1)
    page.results.question_list.setCurrentRow(0)
    window.notice.hide()
    settle(app, 0.5)
    path = out / f"evaluate-{theme}-{language.split('_')[0]}.png"
    window.grab().save(str(path))
    window.close()
    settle(app, 0.5)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for language, theme in SHOTS:
        print(shoot(language, theme, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
