"""Turning files into ``ParsedDocument``s: typed text blocks with pages and headings.

``parse_file`` dispatches on the document kind (from the file name unless given) to one small
module per format and raises ``ParseError`` with a short reason when a file cannot be read.
``parse_file_safe`` is what an indexing run calls: it never raises for a bad file, it returns a
``SkippedFile`` with the reason instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from knowledge.errors import ParseError
from knowledge.filetypes import kind_for_path, unsupported_reason
from knowledge.parsing import (
    ebook,
    markdown,
    pdf,
    plaintext,
    slides,
    sourcecode,
    structured,
    tables,
    webpage,
    word,
)
from knowledge.parsing.common import short_error
from knowledge.parsing.document import BLOCK_SEPARATOR, Block, BlockKind, ParsedDocument
from knowledge.scanning import SkippedFile

__all__ = [
    "BLOCK_SEPARATOR",
    "Block",
    "BlockKind",
    "ParsedDocument",
    "parse_file",
    "parse_file_safe",
]

log = logging.getLogger(__name__)

_PARSERS: dict[str, Callable[[Path], ParsedDocument]] = {
    "text": plaintext.parse,
    "markdown": markdown.parse,
    "code": sourcecode.parse,
    "html": webpage.parse,
    "pdf": pdf.parse,
    "docx": word.parse,
    "pptx": slides.parse,
    "epub": ebook.parse,
    "csv": tables.parse,
    "json": structured.parse_json,
    "yaml": structured.parse_yaml,
}


def parse_file(path: Path | str, kind: str | None = None) -> ParsedDocument:
    """Parse one file. Raises ``ParseError`` (with ``.reason`` and ``.path``) when it cannot be read."""
    path = Path(path)
    kind = kind or kind_for_path(path)
    parser = _PARSERS.get(kind or "")
    if parser is None:
        raise ParseError(
            unsupported_reason(path) if kind is None else f"unknown document kind {kind!r}", path
        )
    try:
        if path.stat().st_size == 0:
            raise ParseError("empty file")
        document = parser(path)
    except ParseError as exc:
        raise ParseError(exc.reason, path) from exc
    except PermissionError as exc:
        raise ParseError("permission denied", path) from exc
    except IsADirectoryError as exc:
        raise ParseError("is a folder, not a file", path) from exc
    except FileNotFoundError as exc:
        raise ParseError("file not found (moved or deleted?)", path) from exc
    except OSError as exc:
        raise ParseError(f"cannot read ({exc.strerror or exc})", path) from exc
    except MemoryError as exc:
        raise ParseError("too large to parse in memory", path) from exc
    except RecursionError as exc:
        raise ParseError("structure nested too deeply to read", path) from exc
    if not document.blocks and not document.warnings:
        document.warnings.append("no text found")
    return document


def parse_file_safe(path: Path | str, kind: str | None = None) -> ParsedDocument | SkippedFile:
    """Parse one file, or say why not: a bad file never stops an indexing run.

    An unexpected exception from a format library is a bug to fix (it is logged with its traceback),
    but the file is still reported as skipped rather than ending the run.
    """
    path = Path(path)
    try:
        return parse_file(path, kind)
    except ParseError as exc:
        return SkippedFile(path, exc.reason)
    except Exception as exc:
        log.exception("unexpected error parsing %s", path)
        return SkippedFile(path, f"could not be read ({type(exc).__name__}: {short_error(exc)})")
