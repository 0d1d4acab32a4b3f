"""PDF: the text layer of each page, with 1-based page numbers, via pypdf.

One page at a time, so a damaged page costs only itself. A page with no text is almost always a
scanned image and is reported as such. Bookmarks (the outline), when present, become heading
blocks at the top of the page they point to, which gives chunks of long reports a heading trail.
"""

from __future__ import annotations

import logging
from pathlib import Path

from knowledge.encoding import normalise_newlines
from knowledge.errors import ParseError
from knowledge.parsing.common import short_error
from knowledge.parsing.document import Block, ParsedDocument
from knowledge.parsing.plaintext import text_blocks

_MAX_OUTLINE_DEPTH = 6
_PASSWORD_REASON = "password-protected PDF; remove the password or export an unprotected copy"


def parse(path: Path) -> ParsedDocument:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its recoverable-damage warnings are ours to report
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            _decrypt(reader)
        page_count = len(reader.pages)
    except ParseError:
        raise
    except Exception as exc:  # pypdf raises many types (PdfReadError, KeyError, ValueError...) on damage
        raise ParseError(_damage_reason(exc)) from exc
    if page_count == 0:
        raise ParseError("damaged or empty PDF: no pages found")

    document = ParsedDocument(path, "pdf", [], page_count=page_count, title=_title(reader))
    headings = _outline_headings(reader)
    unreadable = 0
    for index in range(page_count):
        number = index + 1
        document.blocks.extend(Block(title, "heading", level, number) for level, title in headings.get(index, ()))
        try:
            text = reader.pages[index].extract_text() or ""
        except Exception as exc:  # one broken page must not lose the others
            unreadable += 1
            document.warnings.append(f"page {number} could not be read ({short_error(exc)}); skipped")
            continue
        text = normalise_newlines(text).strip()
        if not text:
            document.warnings.append(f"page {number} has no text layer (scanned image?); OCR is not supported yet")
            continue
        document.blocks.extend(text_blocks(text, page=number))
    if unreadable == page_count:
        raise ParseError("damaged PDF: none of its pages could be read")
    return document


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
