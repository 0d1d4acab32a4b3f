"""How many threads a reply decodes on, given how busy other programs keep this machine's cores.

llama.cpp's OpenMP workers decode fastest when they spin between steps: measured here on 2 cores,
the engine process decoded at 1.04x raw llama-cpp-python with spinning workers but 0.67x with
sleeping ones (``OMP_WAIT_POLICY=PASSIVE``). Spinning only collapses when the workers outnumber the
cores left free: with another program busy on one of two cores, two spinning workers fell to
0.2-0.3 tok/s, while one worker, which never waits for another, kept its speed. So the engine lets
its workers spin and decodes on the cores other programs leave free: ``CpuWatch`` samples system CPU
time minus the app's own (this process and the one that started it) a few times a second, and
``threads_for_reply`` turns that into a count, checked again while a reply streams.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable

SAMPLE_EVERY_S = 0.25
WINDOW_S = 1.0


def _system_busy_seconds() -> tuple[float, int]:
    """CPU seconds all cores spent busy since boot, and the number of cores they were counted on."""
    import psutil

    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)  # already in user/nice
    return sum(times) - idle - 2 * guest, psutil.cpu_count() or os.cpu_count() or 1


class AppSeconds:
    """CPU seconds used by this process (every thread, spinning OpenMP workers included) and by the app
    process that started it: the window or ``nook serve`` prepares each request (retrieval, the API)
    and waits while the engine answers, so its bursts are the app's own work, not a competitor's. The
    app's indexing is told apart explicitly (``threads_for_reply``'s ``app_indexing``)."""

    def __init__(self) -> None:
        self._parent = _parent_process()
        self._parent_seconds = 0.0

    def __call__(self) -> float:
        times = os.times()
        if self._parent is not None:
            try:
                parent = self._parent.cpu_times()
                self._parent_seconds = parent.user + parent.system
            except Exception:  # the app is gone: keep its last count, so the difference stays right
                self._parent = None
        return times.user + times.system + self._parent_seconds


def _parent_process():
    try:
        import psutil

        return psutil.Process(os.getppid())
    except Exception:
        return None


class CpuWatch:
    """Keeps the last second of samples; ``other_busy_cores()`` is what other programs used in it.

    One daemon thread wakes four times a second (about 60 µs a sample). ``None`` means unknown:
    psutil missing, or not yet a window's worth of samples.
    """

    def __init__(self, system: Callable[[], tuple[float, int]] = _system_busy_seconds,
                 own: Callable[[], float] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._system, self._own, self._clock = system, own or AppSeconds(), clock
        self._samples: deque[tuple[float, float, float]] = deque(maxlen=int(4 * WINDOW_S / SAMPLE_EVERY_S))
        self.cores = 1
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> CpuWatch:
        if self._thread is None:
            try:
                self.sample()
            except Exception:  # no psutil: the watch stays blind and every reply gets its threads
                return self
            self._thread = threading.Thread(target=self._run, name="inglenook-cpu-watch", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            try:
                self.sample()
            except Exception:
                return

    def sample(self) -> None:
        busy, cores = self._system()
        with self._lock:
            self.cores = cores
            self._samples.append((self._clock(), busy, self._own()))

    def other_busy_cores(self) -> float | None:
        with self._lock:
            if len(self._samples) < 2:
                return None
            newest = self._samples[-1]
            oldest = next((s for s in self._samples if newest[0] - s[0] <= WINDOW_S + 1e-9), self._samples[0])
        elapsed = newest[0] - oldest[0]
        if elapsed < SAMPLE_EVERY_S / 2:
            return None
        other = (newest[1] - oldest[1]) - (newest[2] - oldest[2])
        return max(0.0, other / elapsed)

    def close(self) -> None:
        self._stop.set()


def others_running_now() -> int | None:
    """Threads of other programs on a CPU or waiting for one at this instant (Linux: the running count
    of /proc/loadavg minus the running threads of this process and of the app that started it), or
    None where that cannot be read. It tells a program still busy from one that has just finished."""
    try:
        with open("/proc/loadavg") as handle:
            running = int(handle.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(0, running - _running_threads(os.getpid()) - _running_threads(os.getppid()))


def _running_threads(pid: int) -> int:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    running = 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as handle:
                stat = handle.read()
        except OSError:  # the thread ended meanwhile
            continue
        running += stat[stat.rfind(")") + 2: stat.rfind(")") + 3] == "R"
    return running


def threads_for_reply(loaded_with: int, cores: int, other_busy: float | None, app_indexing: bool,
                      others_now: int | None = None) -> int:
    """Decode threads: those the model was loaded with, but no more than the cores others leave free.

    While the app itself indexes, one thread (its embedder takes the other cores in bursts that a
    one-second average misses). A core counts as taken when others kept it at least half busy over
    the last second and, where that can be seen (``others_now``), something else still runs now:
    a program that has just finished (another reply, a build step) takes no core from this one.
    """
    if app_indexing:
        return 1
    if other_busy is None or others_now == 0:
        return loaded_with
    free = int(cores - other_busy + 0.5)
    return max(1, min(loaded_with, free))
