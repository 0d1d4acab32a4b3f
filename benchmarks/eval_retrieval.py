"""Retrieval quality on our two evaluation sets, against a plain BM25 baseline measured in the same run.

Sets (each ``docs/`` + ``questions.jsonl``; a hit is a result from the question's file whose text contains
its answer substring, whitespace ignored — the text the answer step would get):
- ``eval``: ``benchmarks/eval/``, ~60 short documents (Markdown, text, HTML, DOCX and PDF made at run
  time), 80 questions half English half Chinese, many sharing words with their answers;
- ``hard``: ``benchmarks/eval_hard/``, long Chinese and English documents (handbooks, regulations,
  contracts, manuals, FAQs, many similar articles) with colloquial questions whose words differ from
  the answering passage (see its README).

Rows: ``bm25-window`` is the baseline (plain BM25, k1 1.2, b 0.75, over 500-character windows with a
250-character stride, CJK as bigrams, Latin words lowercased: what a 50-line script does), then our
retriever as shipped (``SearchOptions()``, hybrid) and its rankers alone, then ablations of query-time
options. For every row: hit@10, hit@5, MRR@10 and the mean characters of the ten results' text (the
context an answer would get). The collection is indexed with the shipped defaults, or with
``--setting key=value`` overrides (several values, comma-separated, index once each).

Usage: python -m benchmarks.eval_retrieval [--quick] [--sets eval,hard] [--setting chunk_size=150,300]
       [--json FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks.common import scratch_home

SETS = {"eval": Path(__file__).resolve().parent / "eval", "hard": Path(__file__).resolve().parent / "eval_hard"}
RERANK_NOTE = ("hybrid + rerank: not measured - no cross-encoder reranker model is available offline on this "
               "machine (none bundled, no network); the rows above are what ships.")


# --------------------------------------------------------------------------- corpus
def build_corpus(docs: Path, dest: Path) -> list[Path]:
    """Copy ``docs`` to ``dest``, turning ``X.docx.md`` into ``X.docx`` and ``X.pdf.txt`` into ``X.pdf``."""
    made = []
    for source in sorted(docs.rglob("*")):
        if not source.is_file():
            continue
        rel = source.relative_to(docs)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.name.endswith(".docx.md"):
            target = target.with_name(source.name[: -len(".md")])
            _write_docx(source.read_text(encoding="utf-8"), target)
        elif source.name.endswith(".pdf.txt"):
            target = target.with_name(source.name[: -len(".txt")])
            _write_pdf(source.read_text(encoding="utf-8"), target)
        else:
            shutil.copyfile(source, target)
        made.append(target)
    return made


def _write_docx(text: str, target: Path) -> None:
    """Markdown-ish source to .docx: ``#`` lines become headings, blank-line-separated blocks paragraphs."""
    import docx

    document = docx.Document()
    for block in re.split(r"\n\s*\n", text.strip()):
        block = " ".join(block.split())
        heading = re.match(r"^(#+)\s+(.*)$", block)
        if heading:
            document.add_heading(heading.group(2), level=min(len(heading.group(1)), 10) - 1)
        else:
            document.add_paragraph(block)
    document.save(str(target))


def _write_pdf(text: str, target: Path) -> None:
    """Text source to a PDF with a text layer; a line holding ``\\f`` starts a new page."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_font("Helvetica", size=11)
    for page in text.split("\n\\f\n"):
        pdf.add_page()
        for block in re.split(r"\n\s*\n", page.strip()):
            lines = block.splitlines()
            if len(lines) > 1 and len(lines[0]) < 60:  # a short first line is the section title
                pdf.set_font("Helvetica", style="B", size=13)
                pdf.multi_cell(0, 7, lines[0], new_x="LMARGIN", new_y="NEXT")
                pdf.set_font("Helvetica", size=11)
                lines = lines[1:]
            pdf.multi_cell(0, 6, " ".join(" ".join(lines).split()), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    pdf.output(str(target))


@dataclass
class Question:
    id: str
    lang: str
    style: str
    query: str
    file: str
    answer: str


def load_questions(folder: Path) -> list[Question]:
    """The set's questions, then its held-out ones (``questions_heldout.jsonl``, written blind to the
    query-expansion thesaurus), which are reported as a language row of their own (``zh-held``)."""
    questions = []
    for name, suffix in (("questions.jsonl", ""), ("questions_heldout.jsonl", "-held")):
        path = folder / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    data = json.loads(line)
                    questions.append(Question(**{**data, "lang": data["lang"] + suffix}))
    return questions


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _is_answer(path: str, text: str, question: Question, corpus: Path) -> bool:
    return Path(path) == corpus / question.file and _squash(question.answer) in _squash(text)


# --------------------------------------------------------------------------- embeddings
class CachingEmbedder:
    """The real embedder, remembering what it embedded: configurations share chunks and queries."""

    def __init__(self, inner):
        self.inner = inner
        self._passages: dict[str, np.ndarray] = {}
        self._queries: dict[str, np.ndarray] = {}
        self.embedded = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_passages(self, texts: Sequence[str], cancel: Callable[[], bool] | None = None) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._passages]
        if missing:
            self._passages.update(zip(missing, self.inner.embed_passages(missing, cancel), strict=True))
            self.embedded += len(missing)
        if not texts:
            return np.zeros((0, self.inner.dim), dtype=np.float32)
        return np.stack([self._passages[t] for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._queries[text] = self.inner.embed_query(text)
        return self._queries[text]


# --------------------------------------------------------------------------- baseline
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[A-Za-z0-9]+")


def _bm25_tokens(text: str) -> list[str]:
    out = []
    for run in _TOKEN.findall(text.lower()):
        if run[0].isascii():
            out.append(run)
        else:
            out += [run[i:i + 2] for i in range(len(run) - 1)] if len(run) > 1 else [run]
    return out


class WindowBM25:
    """The baseline: Okapi BM25 over fixed 500-character windows of each file's parsed text."""

    def __init__(self, files: list[Path], width: int = 500, stride: int = 250, k1: float = 1.2, b: float = 0.75):
        from knowledge.filetypes import kind_for_path
        from knowledge.parsing import parse_file_safe

        self.windows: list[tuple[str, str]] = []
        for path in files:
            doc = parse_file_safe(path, kind_for_path(path))
            text = doc.full_text() if hasattr(doc, "full_text") else ""
            for start in range(0, max(1, len(text) - width + stride), stride):
                self.windows.append((str(path), text[start:start + width]))
        self.tf = [Counter(_bm25_tokens(t)) for _, t in self.windows]
        self.lengths = np.array([sum(c.values()) for c in self.tf], dtype=float)
        df = Counter(term for c in self.tf for term in c)
        n = len(self.tf)
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self.k1, self.b, self.avg = k1, b, float(self.lengths.mean()) if n else 1.0

    def search(self, query: str, k: int = 10) -> list[tuple[str, str]]:
        terms = [t for t in _bm25_tokens(query) if t in self.idf]
        scores = np.zeros(len(self.tf))
        norm = self.k1 * (1 - self.b + self.b * self.lengths / self.avg)
        for term in terms:
            tf = np.array([c.get(term, 0) for c in self.tf], dtype=float)
            scores += self.idf[term] * tf * (self.k1 + 1) / (tf + norm)
        top = np.argsort(-scores, kind="stable")[:k]
        return [self.windows[i] for i in top if scores[i] > 0]


# --------------------------------------------------------------------------- scoring
@dataclass
class Row:
    set: str
    config: str  # the index settings that differ from the defaults
    label: str
    ranks: dict[str, int | None]  # question id -> 1-based rank of the first hit (None: not in the top 10)
    chars: dict[str, int]  # question id -> characters of its ten results' text


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _first_hit(results: list[tuple[str, str]], question: Question, corpus: Path) -> int | None:
    target, answer = str(corpus / question.file), _squash(question.answer)
    return next((i for i, (path, text) in enumerate(results, 1) if path == target and answer in _squash(text)),
                None)


def measure(name: str, config: str, label: str, questions: list[Question], corpus: Path,
            search: Callable[[str], list[tuple[str, str]]]) -> Row:
    ranks, chars = {}, {}
    for q in questions:
        results = search(q.query)[:10]
        ranks[q.id] = _first_hit(results, q, corpus)
        chars[q.id] = sum(len(text) for _, text in results)
    return Row(name, config, label, ranks, chars)


def _stats(row: Row, questions: list[Question]) -> tuple[float, float, float, int]:
    ranks = [row.ranks[q.id] for q in questions]
    n = max(1, len(ranks))
    return (sum(r is not None for r in ranks) / n, sum(r is not None and r <= 5 for r in ranks) / n,
            sum(1 / r for r in ranks if r is not None) / n, len(ranks))


def print_rows(rows: list[Row], questions_by_set: dict[str, list[Question]]) -> None:
    head = f"{'set':5} {'index':22} {'rows':26} {'lang':7} {'n':>4} | {'hit@10':>6} {'hit@5':>6} {'MRR@10':>6} | " \
           f"{'x base':>6} | {'chars/10':>8}"
    print(head)
    print("-" * len(head))
    for row in rows:
        questions = questions_by_set[row.set]
        base = next(r for r in rows if r.set == row.set and r.label == "bm25-window")
        for lang in sorted({q.lang for q in questions}):
            subset = [q for q in questions if q.lang == lang]
            hit10, hit5, mrr, n = _stats(row, subset)
            ratio = hit10 / max(1e-9, _stats(base, subset)[0])
            print(f"{row.set:5} {row.config:22} {row.label:26} {lang:7} {n:4} | {hit10:6.3f} {hit5:6.3f} {mrr:6.3f} | "
                  f"{ratio:6.2f} | {np.mean([row.chars[q.id] for q in subset]):8.0f}")


def rewrite_rows(retriever, set_name: str, name: str, questions: list[Question], corpus: Path,
                 modes: list[str]) -> list[Row]:
    """Query rewriting by the bundled SmolLM2 (greedy), searched through ``Retriever.search_queries``."""
    from engine.host import ModelHost
    from engine.models.bundled import DEFAULT_CHAT_MODEL, find_bundled
    from engine.params import LoadOptions
    from knowledge.retrieval import SearchOptions
    from knowledge.rewrite import QueryRewriter, host_generate

    host = ModelHost()
    host.load(find_bundled(DEFAULT_CHAT_MODEL).path, LoadOptions(n_ctx=2048)).result()
    rows = []
    try:
        for mode in modes:
            rewriter = QueryRewriter(host_generate(host), mode)

            def search(query: str, rewriter=rewriter) -> list[tuple[str, str]]:
                queries = [(r.text, r.weight) for r in rewriter.queries(query)]
                return [(h.path, h.text) for h in retriever.search_queries(name, queries, SearchOptions(k=10))]

            started = time.perf_counter()
            rows.append(measure(set_name, "defaults", f"shipped + rewrite {mode}", questions, corpus, search))
            print(f"  rewrite {mode}: {(time.perf_counter() - started) / len(questions):.2f} s a question", flush=True)
    finally:
        host.close()
    return rows


# --------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the eval set only, no ablations (smoke run)")
    parser.add_argument("--sets", default="eval,hard", help="comma-separated: eval, hard")
    parser.add_argument("--setting", action="append", default=[], metavar="KEY=V1,V2",
                        help="index with these collection settings (each combination indexed once)")
    parser.add_argument("--json", type=Path, help="also write every rank to this file")
    parser.add_argument("--rewrite", default="", metavar="MODES",
                        help="also rewrite each question with the bundled chat model (comma-separated: multi, hyde) "
                             "and search all the queries (shipped options, first index configuration)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sets = "eval"
    return args


def _configs(settings: list[str]) -> list[dict]:
    axes = []
    for item in settings:
        key, _, values = item.partition("=")
        axes.append([(key, int(v) if v.isdigit() else v) for v in values.split(",")])
    return [dict(combo) for combo in itertools.product(*axes)] or [{}]


def main(argv=None) -> int:
    args = parse_args(argv)
    names = [n for n in args.sets.split(",") if n]
    missing = [n for n in names if n not in SETS or not (SETS[n] / "questions.jsonl").is_file()]
    if missing:
        print(f"error: no evaluation set {', '.join(missing)} (have: {', '.join(SETS)})", file=sys.stderr)
        return 2
    with scratch_home("nook-eval-") as work:
        return _evaluate(args, names, work)


def _evaluate(args, names: list[str], work: Path) -> int:
    from knowledge.catalog import Catalog
    from knowledge.embeddings import get_embedder
    from knowledge.indexer import Indexer
    from knowledge.retrieval import Retriever
    from knowledge.store import ChunkStore

    embedder = CachingEmbedder(get_embedder())
    catalog, store = Catalog(), ChunkStore()
    indexer = Indexer(catalog, store, embedder=embedder)
    retriever = Retriever(catalog, store, embedder=embedder)
    rows: list[Row] = []
    questions_by_set = {}
    for set_name in names:
        corpus = work / set_name
        files = build_corpus(SETS[set_name] / "docs", corpus)
        questions = questions_by_set[set_name] = load_questions(SETS[set_name])
        chars = sum(len(f.read_text(encoding="utf-8", errors="ignore")) for f in files)
        print(f"{set_name}: {len(files)} files, {chars:,} characters, {len(questions)} questions "
              f"({', '.join(f'{n} {k}' for k, n in sorted(Counter(q.lang for q in questions).items()))})", flush=True)
        started = time.perf_counter()
        baseline = WindowBM25(files)
        rows.append(measure(set_name, "-", "bm25-window", questions, corpus, baseline.search))
        print(f"  baseline: {len(baseline.windows)} windows in {time.perf_counter() - started:.1f} s", flush=True)
        for number, config in enumerate(_configs(args.setting)):
            rows += _evaluate_config(set_name, f"{set_name}-{number}", config, corpus, questions, catalog, indexer,
                                     retriever, quick=args.quick)
        if args.rewrite:
            rows += rewrite_rows(retriever, set_name, f"{set_name}-0", questions, corpus,
                                 [m for m in args.rewrite.split(",") if m])
    print()
    print_rows(rows, questions_by_set)
    print(RERANK_NOTE)
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], ensure_ascii=False, indent=1))
    return 0


def _evaluate_config(set_name, name, config, corpus, questions, catalog, indexer, retriever, quick) -> list[Row]:
    from knowledge.retrieval import SearchOptions

    label = ",".join(f"{k}={v}" for k, v in config.items()) or "defaults"
    catalog.create(name, [corpus], **config)
    started = time.perf_counter()
    summary = indexer.index(name)
    if summary.failed:
        raise SystemExit(f"error: {name}: failed {summary.failed}")
    print(f"  indexed {label}: {summary.chunks_written} chunks ({getattr(summary, 'chunks_fulltext_only', 0)} "
          f"full-text only) "
          f"in {time.perf_counter() - started:.1f} s", flush=True)
    shipped = SearchOptions(k=10)
    plan = [("shipped (hybrid)", shipped)]
    if not quick:
        plan += [("fulltext", replace(shipped, mode="fulltext")), ("vector", replace(shipped, mode="vector")),
                 ("hybrid 2:1", replace(shipped, vector_weight=2.0)),
                 ("hybrid 1:2", replace(shipped, fulltext_weight=2.0)),
                 ("no query cleanup", replace(shipped, clean_query=False)),
                 ("no register terms", replace(shipped, register_weight=0.0)),
                 ("register terms boost 0.2", replace(shipped, register_weight=0.2)),
                 ("register terms boost 0.5", replace(shipped, register_weight=0.5)),
                 ("+ feedback x0.15", replace(shipped, feedback_weight=0.15)),
                 ("+ feedback x0.3", replace(shipped, feedback_weight=0.3)),
                 ("no dedupe", replace(shipped, dedupe=False))]
    rows = []
    for row_label, options in plan:
        def search(query: str, options=options) -> list[tuple[str, str]]:
            return [(h.path, h.text) for h in retriever.search(name, query, options)]

        rows.append(measure(set_name, label, row_label, questions, corpus, search))
    return rows


if __name__ == "__main__":
    sys.exit(main())
