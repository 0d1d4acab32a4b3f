"""Our streaming chat vs raw ``llama_cpp.Llama.generate`` on the same model, prompt and greedy settings.

Runs alternate on one machine state: raw in this process, ours in-process (``ModelHost``) and ours
across the process boundary (``EngineProcess``, what the app and the CLI use). Prints:
- decode tokens/s (tokens after the first, over the time after the first) and the ratios ours/raw,
  taken within each round (the median of the rounds' ratios, and the spread of the middle half);
- per generated token, the time inside llama.cpp's decode (its own perf counter) and the time around
  it (sampling, detokenising, stop strings, queues, the process boundary). The decode is the same C
  code on every path and is what this machine's drift moves; the time around it is what each path
  adds, and stays steady from run to run. Put on raw's decode time, it gives the ratio without the
  drift ("ratio at raw's decode time");
- time to first token (TTFT), all with an empty KV cache, and the differences;
- TTFT of a turn that follows ~2,000 tokens of conversation (prefix reused) vs the first turn,
  and what that turn would cost if the history were re-read (cache dropped);
- with ``--native-site DIR`` (a native, single-CPU llama-cpp-python installed with pip --target DIR):
  raw decode of that build vs the portable one, each in its own process, in alternating rounds.

Usage: python -m benchmarks.bench_decode [--quick] [--runs 9] [--tokens 128] [--model PATH] [--native-site DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time

from engine import llama_native
from engine.events import Finished, TextDelta, Timings
from engine.host import ModelHost
from engine.models.bundled import find_bundled
from engine.params import LoadOptions, SamplingParams
from engine.process.supervisor import EngineProcess
from engine.runtimes.llamacpp import ReplyClock

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
QUIET_S = 1.2
PROMPT = [SYSTEM, {"role": "user", "content": "Write a detailed essay about the history of the city of Paris."}]


def raw_run(backend, tokens: list[int], max_tokens: int) -> Timings:
    """The bare llama-cpp-python loop a developer would write, timed as ours is (``ReplyClock``)."""
    llama_cpp, _ = llama_native.modules()  # the portable build's CPU variant, loaded as any caller must

    backend.use_threads(backend.loaded_threads)  # raw decodes on the threads it was given, always
    llm = backend.llama
    llm.reset()
    vocab = llm._model.vocab
    clock = ReplyClock(llm)
    n = 0
    for token in llm.generate(tokens, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0):
        if clock.first is None:
            clock.first_token()
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            break
        n += 1
        if n >= max_tokens:
            break
    return clock.timings(len(tokens), 0, n)


def ours_run(host: ModelHost, messages, params: SamplingParams, reset: bool = True) -> Finished:
    """The full product path: template, tokenizer, owner thread, queue, detokenizer, stop scanner, and
    for the engine process the trip to it and back. The time to the first token is taken here, where
    the text arrives, so it includes all of that; the rest of the timings come from the engine."""
    if reset:
        host.reset_cache()
    finished = None
    started = time.perf_counter()
    arrived = None
    for event in host.chat(messages, params):
        if arrived is None and isinstance(event, TextDelta):
            arrived = time.perf_counter()
        if isinstance(event, Finished):
            finished = event
    if arrived is not None:
        ttft = (arrived - started) * 1000
        finished = dataclasses.replace(finished, timings=dataclasses.replace(
            finished.timings, first_token_ms=ttft, prompt_ms=ttft))
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
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--native-site", help="folder with a native llama-cpp-python (pip install --target)")
    parser.add_argument("--history-runs", type=int, default=5, help="runs of the ~2,000-token history turn")
    parser.add_argument("--history-tokens", type=int, default=2000, help="length of that history")
    parser.add_argument("--quick", action="store_true", help="a short run that checks every measurement works")
    parser.add_argument("--native-rounds", type=int, default=12, help="rounds of portable vs native")
    parser.add_argument("--raw-server", action="store_true", help=argparse.SUPPRESS)  # one build, JSON out
    args = parser.parse_args()
    if args.quick:
        args.runs, args.tokens, args.history_runs, args.history_tokens = 2, 16, 1, 300
        args.native_rounds = 2
    return args


def main() -> None:
    args = parse_args()
    path = args.model or find_bundled("smollm2-135m-instruct").path
    options = LoadOptions(n_ctx=4096)
    if args.threads:
        options.n_threads = args.threads
    if args.raw_server:
        return raw_server(path, options, args)
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
    """Raw vs ours, in rounds: each round runs the three paths once, in an order that rotates from round
    to round, each after a quiet pause; the ratio is taken within each round (ours/raw of the same
    minute), and the median of those ratios is reported with its spread. On a shared 2-core machine
    decode speed drifts by +-10% over minutes, more than any gap between the paths: pairing within a
    round removes the drift, rotating removes any advantage of going first."""
    params = SamplingParams.greedy(max_tokens=args.tokens)
    tokens = host.call(lambda b: b._encode(PROMPT))
    host.call(raw_run, tokens, 16)  # warm-up every path once
    ours_run(host, PROMPT, SamplingParams.greedy(max_tokens=16))
    ours_run(engine, PROMPT, SamplingParams.greedy(max_tokens=16))
    paths = ("raw", "in-process", "engine process")
    runs: dict[str, list[Timings]] = {label: [] for label in paths}
    for round_no in range(args.runs):
        for label in rotated(paths, round_no):
            # a quiet second before every run: the in-process host would otherwise count the engine
            # process's last run as another program's and start on fewer threads (engine.cpu_share),
            # and the raw loop would share the cores with workers still spinning down
            time.sleep(QUIET_S)
            if label == "raw":
                runs[label].append(host.call(raw_run, tokens, args.tokens))
            else:
                runs[label].append(ours_run(host if label == "in-process" else engine, PROMPT, params).timings)
        counts = {runs[label][-1].completion_tokens for label in paths}
        assert len(counts) == 1, f"the paths decoded different token counts: {counts}"  # same greedy text
    med = statistics.median
    raw = runs["raw"]
    raw_tps = [t.tokens_per_s for t in raw]
    raw_model = med(per_token_ms(t.model_decode_ms, t) for t in raw)
    raw_outside = med(outside_ms(t) for t in raw)
    raw_ttft_around = med(t.first_token_ms - t.model_prompt_ms for t in raw)
    print(f"decode   raw {med(raw_tps):7.1f} tok/s (runs {min(raw_tps):.1f}-{max(raw_tps):.1f})   "
          f"TTFT {med(t.first_token_ms for t in raw):7.1f} ms   per token: {raw_model:.2f} ms in llama.cpp's "
          f"decode, {raw_outside:.3f} ms around it")
    print(f"         first token: {med(t.model_prompt_ms for t in raw):.1f} ms in llama.cpp, "
          f"{raw_ttft_around:.1f} ms around it")
    for label in paths[1:]:
        ours = runs[label]
        ratios = [o.tokens_per_s / r.tokens_per_s for o, r in zip(ours, raw, strict=True)]
        ttft_diffs = [o.first_token_ms - r.first_token_ms for o, r in zip(ours, raw, strict=True)]
        outside = med(outside_ms(t) for t in ours)
        # llama.cpp's decode is the same code on every path; what a path adds is the time around it.
        # Put on raw's decode time, the difference gives the ratio without the machine's drift in it.
        at_same_model = (raw_model + raw_outside) / (raw_model + outside)
        print(f"decode   {label:15} {med(t.tokens_per_s for t in ours):7.1f} tok/s   ratio, median of "
              f"{len(ratios)} rounds {med(ratios):.3f} (middle half {quartiles(ratios)}; target >= 0.98)   "
              f"TTFT diff {med(ttft_diffs):+.1f} ms (target <= +10 ms)")
        print(f"         {'':15} per token: {med(per_token_ms(t.model_decode_ms, t) for t in ours):.2f} ms in "
              f"llama.cpp's decode, {outside:.3f} ms around it ({outside - raw_outside:+.3f} ms vs raw) -> "
              f"ratio at raw's decode time {at_same_model:.3f}")
        ttft_around = med(t.first_token_ms - t.model_prompt_ms for t in ours)
        print(f"         {'':15} first token: {med(t.model_prompt_ms for t in ours):.1f} ms in llama.cpp, "
              f"{ttft_around:.1f} ms around it (raw {raw_ttft_around:.1f} ms: {ttft_around - raw_ttft_around:+.1f} "
              "ms, target <= +10 ms)")


def per_token_ms(ms: float, t: Timings) -> float:
    return ms / max(1, t.completion_tokens - 1)


def outside_ms(t: Timings) -> float:
    """Per generated token, the wall time spent outside llama.cpp's decode (sampling, detokenising,
    stop strings, queues, the process boundary)."""
    return per_token_ms(t.decode_ms - t.model_decode_ms, t)


def rotated(items: tuple[str, ...], k: int) -> tuple[str, ...]:
    """``items`` starting at position ``k`` (mod len): each path goes first, second and last in turn."""
    k %= len(items)
    return items[k:] + items[:k]


def quartiles(values: list[float]) -> str:
    """The lower and upper quartiles of ``values`` as "a-b" (the spread of the middle half)."""
    if len(values) < 4:
        return f"{min(values):.3f}-{max(values):.3f}"
    q = statistics.quantiles(values, n=4)
    return f"{q[0]:.3f}-{q[2]:.3f}"


def compare_history(host: ModelHost, args) -> None:
    """A conversation with ~2,000 tokens of history: the next turn with the prefix reused."""
    med = statistics.median
    history = history_of(host, args.history_tokens)
    short = [SYSTEM, {"role": "user", "content": "What is the capital of France?"}]
    first_turn, warm_turn, cold_turn = [], [], []
    turn_params = SamplingParams.greedy(max_tokens=32)
    for i in range(args.history_runs):
        first_turn.append(ours_run(host, short, turn_params).timings.first_token_ms)
        prior = ours_run(host, history, turn_params)  # the turn that put the history in the cache
        follow = [*history, {"role": "assistant", "content": prior.text},
                  {"role": "user", "content": f"Summarise fact {i + 1} in one sentence."}]
        warm = ours_run(host, follow, turn_params, reset=False)
        warm_turn.append(warm.timings.first_token_ms)
        cold_turn.append(ours_run(host, follow, turn_params, reset=True).timings.first_token_ms)
    n_hist = warm.timings.prompt_tokens
    print(f"history  {n_hist} prompt tokens, {warm.timings.cached_tokens} reused from the previous turn")
    ratios = [w / f for w, f in zip(warm_turn, first_turn, strict=True)]  # paired, as in compare_decode
    print(f"TTFT     first turn {med(first_turn):6.1f} ms   turn after history {med(warm_turn):6.1f} ms   "
          f"ratio, median of {len(ratios)} rounds {med(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f}; "
          f"target <= 1.5)   "
          f"[re-reading the history instead: {med(cold_turn):6.1f} ms]")


def raw_server(path, options: LoadOptions, args) -> None:
    """One build's raw decode, on request (run as a child by ``compare_native``): loads once, then
    answers each line on stdin with one run's JSON line, so rounds can alternate builds cheaply."""
    host = ModelHost()
    host.load(path, options).result()
    tokens = host.call(lambda b: b._encode(PROMPT))
    host.call(raw_run, tokens, 16)
    print(json.dumps({"variant": llama_native.cpu_variant().name}), flush=True)
    for _ in sys.stdin:
        t = host.call(raw_run, tokens, args.tokens)
        print(json.dumps({"tok_s": t.tokens_per_s, "model_ms": per_token_ms(t.model_decode_ms, t)}), flush=True)
    host.close()


class _RawChild:
    """A ``--raw-server`` child on one build of llama-cpp-python."""

    def __init__(self, args, site: str | None) -> None:
        env = dict(os.environ)
        if site:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [site, env.get("PYTHONPATH")]))
        cmd = [sys.executable, "-m", "benchmarks.bench_decode", "--raw-server", "--tokens", str(args.tokens)]
        cmd += ["--threads", str(args.threads)] if args.threads else []
        self.process = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        self.variant = self._line()["variant"]

    def _line(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the benchmark child ended (exit code {self.process.wait()})")
        return json.loads(line)

    def run(self) -> dict:
        """One run: ``{"tok_s", "model_ms"}`` (decode speed; llama.cpp's decode time per token)."""
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        return self._line()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def compare_native(args) -> None:
    """Portable vs native raw decode: both builds loaded in their own processes, then rounds of one run
    each, the order swapped every round, each run after a quiet pause; the median of the per-round
    ratios is reported (see ``compare_decode`` for why rounds are paired)."""
    children = {"portable": _RawChild(args, None), "native": _RawChild(args, args.native_site)}
    results: dict[str, list[dict]] = {"portable": [], "native": []}
    try:
        for round_no in range(args.native_rounds):
            for label in rotated(("portable", "native"), round_no):
                time.sleep(QUIET_S)
                results[label].append(children[label].run())
    finally:
        for child in children.values():
            child.close()
    med = statistics.median
    pairs = list(zip(results["portable"], results["native"], strict=True))
    ratios = [p["tok_s"] / n["tok_s"] for p, n in pairs]
    model_ratios = [n["model_ms"] / p["model_ms"] for p, n in pairs]
    print(f"native   {med(r['tok_s'] for r in results['native']):7.1f} tok/s   portable "
          f"({children['portable'].variant}) {med(r['tok_s'] for r in results['portable']):7.1f} tok/s   "
          f"ratio portable/native, median of {len(ratios)} rounds {med(ratios):.3f} (middle half "
          f"{quartiles(ratios)}; target >= 0.97)")
    print(f"         llama.cpp's decode per token: native {med(r['model_ms'] for r in results['native']):.2f} ms, "
          f"portable {med(r['model_ms'] for r in results['portable']):.2f} ms, speed ratio {med(model_ratios):.3f} "
          f"(middle half {quartiles(model_ratios)})")


if __name__ == "__main__":
    main()
