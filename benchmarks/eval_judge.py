"""How far can a judge be trusted? Agreement with hand labels on ``resources/eval/judge_check.jsonl``.

Prints, for the bundled SmolLM2-135M as an LLM judge (the faithfulness verdict prompt, greedy) and for
the judge-free sentence-support check (lexical, and blended with MiniLM embeddings) on the same 40
context/statement pairs (20 English, 20 Chinese, half supported): accuracy, Cohen's kappa, and whether
it passes the trust bar (κ >= 0.6 on >= 20 items). Small: ~40 short greedy replies.

Usage: python -m benchmarks.eval_judge [--limit N] [--model PATH] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path


def _bundled_judge(model: str | None):
    from engine.host import ModelHost
    from engine.models.bundled import find_bundled
    from engine.params import LoadOptions
    from knowledge.evaluation.judge import host_judge

    path = Path(model) if model else find_bundled("smollm2-135m-instruct", verify=False).path
    host = ModelHost()
    host.load(path, LoadOptions(n_ctx=2048, n_threads=2)).result()
    return host, host_judge(host, "SmolLM2-135M-Instruct" if model is None else path.stem)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="check only the first N items (en/zh interleaved)")
    parser.add_argument("--model", default=None, help="a GGUF to use as judge instead of the bundled SmolLM2")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)

    from knowledge.embeddings import get_embedder
    from knowledge.evaluation.judge_check import check_judge, check_judge_free

    rows = {}
    started = time.perf_counter()
    rows["judge-free (lexical)"] = check_judge_free(limit=args.limit)
    rows["judge-free (lexical + MiniLM)"] = check_judge_free(embedder=get_embedder(), limit=args.limit)
    host, judge = _bundled_judge(args.model)
    try:
        judge_started = time.perf_counter()
        rows[judge.name] = check_judge(judge, limit=args.limit)
        judge_s = time.perf_counter() - judge_started
    finally:
        host.close()
    print(f"{'checker':36} {'n':>3} {'accuracy':>9} {'kappa':>6}  trusted")
    for name, result in rows.items():
        print(f"{name:36} {result.n:3d} {result.accuracy:9.2f} {result.kappa:6.2f}  {'yes' if result.trustworthy else 'no'}")
    for result in rows.values():
        print("-", result.message)
    print(f"(LLM judge: {judge_s:.1f} s; total {time.perf_counter() - started:.1f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps({k: asdict(v) for k, v in rows.items()}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
