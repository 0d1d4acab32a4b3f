"""Measure the three levers on our own en/zh set with `nook eval`'s core: retrieval, strict prompt, a style LoRA.

Indexes ``benchmarks/eval/docs`` (as ``eval_retrieval`` builds it: DOCX and PDF made at run time) into a
throwaway data folder, then runs one ``EvalRun`` over a subset of ``benchmarks/eval/questions.jsonl``
(the first N English and first N Chinese questions) with the bundled SmolLM2 and MiniLM:

- ``no-docs``: no retrieval (the baseline every other row is compared with);
- ``hybrid``: hybrid retrieval, k 2, the default grounded prompt;
- ``strict``: the same with strict mode (answer only from the sources, else say so);
- ``hybrid+style``: hybrid with a style LoRA trained here (replies open with "Ahoy, friend!" and close with
  "Fair winds, from Nook.", as ``bench_lora_style``; fewer examples so it trains in a few minutes);
- ``quotes``: hybrid, answered by quoting the best source sentences (``support.quote_answer``), no model.

Every metric is judge-free (the bundled 135M model is too weak to judge: see ``benchmarks/eval_judge.py``);
``--judge`` also runs the LLM-judge path with the bundled model and reports its agreement.

Usage: python -m benchmarks.eval_levers [--per-language 3] [--max-tokens 40] [--style-examples 30]
       [--adapter FILE.gguf] [--judge] [--out DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.common import scratch_home

EVAL = Path(__file__).resolve().parent / "eval"
STYLE = "style-ahoy"


def configs(max_tokens: int, with_style: bool) -> list[dict]:
    docs = {"collections": ["eval"], "retrieval": "hybrid", "k": 2, "max_tokens": max_tokens}
    rows = [
        {"name": "no-docs", "retrieval": "off", "max_tokens": max_tokens},
        {"name": "hybrid", **docs},
        {"name": "strict", **docs, "strict": True},
    ]
    if with_style:
        rows.append({"name": "hybrid+style", **docs, "lora": [{"name": STYLE, "scale": 1.0}]})
    rows.append({"name": "quotes", **docs, "answer": "quotes"})
    return rows


def subset(questions, per_language: int):
    """The first ``per_language`` English and Chinese questions of the set, in the set's order."""
    picked, counts = [], {"en": 0, "zh": 0}
    for question in questions:
        lang = question.extra.get("lang")
        if lang in counts and counts[lang] < per_language:
            counts[lang] += 1
            picked.append(question)
    return picked


class BenchEnvironment:
    """The bundled model in-process (as the tests load it), the scratch library, a scratch chat store."""

    def __init__(self, host, library, history, registry):
        self.host, self.library, self.history, self.lora_registry = host, library, history, registry

    def host_for(self, model):
        return self.host


def train_style(host, store, data: Path, examples: int, epochs: int) -> float:
    """Train and register the style adapter; the training wall time in seconds."""
    from benchmarks.bench_lora_style import GREETING, SIGNOFF, ask, body_of, training_prompts
    from engine.chat.session import ChatSession
    from engine.lora.adapters import LoraRegistry
    from engine.lora.train import TrainConfig, train_lora
    from engine.models.bundled import find_bundled
    from engine.params import SamplingParams

    def session():
        return ChatSession(host, store, params=SamplingParams.greedy(max_tokens=24, repeat_penalty=1.1))

    rows = [{"prompt": p, "reply": f"{GREETING} {body_of(ask(session, p, 24))} {SIGNOFF}"}
            for p in training_prompts(examples)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = train_lora(data, STYLE, base=find_bundled("smollm2-135m-instruct").path,
                        config=TrainConfig(epochs=epochs, threads=2), registry=LoraRegistry(store.db))
    print(f"style adapter: {examples} examples, {result.steps} steps in {result.wall_s:.0f} s; held-out loss "
          f"{result.initial_val_loss:.3f} -> {result.best_val_loss:.3f}", flush=True)
    return result.wall_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-language", type=int, default=3, help="questions per language (default 3)")
    parser.add_argument("--max-tokens", type=int, default=40)
    parser.add_argument("--style-examples", type=int, default=30, help="0: leave the style adapter out")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--adapter", help="use this GGUF style adapter instead of training one")
    parser.add_argument("--judge", action="store_true", help="also run the LLM judge (the bundled model)")
    parser.add_argument("--out", help="keep the run folder (records, summary, report.html) here")
    parser.add_argument("--json", help="write the summary and timings to this file")
    args = parser.parse_args()

    from benchmarks.eval_retrieval import build_corpus
    from engine.chat.history import HistoryStore
    from engine.host import ModelHost
    from engine.lora.adapters import LoraRegistry
    from engine.models.bundled import find_bundled
    from engine.params import LoadOptions
    from knowledge.evaluation.configs import parse_configs
    from knowledge.evaluation.questions import load_questions
    from knowledge.evaluation.report import load_run, summary_table, write_html
    from knowledge.evaluation.runner import EvalRun
    from knowledge.library import Library

    with scratch_home("inglenook-levers-") as work:
        started = time.perf_counter()
        build_corpus(EVAL / "docs", work / "docs")
        library = Library()
        library.create("eval", [work / "docs"])
        library.index("eval")
        index_s = time.perf_counter() - started
        print(f"indexed benchmarks/eval/docs in {index_s:.0f} s", flush=True)

        model = find_bundled("smollm2-135m-instruct").path
        host = ModelHost()
        host.load(model, LoadOptions(n_ctx=2048, n_threads=2, seed=0)).result()  # as the tests load it
        store = HistoryStore()  # the scratch home's: the adapter is registered here
        registry = LoraRegistry(store.db)
        train_s = None
        if args.adapter:
            registry.add(args.adapter, STYLE)
        elif args.style_examples:
            train_s = train_style(host, store, work / "style.jsonl", args.style_examples, args.epochs)
        with_style = bool(args.adapter or args.style_examples)

        questions = subset(load_questions(EVAL / "questions.jsonl"), args.per_language)
        out = Path(args.out) if args.out else work / "run"
        history = HistoryStore(work / "eval-chats.sqlite")
        environment = BenchEnvironment(host, library, history, registry)
        run = EvalRun(questions, parse_configs(configs(args.max_tokens, with_style)), out, environment=environment,
                      judge_model="smollm2-135m-instruct" if args.judge else None, allow_changes=True)
        t0 = time.perf_counter()
        last = 0.0
        for event in run:
            if event.message:
                print(event.message, flush=True)
            if time.perf_counter() - last > 20 and event.total:
                last = time.perf_counter()
                print(f"  {event.phase} {event.done}/{event.total}, eta {event.eta_s} s", file=sys.stderr, flush=True)
        run_s = time.perf_counter() - t0
        result = load_run(out)
        print(f"\n{len(questions)} questions ({args.per_language} en + {args.per_language} zh), max_tokens "
              f"{args.max_tokens}, run {run_s:.0f} s\n")
        print(summary_table(result))
        for config in result.configs:
            entry = result.summary[config.name]
            more = ", ".join(f"{k} {v:.2f}" for k, v in entry["more"].items() if v is not None)
            print(f"{config.name}: {more}; first token {entry['timings']['first_token_s']} s, "
                  f"total {entry['timings']['total_s']} s")
        style_rate = _style_rate(result)
        if style_rate is not None:
            print(f"hybrid+style answers in the trained style: {style_rate:.0%}")
        write_html(result, out / "report.html")
        if args.json:
            Path(args.json).write_text(json.dumps({"summary": result.summary, "run_s": run_s, "index_s": index_s,
                                                   "train_s": train_s, "style_rate": style_rate,
                                                   "questions": [q.id for q in questions]},
                                                  ensure_ascii=False, indent=2), encoding="utf-8")
        history.close()
        store.close()
        library.close()
        host.close()
    return 0


def _style_rate(result) -> float | None:
    from benchmarks.bench_lora_style import GREETING

    answers = [r.get("answer") or "" for r in result.records if r.get("config") == "hybrid+style"]
    return sum(a.strip().startswith(GREETING) for a in answers) / len(answers) if answers else None


if __name__ == "__main__":
    sys.exit(main())
