"""`nook collections ...`, `nook index`, `nook search`, and the document part of `nook ask`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from desktop_app.cli.common import print_json
from knowledge.errors import KnowledgeError
from knowledge.indexer import IndexProgress, IndexSummary
from knowledge.library import Library, WatchEvent
from knowledge.retrieval import Retriever, SearchOptions


def run_collections(args: argparse.Namespace) -> int:
    library = Library()
    try:
        return _collections_action(library, args)
    finally:
        library.close()


def _collections_action(library: Library, args) -> int:
    action = args.collections_action
    if action == "create":
        settings = {}
        if args.exclude:
            settings["exclude"] = args.exclude
        if args.max_mb:
            settings["max_bytes"] = int(args.max_mb * 1024 * 1024)
        collection = library.create(args.name, args.paths, **settings, **_index_settings(args))
        print(f"Created {collection.name} with {len(collection.roots)} folder(s); index it with "
              f"`nook index {collection.name}`.")
    elif action == "set":
        changes = _index_settings(args)
        if not changes:
            raise KnowledgeError("Nothing to change: give --embedder, --chunk-size, --context-size or --segmenter.")
        collection = library.catalog.update(args.name, **changes)
        print(f"{collection.name}: {', '.join(f'{k} = {v}' for k, v in changes.items())}; "
              f"`nook index {collection.name}` applies it (searches keep using the current index meanwhile).")
    elif action == "list":
        _list(library, args)
    elif action == "status":
        return _status(library, args)
    elif action == "remove":
        collection = library.remove(args.name)
        print(f"Removed {collection.name} (your files are untouched).")
    return 0


def _index_settings(args) -> dict:
    """The index settings given on the command line, checked (an embedder must exist)."""
    changes = {key: getattr(args, key) for key in ("embedder", "chunk_size", "context_size", "segmenter")
               if getattr(args, key, None) is not None}
    if "embedder" in changes:
        from knowledge.embeddings import available_embedders

        if changes["embedder"] not in available_embedders():
            raise KnowledgeError(f"No embedding model called {changes['embedder']!r}; "
                                 f"choose one of {', '.join(available_embedders())} (`nook embedders`).")
    return changes


def run_embedders(args: argparse.Namespace) -> int:
    from knowledge.embedder_hub import download_embedder, embedder_choices, hub_embedder

    if args.embedders_action == "download":
        entry = hub_embedder(args.name)
        print(f"Downloading {entry.name} ({entry.size_mb} MB) from {entry.repo_id} …", file=sys.stderr)
        folder = download_embedder(args.name, endpoint=args.endpoint)
        print(f"{entry.name} is ready in {folder}; use it with "
              f"`nook collections set NAME --embedder {entry.name}` then `nook index NAME`.")
        return 0
    rows = [choice.as_dict() for choice in embedder_choices()]
    if getattr(args, "json", False):
        print_json(rows)
        return 0
    for row in rows:
        state = "installed" if row["installed"] else f"download {row['size_mb']} MB"
        print(f"{row['name']:24} {row['languages']:32} {state:18} {row['note']}")
    return 0


def _list(library: Library, args) -> None:
    collections = library.collections()
    if args.json:
        print_json([{"name": c.name, "roots": [str(r) for r in c.roots], **library.counts(c)}
                    for c in collections])
        return
    for collection in collections:
        counts = library.counts(collection)
        print(f"{collection.name:24} {counts.get('indexed', 0):6} files  {counts['chunks']:8} chunks  "
              f"{', '.join(str(r) for r in collection.roots)}")
    if not collections:
        print("No collections yet: `nook collections create NAME FOLDER`.")


def _status(library: Library, args) -> int:
    collection = library.get(args.name)
    counts = library.counts(collection)
    files = library.catalog.files(collection)
    problems = [r for r in files.values() if r.status in ("skipped", "failed")]
    warned = [r for r in files.values() if r.warnings]
    if args.json:
        print_json({"name": collection.name, "roots": [str(r) for r in collection.roots], "counts": counts,
                    "index": library.index_details(collection),
                    "indexed_at": collection.indexed_at,
                    "problems": [{"path": r.path, "status": r.status, "reason": r.reason} for r in problems],
                    "warnings": [{"path": r.path, "warnings": r.warnings} for r in warned]})
        return 0
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(collection.indexed_at)) if collection.indexed_at else "never"
    print(f"{collection.name}: {counts.get('indexed', 0)} files indexed, {counts['chunks']} chunks, "
          f"{counts.get('skipped', 0)} skipped, {counts.get('failed', 0)} failed; last indexed {when}")
    _print_index_details(library.index_details(collection))
    for root in collection.roots:
        print(f"  folder: {root}")
    for record in sorted(problems, key=lambda r: r.path):
        print(f"  {record.status:8} {record.path}: {record.reason}")
    for record in warned:
        for warning in record.warnings:
            print(f"  warning  {record.path}: {warning}")
    return 0


def _print_index_details(details: dict) -> None:
    print(f"  embedder: {details['searching_with'] or details['embedder']}")
    if details["fulltext_only"]:
        print(f"  full-text only: {details['fulltext_only']} of {details['chunks']} chunks are in a language the "
              f"embedder does not cover (Chinese/Japanese/Korean with an English-only model), so they were not "
              f"embedded and are found by their words; for meaning search too, `nook embedders download "
              f"multilingual-e5-small` and `nook collections set NAME --embedder multilingual-e5-small`")
    if details["rebuilding"] or details["embedder"] != (details["searching_with"] or details["embedder"]):
        print(f"  re-embedding with {details['embedder']} is not finished: searches use the {details['searching_with']}"
              f" index until `nook index` completes")


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
    library = Library()
    try:
        summary = _index_once(library, args.name)
        if summary is None:
            return 130
        if args.json:
            print_json(summary.as_dict())
        else:
            print_summary(summary)
        if args.watch:
            _watch_until_interrupted(library, args.name)
        return 0
    finally:
        library.close()


def _index_once(library: Library, name: str) -> IndexSummary | None:
    """One run with a progress bar on a terminal; None when Ctrl-C cancelled it."""
    show = sys.stderr.isatty()
    with library.index_run(name) as run:
        try:
            for progress in run:
                if show:
                    print(_bar(progress), end="", file=sys.stderr, flush=True)
        except KeyboardInterrupt:
            run.close()  # stops between files; what was committed stays
            print("\nCancelled; the next run continues where this one stopped.", file=sys.stderr)
            return None
    if show:
        print(file=sys.stderr)
    return run.summary


def _watch_until_interrupted(library: Library, name: str) -> None:
    def report(event: WatchEvent) -> None:
        if event.error is not None:
            print(f"error: {event.error}", file=sys.stderr)
        else:
            print_summary(event.summary)

    library.watch(name, report)
    print(f"Watching {name} for changes (Ctrl-C to stop)...", file=sys.stderr)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        library.unwatch(name)


def search_options(args) -> SearchOptions:
    return SearchOptions(k=args.k, mode=args.mode, path_glob=args.path, kinds=args.type or None)


def run_search(args: argparse.Namespace) -> int:
    library = Library()
    try:
        return _search(library.retriever(), args)
    finally:
        library.close()


def _search(retriever: Retriever, args) -> int:
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
