"""Screenshots of the main screens, in a real X11 window under Xvfb: light and dark, English and Chinese.

    .venv/bin/python scripts/screenshots.py            # writes docs/screenshots/*.png
    .venv/bin/python scripts/screenshots.py --display  # use the current $DISPLAY instead of Xvfb

Needs (Debian/Ubuntu): apt-get install -y xvfb libxcb-icccm4 libxcb-keysyms1 fonts-noto-cjk
(Qt's xcb plugin also needs libxcb-cursor0 libxkbcommon-x11-0 and friends; without a CJK font
the Chinese screens show boxes). Each language gets a fresh data folder with a demo conversation
(canned text, so the screens show Markdown, code and sources) plus, in English, one live reply
from the bundled model so the status line shows real figures.

The conversation settings show two demo LoRA styles (small random GGUF adapters written here with
numpy, no torch), one switched on. The training dialog is not trained for real: its loss chart is a
replayed, made-up progress sequence shaped like a real run (``replay_training``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCREENS = ("welcome", "chat", "chat-settings", "training", "models", "settings", "library")
DEMO_STYLES = (("pirate", 8, ("attn_q", "attn_v"), 0.8), ("formal", 16, ("attn_q", "attn_k", "attn_v"), None))
SIZE = (1280, 800)

DEMO = {
    "en": {
        "titles": ["Plan a weekend in Lisbon", "Explain tides simply", "Summarise the meeting notes"],
        "title": "Scale a bread recipe in Python",
        "question": "Write a Python function that scales a bread recipe by a factor.",
        "answer": (
            "Here is a small function that scales every ingredient and keeps the units:\n\n"
            "```python\ndef scale(recipe: dict[str, tuple[float, str]], factor: float) -> dict:\n"
            "    \"\"\"Multiply every amount by `factor`.\"\"\"\n"
            "    return {name: (round(amount * factor, 1), unit)\n"
            "            for name, (amount, unit) in recipe.items()}\n```\n\n"
            "For one and a half loaves:\n\n"
            "| Ingredient | Amount | Scaled |\n|---|---|---|\n| flour | 500 g | 750 g |\n"
            "| water | 350 ml | 525 ml |\n| salt | 10 g | 15 g |\n\n"
            "- Keep the **salt** at 2 % of the flour.\n- Yeast does not scale linearly above 2×."
        ),
        "question2": "What does the oven manual say about preheating?",
        "answer2": ("Preheat to **230 °C** for about 45 minutes with the baking stone inside [1]. "
                    "Your own notes add that steam in the first 15 minutes gives a better crust [2]."),
        "sources": [("oven-manual.pdf", 14, "Preheating", "Place the stone on the lowest rack and preheat "
                     "for 45 minutes at the highest setting before baking bread."),
                    ("baking-notes.md", None, "Crust", "Steam for the first 15 minutes, then open the vent.")],
        "live": "What is the capital of France?",
    },
    "zh_CN": {
        "titles": ["里斯本周末行程", "简单解释潮汐", "总结会议记录"],
        "title": "用 Python 按比例换算面包配方",
        "question": "写一个 Python 函数，把面包配方按比例放大或缩小。",
        "answer": (
            "下面这个函数会按比例换算每种配料，并保留单位：\n\n"
            "```python\ndef scale(recipe: dict[str, tuple[float, str]], factor: float) -> dict:\n"
            "    \"\"\"把每个用量乘以 factor。\"\"\"\n"
            "    return {name: (round(amount * factor, 1), unit)\n"
            "            for name, (amount, unit) in recipe.items()}\n```\n\n"
            "做一个半面包时：\n\n"
            "| 配料 | 用量 | 换算后 |\n|---|---|---|\n| 面粉 | 500 克 | 750 克 |\n"
            "| 水 | 350 毫升 | 525 毫升 |\n| 盐 | 10 克 | 15 克 |\n\n"
            "- **盐**保持为面粉的 2%。\n- 超过 2 倍时，酵母用量不宜按比例直接放大。"
        ),
        "question2": "烤箱说明书里关于预热是怎么说的？",
        "answer2": "把烤石放进烤箱，以 **230 °C** 预热约 45 分钟 [1]。你的笔记还提到，前 15 分钟加蒸汽能让表皮更好 [2]。",
        "sources": [("烤箱说明书.pdf", 14, "预热", "烤面包前，把烤石放在最下层，以最高温度预热 45 分钟。"),
                    ("烘焙笔记.md", None, "表皮", "前 15 分钟加蒸汽，然后打开排气口。")],
        "live": None,
    },
}


def start_xvfb() -> tuple[subprocess.Popen, str]:
    if shutil.which("Xvfb") is None:
        raise SystemExit("Xvfb is not installed: apt-get install -y xvfb libxcb-icccm4 libxcb-keysyms1 fonts-noto-cjk")
    for number in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    process = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{number}").exists():
            return process, f":{number}"
        time.sleep(0.05)
    process.kill()
    raise SystemExit("Xvfb did not start")


def demo_adapter(path: Path, base, *, rank: int, kinds: tuple[str, ...], seed: int) -> Path:
    """A small GGUF LoRA adapter for ``base`` (random, weak matrices): enough to show in the Styles panel."""
    import numpy as np

    from engine.lora.convert import write_adapter_gguf

    rng = np.random.default_rng(seed)
    pairs = []
    for tensor in base.tensors:
        parts = tensor.name.split(".")
        if len(tensor.shape) == 2 and len(parts) == 4 and parts[0] == "blk" and parts[2] in kinds:
            n_in, n_out = tensor.shape
            a = (rng.standard_normal((rank, n_in)) / np.sqrt(n_in)).astype(np.float32)
            b = (rng.standard_normal((n_out, rank)) * 0.01).astype(np.float32)
            pairs.append((tensor.name, a, b))
    return write_adapter_gguf(path, architecture=base.architecture, alpha=2.0 * rank, pairs=pairs,
                              name=path.stem, base_model=base.name)


def seed_styles(home: Path, store) -> None:
    from engine.lora.adapters import LoraRegistry
    from engine.models.bundled import DEFAULT_CHAT_MODEL, find_bundled
    from engine.models.gguf import read_gguf

    base = read_gguf(find_bundled(DEFAULT_CHAT_MODEL, verify=False).path)
    registry = LoraRegistry(store.db)
    for n, (name, rank, kinds, _scale) in enumerate(DEMO_STYLES):
        path = demo_adapter(home / "loras" / f"{name}.gguf", base, rank=rank, kinds=kinds, seed=n)
        registry.add(path, name, source="trained")


def replay_training(dialog, language: str) -> None:
    """Fill the training dialog from a made-up progress sequence shaped like a real run (48 steps, a
    check every 8): this is a replay for the screenshot, nothing is trained."""
    import math
    import random

    from engine.lora.train import TrainProgress, TrainResult

    dialog.path.setText("/home/me/Documents/" + ("pirate-examples.jsonl" if language == "en" else "海盗风格示例.jsonl"))
    dialog.name.setText("pirate")
    rng = random.Random(7)
    total, per_step = 48, 3.9

    def val(step: int) -> float:
        return 1.18 + 1.25 * math.exp(-step / 13)

    history = [TrainProgress("loading", message="reading the base model"),
               TrainProgress("training", 0, total, val_loss=val(0), best_val_loss=val(0), elapsed_s=6.0)]
    best = val(0)
    for step in range(1, total + 1):
        loss = 1.05 + 1.45 * math.exp(-step / 11) + rng.uniform(-0.12, 0.12)
        common = dict(step=step, total_steps=total, epoch=3 * step / total, train_loss=loss,
                      elapsed_s=6 + per_step * step, eta_s=per_step * (total - step))
        if step % 8 == 0:
            best = min(best, val(step))
            history.append(TrainProgress("evaluating", val_loss=val(step), best_val_loss=best, **common))
        else:
            history.append(TrainProgress("training", best_val_loss=best, **common))
    history.append(TrainProgress("exporting", total, total, best_val_loss=best, message="writing the GGUF adapter"))
    for event in history:
        dialog.show_progress(event)
    dialog.show_result(TrainResult(name="pirate", path=Path("pirate.gguf"), n_train=108, n_val=12, steps=total,
                                   total_steps=total, initial_val_loss=val(0), best_val_loss=best,
                                   stopped_early=False, truncated=0, bf16=False, wall_s=6 + per_step * total))


def seed(language: str, home: Path) -> None:
    """A demo history: a few conversations, one with Markdown and code, one answer with sources."""
    from engine.chat.history import HistoryStore

    demo = DEMO[language]
    docs = home / "documents"
    docs.mkdir(parents=True, exist_ok=True)
    store = HistoryStore(home / "inglenook.db")
    store.set_setting("ui.language", language)
    for title in demo["titles"]:
        conversation = store.create_conversation(title, model="smollm2-135m-instruct")
        store.add_message(conversation.id, "user", title)
        store.add_message(conversation.id, "assistant", "…")
    conversation = store.create_conversation(demo["title"], model="smollm2-135m-instruct")
    store.add_message(conversation.id, "user", demo["question"])
    timings = {"completion_tokens": 96, "tokens_per_s": 118.4}
    store.add_message(conversation.id, "assistant", demo["answer"], model="SmolLM2 135M Instruct", timings=timings)
    store.add_message(conversation.id, "user", demo["question2"])
    sources = []
    for n, (name, page, heading, snippet) in enumerate(demo["sources"], start=1):
        (docs / name).write_text(snippet, encoding="utf-8")
        sources.append({"n": n, "path": str(docs / name), "page": page, "heading": heading, "snippet": snippet})
    styles = [{"name": name, "scale": scale} for name, _rank, _kinds, scale in DEMO_STYLES if scale]
    store.add_message(conversation.id, "assistant", demo["answer2"], model="SmolLM2 135M Instruct",
                      timings={"completion_tokens": 41, "tokens_per_s": 121.0},
                      extra={"sources": sources, "lora": styles})
    store.set_setting("state.last_conversation", conversation.id)
    seed_styles(home, store)
    store.close()
    part = home / "models" / "bartowski__SmolLM2-360M-Instruct-GGUF" / "SmolLM2-360M-Instruct-Q4_K_M.gguf.part"
    part.parent.mkdir(parents=True, exist_ok=True)
    with open(part, "wb") as handle:  # a paused download, as the manager lists it
        handle.truncate(118 * 1024 * 1024)


def settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def shoot(app, window, path: Path) -> None:
    settle(app)
    image = window.screen().grabWindow(window.winId())
    if image.isNull() or image.width() < 100:
        image = window.grab()
    image.save(str(path))


def run(out: Path, languages: list[str], themes: list[str]) -> list[Path]:
    from PySide6.QtWidgets import QApplication, QScrollArea

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Inglenook")
    written = []
    for language in languages:
        home = Path(tempfile.mkdtemp(prefix=f"inglenook-shots-{language}-"))
        os.environ["INGLENOOK_HOME"] = str(home)
        seed(language, home)
        from desktop_app.main_window import MainWindow
        from engine.models.bundled import DEFAULT_CHAT_MODEL

        window = MainWindow(restore=False)
        window.resize(*SIZE)
        window.move(0, 0)
        window.show()
        c = window.controller
        c.open_conversation(c.setting("state.last_conversation"))
        c.load_model(DEFAULT_CHAT_MODEL)
        deadline = time.monotonic() + 180
        while (c.loading or c.loaded_entry is None) and time.monotonic() < deadline:
            settle(app, 0.05)
        window.notice.hide()
        live = DEMO[language]["live"]
        if live:
            window.chat.drawer.fields["max_tokens"].setValue(32)
            window.chat.drawer.fields["temperature"].setValue(0.0)
            window.chat.composer.set_text(live)
            window.chat.send()
            deadline = time.monotonic() + 180
            while c.busy and time.monotonic() < deadline:
                settle(app, 0.05)
        # the demo conversation's style, switched on after the live reply (which is the plain model's)
        from engine.lora.adapters import AdapterChoice

        c.lora.set_choices([AdapterChoice(name, scale) for name, _rank, _kinds, scale in DEMO_STYLES if scale])
        deadline = time.monotonic() + 60
        while c.lora.pending and time.monotonic() < deadline:
            settle(app, 0.05)
        window.notice.hide()
        models_page = window.models_page
        models_page.repo.setText("bartowski/SmolLM2-360M-Instruct-GGUF")
        for theme in themes:
            c.set_setting("ui.theme", theme)
            window.settings.load()
            window.apply_appearance()
            window.notice.hide()
            for screen in SCREENS:
                if screen == "training":
                    window.show_page("chat")
                    dialog = window.chat.drawer.open_training()
                    replay_training(dialog, language)
                    dialog.resize(660, max(780, dialog.sizeHint().height()))
                    dialog.move(window.x() + 320, window.y() + 40)
                    settle(app, 0.5)
                    path = out / f"{screen}-{theme}-{language.split('_')[0]}.png"
                    shoot(app, dialog, path)
                    written.append(path)
                    dialog.close()
                    settle(app, 0.2)
                    continue
                window.chat.settings_button.setChecked(screen == "chat-settings")
                window.show_page("chat" if screen.startswith("chat") else screen)
                if screen.startswith("chat"):
                    window.stack.setCurrentWidget(window.chat)
                    view = window.chat.view
                    for widget in view.widgets:
                        if widget.sources_block is not None:
                            widget.sources_block.toggle.setChecked(True)
                    settle(app, 0.2)
                    view.scroll_to_bottom()
                if screen == "chat-settings":  # scrolled so the Styles panel shows in full
                    drawer = window.chat.drawer
                    drawer.findChild(QScrollArea).ensureWidgetVisible(drawer.lora, 0, 0)
                if screen == "models":
                    models_page.table.selectRow(0)
                    settle(app, 1.0)
                path = out / f"{screen}-{theme}-{language.split('_')[0]}.png"
                shoot(app, window, path)
                written.append(path)
        window.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--display", action="store_true", help="use $DISPLAY rather than starting Xvfb")
    parser.add_argument("--languages", default="en,zh_CN")
    parser.add_argument("--themes", default="light,dark")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    xvfb = None
    if not args.display:
        xvfb, display = start_xvfb()
        os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    os.environ.setdefault("INGLENOOK_CONFIG_DIR", tempfile.mkdtemp(prefix="inglenook-shots-config-"))
    try:
        from desktop_app.gui import display_problem, pyside_problem

        problem = display_problem() or pyside_problem()
        if problem:
            raise SystemExit(problem)
        written = run(args.out, args.languages.split(","), args.themes.split(","))
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
