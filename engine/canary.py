"""A canary decode, run in a child process by ``engine.diagnostics``: load a model, greedily decode a few
tokens, print one JSON line. If this llama.cpp build or CPU variant crashes (SIGILL on a CPU feature
the OS half-supports, say), only this child dies and the parent reports how.

    python -m engine.canary MODEL.gguf [--tokens 8]
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.canary")
    parser.add_argument("model")
    parser.add_argument("--tokens", type=int, default=8)
    args = parser.parse_args(argv)

    from engine import llama_native

    llama_cpp, _ = llama_native.modules()
    variant = llama_native.cpu_variant()
    started = time.perf_counter()
    llm = llama_cpp.Llama(args.model, n_ctx=256, n_threads=1, verbose=False)
    loaded = time.perf_counter()
    tokens = llm.tokenize(b"The capital of France is")
    out = []
    for token in llm.generate(tokens, top_k=1, temp=0.0):
        out.append(token)
        if len(out) >= args.tokens or llama_native.token_is_eog(llm, token):
            break
    ended = time.perf_counter()
    text = llm.detokenize(out).decode("utf-8", "replace")
    llm.close()
    print(json.dumps({"variant": variant.name, "tokens": len(out), "text": text,
                      "load_ms": round((loaded - started) * 1000, 1),
                      "decode_ms": round((ended - loaded) * 1000, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
