"""Search latency at 100,000 chunks (vector, full-text, hybrid) and the choice of ANN index.

How the table is built (embedding 100k chunks for real would take ~15 min on this machine):
- a few thousand DISTINCT passages are embedded for real with the bundled MiniLM: the chunks of the
  retrieval evaluation corpus (benchmarks/eval, English and Chinese) plus generated English and
  Chinese paragraphs of 3-8 sentences;
- each of the 100k rows reuses one of them: its text is ~70% of the passage's sentences (a random
  subset), one sentence of another passage and a unique reference line (so rows that share a passage
  are similar but not near-duplicates); its vector is the passage's real vector plus Gaussian noise
  (cosine ~0.9 to the original), re-normalised;
- rows are written with the store's own schema and segmentation (``ChunkStore.open``,
  ``knowledge.store.schema``, ``textsearch.segment``), then ``ChunkStore.ensure_indexes`` builds the
  full-text index, the scalar indexes and the ANN index exactly as an indexing run does.
Queries are real questions (the evaluation set's 80, English and Chinese) embedded for real, asked
through ``Retriever.search`` - the product path: catalog lookup, table open, query embedding, the
searches, fusion and de-duplication.

ANN: build time and recall@10 against an exact scan (numpy over the same vectors) for IVF_FLAT,
IVF_SQ and IVF_PQ with the store's partition count, and vector-search latency with each index vs the
exact scan (the baseline, same run).

Usage: python -m benchmarks.bench_search [--rows 100000|20000] [--passages 2000] [--ann flat,sq,pq] [--quick]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from benchmarks.common import en_paragraph, scratch_home, zh_paragraph
from benchmarks.eval_retrieval import SETS, build_corpus, load_questions

NOISE = 0.025  # per dimension; |noise| ~ 0.49, so a copy has cosine ~0.9 to its passage
ANN_TYPES = {"flat": "IVF_FLAT", "sq": "IVF_SQ", "pq": "IVF_PQ"}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--passages", type=int, default=2000, help="distinct passages embedded for real")
    parser.add_argument("--queries", type=int, default=80, help="queries timed per mode (from the eval set)")
    parser.add_argument("--recall-queries", type=int, default=50)
    parser.add_argument("--ann", default="flat,sq,pq", help="ANN index types to compare: flat, sq, pq")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also profile the hybrid searches and print the top N functions")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5,000 rows, 300 passages, flat only")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.passages, args.queries, args.recall_queries, args.ann = 5000, 300, 20, 20, "flat"
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    with scratch_home("nook-bench-search-") as work:
        return run(args, work)


def passages(work: Path, count: int, count_tokens) -> list[str]:
    """Real chunk texts: the eval corpus chunked like the indexer does, then generated paragraphs."""
    from knowledge.chunking import chunk_document
    from knowledge.parsing import parse_file

    out = []
    for path in build_corpus(SETS["eval"] / "docs", work / "corpus"):
        out += [c.text for c in chunk_document(parse_file(path), count_tokens, max_tokens=300, overlap_tokens=40)]
    rng = random.Random(11)
    while len(out) < count:
        out.append(zh_paragraph(rng, rng.randint(3, 8)) if len(out) % 3 == 2 else en_paragraph(rng, rng.randint(3, 8)))
    return out[:count]


_SENTENCE = re.compile(r"(?<=[.!?。！？])\s*")


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()] or [text]


def _row_text(sentences: list[list[str]], passage: int, row: int, rng: random.Random) -> str:
    """Most sentences of ``passage`` (each kept with probability 0.7), one sentence of another passage, and a
    unique reference line: rows that share a passage share its vector (plus noise) but are not near-copies
    of each other, as the retriever's de-duplication would otherwise collapse them (and do extra work)."""
    own = [s for s in sentences[passage] if rng.random() < 0.7] or sentences[passage][:1]
    other = rng.choice(sentences[rng.randrange(len(sentences))])
    joiner = "" if _CJK.search(own[0]) else " "
    return joiner.join([*own, other]) + f"\nRef. BX-{row:06d} / 编号{row}"


_CJK = re.compile(r"[\u4e00-\u9fff]")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def run(args, work: Path) -> int:
    from lancedb.index import IvfFlat, IvfPq, IvfSq

    from knowledge.catalog import Catalog
    from knowledge.embeddings import get_embedder
    from knowledge.retrieval import Retriever, SearchOptions
    from knowledge.store import ANN_MIN_ROWS, ChunkStore, schema
    from knowledge.textsearch import segment

    embedder = get_embedder()
    from knowledge.indexer import ChunkMeasure
    from knowledge.textunits import mostly_cjk

    texts = passages(work, args.passages, ChunkMeasure(embedder, 300))
    started = time.perf_counter()
    base = embedder.embed_passages(texts)
    embed_s = time.perf_counter() - started

    (work / "empty").mkdir()
    catalog, store = Catalog(), ChunkStore()
    collection = catalog.create("bench", [work / "empty"])
    segmenter = collection.setting("segmenter")
    table = store.open(collection.table_name, embedder.dim, embedder.id)

    rng = np.random.default_rng(5)
    sentences = [_sentences(t) for t in texts]
    pick = random.Random(3)
    vectors = np.empty((args.rows, embedder.dim), dtype=np.float32)
    started = time.perf_counter()
    batch = 20_000
    for lo in range(0, args.rows, batch):
        hi = min(args.rows, lo + batch)
        src = np.arange(lo, hi) % len(texts)
        vec = base[src] + rng.normal(0.0, NOISE, size=(hi - lo, embedder.dim)).astype(np.float32)
        vec /= np.linalg.norm(vec, axis=1, keepdims=True)
        vectors[lo:hi] = vec
        row_texts = [_row_text(sentences, int(p), i, pick) for i, p in zip(range(lo, hi), src, strict=True)]
        columns = {
            "id": [f"r{i}" for i in range(lo, hi)],
            "file_id": [f"f{i // 4}" for i in range(lo, hi)],
            "path": [f"/bench/folder{(i // 4) % 50}/doc{i // 4}.md" for i in range(lo, hi)],
            "kind": ["markdown"] * (hi - lo),
            "ordinal": [i % 4 for i in range(lo, hi)],
            "text": row_texts,
            "fts_text": [segment(t, segmenter) for t in row_texts],
            "page": [None] * (hi - lo),
            "heading": [""] * (hi - lo),
            "start": [0] * (hi - lo),
            "end": [len(t) for t in row_texts],
            "context": row_texts,
            "context_start": [0] * (hi - lo),
            "context_end": [len(t) for t in row_texts],
            "embedded": [not mostly_cjk(t) for t in row_texts],  # as the indexer does with an English-only model
        }
        table_schema = table.schema
        arrays = [pa.array(columns[f.name], type=f.type) for f in schema(embedder.dim) if f.name != "vector"]
        arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(vec.reshape(-1)), embedder.dim))
        table.add(pa.Table.from_arrays(arrays, schema=table_schema))
    write_s = time.perf_counter() - started
    started = time.perf_counter()
    store.ensure_indexes(table)
    index_s = time.perf_counter() - started
    indices = {tuple(i.columns): i.index_type for i in table.list_indices()}
    print(f"TABLE {args.rows} rows built from {len(texts)} distinct passages embedded for real "
          f"({embed_s:.1f} s, {len(texts) / embed_s:.0f} passages/s); each row = ~70% of a passage's sentences + one "
          f"sentence of another + a unique reference line, vector = its real embedding + N(0, {NOISE}) noise, renormalised")
    print(f"write {write_s:.1f} s; ensure_indexes {index_s:.1f} s -> "
          + ", ".join(f"{c[0]}: {t}" for c, t in sorted(indices.items())))
    if args.rows < ANN_MIN_ROWS:
        print(f"(below ANN_MIN_ROWS={ANN_MIN_ROWS}: the store keeps an exact scan; ANN figures use an index built here)")

    questions = load_questions(SETS["eval"])
    queries = [q.query for q in questions][: args.queries]
    started = time.perf_counter()
    qvecs = np.stack([embedder.embed_query(q) for q in queries])
    embed_ms = (time.perf_counter() - started) * 1000 / len(queries)

    # -------------------------------------------------------------- ANN choice
    exact_top = np.argsort(-(vectors @ qvecs[: args.recall_queries].T), axis=0)[:10].T  # (queries, 10)
    exact_ms = _vector_latency(table, qvecs, exact=True)
    print()
    print(f"vector top-10, exact scan (baseline): p50 {pct(exact_ms, 50):.1f} ms, p95 {pct(exact_ms, 95):.1f} ms")
    partitions = max(16, int(args.rows ** 0.5) // 2)  # as ChunkStore.ensure_indexes
    ANN_CONFIGS = {"IVF_FLAT": IvfFlat, "IVF_SQ": IvfSq, "IVF_PQ": IvfPq}
    kinds = [ANN_TYPES[k.strip()] for k in args.ann.split(",") if k.strip()]
    kinds = [k for k in kinds if k != "IVF_FLAT"] + (["IVF_FLAT"] if "IVF_FLAT" in kinds else [])  # flat last
    for kind in kinds:
        started = time.perf_counter()
        table.create_index("vector", config=ANN_CONFIGS[kind](distance_type="cosine", num_partitions=partitions),
                           replace=True)
        build_s = time.perf_counter() - started
        recall = []
        for qi in range(min(args.recall_queries, len(qvecs))):
            got = table.search(qvecs[qi]).distance_type("cosine").select(["id", "_distance"]).limit(10).to_list()
            ids = {int(r["id"][1:]) for r in got}
            recall.append(len(ids & set(exact_top[qi].tolist())) / 10)
        ms = _vector_latency(table, qvecs, exact=False)
        print(f"ANN {kind:8} partitions={partitions}: build {build_s:5.1f} s, recall@10 {np.mean(recall):.3f} "
              f"({len(recall)} queries), vector top-10 p50 {pct(ms, 50):.1f} ms "
              f"(x{pct(exact_ms, 50) / pct(ms, 50):.1f} faster than exact)")
    if kinds and kinds[-1] != "IVF_FLAT" and args.rows >= ANN_MIN_ROWS:
        table.create_index("vector", config=IvfFlat(distance_type="cosine", num_partitions=partitions), replace=True)
    if args.rows < ANN_MIN_ROWS and kinds:  # the product path below measures what the store builds: no ANN index
        for index in table.list_indices():
            if list(index.columns) == ["vector"]:
                table.drop_index(index.name)

    # -------------------------------------------------------------- product path
    retriever = Retriever(catalog, store, embedder=embedder)
    for q in queries[:5]:  # warm caches (index files, jieba, onnx)
        retriever.search("bench", q, SearchOptions())
    print()
    print(f"query embedding alone: {embed_ms:.1f} ms mean")
    print(f"LATENCY Retriever.search over {args.rows} chunks, k=10, {len(queries)} queries (incl. query embedding):")
    for mode in ("vector", "fulltext", "hybrid"):
        options = SearchOptions(mode=mode)
        ms = []
        for q in queries:
            started = time.perf_counter()
            retriever.search("bench", q, options)
            ms.append((time.perf_counter() - started) * 1000)
        target = f"  (target p95 < 100 ms: {'met' if pct(ms, 95) < 100 else 'NOT met'})" if mode == "hybrid" else ""
        print(f"  {mode:8} p50 {pct(ms, 50):6.1f} ms  p95 {pct(ms, 95):6.1f} ms{target}")
    print("  hybrid + rerank: not measured - no cross-encoder reranker model is available offline on this machine")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for q in queries:
            retriever.search("bench", q, SearchOptions())
        profiler.disable()
        print(f"\nprofile of {len(queries)} hybrid searches:")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(args.profile)
    return 0


def _vector_latency(table, qvecs: np.ndarray, exact: bool) -> list[float]:
    out = []
    for vec in qvecs:
        q = table.search(vec).distance_type("cosine").select(["id", "_distance"]).limit(10)
        if exact:
            q = q.bypass_vector_index()
        started = time.perf_counter()
        q.to_list()
        out.append((time.perf_counter() - started) * 1000)
    return out


if __name__ == "__main__":
    sys.exit(main())
