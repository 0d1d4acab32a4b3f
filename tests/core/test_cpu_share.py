"""Decoding on the cores other programs leave free (``engine.cpu_share``).

The counting is checked on hand-made CPU counters; the watch itself on this machine's real counters
with a real busy process; the host with the real SmolLM2 in llama.cpp.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from engine.cpu_share import AppSeconds, CpuWatch, others_running_now, threads_for_reply
from engine.events import TextDelta
from engine.host import ModelHost
from engine.params import LoadOptions, SamplingParams

HOG = "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end: pass\n"


@pytest.mark.parametrize(("loaded", "cores", "other", "indexing", "now", "expected"), [
    (2, 2, None, False, None, 2),   # nothing known yet: the loaded threads
    (2, 2, 0.1, False, None, 2),    # an idle machine
    (2, 2, 0.5, False, None, 2),    # half a core taken still leaves two
    (2, 2, 0.7, False, None, 1),    # another program on one of two cores
    (2, 2, 0.7, False, 1, 1),       # ...and it still runs
    (2, 2, 1.9, False, 0, 2),       # it has just finished: nothing runs now
    (2, 2, 1.9, False, None, 1),    # never fewer than one
    (4, 8, 3.0, False, None, 4),    # plenty left: no more than loaded
    (8, 8, 3.0, False, 3, 5),
    (2, 2, 0.0, True, 0, 1),        # the app's own indexing: one thread at once
])
def test_threads_for_reply(loaded, cores, other, indexing, now, expected):
    assert threads_for_reply(loaded, cores, other, indexing, now) == expected


class Counters:
    """Hand-driven CPU counters: system busy seconds, this process's seconds, and the clock."""

    def __init__(self) -> None:
        self.busy = self.own = self.now = 0.0

    def advance(self, seconds: float, others: float, own: float) -> None:
        self.now += seconds
        self.own += own * seconds
        self.busy += (others + own) * seconds


def test_the_watch_counts_other_processes_not_this_one():
    c = Counters()
    watch = CpuWatch(system=lambda: (c.busy, 2), own=lambda: c.own, clock=lambda: c.now)
    watch.sample()
    assert watch.other_busy_cores() is None  # one sample is no rate
    for _ in range(8):  # two seconds of this process spinning on both cores, nobody else
        c.advance(0.25, others=0.0, own=2.0)
        watch.sample()
    assert watch.other_busy_cores() == pytest.approx(0.0)
    for _ in range(4):  # then a program takes one core and ours drops to one
        c.advance(0.25, others=1.0, own=1.0)
        watch.sample()
    assert watch.other_busy_cores() == pytest.approx(1.0)
    assert watch.cores == 2


def test_the_watch_looks_at_the_last_second_only():
    c = Counters()
    watch = CpuWatch(system=lambda: (c.busy, 4), own=lambda: c.own, clock=lambda: c.now)
    watch.sample()
    for _ in range(8):  # two busy seconds...
        c.advance(0.25, others=3.0, own=0.0)
        watch.sample()
    for _ in range(4):  # ...are forgotten after a quiet one
        c.advance(0.25, others=0.0, own=0.0)
        watch.sample()
    assert watch.other_busy_cores() == pytest.approx(0.0)


def test_the_real_watch_sees_a_busy_process():
    watch = CpuWatch().start()
    hog = subprocess.Popen([sys.executable, "-c", HOG])
    try:
        time.sleep(1.6)
        seen = watch.other_busy_cores()
    finally:
        hog.kill()
        hog.wait()
        watch.close()
    assert seen is not None and seen >= 0.6, seen


def test_a_running_program_is_seen_at_once():
    if others_running_now() is None:
        pytest.skip("no /proc/loadavg here")
    hog = subprocess.Popen([sys.executable, "-c", HOG])
    try:
        time.sleep(0.3)
        seen = [others_running_now() for _ in range(5)]
    finally:
        hog.kill()
        hog.wait()
    assert max(seen) >= 1, seen


def test_the_app_that_started_the_engine_counts_as_its_own():
    """The window (or `nook serve`) prepares each request and then waits: its bursts are not a competitor's."""
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom engine.cpu_share import AppSeconds\ncount = AppSeconds()\nbefore = count()\n"
        "print('ready', flush=True)\nsys.stdin.readline()\nprint(count() - before, flush=True)\n")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        spent = time.process_time()
        end = time.monotonic() + 1.0
        while time.monotonic() < end:  # this process (the child's parent) busy for a second
            pass
        spent = time.process_time() - spent
        child.stdin.write("\n")
        child.stdin.flush()
        counted = float(child.stdout.readline())
    finally:
        child.kill()
        child.wait()
    assert counted >= 0.8 * spent and spent > 0.3
    assert AppSeconds()() >= 0


@pytest.mark.slow
def test_a_reply_decodes_on_one_thread_while_another_program_takes_a_core(smollm2_path):
    host = ModelHost()
    try:
        host.load(smollm2_path, LoadOptions(n_ctx=512, n_threads=2)).result()
        assert host.call(lambda backend: backend.loaded_threads) == 2
        hog = subprocess.Popen([sys.executable, "-c", HOG])
        try:
            time.sleep(1.6)
            stream = host.chat([{"role": "user", "content": "Name three colours."}],
                               SamplingParams.greedy(max_tokens=8))
            text = "".join(e.text for e in stream if isinstance(e, TextDelta))
            during = host.call(lambda backend: backend.threads_now)
        finally:
            hog.kill()
            hog.wait()
        assert text.strip() and stream.finished.reason in ("stop", "length")
        assert during == 1
    finally:
        host.close()
