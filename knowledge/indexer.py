"""Incremental, crash-safe indexing of a collection.

One run: scan the collection's folders, compare with the manifest, and do only what changed.
- unchanged size and mtime: skipped without reading the file;
- changed mtime but same content hash: only the manifest is touched;
- new or changed content: parsed, chunked, embedded, and its chunks replaced in one LanceDB commit;
- gone from disk (or now excluded/skipped): its chunks are deleted;
- chunks whose file the manifest does not know (left by a killed run): deleted.
Files are processed in short batches; each batch is one LanceDB commit followed by one SQLite
transaction for the manifest. A run killed at any point leaves a consistent pair: the next run
redoes the batch that was in flight (replacing by chunk id is idempotent), so there are no
duplicates, no orphans and no missing files.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine import activity
from engine.diskspace import disk_full_advice, is_no_space
from engine.errors import DiskFullError, InglenookError
from knowledge.catalog import Catalog, Collection, FileRecord, file_id_for
from knowledge.chunking import Chunk, chunk_document, context_spans
from knowledge.embeddings import OnnxEmbedder, get_embedder
from knowledge.errors import KnowledgeError
from knowledge.parsing import parse_file_safe
from knowledge.scanning import FileCandidate, SkippedFile, scan
from knowledge.store import ChunkRow, ChunkStore, embedder_of
from knowledge.textsearch import segment
from knowledge.textunits import mostly_cjk, units

log = logging.getLogger(__name__)


@dataclass
class IndexProgress:
    """What the CLI's progress bar and the window's progress row show."""

    collection: str
    phase: str  # "scanning", "indexing", "finishing", "done"
    files_total: int = 0
    files_done: int = 0
    files_failed: int = 0
    chunks_done: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    elapsed_s: float = 0.0
    current: str = ""

    @property
    def chunks_per_s(self) -> float:
        return self.chunks_done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if self.bytes_done <= 0 or self.elapsed_s <= 0:
            return None
        return (self.bytes_total - self.bytes_done) / (self.bytes_done / self.elapsed_s)


@dataclass
class IndexSummary:
    collection: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    orphans_removed: int = 0
    chunks_written: int = 0
    chunks_fulltext_only: int = 0  # in a language the embedder does not cover: not embedded
    rebuilt: bool = False  # the embedder changed: built a new table while the old one served searches
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False
    embedder_id: str = ""

    def as_dict(self) -> dict:
        return {**{k: v for k, v in self.__dict__.items() if k not in ("skipped", "failed")},
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
                "failed": [{"path": p, "reason": r} for p, r in self.failed]}


ProgressCallback = Callable[[IndexProgress], None]


@dataclass
class _Pending:
    candidate: FileCandidate
    record: FileRecord
    chunks: list[Chunk]
    contexts: list[tuple[int, int]]
    full_text: str
    is_new: bool


class Indexer:
    def __init__(self, catalog: Catalog | None = None, store: ChunkStore | None = None,
                 embedder: OnnxEmbedder | None = None, batch_chunks: int = 512, batch_files: int = 256,
                 embed_uncovered: bool = False):
        # A batch is one embed_passages call and one LanceDB commit. The embedder sorts a call's passages by
        # length before cutting them into model batches, so a bigger call pads less: flushes of ~120 chunks
        # cost ~12% more CPU per passage than one call over the same passages, ~480 chunks no more
        # (benchmarks/bench_index.py). A killed run redoes at most one batch (~5 s of embedding).
        self.catalog = catalog or Catalog()
        self.store = store or ChunkStore()
        self._embedder = embedder
        self.batch_chunks = batch_chunks
        self.batch_files = batch_files
        # True: embed chunks in languages the embedder does not cover as well (what indexing did before it
        # checked; kept for benchmarks/bench_index.py to measure the difference)
        self.embed_uncovered = embed_uncovered

    def embedder_for(self, collection: Collection) -> OnnxEmbedder:
        return self._embedder or get_embedder(collection.setting("embedder"))

    # ------------------------------------------------------------------ run
    def index(self, name: str, *, progress: ProgressCallback | None = None,
              cancel: threading.Event | None = None) -> IndexSummary:
        run = _Run(self, self.catalog.get(name), progress, cancel)
        with activity.background_work():  # a reply meanwhile decodes on one thread
            try:
                return run.execute()
            except InglenookError:
                raise
            except Exception as exc:  # LanceDB says "No space left on device" as a RuntimeError
                if is_no_space(exc):
                    raise DiskFullError(
                        f"Indexing {name} stopped: {disk_full_advice(self.store.root)}. The collection keeps "
                        f"answering from what was indexed before; run the indexing again to finish it.") from exc
                raise


class _Run:
    """State of one indexing run (kept out of ``Indexer`` so runs never share it)."""

    def __init__(self, indexer: Indexer, collection: Collection, progress: ProgressCallback | None,
                 cancel: threading.Event | None):
        self.ix = indexer
        self.collection = collection
        self.embedder = indexer.embedder_for(collection)
        self.cancel = cancel or threading.Event()
        self.progress_cb = progress
        self.summary = IndexSummary(collection.name, embedder_id=self.embedder.id)
        self.state = IndexProgress(collection.name, "scanning")
        self.started = time.perf_counter()
        self.last_report = 0.0
        self.pending: list[_Pending] = []
        self.pending_chunks = 0  # of them to embed
        self.pending_all = 0
        self.size = max(8, int(collection.setting("chunk_size")))
        self.overlap = min(int(collection.setting("chunk_overlap")), self.size // 2)
        self.context = max(self.size, int(collection.setting("context_size")))
        self.scope = str(collection.setting("context_scope"))
        self.segmenter = str(collection.setting("segmenter"))
        self.measure = ChunkMeasure(self.embedder, self.size, everything=indexer.embed_uncovered)
        # What the manifest compares: a file indexed with another embedder, chunk size or segmenter
        # is stale and gets re-processed, so changing a collection's settings takes effect on the next run.
        self.pipeline_id = (f"{self.embedder.id}{'+all' if indexer.embed_uncovered else ''};units={self.size}/{self.overlap}/{self.context}/{self.scope};"
                            f"seg={self.segmenter};v2")

    def report(self, force: bool = False) -> None:
        now = time.perf_counter()
        self.state.elapsed_s = now - self.started
        if self.progress_cb and (force or now - self.last_report >= 0.1):
            self.last_report = now
            self.progress_cb(self.state)

    def execute(self) -> IndexSummary:
        c = self.collection
        self.table_name = self.target_table()
        self.table = self.ix.store.open(self.table_name, self.embedder.dim, self.embedder.id,
                                        str(c.setting("embedder")))
        manifest = self.ix.catalog.files(c)
        in_table = self.ix.store.file_ids(self.table)
        candidates, skipped = self.scan()
        self.record_skipped(skipped, manifest)
        todo = []
        present = {str(x.path) for x in candidates} | {str(s.path) for s in skipped}
        for cand in candidates:
            record = manifest.get(str(cand.path))
            if self.is_unchanged(cand, record, in_table):
                self.summary.unchanged += 1
            else:
                todo.append((cand, record))
        self.remove_missing(manifest, present, in_table)
        self.state.phase = "indexing"
        self.state.files_total = len(todo)
        self.state.bytes_total = sum(cand.size for cand, _ in todo)
        self.report(force=True)
        for cand, record in todo:
            if self.cancel.is_set():
                self.summary.cancelled = True
                break
            self.state.current = str(cand.path)
            self.process(cand, record, in_table)
            self.report()
        if not self.summary.cancelled:
            self.flush()
        self.state.phase = "finishing"
        self.report(force=True)
        if not self.summary.cancelled:
            self.ix.store.ensure_indexes(self.table)
            self.go_live()
            self.ix.catalog.mark_indexed(c)
        self.summary.seconds = time.perf_counter() - self.started
        self.state.phase = "done"
        self.report(force=True)
        return self.summary

    def target_table(self) -> str:
        """The live table, unless it holds another embedder's vectors: then a table of this embedder's own,
        built while the old one keeps answering searches, and swapped in by ``go_live`` once complete."""
        live = self.ix.store.existing(self.collection.table_name)
        if live is None or embedder_of(live)[0] == self.embedder.id:
            return self.collection.table_name
        self.summary.rebuilt = True
        return self.collection.table_for(self.embedder.id)

    def go_live(self) -> None:
        """Make the table this run completed the one searches use, and drop the collection's others."""
        c = self.collection
        if self.table_name != c.table_name:
            self.ix.catalog.set_live_table(c, self.table_name)
        for name in self.ix.store.table_names():
            if c.owns_table(name) and name != self.table_name:
                self.ix.store.drop(name)

    # --------------------------------------------------------------- scanning
    def scan(self) -> tuple[list[FileCandidate], list[SkippedFile]]:
        c = self.collection
        candidates, skipped = [], []
        for result in scan(c.roots, exclude=c.setting("exclude"), max_bytes=int(c.setting("max_bytes")),
                           include_hidden=bool(c.setting("include_hidden"))):
            (candidates if isinstance(result, FileCandidate) else skipped).append(result)
        return candidates, skipped

    def is_unchanged(self, cand: FileCandidate, record: FileRecord | None, in_table: set[str]) -> bool:
        return (record is not None and record.status == "indexed" and record.size == cand.size
                and record.mtime_ns == cand.mtime_ns and record.embedder_id == self.pipeline_id
                and (record.chunk_count == 0 or record.file_id in in_table))

    def record_skipped(self, skipped: list[SkippedFile], manifest: dict[str, FileRecord]) -> None:
        records, stale = [], []
        for item in skipped:
            path = str(item.path)
            self.summary.skipped.append((path, item.reason))
            old = manifest.get(path)
            if old is not None and old.status == "indexed":
                stale.append(old.file_id)
            records.append(FileRecord(path, file_id_for(path), None, None, None, None, None, 0, "skipped",
                                      item.reason))
        self.ix.store.delete_files(self.table, stale)
        self.ix.catalog.save_records(self.collection, records)

    def remove_missing(self, manifest: dict[str, FileRecord], present: set[str], in_table: set[str]) -> None:
        gone = [r for p, r in manifest.items() if p not in present]
        known = {r.file_id for p, r in manifest.items() if p in present}
        orphans = sorted(in_table - known - {r.file_id for r in gone})
        self.ix.store.delete_files(self.table, [r.file_id for r in gone] + orphans)
        self.ix.catalog.delete_records(self.collection, [r.path for r in gone])
        self.summary.removed = sum(1 for r in gone if r.status == "indexed")
        self.summary.orphans_removed = len(orphans)
        in_table.difference_update(orphans)

    # ------------------------------------------------------------- processing
    def process(self, cand: FileCandidate, record: FileRecord | None, in_table: set[str]) -> None:
        path = str(cand.path)
        file_id = file_id_for(path)
        try:
            content_hash = _hash_file(cand.path)
        except OSError as exc:
            self.fail(cand, record, f"cannot read: {exc.strerror or exc}")
            return
        if (record is not None and record.status == "indexed" and record.content_hash == content_hash
                and record.embedder_id == self.pipeline_id and (record.chunk_count == 0 or file_id in in_table)):
            record.size, record.mtime_ns = cand.size, cand.mtime_ns  # touched, not changed
            self.ix.catalog.save_records(self.collection, [record])
            self.summary.unchanged += 1
            self.done(cand)
            return
        parsed = parse_file_safe(cand.path, cand.kind)
        if isinstance(parsed, SkippedFile):
            self.fail(cand, record, parsed.reason)
            return
        try:
            chunks = chunk_document(parsed, self.measure, max_tokens=self.size, overlap_tokens=self.overlap)
            full_text = parsed.full_text()
            contexts = context_spans(chunks, units, full_text, self.context, self.scope)
        except Exception as exc:  # a chunker bug must not stop the run: record it and go on
            log.exception("chunking %s failed", path)
            self.fail(cand, record, f"could not be split into chunks ({exc})")
            return
        new_record = FileRecord(path, file_id, cand.kind, cand.size, cand.mtime_ns, content_hash,
                                self.pipeline_id, len(chunks), "indexed", None, list(parsed.warnings))
        self.pending.append(_Pending(cand, new_record, chunks, contexts, full_text,
                                     record is None or record.status != "indexed"))
        # A batch is sized by the chunks it will embed (the embedder's cost), and bounded in all chunks too
        self.pending_chunks += sum(self.measure.covers(c.text) for c in chunks)
        self.pending_all += len(chunks)
        if (self.pending_chunks >= self.ix.batch_chunks or self.pending_all >= 8 * self.ix.batch_chunks
                or len(self.pending) >= self.ix.batch_files):
            self.flush()

    def fail(self, cand: FileCandidate, record: FileRecord | None, reason: str) -> None:
        path = str(cand.path)
        self.summary.failed.append((path, reason))
        self.state.files_failed += 1
        if record is not None and record.status == "indexed":
            self.ix.store.delete_files(self.table, [record.file_id])
        failed = FileRecord(path, file_id_for(path), cand.kind, cand.size, cand.mtime_ns, None, None, 0,
                            "failed", reason)
        self.ix.catalog.save_records(self.collection, [failed])
        self.done(cand)

    def done(self, cand: FileCandidate) -> None:
        self.state.files_done += 1
        self.state.bytes_done += cand.size

    def flush(self) -> None:
        """Embed the pending files' chunks and commit them: one LanceDB commit, one SQLite transaction."""
        if not self.pending:
            return
        batch, self.pending, self.pending_chunks, self.pending_all = self.pending, [], 0, 0
        chunks = [(item, chunk, span) for item in batch for chunk, span in zip(item.chunks, item.contexts, strict=True)]
        covered = [self.measure.covers(chunk.text) for _, chunk, _ in chunks]
        texts = [_embedding_text(chunk) for (_, chunk, _), yes in zip(chunks, covered, strict=True) if yes]
        try:
            vectors = iter(self.embedder.embed_passages(texts, cancel=self.cancel.is_set))
        except KnowledgeError:
            if self.cancel.is_set():
                self.summary.cancelled = True
                return
            raise
        blank = np.zeros(self.embedder.dim, dtype=np.float32)
        rows = [_row(item, chunk, span, next(vectors) if yes else blank, yes, self.segmenter)
                for (item, chunk, span), yes in zip(chunks, covered, strict=True)]
        self.summary.chunks_fulltext_only += covered.count(False)
        self.ix.store.replace_files(self.table, [item.record.file_id for item in batch], rows)
        self.ix.catalog.save_records(self.collection, [item.record for item in batch])
        for item in batch:
            if item.is_new:
                self.summary.added += 1
            else:
                self.summary.updated += 1
            self.done(item.candidate)
        self.summary.chunks_written += len(rows)
        self.state.chunks_done += len(rows)
        self.report()


def _embedding_text(chunk: Chunk) -> str:
    """The chunk as embedded: its nearest headings first, so a section's topic travels with it."""
    trail = " > ".join(chunk.heading_trail[-2:])
    return f"{trail}\n{chunk.text}" if trail and not chunk.text.startswith(chunk.heading_trail[-1]) else chunk.text


def _row(item: _Pending, chunk: Chunk, span: tuple[int, int], vector, embedded: bool, segmenter: str) -> ChunkRow:
    record = item.record
    heading = " > ".join(chunk.heading_trail)
    return ChunkRow(
        id=f"{record.file_id}-{record.content_hash[:12]}-{chunk.ordinal}",
        file_id=record.file_id, path=record.path, kind=record.kind or "", ordinal=chunk.ordinal,
        text=chunk.text, fts_text=_fts_text(heading, chunk.text, segmenter),
        page=chunk.page, heading=heading, start=chunk.start, end=chunk.end, vector=vector,
        context=item.full_text[span[0]:span[1]], context_start=span[0], context_end=span[1], embedded=embedded,
    )


def _fts_text(heading: str, text: str, segmenter: str) -> str:
    """What the full-text index sees: the heading trail twice (a heading names the topic of everything under
    it: hard set zh hit@10 0.919 -> 0.931 against once), then the text, CJK segmented."""
    return segment(f"{heading}\n{heading}\n{text}" if heading else text, segmenter)


class ChunkMeasure:
    """How long a piece of text is for the chunker: knowledge.textunits units, and never more than the
    embedder can read when the embedder will embed it (English with MiniLM: 300 units = 150 words, ~200 of
    its 254 tokens; text the embedder does not cover is only full-text indexed, so only units count)."""

    def __init__(self, embedder: OnnxEmbedder, size: int, everything: bool = False):
        self.embedder = embedder
        self.multilingual = bool(embedder.spec.multilingual) or everything
        self.per_token = size / max(1, embedder.max_content_tokens)

    def covers(self, text: str) -> bool:
        """Whether the embedder gives ``text`` a meaningful vector (an English-only one: not for CJK text)."""
        return self.multilingual or not mostly_cjk(text)

    def __call__(self, text: str) -> int:
        size = units(text)
        if self.covers(text):
            size = max(size, math.ceil(self.embedder.count_tokens(text) * self.per_token))
        return size


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
