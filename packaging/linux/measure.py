"""Measure a built bundle the way a user meets it: as a user with no venv (``env -i`` with a fresh
HOME and PATH=/usr/bin:/bin), the window in a real X server (Xvfb).

    python3 packaging/linux/measure.py dist/linux/inglenook/inglenook [--runs 3] [--screenshot FILE]

Prints one JSON object: sizes, the wall time of ``EXE ask``, and per window launch the time from
exec until the main window is mapped and until it is painted (its pixels are no longer one flat
colour). "cold" runs follow ``echo 3 > /proc/sys/vm/drop_caches`` where that is allowed (root, not
in a container that forbids it); otherwise every run is page-cache warm and the JSON says so.
Needs Xvfb, xdotool, xwd and ImageMagick: apt-get install xvfb xdotool x11-apps imagemagick.
Dropping the page cache slows every other program on the machine for a moment: run it on a quiet one.
tests/test_packaged_app.py uses the same helpers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
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


def _display_taken(number: int) -> bool:
    if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
        return True
    try:  # an X server in another mount namespace still holds the abstract socket
        return f"@/tmp/.X11-unix/X{number}" in Path("/proc/net/unix").read_text()
    except OSError:
        return False


def start_xvfb(size: str = "1280x800x24") -> tuple[subprocess.Popen, str]:
    """An Xvfb on a free, randomly chosen display: low numbers are where other sessions' servers live,
    and a client that finds another server's abstract socket first connects to the wrong one."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise FileNotFoundError("Xvfb is not installed (apt-get install xvfb)")
    rng = random.Random()
    for _ in range(20):
        number = rng.randrange(200, 900)
        if _display_taken(number):
            continue
        display = f":{number}"
        proc = subprocess.Popen([xvfb, display, "-screen", "0", size, "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline:
            probe = subprocess.run(["xdotool", "getdisplaygeometry"], env={**os.environ, "DISPLAY": display},
                                   capture_output=True)
            if probe.returncode == 0:
                return proc, display
            time.sleep(0.1)
        stop(proc)
    raise RuntimeError("could not start Xvfb on a free display")


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


def image_stddev(image: Path) -> float:
    """Grey-level standard deviation (0..1) of an image; 0 for a blank (one-colour) one."""
    out = subprocess.run(["convert", str(image), "-colorspace", "gray", "-format", "%[fx:standard_deviation]", "info:"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return float(out.strip() or 0)


def capture(display: str, window: str, out: Path) -> bool:
    """A screenshot of one window (or "root") as XWD: fast enough to take many per second."""
    target = ["-root"] if window == "root" else ["-id", window]
    result = subprocess.run(["xwd", "-silent", *target, "-out", str(out)],
                            env={**os.environ, "DISPLAY": display}, capture_output=True, timeout=30)
    return result.returncode == 0


def launch_window(exe: str, display: str, home: Path, shot: Path, timeout: float = 60.0) -> dict:
    """Start the window and time it: until the main window is mapped, and until its first painted
    frame (the first screenshot, taken every ~30 ms after the map, whose pixels are not one flat
    colour; the time is when that screenshot was taken). Leaves a PNG of the screen in ``shot``."""
    env = clean_env(home, DISPLAY=display)
    frames = home / "frames"
    frames.mkdir(exist_ok=True)
    with open(home / "window.log", "wb") as log:
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
            taken: list[tuple[float, Path]] = []
            for index in range(60):  # a burst of captures first, judged afterwards, so timing stays fine-grained
                moment = time.perf_counter() - start
                frame = frames / f"{index:03d}.xwd"
                if capture(display, window, frame):
                    taken.append((moment, frame))
                time.sleep(0.03)
            for moment, frame in taken:
                stddev = image_stddev(frame)
                if stddev > 0.02:
                    painted = moment
                    break
            time.sleep(1.0)  # let the first start settle, then the screenshot that is kept
            capture(display, "root", frames / "screen.xwd")
            subprocess.run(["convert", str(frames / "screen.xwd"), str(shot)], check=True, timeout=60)
            final = image_stddev(shot)
            shutil.rmtree(frames, ignore_errors=True)
            return {"mapped_s": round(mapped, 3), "painted_s": round(painted, 3) if painted else None,
                    "window_stddev": round(stddev, 4), "screen_stddev": round(final, 4), "alive": proc.poll() is None}
        finally:
            stop(proc)


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
                home = Path(tmp) / f"gui-home-{run}"
                home.mkdir()
                shot = Path(args.screenshot) if args.screenshot else Path(tmp) / "shot.png"
                for start_kind in ("first", "next"):  # a first start (welcome page, models hashed), then again
                    if cold and start_kind == "first":
                        drop_caches()
                    result = launch_window(exe, display, home, shot)
                    launches.append({"start": start_kind, **result})
            report["window"] = launches
        finally:
            stop(xvfb)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
