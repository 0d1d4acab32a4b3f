"""Our streaming chat vs raw ``llama_cpp.Llama.generate`` on the same model, prompt and greedy settings.

Runs alternate on one machine state: raw in this process, ours in-process (``ModelHost``) and ours
across the process boundary (``EngineProcess``, what the app and the CLI use). Prints:
- decode tokens/s (tokens after the first, over the time after the first) and the ratios ours/raw;
- time to first token (TTFT), all with an empty KV cache, and the differences;
- TTFT of a turn that follows ~2,000 tokens of conversation (prefix reused) vs the first turn,
  and what that turn would cost if the history were re-read (cache dropped);
- with ``--native-site DIR`` (a native, single-CPU llama-cpp-python installed with pip --target DIR):
  raw decode of that build vs the portable one, each in its own process, alternating.

Usage: python -m benchmarks.bench_decode [--runs 5] [--tokens 128] [--model PATH] [--native-site DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from engine import llama_native
from engine.events import Finished
from engine.host import ModelHost
from engine.models.bundled import find_bundled
from engine.params import LoadOptions, SamplingParams
from engine.process.supervisor import EngineProcess

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
QUIET_S = 1.2
PROMPT = [SYSTEM, {"role": "user", "content": "Write a detailed essay about the history of the city of Paris."}]


def raw_run(backend, tokens: list[int], max_tokens: int) -> tuple[float, float, int]:
    """TTFT (s), decode tokens/s, tokens: the bare llama-cpp-python loop a developer would write."""
    llama_cpp, _ = llama_native.modules()  # the portable build's CPU variant, loaded as any caller must

    backend.use_threads(backend.loaded_threads)  # raw decodes on the threads it was given, always
    llm = backend.llama
    llm.reset()
    vocab = llm._model.vocab
    start = time.perf_counter()
    first = None
    n = 0
    for token in llm.generate(tokens, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0):
        if first is None:
            first = time.perf_counter()
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            break
        n += 1
        if n >= max_tokens:
            break
    end = time.perf_counter()
    return first - start, (n - 1) / (end - first), n


def ours_run(host: ModelHost, messages, params: SamplingParams, reset: bool = True) -> Finished:
    """The full product path: template, tokenizer, owner thread, queue, detokenizer, stop scanner."""
    if reset:
        host.reset_cache()
    finished = None
    for event in host.chat(messages, params):
        if isinstance(event, Finished):
            finished = event
    return finished


def history_of(host: ModelHost, target_tokens: int) -> list[dict]:
    """A conversation of about ``target_tokens`` tokens, made of plausible turns."""
    messages = [SYSTEM]
    i = 0
    while True:
        i += 1
        messages += [
            {"role": "user", "content": f"Question {i}: explain one more fact about rivers, lakes and the sea."},
            {"role": "assistant", "content": (f"Fact {i}: rivers carry water from high ground to the sea; "
                                              "lakes store it, and the sea returns it as rain. ") * 3},
        ]
        n = host.call(lambda b, m=list(messages): len(b._encode(m)))
        if n >= target_tokens:
            return messages


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--native-site", help="folder with a native llama-cpp-python (pip install --target)")
    parser.add_argument("--raw-only", action="store_true", help=argparse.SUPPRESS)  # one build, JSON out
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    path = args.model or find_bundled("smollm2-135m-instruct").path
    options = LoadOptions(n_ctx=4096)
    if args.threads:
        options.n_threads = args.threads
    if args.raw_only:
        return raw_only(path, options, args)
    host = ModelHost()
    loaded = host.load(path, options).result()
    engine = EngineProcess()
    engine.load(path, options).result()
    print(f"model: {loaded.name} ({loaded.details['quantization']}), threads {options.n_threads}, "
          f"ctx {loaded.n_ctx}, {args.runs} alternating runs of up to {args.tokens} tokens; CPU variant "
          f"{llama_native.cpu_variant().name} (engine process: {engine.info()['variant']})")
    compare_decode(host, engine, args)
    compare_history(host, args)
    host.close()
    engine.close()
    if args.native_site:
        compare_native(args)


def compare_decode(host: ModelHost, engine: EngineProcess, args) -> None:
    params = SamplingParams.greedy(max_tokens=args.tokens)
    tokens = host.call(lambda b: b._encode(PROMPT))
    host.call(raw_run, tokens, 16)  # warm-up every path once
    ours_run(host, PROMPT, SamplingParams.greedy(max_tokens=16))
    ours_run(engine, PROMPT, SamplingParams.greedy(max_tokens=16))
    rows = {"raw": ([], []), "in-process": ([], []), "engine process": ([], [])}
    for _ in range(args.runs):
        t, tps, n_raw = host.call(raw_run, tokens, args.tokens)
        rows["raw"][0].append(t * 1000)
        rows["raw"][1].append(tps)
        for label, which in (("in-process", host), ("engine process", engine)):
            # each of ours starts after a quiet second: the in-process host would otherwise count the
            # engine process's last run as another program's and start on fewer threads (engine.cpu_share)
            time.sleep(QUIET_S)
            f = ours_run(which, PROMPT, params)
            rows[label][0].append(f.timings.first_token_ms)
            rows[label][1].append(f.timings.tokens_per_s)
            assert f.timings.completion_tokens == n_raw, (label, f.timings.completion_tokens, n_raw)
    med = statistics.median
    raw_ttft, raw_tps = med(rows["raw"][0]), med(rows["raw"][1])
    print(f"decode   raw {raw_tps:7.1f} tok/s   TTFT {raw_ttft:7.1f} ms")
    for label in ("in-process", "engine process"):
        ttft, tps = med(rows[label][0]), med(rows[label][1])
        print(f"decode   {label:15} {tps:7.1f} tok/s   ratio {tps / raw_tps:.3f} (target >= 0.98)   "
              f"TTFT {ttft:7.1f} ms   diff {ttft - raw_ttft:+.1f} ms (target <= +10 ms)")


def compare_history(host: ModelHost, args) -> None:
    """A conversation with ~2,000 tokens of history: the next turn with the prefix reused."""
    med = statistics.median
    history = history_of(host, 2000)
    short = [SYSTEM, {"role": "user", "content": "What is the capital of France?"}]
    first_turn, warm_turn, cold_turn = [], [], []
    turn_params = SamplingParams.greedy(max_tokens=32)
    for i in range(args.runs):
        first_turn.append(ours_run(host, short, turn_params).timings.first_token_ms)
        prior = ours_run(host, history, turn_params)  # the turn that put the history in the cache
        follow = [*history, {"role": "assistant", "content": prior.text},
                  {"role": "user", "content": f"Summarise fact {i + 1} in one sentence."}]
        warm = ours_run(host, follow, turn_params, reset=False)
        warm_turn.append(warm.timings.first_token_ms)
        cold_turn.append(ours_run(host, follow, turn_params, reset=True).timings.first_token_ms)
    n_hist = warm.timings.prompt_tokens
    print(f"history  {n_hist} prompt tokens, {warm.timings.cached_tokens} reused from the previous turn")
    print(f"TTFT     first turn {med(first_turn):6.1f} ms   turn after history {med(warm_turn):6.1f} ms   "
          f"ratio {med(warm_turn) / med(first_turn):.2f} (target <= 1.5)   "
          f"[re-reading the history instead: {med(cold_turn):6.1f} ms]")


def raw_only(path, options: LoadOptions, args) -> None:
    """One build's raw decode (run as a child by ``compare_native``): prints one JSON line."""
    host = ModelHost()
    host.load(path, options).result()
    tokens = host.call(lambda b: b._encode(PROMPT))
    host.call(raw_run, tokens, 16)
    runs = [host.call(raw_run, tokens, args.tokens)[1] for _ in range(args.runs)]
    print(json.dumps({"tok_s": statistics.median(runs), "variant": llama_native.cpu_variant().name}))
    host.close()


def compare_native(args) -> None:
    """Portable vs native raw decode, each build in its own process, alternating three times."""
    results: dict[str, list[float]] = {"portable": [], "native": []}
    variant = ""
    for _ in range(3):
        for label in ("portable", "native"):
            env = dict(os.environ)
            if label == "native":
                env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.native_site, env.get("PYTHONPATH")]))
            cmd = [sys.executable, "-m", "benchmarks.bench_decode", "--raw-only", "--runs", "3",
                   "--tokens", str(args.tokens)] + (["--threads", str(args.threads)] if args.threads else [])
            out = json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                             .stdout.strip().splitlines()[-1])
            results[label].append(out["tok_s"])
            variant = out["variant"] if label == "portable" else variant
    med = statistics.median
    portable, native = med(results["portable"]), med(results["native"])
    print(f"native   {native:7.1f} tok/s   portable ({variant}) {portable:7.1f} tok/s   "
          f"ratio portable/native {portable / native:.3f} (target >= 0.97)")


if __name__ == "__main__":
    main()
