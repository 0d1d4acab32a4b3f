"""How responsive the window stays: the longest Qt event-loop stall while work runs.

A 5 ms ``QTimer`` heartbeat runs on the GUI thread while the work goes on; every gap between two
beats is time the event loop could not react (to a click, a repaint). We report the longest gap
and the 99th percentile. Target: longest < 100 ms, p99 < 30 ms.

Scenarios:
  startup    the first 3 s after the window is shown: first paint, and the warm-ups (the knowledge core
             imported and Pygments loaded on background threads, one chat message built on the GUI
             thread) - reported apart, as what a user clicking at once would feel;
  idle       the control, once started up: nothing runs (gaps here come from the machine);
  reply      the real bundled model streams an answer into the real chat view (MainWindow);
  burst      a synthetic 400 tok/s stream of Markdown with code blocks, i.e. a GPU-speed model,
             through the same worker/signal/view path (rendering cost, not model speed);
  index      200 generated documents added on the Library page (as if dropped there) and indexed by
             its worker thread while the window is up, progress shown in the page's table and bar.

    .venv/bin/python -m benchmarks.bench_gui                 # all scenarios, offscreen
    .venv/bin/python -m benchmarks.bench_gui reply --tokens 400
    .venv/bin/python -m benchmarks.bench_gui --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QElapsedTimer, QThread, QTimer, Signal  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

HEARTBEAT_MS = 5
TARGET_LONGEST_MS, TARGET_P99_MS = 100.0, 30.0


class Heartbeat:
    """Records the gaps between 5 ms timer ticks on the GUI thread."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setTimerType(self.timer.timerType().PreciseTimer)
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._tick)
        self.clock = QElapsedTimer()
        self.gaps: list[float] = []
        self._last = 0

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        self.gaps.append((now - self._last) / 1e6)
        self._last = now

    def start(self) -> None:
        self.gaps.clear()
        self.clock.start()
        self._last = 0
        self.timer.start()

    def stop(self) -> dict:
        self.timer.stop()
        gaps = sorted(self.gaps) or [0.0]
        p99 = gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))]
        return {"beats": len(self.gaps), "longest_ms": round(gaps[-1], 1), "p99_ms": round(p99, 1),
                "median_ms": round(statistics.median(gaps), 1),
                "over_50ms": sum(1 for g in gaps if g > 50), "seconds": round(sum(self.gaps) / 1000, 2)}


def run_until(app: QApplication, done: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.001)


def verdict(stats: dict) -> str:
    ok = stats["longest_ms"] < TARGET_LONGEST_MS and stats["p99_ms"] < TARGET_P99_MS
    return "OK" if ok else "OVER TARGET"


# --------------------------------------------------------------------------------------- scenarios
def open_window(app: QApplication):
    from desktop_app.main_window import MainWindow

    window = MainWindow(restore=False)
    window.resize(1200, 800)
    window.show()
    app.processEvents()
    return window


def measure_idle(app: QApplication, seconds: float) -> dict:
    """The control: the same heartbeat with nothing running. On a busy machine, gaps here are the
    operating system's doing (other processes), not the app's."""
    beat = Heartbeat()
    beat.start()
    run_until(app, lambda: False, seconds)
    return beat.stop()


def measure_reply(app: QApplication, window, tokens: int) -> dict:
    from engine.models.bundled import DEFAULT_CHAT_MODEL

    c = window.controller
    c.load_model(DEFAULT_CHAT_MODEL)
    run_until(app, lambda: c.loaded_entry is not None and c.loading is None, 180)
    window.show_page("chat")
    drawer = window.chat.drawer
    drawer.fields["max_tokens"].setValue(tokens)
    drawer.fields["temperature"].setValue(0.8)
    window.chat.composer.set_text("Write a long, detailed guide to baking bread at home, with a Python script "
                                  "that scales a recipe, a table of ingredients, and numbered steps.")
    beat = Heartbeat()
    beat.start()
    window.chat.send()
    run_until(app, lambda: not c.busy, 600)
    stats = beat.stop()
    reply = window.chat.view.widgets[-1].message
    stats["tokens"] = (reply.timings or {}).get("completion_tokens", 0)
    stats["tokens_per_s"] = (reply.timings or {}).get("tokens_per_s", 0)
    return stats


BURST_TEXT = """## Scaling a recipe

Here is a script that **scales** every ingredient by a factor, keeping the units:

```python
from dataclasses import dataclass


@dataclass
class Ingredient:
    name: str
    amount: float
    unit: str


def scale(recipe: list[Ingredient], factor: float) -> list[Ingredient]:
    return [Ingredient(i.name, round(i.amount * factor, 2), i.unit) for i in recipe]
```

| Ingredient | Amount | Unit |
|------------|--------|------|
| flour      | 500    | g    |
| water      | 350    | ml   |
| salt       | 10     | g    |

1. Mix the flour and water and let them rest for `30 min`.
2. Add the salt and knead until smooth.
3. Proof, shape, proof again, and bake at 230 °C.

> A hotter oven gives a darker crust.

"""


class _BurstWorker(QThread):
    """Emits a long Markdown text as small deltas, like a fast model would, through the view's API."""

    delta = Signal(str)

    def __init__(self, text: str, rate: float):
        super().__init__()
        self.text, self.rate = text, rate

    def run(self) -> None:

        pieces = [self.text[i:i + 4] for i in range(0, len(self.text), 4)]  # ~1 token each
        started = time.perf_counter()
        for n, piece in enumerate(pieces):
            self.delta.emit(piece)
            wait = started + (n + 1) / self.rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)


def measure_burst(app: QApplication, window, rate: float, repeats: int) -> dict:
    from engine.chat.history import StoredMessage

    view = window.chat.view
    window.stack.setCurrentWidget(window.chat)
    view.set_thread([StoredMessage(1, 1, None, "user", "Scale my bread recipe.", "complete", 0.0),
                     StoredMessage(2, 1, 1, "assistant", "", "streaming", 0.0)])
    view.begin_streaming(2)
    worker = _BurstWorker(BURST_TEXT * repeats, rate)
    worker.delta.connect(view.append_delta)
    beat = Heartbeat()
    beat.start()
    worker.start()
    run_until(app, worker.isFinished, 600)
    run_until(app, lambda: False, 0.1)
    view.finish_streaming(StoredMessage(2, 1, 1, "assistant", BURST_TEXT * repeats, "complete", 0.0))
    app.processEvents()
    stats = beat.stop()
    stats["tokens"] = len(BURST_TEXT * repeats) // 4
    stats["tokens_per_s"] = rate
    return stats


def make_documents(folder: Path, count: int = 200) -> Path:
    """``count`` Markdown and text files of a few paragraphs each."""
    folder.mkdir(parents=True, exist_ok=True)
    topics = ["bread", "tides", "lighthouses", "sourdough", "storms", "harbours", "ovens", "ropes"]
    for i in range(count):
        topic = topics[i % len(topics)]
        body = "\n\n".join(
            f"Paragraph {p} about {topic} number {i}. " + " ".join(
                f"The {topic} keeper noted detail {j} on day {i * 7 + p}." for j in range(12))
            for p in range(6))
        suffix = ".md" if i % 2 else ".txt"
        (folder / f"{topic}-{i:03d}{suffix}").write_text(f"# {topic.title()} {i}\n\n{body}\n", encoding="utf-8")
    return folder


def default_indexing(folder: Path) -> Callable[[Callable[[], None]], None]:
    """Index ``folder`` with knowledge.indexer in a worker thread; calls ``finished()`` at the end."""

    def start(finished: Callable[[], None]) -> None:
        from knowledge.catalog import Catalog
        from knowledge.indexer import Indexer

        def work() -> None:
            try:
                catalog = Catalog()
                catalog.create("bench", [folder])
                Indexer(catalog).index("bench")
            finally:
                finished()

        threading.Thread(target=work, name="bench-indexer", daemon=True).start()

    return start


def page_indexing(window, folder: Path, name: str = "bench") -> Callable[[Callable[[], None]], None]:
    """Index ``folder`` through the Library page (its ``add_paths``, i.e. a drop); ``finished()`` at the end."""

    def start(finished: Callable[[], None]) -> None:
        page = window.library
        window.show_page("library")
        page.index_finished.connect(lambda _name, _summary: finished())
        if page.add_paths([folder], name=name) is None:
            raise RuntimeError(page.message.text())

    return start


def measure_indexing_stall(app: QApplication, start: Callable[[Callable[[], None]], None],
                           timeout_s: float = 900) -> dict:
    """The HOOK for the Library page: ``start(finished)`` begins indexing (in a worker, as the page
    does) and calls ``finished()`` when it ends; the heartbeat runs meanwhile."""
    done = threading.Event()
    beat = Heartbeat()
    beat.start()
    started = time.perf_counter()
    start(done.set)
    run_until(app, done.is_set, timeout_s)
    stats = beat.stop()
    stats["index_seconds"] = round(time.perf_counter() - started, 1)
    return stats


# ------------------------------------------------------------------------------------------- main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", help="idle, burst, reply, index (default: all)")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--tokens", type=int, default=300, help="max tokens of the real reply")
    parser.add_argument("--rate", type=float, default=400.0, help="tokens per second of the synthetic burst")
    parser.add_argument("--repeats", type=int, default=6, help="copies of the Markdown sample in the burst")
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.scenarios = args.scenarios or ["idle", "burst", "reply", "index"]
    unknown = set(args.scenarios) - {"idle", "reply", "burst", "index"}
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    home = tempfile.mkdtemp(prefix="inglenook-bench-gui-")
    os.environ["INGLENOOK_HOME"] = home
    os.environ.setdefault("INGLENOOK_CONFIG_DIR", os.path.join(home, "config"))
    app = QApplication.instance() or QApplication([])
    window = open_window(app)  # blocks while the window is built; the startup row starts once it is shown
    beat = Heartbeat()
    beat.start()
    run_until(app, lambda: False, 3.0)
    results: dict[str, dict] = {"startup": beat.stop()}
    try:
        if "idle" in args.scenarios:
            results["idle"] = measure_idle(app, args.idle_seconds)
        if "burst" in args.scenarios:
            results["burst"] = measure_burst(app, window, args.rate, args.repeats)
        if "reply" in args.scenarios:
            results["reply"] = measure_reply(app, window, args.tokens)
        if "index" in args.scenarios:
            try:
                folder = make_documents(Path(home) / "documents", args.files)
                results["index"] = measure_indexing_stall(app, page_indexing(window, folder))
                results["index"]["files"] = args.files
            except ImportError as exc:
                results["index"] = {"skipped": f"knowledge core not importable ({exc})"}
    finally:
        window.close()
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"Qt event-loop stalls (heartbeat every {HEARTBEAT_MS} ms; target longest < {TARGET_LONGEST_MS:.0f} ms, "
          f"p99 < {TARGET_P99_MS:.0f} ms) on {os.environ.get('QT_QPA_PLATFORM')}:")
    for name, stats in results.items():
        if "skipped" in stats:
            print(f"  {name:6} skipped: {stats['skipped']}")
            continue
        extra = ""
        if "tokens" in stats:
            extra = f"{stats['tokens']} tokens at {stats['tokens_per_s']:.0f} tok/s"
        if "files" in stats:
            extra = f"{stats['files']} files in {stats['index_seconds']} s"
        print(f"  {name:6} longest {stats['longest_ms']:6.1f} ms  p99 {stats['p99_ms']:5.1f} ms  "
              f"median {stats['median_ms']:4.1f} ms  gaps>50ms {stats['over_50ms']:3d}  "
              f"({stats['seconds']} s, {extra})  {verdict(stats)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
