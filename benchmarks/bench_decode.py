"""Our streaming chat vs raw ``llama_cpp.Llama.generate`` on the same model, prompt and greedy settings.

Runs alternate in one process on one loaded model, so both see the same machine state. Prints:
- decode tokens/s (tokens after the first, over the time after the first) and the ratio ours/raw;
- time to first token (TTFT), both with an empty KV cache, and the difference;
- TTFT of a turn that follows ~2,000 tokens of conversation (prefix reused) vs the first turn,
  and what that turn would cost if the history were re-read (cache dropped).

Usage: python benchmarks/bench_decode.py [--runs 5] [--tokens 128] [--model PATH]
"""

from __future__ import annotations

import argparse
import statistics
import time

from engine import llama_native
from engine.events import Finished
from engine.host import ModelHost
from engine.models.bundled import find_bundled
from engine.params import LoadOptions, SamplingParams

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
PROMPT = [SYSTEM, {"role": "user", "content": "Write a detailed essay about the history of the city of Paris."}]


def raw_run(backend, tokens: list[int], max_tokens: int) -> tuple[float, float, int]:
    """TTFT (s), decode tokens/s, tokens: the bare llama-cpp-python loop a developer would write."""
    llama_cpp, _ = llama_native.modules()  # the portable build's CPU variant, loaded as any caller must

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
        host.call(lambda b: b.invalidate_cache())
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    path = args.model or find_bundled("smollm2-135m-instruct").path
    host = ModelHost()
    options = LoadOptions(n_ctx=4096)
    if args.threads:
        options.n_threads = args.threads
    loaded = host.load(path, options).result()
    print(f"model: {loaded.name} ({loaded.details['quantization']}), threads {options.n_threads}, "
          f"ctx {loaded.n_ctx}, {args.runs} alternating runs of up to {args.tokens} tokens")
    params = SamplingParams.greedy(max_tokens=args.tokens)
    tokens = host.call(lambda b: b._encode(PROMPT))

    # warm-up both paths once
    host.call(raw_run, tokens, 16)
    ours_run(host, PROMPT, SamplingParams.greedy(max_tokens=16))

    raw_ttft, raw_tps, our_ttft, our_tps = [], [], [], []
    for _ in range(args.runs):
        t, tps, n_raw = host.call(raw_run, tokens, args.tokens)
        raw_ttft.append(t)
        raw_tps.append(tps)
        f = ours_run(host, PROMPT, params)
        our_ttft.append(f.timings.first_token_ms / 1000)
        our_tps.append(f.timings.tokens_per_s)
        assert f.timings.completion_tokens == n_raw, (f.timings.completion_tokens, n_raw)

    med = statistics.median
    print(f"decode   raw {med(raw_tps):7.1f} tok/s   ours {med(our_tps):7.1f} tok/s   "
          f"ratio {med(our_tps) / med(raw_tps):.3f} (target >= 0.98)")
    print(f"TTFT     raw {med(raw_ttft) * 1000:7.1f} ms      ours {med(our_ttft) * 1000:7.1f} ms      "
          f"diff {(med(our_ttft) - med(raw_ttft)) * 1000:+.1f} ms (target <= +10 ms)")

    # a conversation with ~2,000 tokens of history: next turn with the prefix reused
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
    host.close()


if __name__ == "__main__":
    main()
