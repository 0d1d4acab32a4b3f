"""LoRA switching on a loaded model vs reloading the model with the adapter, and decode speed with adapters.

Everything runs in one process on the bundled SmolLM2 (Q4_1), through the app's own path: the model
owner thread (``ModelHost``) and ``AdapterControl``. The adapters are rank-8 LoRAs on every projection
of all 30 layers (the size ``nook lora train`` makes), written for this run. Prints medians of:
- first switch-on (read the file + attach + drop the cache), a switch-on of an adapter already in
  memory, a scale change, stacking two, clearing;
- reloading the model with the adapter (what apps without live switching must do), and the ratio;
- the one real cost of a switch: the next reply re-reads its prompt (the cache is dropped);
- decode tokens/s with 0, 1 and 2 adapters at scale 1.0, and the ratios to the base.
Targets: a switch < 50 ms and > 20x faster than a reload.

Usage: python -m benchmarks.bench_lora_switch [--runs 20] [--tokens 128]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import engine.lora.adapters as lora_module
from engine.events import Finished
from engine.host import (
    AdapterControl,
    ModelHost,
)
from engine.lora.adapters import ResolvedAdapter
from engine.models.bundled import find_bundled
from engine.models.gguf import read_gguf
from engine.params import LoadOptions, SamplingParams
from engine.process.supervisor import EngineProcess
from tests.support.lora_helpers import random_adapter  # the same adapter maker the tests use

PROMPT = [{"role": "system", "content": "You are a helpful assistant."},
          {"role": "user", "content": "Write a detailed essay about the history of the city of Paris."}]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def median_ms(fn, runs: int, before=None) -> float:
    values = []
    for _ in range(runs):
        if before is not None:
            before()
        values.append(timed(fn))
    return statistics.median(values)


def reply(host: ModelHost, messages, max_tokens: int) -> Finished:
    return host.chat(messages, SamplingParams.greedy(max_tokens=max_tokens, repeat_penalty=1.0)).wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()

    model = find_bundled("smollm2-135m-instruct").path
    info = read_gguf(model)
    folder = Path(tempfile.mkdtemp(prefix="inglenook-lora-bench-"))
    one = random_adapter(folder / "one.gguf", info, rank=8, std=0.05, seed=1)
    two = random_adapter(folder / "two.gguf", info, rank=8, std=0.05, seed=2)
    a1, a2 = ResolvedAdapter("one", one, 1.0), ResolvedAdapter("two", two, 1.0)
    options = LoadOptions(n_ctx=2048, n_threads=2)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; adapters: rank 8 on all "
          f"210 projections, {one.stat().st_size / 1e6:.1f} MB each")

    host = ModelHost()
    host.load(model, options).result()
    control = AdapterControl(host)

    def apply(*adapters):
        return lambda: control.apply(list(adapters)).result()

    def forget():
        control.clear().result()
        control.forget(one).result()

    def forget_all():  # as if the adapter had never been seen in this process
        forget()
        lora_module._info_cache.clear()

    cold = median_ms(apply(a1), args.runs, before=forget_all)
    first = median_ms(apply(a1), args.runs, before=forget)
    cached = median_ms(apply(a1), args.runs, before=lambda: control.clear().result())
    half = ResolvedAdapter("one", one, 0.5)
    scales = []
    for i in range(args.runs):
        scales.append(timed(apply(half if i % 2 == 0 else a1)))
    scale = statistics.median(scales)
    stack = median_ms(apply(a1, a2), args.runs, before=lambda: control.apply([a1]).result())
    clear = median_ms(lambda: control.clear().result(), args.runs, before=lambda: control.apply([a1]).result())

    def reload():
        host.unload().result()
        host.load(model, options).result()
        control.apply([a1]).result()

    reload_ms = median_ms(reload, max(3, args.runs // 4))
    print(f"switch on (never seen in this process): {cold:7.2f} ms")
    print(f"switch on (first time, reads the file): {first:7.2f} ms   [header already checked, as after add/info]")
    print(f"switch on (already in memory):          {cached:7.2f} ms")
    print(f"change scale 1.0 <-> 0.5:               {scale:7.2f} ms")
    print(f"stack a second adapter:                 {stack:7.2f} ms")
    print(f"clear all adapters:                     {clear:7.2f} ms")
    print(f"reload the model with the adapter:      {reload_ms:7.2f} ms")
    worst = max(first, cached, scale, stack, clear)
    print(f"slowest switch {worst:.2f} ms: {reload_ms / worst:.0f}x faster than a reload "
          f"(first switch-on {reload_ms / first:.0f}x, never-seen {reload_ms / cold:.0f}x, "
          f"scale change {reload_ms / scale:.0f}x)")

    # the real cost of a switch: the next reply cannot reuse the cached prompt
    history = PROMPT + [{"role": "assistant", "content": reply(host, PROMPT, 200).text},
                        {"role": "user", "content": "Now summarise that in two sentences."}]
    reply(host, history, 1)  # the whole history is now cached
    cached_ttft = statistics.median(reply(host, history, 1).timings.first_token_ms for _ in range(5))
    switched = []
    for i in range(5):
        control.apply([a1] if i % 2 == 0 else []).result()
        switched.append(reply(host, history, 1).timings.first_token_ms)
    n_prompt = reply(host, history, 1).timings.prompt_tokens
    print(f"first token of the next reply ({n_prompt}-token conversation): {cached_ttft:.0f} ms with the cache, "
          f"{statistics.median(switched):.0f} ms right after a switch (the prompt is read again)")

    # decode speed, alternating the configurations so all see the same machine state
    speeds: dict[str, list[float]] = {"base": [], "1 adapter": [], "2 adapters": []}
    for _ in range(3):
        for label, adapters in (("base", []), ("1 adapter", [a1]), ("2 adapters", [a1, a2])):
            control.apply(adapters).result()
            speeds[label].append(reply(host, PROMPT, args.tokens).timings.tokens_per_s)
    base = statistics.median(speeds["base"])
    for label, values in speeds.items():
        value = statistics.median(values)
        print(f"decode {label:10}: {value:6.1f} tok/s ({value / base:.2f}x the base)")
    host.close()
    across_the_boundary(model, options, a1, half, args.runs)
    return 0


def across_the_boundary(model: Path, options: LoadOptions, on: ResolvedAdapter, half: ResolvedAdapter,
                        runs: int) -> None:
    """The same switches as the app makes them: with the model in the engine process (target < 50 ms)."""
    engine = EngineProcess()
    engine.load(model, options).result()
    control = engine.adapters
    first = median_ms(lambda: control.apply([on]).result(), runs,
                      before=lambda: (control.clear().result(), control.forget(on.path).result()))
    cached = median_ms(lambda: control.apply([on]).result(), runs, before=lambda: control.clear().result())
    scale = median_ms(lambda: control.apply([half]).result(), runs, before=lambda: control.apply([on]).result())
    clear = median_ms(lambda: control.clear().result(), runs, before=lambda: control.apply([on]).result())
    engine.close()
    worst = max(first, cached, scale, clear)
    print(f"engine process: switch on first time {first:.2f} ms, again {cached:.2f} ms, scale {scale:.2f} ms, "
          f"clear {clear:.2f} ms; slowest {worst:.2f} ms (target < 50 ms)")


if __name__ == "__main__":
    sys.exit(main())
