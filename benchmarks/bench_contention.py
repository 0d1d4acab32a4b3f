"""Reply speed while another program keeps one core busy: ours (the engine process) against raw
llama-cpp-python, and against the same reply on an idle machine.

A desktop app shares its machine: a build, a browser tab, another app's indexer. Raw llama-cpp-python
decodes on the threads it was given, whose OpenMP workers spin; ours decodes on the cores other
programs leave free (``engine.cpu_share``). The busy program here is a Python busy loop, one core.
Rounds alternate idle and busy; each runs raw (a bare ``Llama.generate`` loop in this process, with
the same thread count as the engine was loaded with) and ours.

Usage: python -m benchmarks.bench_contention [--rounds 3] [--tokens 96] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from engine import llama_native
from engine.events import Finished
from engine.models.bundled import find_bundled
from engine.models.templates import ChatTemplate
from engine.params import LoadOptions, SamplingParams
from engine.process.supervisor import EngineProcess

PROMPT = [{"role": "user", "content": "Write a detailed essay about the history of the city of Paris."}]
BUSY_LOOP = "while True: pass"


def raw_reply(llm, tokens: list[int], max_tokens: int) -> float:
    """Decode tok/s of the bare loop a developer would write."""
    llama_cpp, _ = llama_native.modules()
    llm.reset()
    first, n = None, 0
    for token in llm.generate(tokens, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0):
        if first is None:
            first = time.perf_counter()
        if llama_cpp.llama_vocab_is_eog(llm._model.vocab, token):
            break
        n += 1
        if n >= max_tokens:
            break
    return (n - 1) / (time.perf_counter() - first)


def ours_reply(engine: EngineProcess, max_tokens: int) -> float:
    engine.reset_cache()
    stream = engine.chat(PROMPT, SamplingParams.greedy(max_tokens=max_tokens))
    finished = next(e for e in stream if isinstance(e, Finished))
    return finished.timings.tokens_per_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=None, help="model threads (default: the app's)")
    args = parser.parse_args()
    path = find_bundled("smollm2-135m-instruct").path
    options = LoadOptions(n_ctx=1024)
    if args.threads:
        options.n_threads = args.threads
    llama_cpp, _ = llama_native.modules()
    raw = llama_cpp.Llama(str(path), n_ctx=1024, n_threads=options.n_threads, n_threads_batch=options.n_threads,
                          verbose=False)
    engine = EngineProcess()
    engine.load(path, options).result()
    template = ChatTemplate.choose(raw.metadata.get("tokenizer.chat_template"), None, "", "")
    tokens = raw.tokenize(template.render(PROMPT).encode("utf-8"), add_bos=False, special=True)
    print(f"threads {options.n_threads}, {args.rounds} rounds of {args.tokens} tokens, busy program: one core "
          f"of Python busy loop; CPU variant {llama_native.cpu_variant().name}")
    rows: dict[str, list[float]] = {key: [] for key in ("raw idle", "ours idle", "raw busy", "ours busy")}
    raw_reply(raw, tokens, 8)
    ours_reply(engine, 8)
    for _ in range(args.rounds):
        for state in ("idle", "busy"):
            hog = subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if state == "busy" else None
            try:
                time.sleep(1.5)  # long enough for the engine's one-second look at the cores
                rows[f"raw {state}"].append(raw_reply(raw, tokens, args.tokens))
                rows[f"ours {state}"].append(ours_reply(engine, args.tokens))
            finally:
                if hog is not None:
                    hog.kill()
                    hog.wait()
    engine.close()
    raw.close()
    med = {key: statistics.median(values) for key, values in rows.items()}
    for state in ("idle", "busy"):
        print(f"{state:5}  raw {med[f'raw {state}']:6.1f} tok/s   ours {med[f'ours {state}']:6.1f} tok/s   "
              f"ours/raw {med[f'ours {state}'] / med[f'raw {state}']:.2f}   "
              f"(runs: raw {', '.join(f'{v:.1f}' for v in rows[f'raw {state}'])}; "
              f"ours {', '.join(f'{v:.1f}' for v in rows[f'ours {state}'])})")
    print(f"ours busy/idle {med['ours busy'] / med['ours idle']:.2f} (target >= 0.6)   "
          f"raw busy/idle {med['raw busy'] / med['raw idle']:.2f}")


if __name__ == "__main__":
    main()
