"""PDF: the text layer of each page, with 1-based page numbers, via pypdf.

One page at a time, so a damaged page costs only itself. A page with no text is almost always a
scanned image and is reported as such. Bookmarks (the outline), when present, become heading
blocks at the top of the page they point to, which gives chunks of long reports a heading trail.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

from knowledge.encoding import normalise_newlines
from knowledge.errors import ParseError
from knowledge.parsing.common import short_error
from knowledge.parsing.document import Block, ParsedDocument
from knowledge.parsing.plaintext import text_blocks

_MAX_OUTLINE_DEPTH = 6
_OBJECT_START = re.compile(rb"(\d+)\s+(\d+)\s+obj\b")
_PASSWORD_REASON = "password-protected PDF; remove the password or export an unprotected copy"


def parse(path: Path) -> ParsedDocument:
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its recoverable-damage warnings are ours to report
    data = path.read_bytes()
    recovered = False
    try:
        reader, page_count = _open(data)
    except ParseError:
        raise
    except Exception as exc:  # pypdf raises many types (PdfReadError, KeyError, ValueError...) on damage
        opened = _open_truncated(data)
        if opened is None:
            raise ParseError(_damage_reason(exc)) from exc
        (reader, page_count), recovered = opened, True
    if page_count == 0:
        raise ParseError("damaged or empty PDF: no pages found")

    document = ParsedDocument(path, "pdf", [], page_count=page_count, title=_title(reader))
    if recovered:
        document.warnings.append("damaged or truncated PDF; only the pages that could be recovered were read")
    headings = _outline_headings(reader)
    for index in range(page_count):
        number = index + 1
        document.blocks.extend(
            Block(title, "heading", level, number) for level, title in headings.get(index, ())
        )
        try:
            text = reader.pages[index].extract_text() or ""
        except Exception as exc:  # one broken page must not lose the others
            document.warnings.append(f"page {number} could not be read ({short_error(exc)}); skipped")
            continue
        text = normalise_newlines(text).strip()
        if text:
            document.blocks.extend(text_blocks(text, page=number))
        elif recovered:
            document.warnings.append(f"page {number} could not be recovered")
        else:
            document.warnings.append(
                f"page {number} has no text layer (scanned image?); OCR is not supported yet"
            )
    if not any(block.kind != "heading" for block in document.blocks) and (recovered or _all_failed(document)):
        raise ParseError("damaged or truncated PDF: no text could be recovered")
    return document


def _open(data: bytes):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        _decrypt(reader)
    return reader, len(reader.pages)


def _open_truncated(data: bytes):
    """Reopen a PDF cut short (an interrupted download or copy) with a stand-in trailer.

    The end of a PDF holds the cross-reference table and the trailer that points at the catalog.
    With a trailer naming the catalog and an invalid xref offset, pypdf rebuilds the table by
    scanning the objects that are there, and the pages written before the cut can be read.
    """
    catalog = _find_catalog(data)
    if catalog is None:
        return None
    trailer = b"\ntrailer\n<< /Root %s %s R >>\nstartxref\n0\n%%%%EOF\n" % catalog
    try:
        return _open(data + trailer)
    except ParseError:
        raise
    except Exception:
        return None


def _find_catalog(data: bytes) -> tuple[bytes, bytes] | None:
    """Object number and generation of the (uncompressed) catalog, found by its ``/Catalog`` type."""
    position = data.find(b"/Catalog")
    while position != -1:
        window = data[max(0, position - 4096) : position]
        starts = list(_OBJECT_START.finditer(window))
        if starts and b"endobj" not in window[starts[-1].end() :]:
            return starts[-1].group(1), starts[-1].group(2)
        position = data.find(b"/Catalog", position + 1)
    return None


def _all_failed(document: ParsedDocument) -> bool:
    return (
        document.page_count is not None
        and sum("could not be read" in w for w in document.warnings) == document.page_count
    )


def _decrypt(reader) -> None:
    """Open an encrypted PDF with the empty password, which is how most "protected" PDFs are sent."""
    from pypdf import PasswordType
    from pypdf.errors import DependencyError

    try:
        result = reader.decrypt("")
    except DependencyError as exc:
        raise ParseError(
            "encrypted PDF that needs the 'cryptography' package to open (AES); "
            "install it or export an unprotected copy"
        ) from exc
    if result == PasswordType.NOT_DECRYPTED:
        raise ParseError(_PASSWORD_REASON)


def _damage_reason(exc: Exception) -> str:
    from pypdf.errors import EmptyFileError, FileNotDecryptedError, WrongPasswordError

    if isinstance(exc, (FileNotDecryptedError, WrongPasswordError)):
        return _PASSWORD_REASON
    if isinstance(exc, EmptyFileError):
        return "empty PDF file"
    return f"damaged or truncated PDF ({short_error(exc)})"


def _title(reader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # broken metadata is not worth a warning
        return None
    if not title:
        return None
    return str(title).strip() or None


def _outline_headings(reader) -> dict[int, list[tuple[int, str]]]:
    """``{page index: [(level, title), ...]}`` from the PDF's bookmarks; empty when there are none."""
    headings: dict[int, list[tuple[int, str]]] = {}
    try:
        _collect_outline(reader, reader.outline, 1, headings)
    except Exception:  # a broken outline only costs the heading trail
        return {}
    return headings


def _collect_outline(reader, items, level: int, headings: dict[int, list[tuple[int, str]]]) -> None:
    if level > _MAX_OUTLINE_DEPTH:
        return
    for item in items:
        if isinstance(item, list):
            _collect_outline(reader, item, level + 1, headings)
            continue
        title = " ".join(str(getattr(item, "title", "") or "").split())
        page = reader.get_destination_page_number(item)
        if title and page is not None and page >= 0:
            headings.setdefault(page, []).append((level, title))
