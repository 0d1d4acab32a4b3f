"""Typed errors of the knowledge pipeline (scanning, parsing, chunking, indexing, retrieval)."""

from __future__ import annotations

from pathlib import Path

from engine.errors import InglenookError


class KnowledgeError(InglenookError):
    """Something in the document pipeline failed in a way the user can be told about."""


class ParseError(KnowledgeError):
    """A file could not be turned into text.

    ``reason`` is a short, human sentence ("password-protected PDF; ...") that the indexer records
    next to the file; ``path`` is filled in by :func:`knowledge.parsing.parse_file` when known.
    """

    def __init__(self, reason: str, path: Path | str | None = None) -> None:
        self.reason = reason
        self.path = Path(path) if path is not None else None
        super().__init__(f"Cannot read {self.path}: {reason}" if self.path is not None else reason)


class CollectionNotFoundError(KnowledgeError):
    """No collection by that name; the message lists the ones there are."""


class IndexRunningError(KnowledgeError):
    """A collection is being indexed already; a second run of it would only duplicate the work."""


class LibraryClosedError(KnowledgeError):
    """The library was closed (the window or command is ending); nothing more can be done with it."""
