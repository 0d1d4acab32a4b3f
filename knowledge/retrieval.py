"""Hybrid retrieval: vector search and full-text search, fused by weighted reciprocal rank fusion.

Vector search finds passages that mean the same as the question; full-text search finds the ones
that contain its exact words (names, codes, article numbers — what embeddings miss, and the only
thing that works for Chinese with an English embedder). RRF combines the two rankings without
having to calibrate their scores against each other. Near-duplicate passages (overlapping chunks,
the same file copied twice) are collapsed so the top k carry k different pieces of evidence.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from knowledge.catalog import Catalog, Collection
from knowledge.embeddings import OnnxEmbedder, get_embedder
from knowledge.errors import KnowledgeError
from knowledge.query_expansion import feedback_terms, register_terms
from knowledge.store import ChunkStore, embedder_of
from knowledge.textsearch import DEFAULT_SEGMENTER, clean_query, mostly_cjk, segment

RRF_K = 60
MODES = ("hybrid", "vector", "fulltext")


@dataclass
class SearchOptions:
    k: int = 10
    mode: str = "hybrid"
    # 2:1 over full text: hard set English MRR@10 0.779 vs 0.768 at 1:1, the easy set equal (0.969)
    vector_weight: float = 2.0
    fulltext_weight: float = 1.0
    # Weight of the vector ranker, instead of vector_weight, when the query is mostly Chinese/Japanese/Korean
    # and the embedder is not multilingual: the bundled MiniLM is English-only, its vectors of Chinese text
    # are near noise (eval: zh MRR@10 0.20 vector-only vs 0.92 full-text), and every step of vector weight
    # toward 0 raised zh MRR@10 (1:1 0.61 ... 1:16 0.83, 1:100 0.92). At 0.01 the vector hits only fill in
    # after the full-text ones, so a Chinese query with no keyword match still gets results. None: off.
    cjk_vector_weight: float | None = 0.01
    candidates: int = 50  # taken from each ranker before fusion
    path_glob: str | None = None
    kinds: list[str] | None = None
    clean_query: bool = True  # drop the fillers of colloquial Chinese (请问, 我, 怎么办, 吗) before full-text search
    # Boost of the formal terms for a Chinese query's everyday words (knowledge.query_expansion; 0: off),
    # searched in the same full-text query as the words themselves, so their BM25 scores add up (score
    # = BM25(words) + boost x BM25(formal terms)). Hard set zh hit@10 / MRR@10: 0 -> 0.931 / 0.708;
    # a separate ranking fused at 0.2 (before) 0.943 / 0.701; in the query at 0.2 0.951 / 0.745, 0.35
    # 0.959 / 0.759, 0.5 0.951 / 0.773; held-out questions (written blind to the thesaurus) 0.944 at
    # every boost, MRR@10 0.645 fused -> 0.744 at 0.35 (README).
    register_weight: float = 0.35
    # Weight of pseudo-relevance-feedback terms; off: it never raised hit@10 on the hard set (0.15 and 0.3
    # with the register terms: 0.939, 0.935 vs 0.943) and lowered English MRR@10 (0.768 -> 0.707).
    feedback_weight: float = 0.0
    dedupe: bool = True
    dedupe_threshold: float = 0.85


@dataclass
class SearchHit:
    path: str
    text: str
    score: float
    page: int | None
    heading: str | None
    chunk_id: str
    file_id: str
    kind: str
    start: int
    end: int
    collection: str = ""
    vector_rank: int | None = None
    fulltext_rank: int | None = None
    similarity: float | None = None  # cosine similarity to the query, when the vector ranker saw it
    match: str = ""  # the small chunk that matched; ``text`` is the passage around it given to the answer
    extra: dict = field(default_factory=dict)

    def public(self) -> dict:
        """The stable JSON contract of `nook search --json`."""
        return {"path": self.path, "text": self.text, "score": round(self.score, 6), "page": self.page,
                "heading": self.heading or None}

    def as_dict(self) -> dict:
        return asdict(self)


def glob_to_like(pattern: str) -> str:
    """A shell glob as an SQL LIKE pattern (``*`` -> ``%``, ``?`` -> ``_``, others escaped)."""
    out = []
    for ch in pattern:
        if ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        elif ch in "%_\\":
            out.append("\\" + ch)
        elif ch == "'":
            out.append("''")
        else:
            out.append(ch)
    like = "".join(out)
    if not like.startswith("%") and not pattern.startswith("/"):
        like = "%" + like  # a relative glob matches anywhere in the absolute path
    return like


def _where(options: SearchOptions) -> str | None:
    parts = []
    if options.path_glob:
        parts.append(f"path LIKE '{glob_to_like(options.path_glob)}' ESCAPE '\\'")
    if options.kinds:
        kinds = ", ".join("'" + k.replace("'", "''") + "'" for k in options.kinds)
        parts.append(f"kind IN ({kinds})")
    return " AND ".join(parts) or None


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _search_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fulltext-search")
        return _pool


_COLUMNS = ["id", "file_id", "path", "kind", "text", "page", "heading", "start", "end", "context", "context_start",
            "context_end"]


class Retriever:
    def __init__(self, catalog: Catalog | None = None, store: ChunkStore | None = None,
                 embedder: OnnxEmbedder | None = None):
        self.catalog = catalog or Catalog()
        self.store = store or ChunkStore()
        self._embedder = embedder

    def search(self, collections: str | Iterable[str], query: str, options: SearchOptions | None = None) -> list[SearchHit]:
        return self.search_queries(collections, [(query, 1.0)], options)

    def search_queries(self, collections: str | Iterable[str], queries: list[tuple[str, float]],
                       options: SearchOptions | None = None) -> list[SearchHit]:
        """Search several weighted queries (a question and its rewrites) and fuse all their rankings."""
        options = options or SearchOptions()
        if options.mode not in MODES:
            raise KnowledgeError(f"Unknown search mode {options.mode!r}; use one of {', '.join(MODES)}.")
        queries = [(text, weight) for text, weight in queries if text.strip()]
        if not queries:
            raise KnowledgeError("The search query is empty.")
        names = [collections] if isinstance(collections, str) else list(collections)
        rankings: list[tuple[float, list[SearchHit]]] = []
        for name in names:
            collection = self.catalog.get(name)
            table = self.store.existing(collection.table_name)
            if table is None or table.count_rows() == 0:
                continue
            for text, weight in queries:
                rankings += [(w * weight, hits) for w, hits in self._rankings(collection, table, text, options)]
        fused = fuse(rankings, options.candidates * 2)
        if options.dedupe:
            fused = dedupe(fused, options.dedupe_threshold, limit=options.k)
        return fused[: options.k]

    def _rankings(self, collection: Collection, table, query: str, options: SearchOptions):
        """The vector and full-text rankings. In hybrid mode the full-text search runs on a helper thread
        while this one embeds the query and searches the vectors (both wait mostly in native code), so
        a hybrid search costs about the slower of the two instead of their sum."""
        where = _where(options)
        out = []
        fulltext = None
        if options.mode == "hybrid":
            fulltext = _search_pool().submit(self._fulltext_rankings, collection, table, query, options, where)
        if options.mode in ("hybrid", "vector"):
            embedder = self._embedder or get_embedder(embedder_of(table)[1] or collection.setting("embedder"))
            weight = options.vector_weight
            if options.cjk_vector_weight is not None and not embedder.spec.multilingual and mostly_cjk(query):
                weight = options.cjk_vector_weight
            try:
                out.append((weight, self._vector(collection, table, embedder.embed_query(query),
                                                 options.candidates, where)))
            except BaseException:
                if fulltext is not None:
                    fulltext.cancel()
                raise
        if fulltext is not None:
            out += fulltext.result()
        elif options.mode == "fulltext":
            out += self._fulltext_rankings(collection, table, query, options, where)
        return out

    def _fulltext_rankings(self, collection, table, query: str, options: SearchOptions, where):
        """The full-text ranking of the (cleaned) query, plus lighter rankings of the formal terms for its
        everyday words and of pseudo-relevance-feedback terms (knowledge.query_expansion)."""
        segmenter = str(collection.setting("segmenter"))
        cleaned = clean_query(query) if options.clean_query else query
        words = _fts_query(cleaned, segmenter)
        formal = ""
        if options.register_weight and mostly_cjk(query):
            formal = _fts_query(" ".join(register_terms(cleaned)), segmenter)
        if formal:
            from lancedb.query import BooleanQuery, MatchQuery, Occur  # lancedb loads lazily (see store.py)

            search = BooleanQuery([(Occur.SHOULD, MatchQuery(words, "fts_text")),
                                   (Occur.SHOULD, MatchQuery(formal, "fts_text", boost=options.register_weight))])
            first = self._fulltext(collection, table, search, options.candidates, where)
        else:
            first = self._fulltext(collection, table, words, options.candidates, where)
        out = [(options.fulltext_weight, first)]
        if options.feedback_weight and len(first) > 3:
            tokens = [h.extra["fts"].split() for h in first]
            terms = feedback_terms(tokens[:3], tokens, set(words.split()))
            if terms:
                hits = self._fulltext(collection, table, " ".join(terms), options.candidates, where)
                out.append((options.fulltext_weight * options.feedback_weight, hits))
        return out

    @staticmethod
    def _vector(collection, table, vector, limit, where) -> list[SearchHit]:
        q = table.search(vector, vector_column_name="vector").distance_type("cosine").select([*_COLUMNS, "_distance"]).limit(limit)
        # chunks in a language the embedder does not cover have a blank vector: never vector-search them
        q = q.where(f"embedded AND ({where})" if where else "embedded", prefilter=True)
        hits = []
        for rank, row in enumerate(q.to_list(), start=1):
            hit = _hit(row, collection.name, 1.0 - float(row["_distance"]))
            hit.vector_rank, hit.similarity = rank, hit.score
            hits.append(hit)
        return hits

    @staticmethod
    def _fulltext(collection, table, text, limit: int, where) -> list[SearchHit]:
        """One full-text search of ``text``: a string already segmented like the index (``_fts_query``), or
        a lancedb ``BooleanQuery`` of such strings with their boosts."""
        if not text:
            return []
        if isinstance(text, str):
            q = table.search(text, query_type="fts", fts_columns="fts_text")
        else:
            q = table.search(text, query_type="fts")
        q = q.select([*_COLUMNS, "fts_text", "_score"])
        q = q.limit(limit)
        if where:
            q = q.where(where, prefilter=True)
        hits = []
        for rank, row in enumerate(q.to_list(), start=1):
            hit = _hit(row, collection.name, float(row.get("_score", 0.0)))
            hit.fulltext_rank = rank
            hit.extra["fts"] = row.get("fts_text") or ""
            hits.append(hit)
        return hits

    def timed_search(self, collections, query, options=None) -> tuple[list[SearchHit], float]:
        started = time.perf_counter()
        hits = self.search(collections, query, options)
        return hits, (time.perf_counter() - started) * 1000


_FTS_SYNTAX = re.compile(r"[\"'():^~*?\[\]{}!+\-\\/:]")


def _fts_query(query: str, segmenter: str = DEFAULT_SEGMENTER) -> str:
    """The user's words, segmented like the index, with query-syntax characters removed."""
    return " ".join(_FTS_SYNTAX.sub(" ", segment(query, segmenter)).split())


def _hit(row: dict, collection: str, score: float) -> SearchHit:
    """A result carries the passage around the matched chunk (``context``, small-to-big) as its text; rows
    written before there was a context column carry the chunk itself."""
    context = row.get("context")
    start, end = (row["context_start"], row["context_end"]) if context else (row.get("start"), row.get("end"))
    return SearchHit(path=row["path"], text=context or row["text"], score=score, page=row.get("page"),
                     heading=row.get("heading") or None, chunk_id=row["id"], file_id=row["file_id"],
                     kind=row.get("kind") or "", start=start or 0, end=end or 0,
                     collection=collection, match=row["text"])


def fuse(rankings: list[tuple[float, list[SearchHit]]], limit: int) -> list[SearchHit]:
    """Weighted reciprocal rank fusion: score = sum of weight / (60 + rank) over the rankers."""
    if len(rankings) == 1:
        weight, hits = rankings[0]
        return hits[:limit]
    merged: dict[str, SearchHit] = {}
    for weight, hits in rankings:
        for rank, hit in enumerate(hits, start=1):
            key = f"{hit.collection}/{hit.chunk_id}"
            current = merged.get(key)
            if current is None:
                current = merged[key] = SearchHit(**{**hit.__dict__, "score": 0.0})
            current.score += weight / (RRF_K + rank)
            current.vector_rank = current.vector_rank or hit.vector_rank
            current.fulltext_rank = current.fulltext_rank or hit.fulltext_rank
            if hit.similarity is not None:
                current.similarity = hit.similarity
    return sorted(merged.values(), key=lambda h: -h.score)[:limit]


def _shingles(text: str, n: int = 5) -> set[str]:
    squashed = re.sub(r"\s+", "", text.lower())
    return {squashed[i:i + n] for i in range(max(1, len(squashed) - n + 1))}


def dedupe(hits: list[SearchHit], threshold: float, limit: int | None = None) -> list[SearchHit]:
    """Drop a hit when most of its text is already in a better one (containment of 5-char shingles).

    Stops once ``limit`` hits are kept: shingling all ~100 fused candidates took up to ~35 ms of a ~100 ms
    hybrid search at 100k chunks (benchmarks/bench_search.py --profile), the top k need ~k of them.
    """
    kept: list[tuple[SearchHit, set[str]]] = []
    for hit in hits:
        if limit is not None and len(kept) >= limit:
            break
        shingles = _shingles(hit.text)
        duplicate = any(len(shingles & seen) / max(1, min(len(shingles), len(seen))) >= threshold
                        for _, seen in kept)
        if not duplicate:
            kept.append((hit, shingles))
    return [hit for hit, _ in kept]
