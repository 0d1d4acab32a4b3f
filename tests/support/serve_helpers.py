"""Starting a real `nook serve` for the tests: a subprocess on a free loopback port, waited on until it answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def port_is_free(port: int) -> bool:
    """Whether a server could listen there now (with SO_REUSEADDR, as servers do; a listener still refuses it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, proc: subprocess.Popen, log: Path, headers: dict | None = None,
                     timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url + "/models", headers=headers, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server did not answer within {timeout} s:\n{log.read_text()[-4000:]}")


@contextmanager
def nook_serve(home: Path, *args: str, api_key: str | None = None, log: Path | None = None,
               command: list[str] | None = None):
    """Yield ``(base_url, process)`` of a server started with ``args``; stop it afterwards (SIGTERM, then kill)."""
    port = free_port()
    log = log or home / f"serve-{port}.log"
    argv = command or [sys.executable, "-m", "desktop_app.cli", "serve", "--port", str(port), *args]
    if command is not None:
        argv = [a.replace("{port}", str(port)) for a in argv]
    if api_key:
        argv += ["--api-key", api_key]
    env = {**os.environ, "INGLENOOK_HOME": str(home)}
    with log.open("w") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_ready(url, proc, log, {"Authorization": f"Bearer {api_key}"} if api_key else None)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
