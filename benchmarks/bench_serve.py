"""`nook serve` against the engine it serves: what the HTTP API costs, how it shares the model, and what the
grammar buys.

A real `nook serve` runs as a subprocess on the bundled model; the same model is loaded directly in an
``EngineProcess`` (what the window and `nook chat` use) in this process. Runs alternate, one at a time.
Prints:
- DECODE: tokens/s of a streamed reply seen by the client, direct vs through the API (SSE), and the ratio;
- TTFT: time to the first token with the prompt cached, direct vs through the API, and the difference;
- CONCURRENCY: 1, 4 and 8 clients sending whole-reply requests at once: tokens/s and p95 latency;
- JSON SCHEMA: of N replies asked for a JSON object of a given schema, how many parse and match it,
  with the grammar (response_format json_schema) and without it (the schema only described in the prompt).

Usage: python -m benchmarks.bench_serve [--quick] [--runs 5] [--tokens 128] [--json-replies 50]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from engine.events import TextDelta
from engine.models.bundled import find_bundled
from engine.params import LoadOptions, SamplingParams
from engine.process.supervisor import EngineProcess

ROOT = Path(__file__).resolve().parents[1]
PROMPT = [{"role": "system", "content": "You are a helpful assistant."},
          {"role": "user", "content": "Write a detailed essay about the history of the city of Paris."}]
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["name", "age", "city"],
          "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "city": {"type": "string"}}}
JSON_ASK = ("Invent a person. Reply with only a JSON object with exactly the keys name (a string), "
            "age (an integer) and city (a string).")


def start_server(threads: int) -> tuple[subprocess.Popen, str, Path]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    home = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    log = (home / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "desktop_app.cli", "serve", "--port", str(port), "--ctx", "2048",
                             "--threads", str(threads), "--max-queue", "16"], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, env={**os.environ, "INGLENOOK_HOME": str(home)})
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(600):
        try:
            if httpx.get(url + "/models", timeout=1).status_code == 200:
                return proc, url, home
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the server did not start:\n{(home / 'serve.log').read_text()[-3000:]}")


def direct_stream(host: EngineProcess, tokens: int) -> tuple[float, float, int]:
    """(TTFT s, decode tok/s, tokens) of a reply streamed straight from the engine, timed where it arrives."""
    started = time.perf_counter()
    stamps = []
    stream = host.chat(PROMPT, SamplingParams.greedy(max_tokens=tokens))
    for event in stream:
        if isinstance(event, TextDelta):
            stamps.append(time.perf_counter())
    n = stream.finished.timings.completion_tokens
    return stamps[0] - started, (n - 1) / (stamps[-1] - stamps[0]), n


def api_stream(http: httpx.Client, url: str, tokens: int) -> tuple[float, float, int]:
    """The same through the API, as an SSE client sees it (usage tells the token count)."""
    body = {"messages": PROMPT, "max_tokens": tokens, "temperature": 0, "seed": 0, "stream": True,
            "stream_options": {"include_usage": True}}
    started = time.perf_counter()
    stamps, n = [], 0
    with http.stream("POST", url + "/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                n = chunk["usage"]["completion_tokens"]
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                stamps.append(time.perf_counter())
    return stamps[0] - started, (n - 1) / (stamps[-1] - stamps[0]), n


def decode_and_ttft(host: EngineProcess, url: str, runs: int, tokens: int) -> None:
    direct, api = [], []
    with httpx.Client(timeout=300) as http:
        direct_stream(host, tokens)  # warm both: the prompt is cached from here on, on both sides
        api_stream(http, url, tokens)
        for _ in range(runs):
            direct.append(direct_stream(host, tokens))
            api.append(api_stream(http, url, tokens))
    d_tps = statistics.median(r[1] for r in direct)
    a_tps = statistics.median(r[1] for r in api)
    print(f"DECODE ({direct[0][2]} tokens, median of {runs}): direct {d_tps:.1f} tok/s, API streaming "
          f"{a_tps:.1f} tok/s, RATIO {a_tps / d_tps:.3f}")
    d_ttft = statistics.median(r[0] for r in direct) * 1000
    a_ttft = statistics.median(r[0] for r in api) * 1000
    print(f"TTFT (prompt cached, median of {runs}): direct {d_ttft:.1f} ms, API {a_ttft:.1f} ms, "
          f"OVERHEAD {a_ttft - d_ttft:+.1f} ms")


def concurrency(url: str, clients: int, total: int) -> None:
    latencies: list[float] = []
    tokens: list[int] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(timeout=600) as http:
            for i in range(n):
                body = {"messages": [{"role": "user", "content": f"Tell me about the sea, part {i}."}],
                        "max_tokens": 32, "temperature": 0}
                started = time.perf_counter()
                reply = http.post(url + "/chat/completions", json=body)
                reply.raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - started)
                    tokens.append(reply.json()["usage"]["completion_tokens"])

    threads = [threading.Thread(target=client, args=(total // clients,)) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    p95 = statistics.quantiles(latencies, n=20, method="inclusive")[18] if len(latencies) > 1 else latencies[0]
    print(f"CONCURRENCY {clients} clients x {total // clients} requests: {sum(tokens) / wall:.1f} tok/s, "
          f"{len(latencies) / wall:.2f} requests/s, p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms")


def _valid(text: str) -> bool:
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return (isinstance(data, dict) and set(data) == {"name", "age", "city"} and isinstance(data["name"], str)
            and isinstance(data["age"], int) and not isinstance(data["age"], bool) and isinstance(data["city"], str))


def json_validity(url: str, n: int) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA}}
    counts = {}
    with httpx.Client(timeout=300) as http:
        for label, extra in (("with grammar", {"response_format": fmt}), ("without grammar", {})):
            ok = 0
            for seed in range(n):
                body = {"messages": [{"role": "user", "content": JSON_ASK}], "max_tokens": 96, "temperature": 0.8,
                        "seed": seed, **extra}
                ok += _valid(http.post(url + "/chat/completions", json=body).json()["choices"][0]["message"]["content"])
            counts[label] = ok
    print(f"JSON SCHEMA ({n} replies each): with grammar {counts['with grammar']}/{n} valid, "
          f"without grammar {counts['without grammar']}/{n} valid")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few runs (the smoke test)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--json-replies", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.quick:
        args.runs, args.tokens, args.json_replies = 2, 32, 4
    proc, url, home = start_server(args.threads)
    host = EngineProcess()
    try:
        host.load(find_bundled("smollm2-135m-instruct").path, LoadOptions(n_ctx=2048, n_threads=args.threads)).result()
        print(f"MODEL smollm2-135m-instruct, {args.threads} threads, server {url}")
        decode_and_ttft(host, url, args.runs, args.tokens)
        host.close()  # the direct engine is done: its process goes, the server has the CPU to itself
        total = 4 if args.quick else 16
        for clients in (1, 4, 8):
            concurrency(url, clients, max(total, clients))
        json_validity(url, args.json_replies)
    finally:
        host.close()
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
