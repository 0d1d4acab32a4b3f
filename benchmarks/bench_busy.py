"""Reply speed while the app indexes documents, against the same reply on an idle machine.

The app runs the model in its engine process and indexes in the window's process (a worker thread),
so that is what this does: ``EngineProcess`` answers while an ``Indexer`` embeds a generated English
and Chinese folder on a thread of this process. Rounds alternate idle and busy. Prints decode tok/s
and time to first token for both, the ratio busy/idle (target >= 0.6), and how many chunks the
indexer wrote while the replies ran (indexing must still progress).

Usage: python -m benchmarks.bench_busy [--rounds 3] [--tokens 128] [--files 600] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from benchmarks.bench_index import generate_corpus
from benchmarks.common import scratch_home
from engine.events import Finished
from engine.models.bundled import find_bundled
from engine.params import LoadOptions, SamplingParams
from engine.process.supervisor import EngineProcess

PROMPT = [{"role": "user", "content": "Write a detailed essay about the history of the city of Paris."}]


def reply(engine: EngineProcess, tokens: int) -> Finished:
    engine.reset_cache()
    return next(e for e in engine.chat(PROMPT, SamplingParams.greedy(max_tokens=tokens)) if isinstance(e, Finished))


class Indexing:
    """An indexing run on a thread; ``chunks`` counts the passages embedded so far (model batch by batch:
    the indexer commits every ~512 chunks, too coarse to see progress during one reply)."""

    def __init__(self, name: str) -> None:
        from knowledge.embeddings import OnnxEmbedder
        from knowledge.indexer import Indexer

        self.indexer = Indexer()
        self.name = name
        self.chunks = 0
        self.cancel = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        run = OnnxEmbedder._run

        def counted(embedder, encodings):
            out = run(embedder, encodings)
            self.chunks += len(encodings)
            return out

        OnnxEmbedder._run = counted  # a benchmark's instrument, undone by stop()
        self._restore = lambda: setattr(OnnxEmbedder, "_run", run)

    def _run(self) -> None:
        self.indexer.index(self.name, cancel=self.cancel)

    def start(self) -> Indexing:
        self.thread.start()
        while self.chunks == 0 and self.thread.is_alive():  # past the scan, embedding for real
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.cancel.set()
        self.thread.join()
        self._restore()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--files", type=int, default=600)
    parser.add_argument("--threads", type=int, default=None, help="model threads (default: the app's)")
    args = parser.parse_args()
    with scratch_home("nook-bench-busy-") as work:
        run(args, work)


def run(args, work) -> None:
    from knowledge.catalog import Catalog

    generate_corpus(work / "corpus", args.files)
    options = LoadOptions(n_ctx=2048)
    if args.threads:
        options.n_threads = args.threads
    engine = EngineProcess()
    engine.load(find_bundled("smollm2-135m-instruct").path, options).result()
    reply(engine, 16)
    catalog = Catalog()
    idle, busy, progressed = [], [], []
    for round_ in range(args.rounds):
        idle.append(reply(engine, args.tokens).timings)
        catalog.create(f"busy{round_}", [work / "corpus"])
        indexing = Indexing(f"busy{round_}").start()
        before = indexing.chunks
        busy.append(reply(engine, args.tokens).timings)
        progressed.append(indexing.chunks - before)
        indexing.stop()
    engine.close()
    med = statistics.median
    tps_idle, tps_busy = med(t.tokens_per_s for t in idle), med(t.tokens_per_s for t in busy)
    print(f"model threads {options.n_threads}; {args.rounds} rounds of {args.tokens} tokens")
    print(f"idle     {tps_idle:6.1f} tok/s   TTFT {med(t.first_token_ms for t in idle):7.1f} ms")
    print(f"indexing {tps_busy:6.1f} tok/s   TTFT {med(t.first_token_ms for t in busy):7.1f} ms   "
          f"ratio {tps_busy / tps_idle:.2f} (target >= 0.6)")
    print(f"passages the indexer embedded during the replies: {', '.join(map(str, progressed))} (must be > 0)")


if __name__ == "__main__":
    main()
