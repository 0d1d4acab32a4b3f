"""Retrieval quality on our own evaluation set: hit@5 and MRR@10 for vector, full-text and hybrid search.

The set (``benchmarks/eval/``) is ~60 short original documents, English and Chinese, in Markdown, text,
HTML, DOCX and PDF (the last two are made from ``*.docx.md`` / ``*.pdf.txt`` sources at run time), and
80 questions, half English, half Chinese, some keyword-style (names, codes, article numbers), most
paraphrased. Each question names the file and a distinctive substring that the answering chunk must
contain; a hit is a result from that file whose text contains the substring (whitespace ignored).

The corpus is indexed with the real indexer and real embeddings, once per chunk size and Chinese
segmenter (the segmenter only changes the full-text column, so vectors are embedded once per chunk
size and reused), then every question is asked through ``Retriever.search`` in each mode: vector,
full-text, hybrid at each plain vector:fulltext RRF weighting, and "hybrid default" (``SearchOptions()``
as shipped, including its weighting of the vector ranker for mostly-Chinese queries).

RECOMMENDED picks each default on the rows that vary it, averaged over the others (segmenter: mean
MRR@10 of its full-text and hybrid rows; chunk size: mean MRR@10 of its rows; weights: English MRR@10,
since Chinese queries are weighted separately); the current default wins a tie at 3 decimals.
Hybrid + rerank is not measured: no cross-encoder model is available offline here (the script says so).

Usage: python -m benchmarks.eval_retrieval [--quick] [--chunk-sizes 128,200,256]
       [--segmenters jieba,bigram] [--weights 1:1,1:2,2:1] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.common import scratch_home

EVAL_DIR = Path(__file__).resolve().parent / "eval"
RERANK_NOTE = ("hybrid + rerank: not measured - no cross-encoder reranker model is available offline on this "
               "machine (none bundled, no network); the rows above are what ships.")


# --------------------------------------------------------------------------- corpus
def build_corpus(dest: Path) -> list[Path]:
    """Copy ``eval/docs`` to ``dest``, turning ``X.docx.md`` into ``X.docx`` and ``X.pdf.txt`` into ``X.pdf``."""
    made = []
    for source in sorted((EVAL_DIR / "docs").rglob("*")):
        if not source.is_file():
            continue
        rel = source.relative_to(EVAL_DIR / "docs")
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


def load_questions() -> list[Question]:
    lines = (EVAL_DIR / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [Question(**json.loads(line)) for line in lines if line.strip()]


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


# --------------------------------------------------------------------------- scoring
@dataclass
class Score:
    hit5: float
    mrr10: float
    n: int


def score(ranks: list[int | None]) -> Score:
    """``ranks``: 1-based rank of the first answering result per question (None: not in the top 10)."""
    n = len(ranks)
    if not n:
        return Score(0.0, 0.0, 0)
    hit5 = sum(1 for r in ranks if r is not None and r <= 5) / n
    mrr = sum(1.0 / r for r in ranks if r is not None and r <= 10) / n
    return Score(hit5, mrr, n)


@dataclass
class Row:
    chunk: int
    segmenter: str
    label: str  # "vector", "fulltext", "hybrid 1:2" (plain weighting), "hybrid default" (SearchOptions())
    ranks: dict[str, int | None]  # question id -> rank


def run_config(retriever, name: str, questions: list[Question], corpus: Path,
               options) -> tuple[dict[str, int | None], list[float]]:
    ranks: dict[str, int | None] = {}
    latencies = []
    for q in questions:
        started = time.perf_counter()
        hits = retriever.search(name, q.query, options)
        latencies.append((time.perf_counter() - started) * 1000)
        ranks[q.id] = next((i for i, h in enumerate(hits, start=1) if _is_answer(h.path, h.text, q, corpus)), None)
    return ranks, latencies


def rewrite_rows(retriever, name: str, questions: list[Question], corpus: Path, size: int, segmenter: str,
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
            ranks: dict[str, int | None] = {}
            started = time.perf_counter()
            for q in questions:
                queries = rewriter.queries(q.query)
                hits = retriever.search_queries(name, [(r.text, r.weight) for r in queries], SearchOptions(k=10))
                ranks[q.id] = next((i for i, h in enumerate(hits, start=1)
                                    if _is_answer(h.path, h.text, q, corpus)), None)
            print(f"rewrite {mode}: {len(questions)} questions rewritten and searched in "
                  f"{time.perf_counter() - started:.0f} s "
                  f"({(time.perf_counter() - started) / len(questions):.2f} s a question)", flush=True)
            rows.append(Row(size, segmenter, f"default+{mode}", ranks))
    finally:
        host.close()
    return rows


def coverage(store, collection, questions: list[Question], corpus: Path) -> list[str]:
    """Questions whose answer substring is not inside any single chunk of its file (cut by chunking)."""
    table = store.existing(collection.table_name)
    data = table.to_arrow().select(["path", "text"]).to_pylist()
    return [q.id for q in questions if not any(_is_answer(r["path"], r["text"], q, corpus) for r in data)]


# --------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one chunk size, 1:1 weights only (smoke run)")
    parser.add_argument("--chunk-sizes", default="128,200,256", help="comma-separated chunk_tokens values")
    parser.add_argument("--segmenters", default="jieba,bigram", help="comma-separated: jieba, bigram")
    parser.add_argument("--weights", default="1:1,1:2,2:1", help="vector:fulltext RRF weightings for hybrid")
    parser.add_argument("--json", type=Path, help="also write every rank and score to this file")
    parser.add_argument("--rewrite", default="", metavar="MODES",
                        help="also rewrite each question with the bundled chat model (comma-separated: multi, hyde) "
                             "and search all the queries (hybrid default, last chunk size and segmenter)")
    args = parser.parse_args(argv)
    if args.quick:
        args.chunk_sizes, args.weights = "200", "1:1"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    sizes = [int(s) for s in args.chunk_sizes.split(",")]
    segmenters = args.segmenters.split(",")
    weightings = [tuple(float(x) for x in w.split(":")) for w in args.weights.split(",")]
    with scratch_home("nook-eval-") as work:
        return _evaluate(args, sizes, segmenters, weightings, work)


def _evaluate(args, sizes, segmenters, weightings, work: Path) -> int:
    from knowledge.catalog import Catalog
    from knowledge.embeddings import get_embedder
    from knowledge.indexer import Indexer
    from knowledge.retrieval import Retriever, SearchOptions
    from knowledge.store import ChunkStore
    from knowledge.textsearch import DEFAULT_SEGMENTER

    corpus = work / "corpus"
    files = build_corpus(corpus)
    questions = load_questions()
    langs = sorted({q.lang for q in questions})
    print(f"corpus: {len(files)} files ({sum(f.stat().st_size for f in files) / 1024:.0f} KiB), "
          f"{len(questions)} questions ({', '.join(f'{sum(q.lang == g for q in questions)} {g}' for g in langs)}; "
          f"{sum(q.style == 'keyword' for q in questions)} keyword-style)")
    embedder = CachingEmbedder(get_embedder())
    catalog, store = Catalog(), ChunkStore()
    indexer = Indexer(catalog, store, embedder=embedder)
    retriever = Retriever(catalog, store, embedder=embedder)
    defaults = SearchOptions()
    rows: list[Row] = []
    latencies: dict[str, list[float]] = {}
    for size in sizes:
        for segmenter in segmenters:
            name = f"eval-{segmenter}-{size}"
            catalog.create(name, [corpus], chunk_tokens=size, segmenter=segmenter)
            started = time.perf_counter()
            summary = indexer.index(name)
            if summary.failed or summary.skipped:
                print(f"error: {name}: failed {summary.failed} skipped {summary.skipped}", file=sys.stderr)
                return 1
            cut = coverage(store, catalog.get(name), questions, corpus)
            print(f"indexed chunk_tokens={size} segmenter={segmenter}: {summary.chunks_written} chunks in "
                  f"{time.perf_counter() - started:.1f} s; answer passages split by chunking: "
                  f"{len(cut)}{' (' + ', '.join(cut) + ')' if cut else ''}", flush=True)
            plan = [("fulltext", SearchOptions(k=10, mode="fulltext"))]
            plan += [(f"hybrid {_w(w)}", SearchOptions(k=10, mode="hybrid", vector_weight=w[0], fulltext_weight=w[1],
                                                      cjk_vector_weight=None)) for w in weightings]
            plan.append(("hybrid default", SearchOptions(k=10)))
            if segmenter == segmenters[0]:  # the vector ranking does not depend on the segmenter
                plan.insert(0, ("vector", SearchOptions(k=10, mode="vector")))
            for label, options in plan:
                ranks, ms = run_config(retriever, name, questions, corpus, options)
                latencies.setdefault(options.mode, []).extend(ms)
                rows.append(Row(size, segmenter if options.mode != "vector" else "-", label, ranks))

    if args.rewrite:
        name = f"eval-{segmenters[-1]}-{sizes[-1]}"
        rows += rewrite_rows(retriever, name, questions, corpus, sizes[-1], segmenters[-1],
                             [m for m in args.rewrite.split(",") if m])
    print()
    print_table(rows, questions)
    print(RERANK_NOTE)
    print("latency over the eval runs (ms, median): " + ", ".join(
        f"{mode} {np.median(ms):.1f}" for mode, ms in latencies.items()))
    print(f"hybrid default = SearchOptions() as shipped: vector:fulltext "
          f"{_w((defaults.vector_weight, defaults.fulltext_weight))}, and {defaults.cjk_vector_weight}:"
          f"{defaults.fulltext_weight:g} for a mostly-Chinese query (English-only embedder)")
    recommend(rows, questions, DEFAULT_SEGMENTER, _default_chunk(), _w((defaults.vector_weight,
                                                                       defaults.fulltext_weight)))
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], ensure_ascii=False, indent=1))
    return 0


def _w(weights: tuple[float, float]) -> str:
    return ":".join(f"{x:g}" for x in weights)


def _default_chunk() -> int:
    from knowledge.catalog import DEFAULT_SETTINGS

    return int(DEFAULT_SETTINGS["chunk_tokens"])


def _subset_score(row: Row, questions: list[Question], pick: Callable[[Question], bool]) -> Score:
    return score([row.ranks[q.id] for q in questions if pick(q)])


def _mrr(row: Row, questions: list[Question], pick: Callable[[Question], bool] = lambda q: True) -> float:
    return _subset_score(row, questions, pick).mrr10


def print_table(rows: list[Row], questions: list[Question]) -> None:
    head = (f"{'chunk':>5} {'segmenter':9} {'mode':14} | {'hit@5':>6} {'en':>6} {'zh':>6} | "
            f"{'MRR@10':>6} {'en':>6} {'zh':>6} | {'keyword':>7} {'semantic':>8} (MRR@10)")
    print(head)
    print("-" * len(head))
    for row in rows:
        total = _subset_score(row, questions, lambda q: True)
        en = _subset_score(row, questions, lambda q: q.lang == "en")
        zh = _subset_score(row, questions, lambda q: q.lang == "zh")
        kw = _subset_score(row, questions, lambda q: q.style == "keyword")
        sem = _subset_score(row, questions, lambda q: q.style != "keyword")
        print(f"{row.chunk:>5} {row.segmenter:9} {row.label:14} | {total.hit5:6.3f} {en.hit5:6.3f} {zh.hit5:6.3f} | "
              f"{total.mrr10:6.3f} {en.mrr10:6.3f} {zh.mrr10:6.3f} | {kw.mrr10:7.3f} {sem.mrr10:8.3f}")


def _argmax(scores: dict, current) -> object:
    """The key with the best score; the current default wins a tie (no churn on noise)."""
    return max(scores, key=lambda k: (round(scores[k], 3), k == current))


def recommend(rows: list[Row], questions: list[Question], seg_now: str, chunk_now: int, weights_now: str) -> None:
    """Each default chosen on the rows that vary it, averaged over the others (80 questions are few:
    a single best cell is partly luck, a setting that wins across the grid is not)."""
    ranked = [r for r in rows if r.label != "vector" and not r.label.startswith("default+")]
    segs = {s: statistics.mean(_mrr(r, questions) for r in ranked if r.segmenter == s)
            for s in {r.segmenter for r in ranked}}
    segmenter = _argmax(segs, seg_now)
    chunks = {c: statistics.mean(_mrr(r, questions) for r in rows if r.chunk == c and r.segmenter in (segmenter, "-"))
              for c in {r.chunk for r in rows}}
    chunk = _argmax(chunks, chunk_now)
    cell = [r for r in rows if r.chunk == chunk and r.segmenter in (segmenter, "-")]
    plain = {r.label.split()[1]: r for r in cell if r.label.startswith("hybrid ") and r.label != "hybrid default"}
    english = _argmax({w: _mrr(r, questions, lambda q: q.lang == "en") for w, r in plain.items()}, weights_now)
    print("mean MRR@10 by segmenter (full-text and hybrid rows): "
          + ", ".join(f"{k} {v:.3f}" for k, v in sorted(segs.items())))
    print(f"mean MRR@10 by chunk_tokens ({segmenter}): " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(chunks.items())))
    print(f"English MRR@10 by weighting (chunk {chunk}, {segmenter}): "
          + ", ".join(f"{w} {_mrr(r, questions, lambda q: q.lang == 'en'):.3f}" for w, r in plain.items()))
    print(f"RECOMMENDED: segmenter={segmenter} chunk_tokens={chunk} weights(vector:fulltext)={english} for English")
    best = next(r for r in cell if r.label == "hybrid default")
    s = _subset_score(best, questions, lambda q: True)
    en = _subset_score(best, questions, lambda q: q.lang == "en")
    zh = _subset_score(best, questions, lambda q: q.lang == "zh")
    ratios = []
    for label in ("vector", "fulltext", f"hybrid {weights_now}"):
        other = next((r for r in cell if r.label == label), None)
        if other is not None and _mrr(other, questions):
            ratios.append(f"x{s.mrr10 / _mrr(other, questions):.2f} {label}")
    print(f"BEST hybrid default at chunk_tokens={chunk} segmenter={segmenter}: hit@5 {s.hit5:.3f} "
          f"(en {en.hit5:.3f}, zh {zh.hit5:.3f})  MRR@10 {s.mrr10:.3f} (en {en.mrr10:.3f}, zh {zh.mrr10:.3f});"
          f" MRR@10 vs {', '.join(ratios)}")
    missed = [q.id for q in questions if best.ranks[q.id] is None or best.ranks[q.id] > 5]
    print(f"missed at 5 by it: {', '.join(missed) or 'none'}")


if __name__ == "__main__":
    sys.exit(main())
