"""`nook collections ...`, `nook index`, `nook search`, and the document part of `nook ask`."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from desktop_app.cli.common import print_json
from knowledge.catalog import Catalog
from knowledge.errors import KnowledgeError
from knowledge.indexer import Indexer, IndexProgress, IndexSummary
from knowledge.retrieval import Retriever, SearchOptions


def run_collections(args: argparse.Namespace) -> int:
    catalog = Catalog()
    action = args.collections_action
    if action == "create":
        settings = {}
        if args.exclude:
            settings["exclude"] = args.exclude
        if args.max_mb:
            settings["max_bytes"] = int(args.max_mb * 1024 * 1024)
        collection = catalog.create(args.name, args.paths, **settings)
        print(f"Created {collection.name} with {len(collection.roots)} folder(s); index it with "
              f"`nook index {collection.name}`.")
    elif action == "list":
        collections = catalog.list()
        if args.json:
            print_json([{"name": c.name, "roots": [str(r) for r in c.roots], **catalog.status_counts(c)}
                        for c in collections])
            return 0
        for collection in collections:
            counts = catalog.status_counts(collection)
            print(f"{collection.name:24} {counts.get('indexed', 0):6} files  {counts['chunks']:8} chunks  "
                  f"{', '.join(str(r) for r in collection.roots)}")
        if not collections:
            print("No collections yet: `nook collections create NAME FOLDER`.")
    elif action == "status":
        return _status(catalog, args)
    elif action == "remove":
        from knowledge.store import ChunkStore

        collection = catalog.remove(args.name)
        ChunkStore().drop(collection.table_name)
        print(f"Removed {collection.name} (your files are untouched).")
    return 0


def _status(catalog: Catalog, args) -> int:
    collection = catalog.get(args.name)
    counts = catalog.status_counts(collection)
    files = catalog.files(collection)
    problems = [r for r in files.values() if r.status in ("skipped", "failed")]
    warned = [r for r in files.values() if r.warnings]
    if args.json:
        print_json({"name": collection.name, "roots": [str(r) for r in collection.roots], "counts": counts,
                    "indexed_at": collection.indexed_at,
                    "problems": [{"path": r.path, "status": r.status, "reason": r.reason} for r in problems],
                    "warnings": [{"path": r.path, "warnings": r.warnings} for r in warned]})
        return 0
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(collection.indexed_at)) if collection.indexed_at else "never"
    print(f"{collection.name}: {counts.get('indexed', 0)} files indexed, {counts['chunks']} chunks, "
          f"{counts.get('skipped', 0)} skipped, {counts.get('failed', 0)} failed; last indexed {when}")
    for root in collection.roots:
        print(f"  folder: {root}")
    for record in sorted(problems, key=lambda r: r.path):
        print(f"  {record.status:8} {record.path}: {record.reason}")
    for record in warned:
        for warning in record.warnings:
            print(f"  warning  {record.path}: {warning}")
    return 0


def _bar(p: IndexProgress) -> str:
    width = 24
    frac = p.files_done / p.files_total if p.files_total else 1.0
    filled = int(frac * width)
    eta = f"ETA {p.eta_s:4.0f} s" if p.eta_s is not None and p.phase == "indexing" else ""
    return (f"\r\033[K{p.phase:9} [{'#' * filled}{'.' * (width - filled)}] {p.files_done}/{p.files_total} files, "
            f"{p.chunks_done} chunks, {p.chunks_per_s:5.1f} chunks/s {eta}")


def print_summary(summary: IndexSummary, out=sys.stdout) -> None:
    state = "cancelled" if summary.cancelled else "done"
    print(f"{summary.collection}: {state} in {summary.seconds:.1f} s — {summary.added} added, {summary.updated} updated, "
          f"{summary.unchanged} unchanged, {summary.removed} removed, {summary.chunks_written} chunks written, "
          f"{len(summary.skipped)} skipped, {len(summary.failed)} failed", file=out)
    for path, reason in summary.failed:
        print(f"  failed   {path}: {reason}", file=out)
    for path, reason in summary.skipped[:20]:
        print(f"  skipped  {path}: {reason}", file=out)
    if len(summary.skipped) > 20:
        print(f"  … and {len(summary.skipped) - 20} more skipped (`nook collections status NAME`)", file=out)


def run_index(args: argparse.Namespace) -> int:
    indexer = Indexer()
    cancel = threading.Event()
    show = (lambda p: print(_bar(p), end="", file=sys.stderr, flush=True)) if sys.stderr.isatty() else None
    try:
        summary = indexer.index(args.name, progress=show, cancel=cancel)
    except KeyboardInterrupt:
        cancel.set()
        print("\nCancelled; the next run continues where this one stopped.", file=sys.stderr)
        return 130
    if show:
        print(file=sys.stderr)
    if args.json:
        print_json(summary.as_dict())
    else:
        print_summary(summary)
    if not args.watch:
        return 0
    from knowledge.watch import CollectionWatcher

    watcher = CollectionWatcher(indexer, args.name, on_run=print_summary,
                                on_error=lambda exc: print(f"error: {exc}", file=sys.stderr))
    watcher.start()
    print(f"Watching {args.name} for changes (Ctrl-C to stop)...", file=sys.stderr)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        watcher.stop()
    return 0


def search_options(args) -> SearchOptions:
    return SearchOptions(k=args.k, mode=args.mode, path_glob=args.path, kinds=args.type or None)


def run_search(args: argparse.Namespace) -> int:
    retriever = Retriever()
    options = search_options(args)
    names = [n.strip() for n in args.name.split(",") if n.strip()]
    if args.queries:
        return _batch(retriever, names, Path(args.queries), options)
    if not args.query:
        raise KnowledgeError("Give a query, or --queries FILE.jsonl for a batch.")
    hits = retriever.search(names, args.query, options)
    if args.json:
        print(json.dumps({"query": args.query, "results": [h.public() for h in hits]}, ensure_ascii=False))
        return 0
    for i, hit in enumerate(hits, start=1):
        where = f" p.{hit.page}" if hit.page else ""
        heading = f" — {hit.heading}" if hit.heading else ""
        print(f"{i:2}. {hit.path}{where}{heading}  ({hit.score:.4f})")
        print("    " + " ".join(hit.text.split())[:200])
    if not hits:
        print("No results.")
    return 0


def _batch(retriever: Retriever, names: list[str], path: Path, options: SearchOptions) -> int:
    """Read {"id", "query"} lines, write {"id", "results", "latency_ms"} lines (the evaluation contract)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise KnowledgeError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            qid, query = item["id"], item["query"]
        except (ValueError, KeyError, TypeError):
            print(f"error: {path}:{number} is not a JSON object with \"id\" and \"query\"; skipped.", file=sys.stderr)
            continue
        hits, ms = retriever.timed_search(names, query, options)
        print(json.dumps({"id": qid, "results": [h.public() for h in hits], "latency_ms": round(ms, 3)},
                         ensure_ascii=False), flush=True)
    return 0
