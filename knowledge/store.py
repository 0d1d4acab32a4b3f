"""Chunks and their vectors in LanceDB: one table per collection.

Each row is one chunk: its vector, its text, a copy of the text segmented for full-text search
(see ``knowledge.textsearch``), and where it came from (path, page, heading trail, offsets).
A file's chunks are replaced in ONE LanceDB commit (``merge_insert`` keyed on the chunk id with
"delete what the file no longer has"), so a crash never leaves a file half old, half new.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from knowledge.catalog import knowledge_dir
from knowledge.errors import KnowledgeError

log = logging.getLogger(__name__)
if not os.environ.get("LANCE_LOG"):  # set but empty counts as unset: lance's Rust logger warns on every scored query
    os.environ["LANCE_LOG"] = "error"

ANN_MIN_ROWS = 50_000  # below this an exact scan is fast enough (and has perfect recall)


@dataclass
class ChunkRow:
    id: str
    file_id: str
    path: str
    kind: str
    ordinal: int
    text: str
    fts_text: str
    page: int | None
    heading: str
    start: int
    end: int
    vector: np.ndarray
    context: str = ""  # the passage the answer step gets (small-to-big); "" means the chunk itself
    context_start: int = 0
    context_end: int = 0
    embedded: bool = True  # False: the embedder does not cover the chunk's language, full-text only


def schema(dim: int) -> pa.Schema:
    return pa.schema([
        pa.field("id", pa.string(), nullable=False),
        pa.field("file_id", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),
        pa.field("kind", pa.string()),
        pa.field("ordinal", pa.int32()),
        pa.field("text", pa.string()),
        pa.field("fts_text", pa.string()),
        pa.field("page", pa.int32()),
        pa.field("heading", pa.string()),
        pa.field("start", pa.int64()),
        pa.field("end", pa.int64()),
        pa.field("context", pa.string()),
        pa.field("context_start", pa.int64()),
        pa.field("context_end", pa.int64()),
        pa.field("embedded", pa.bool_()),
        pa.field("vector", pa.list_(pa.float32(), dim)),
    ])


# Columns added after the first release, with what rows written before them hold.
_ADDED_COLUMNS = {
    "context": "CAST(NULL AS STRING)",
    "context_start": "CAST(NULL AS BIGINT)",
    "context_end": "CAST(NULL AS BIGINT)",
    "embedded": "TRUE",
}


def upgrade(table):
    """Add the columns a table made by an older version lacks (its rows read as chunk-sized, embedded)."""
    missing = {name: sql for name, sql in _ADDED_COLUMNS.items() if name not in table.schema.names}
    if missing:
        table.add_columns(missing)
    return table


def embedder_of(table) -> tuple[str, str]:
    """``(embedder id, registry name)`` recorded when the table was made ("" when unknown)."""
    meta = table.schema.metadata or {}
    return meta.get(b"embedder_id", b"").decode(), meta.get(b"embedder_name", b"").decode()


def _quote(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


class ChunkStore:
    """A LanceDB database folder holding one table per collection."""

    def __init__(self, root: Path | None = None):
        import lancedb

        self.root = root or knowledge_dir() / "lancedb"
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = lancedb.connect(str(self.root))

    def table_names(self) -> list[str]:
        result = self.db.list_tables()
        names = getattr(result, "tables", result)
        return list(names)

    def open(self, name: str, dim: int, embedder_id: str, embedder_name: str = "", *,
             reset_if_embedder_changed: bool = True):
        """The table, created if missing. A table made by another embedder is recreated empty."""
        if name in self.table_names():
            table = self.db.open_table(name)
            old = embedder_of(table)[0]
            if old == embedder_id and table.schema.field("vector").type.list_size == dim:
                return upgrade(table)
            if not reset_if_embedder_changed:
                raise KnowledgeError(f"Table {name} was built with {old}, not {embedder_id}.")
            log.info("embedder changed (%s -> %s): rebuilding %s", old, embedder_id, name)
            self.db.drop_table(name)
        metadata = {"embedder_id": embedder_id, "embedder_name": embedder_name}
        return self.db.create_table(name, schema=schema(dim).with_metadata(metadata))

    def existing(self, name: str):
        # Opening directly and catching "not found" saves listing every table (~7 ms per search at 100k rows).
        try:
            return upgrade(self.db.open_table(name))
        except ValueError as exc:
            if "not found" in str(exc):
                return None
            raise

    def drop(self, name: str) -> None:
        if name in self.table_names():
            self.db.drop_table(name)

    @staticmethod
    def replace_files(table, file_ids: list[str], rows: list[ChunkRow]) -> None:
        """Make the listed files' chunks exactly ``rows`` in one commit."""
        if not file_ids:
            return
        condition = f"file_id IN ({_quote(file_ids)})"
        if not rows:
            table.delete(condition)
            return
        data = _to_arrow(rows, table.schema)
        (table.merge_insert("id")
         .when_matched_update_all()
         .when_not_matched_insert_all()
         .when_not_matched_by_source_delete(condition)
         .execute(data))

    @staticmethod
    def delete_files(table, file_ids: list[str]) -> None:
        for start in range(0, len(file_ids), 500):
            table.delete(f"file_id IN ({_quote(file_ids[start:start + 500])})")

    @staticmethod
    def file_ids(table) -> set[str]:
        n = table.count_rows()
        if n == 0:
            return set()
        column = table.search().select(["file_id"]).limit(n).to_arrow().column("file_id")
        return set(column.unique().to_pylist())

    @staticmethod
    def ensure_indexes(table) -> None:
        """Full-text index, scalar index on path, and an ANN index once the table is large."""
        from lancedb.index import FTS, Bitmap, BTree, IvfFlat

        n = table.count_rows()
        if n == 0:
            return
        indexed = {idx.name: idx for idx in table.list_indices()}
        columns = {tuple(idx.columns) for idx in indexed.values()}
        if ("fts_text",) not in columns:
            table.create_index("fts_text", config=FTS(base_tokenizer="simple", stem=True, remove_stop_words=True,
                                                      with_position=False))
        if ("file_id",) not in columns:
            table.create_index("file_id", config=BTree())
        if ("path",) not in columns:
            table.create_index("path", config=BTree())
        if ("embedded",) not in columns:  # vector search prefilters on it: ~7 ms less at 20k rows
            table.create_index("embedded", config=Bitmap())
        if n >= ANN_MIN_ROWS and ("vector",) not in columns:
            # IVF_FLAT, chosen by benchmarks/bench_search.py at 100k rows on this 2-core machine:
            # IVF_FLAT 13.8 s to build, recall@10 0.994; IVF_SQ 20.8 s, 0.966; IVF_PQ 98 s, 0.264.
            table.create_index("vector", config=IvfFlat(distance_type="cosine",
                                                        num_partitions=max(16, int(n ** 0.5) // 2)))
        table.optimize()  # fold new rows into the indexes and compact small fragments


def _to_arrow(rows: list[ChunkRow], table_schema: pa.Schema) -> pa.Table:
    dim = table_schema.field("vector").type.list_size
    vectors = np.stack([r.vector for r in rows]).astype(np.float32).reshape(-1)
    columns = {
        "id": [r.id for r in rows],
        "file_id": [r.file_id for r in rows],
        "path": [r.path for r in rows],
        "kind": [r.kind for r in rows],
        "ordinal": [r.ordinal for r in rows],
        "text": [r.text for r in rows],
        "fts_text": [r.fts_text for r in rows],
        "page": [r.page for r in rows],
        "heading": [r.heading for r in rows],
        "start": [r.start for r in rows],
        "end": [r.end for r in rows],
        "context": [r.context for r in rows],
        "context_start": [r.context_start for r in rows],
        "context_end": [r.context_end for r in rows],
        "embedded": [r.embedded for r in rows],
    }
    arrays = [pa.array(columns[f.name], type=f.type) for f in table_schema if f.name != "vector"]
    arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(vectors, type=pa.float32()), dim))
    return pa.Table.from_arrays(arrays, schema=table_schema)


def warm_up(dim: int = 8) -> None:
    """Run LanceDB's write, index and query paths once on a throwaway table.

    Their first use builds internal models and schemas while holding the GIL (~100 ms, measured by
    benchmarks/bench_gui.py); a GUI calls this on a background thread at start, so that cost is not paid
    in the middle of the user's first indexing run or search.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="inglenook-warm-") as folder:
        store = ChunkStore(Path(folder))
        table = store.open("warm", dim, "warm-up")
        row = ChunkRow("w:0", "w", "/w.txt", "text", 0, "warm up", "warm up", None, "", 0, 7,
                       np.ones(dim, dtype=np.float32))
        store.replace_files(table, ["w"], [row])
        store.ensure_indexes(table)
        table.search(np.ones(dim, dtype=np.float32), vector_column_name="vector").limit(1).to_list()
        table.search("warm", query_type="fts", fts_columns="fts_text").limit(1).to_list()
