"""Measure a built bundle the way a user meets it: as a user with no venv (``env -i`` with a fresh
HOME and PATH=/usr/bin:/bin), the window in a real X server (Xvfb).

    python3 packaging/linux/measure.py dist/linux/inglenook/inglenook [--runs 3] [--screenshot FILE]

Prints one JSON object: sizes, the wall time of ``EXE ask``, and per window launch the time from
exec until the main window is mapped and until it is painted (its pixels are no longer one flat
colour). "cold" runs follow ``echo 3 > /proc/sys/vm/drop_caches`` where that is allowed (root, not
in a container that forbids it); otherwise every run is page-cache warm and the JSON says so.
Needs Xvfb, xdotool and ImageMagick (`import`, `convert`): apt-get install xvfb xdotool imagemagick.
tests/test_packaged_app.py uses the same helpers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WINDOW_TITLE = "^Inglenook$"
QUESTION = "What is the capital of France?"


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """What a user with no venv and no developer setup has: HOME, a system PATH, nothing else."""
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", **extra}


def start_xvfb(size: str = "1280x800x24") -> tuple[subprocess.Popen, str]:
    """An Xvfb on a free display (it picks the number and tells us through -displayfd)."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise FileNotFoundError("Xvfb is not installed (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    display = f":{number}"
    deadline = time.monotonic() + 10
    while number and proc.poll() is None and time.monotonic() < deadline:
        probe = subprocess.run(["xdotool", "getdisplaygeometry"], env={**os.environ, "DISPLAY": display},
                               capture_output=True)
        if probe.returncode == 0:
            return proc, display
        time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"Xvfb did not start (display {display or 'none'})")


def stop(proc: subprocess.Popen | None, timeout: float = 10) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def find_window(display: str) -> str | None:
    result = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", WINDOW_TITLE],
                            env={**os.environ, "DISPLAY": display}, capture_output=True, text=True)
    ids = result.stdout.split()
    return ids[-1] if ids else None


def window_stddev(display: str, window: str, shot: Path) -> float:
    """Grey-level standard deviation (0..1) of the window's pixels; 0 for a blank window."""
    env = {**os.environ, "DISPLAY": display}
    subprocess.run(["import", "-window", window, str(shot)], env=env, capture_output=True, check=True, timeout=30)
    out = subprocess.run(["convert", str(shot), "-colorspace", "gray", "-format", "%[fx:standard_deviation]", "info:"],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    return float(out.strip() or 0)


def launch_window(exe: str, display: str, home: Path, shot: Path, timeout: float = 60.0) -> dict:
    """Start the window; times until mapped and until painted; leaves a screenshot in ``shot``."""
    env = clean_env(home, DISPLAY=display)
    log = open(home / "window.log", "wb")
    start = time.perf_counter()
    proc = subprocess.Popen([exe], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home)
    try:
        window = None
        while window is None:
            if proc.poll() is not None:
                raise RuntimeError(f"the app exited with {proc.returncode} before its window appeared: "
                                   + (home / "window.log").read_text(errors="replace")[-2000:])
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"no window titled Inglenook within {timeout:.0f} s")
            window = find_window(display)
            if window is None:
                time.sleep(0.02)
        mapped = time.perf_counter() - start
        painted, stddev = None, 0.0
        while time.perf_counter() - start < timeout:
            stddev = window_stddev(display, window, shot)
            if stddev > 0.02:
                painted = time.perf_counter() - start
                break
            time.sleep(0.05)
        time.sleep(1.0)  # let first-run pages settle, then the screenshot that is kept
        final = window_stddev(display, "root", shot)
        return {"mapped_s": round(mapped, 3), "painted_s": round(painted, 3) if painted else None,
                "window_stddev": round(stddev, 4), "screen_stddev": round(final, 4), "alive": proc.poll() is None}
    finally:
        stop(proc)
        log.close()


def ask(exe: str, home: Path, question: str = QUESTION, timeout: float = 600) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run([exe, "ask", question], env=clean_env(home), capture_output=True, text=True,
                            timeout=timeout, cwd=home)
    return time.perf_counter() - start, result


def drop_caches() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def du_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exe")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--screenshot", help="keep the last window screenshot here (PNG)")
    parser.add_argument("--packages", nargs="*", default=[], help=".deb / .tar.gz files whose sizes to report")
    args = parser.parse_args()
    exe = str(Path(args.exe).resolve())
    report: dict = {"bundle_mb": round(du_bytes(Path(exe).parent) / 2**20, 1),
                    "packages_mb": {Path(p).name: round(Path(p).stat().st_size / 2**20, 1) for p in args.packages}}
    with tempfile.TemporaryDirectory() as tmp:
        cold = drop_caches()
        report["caches_dropped"] = cold
        home = Path(tmp) / "ask-home"
        home.mkdir()
        asks = []
        for run in range(args.runs):
            if run == 0 and cold:
                drop_caches()
            seconds, result = ask(exe, home)
            if result.returncode != 0:
                print(result.stderr, file=sys.stderr)
                return 1
            asks.append(round(seconds, 2))
        report["ask_s"] = asks
        report["ask_answer"] = result.stdout.strip()[:200]
        xvfb, display = start_xvfb()
        try:
            launches = []
            for run in range(args.runs):
                home = Path(tmp) / f"gui-home-{run}"  # a first start every time (welcome page)
                home.mkdir()
                if cold:
                    drop_caches()
                shot = Path(args.screenshot) if args.screenshot else Path(tmp) / "shot.png"
                launches.append(launch_window(exe, display, home, shot))
            report["window"] = launches
        finally:
            stop(xvfb)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
