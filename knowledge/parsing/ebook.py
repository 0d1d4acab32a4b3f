"""EPUB books: chapters in spine order, read with zipfile, the OPF package file and BeautifulSoup.

``META-INF/container.xml`` names the OPF file; its manifest maps ids to chapter files and its
spine gives the reading order. Chapters are XHTML and go through the HTML block reader with h1-h3
as headings. A book whose chapters are encrypted (DRM) is refused with that reason.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

from knowledge.errors import ParseError
from knowledge.parsing.common import short_error
from knowledge.parsing.document import ParsedDocument
from knowledge.parsing.webpage import html_blocks, make_soup

_MAX_CHAPTER_BYTES = 64 * 1024 * 1024  # a bigger "chapter" is a zip bomb, not a book
_HTML_TYPES = ("application/xhtml+xml", "text/html", "application/x-dtbook+xml")


def parse(path: Path) -> ParsedDocument:
    if not zipfile.is_zipfile(path):
        raise ParseError("not a valid EPUB book: the file is not a zip archive (damaged or misnamed)")
    try:
        with zipfile.ZipFile(path) as book:
            return _read_book(path, book)
    except ParseError:
        raise
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError, ValueError, OSError) as exc:
        raise ParseError(f"damaged EPUB book ({short_error(exc)})") from exc


def _read_book(path: Path, book: zipfile.ZipFile) -> ParsedDocument:
    document = ParsedDocument(path, "epub", [])
    opf_path = _package_path(book)
    if opf_path is None:
        document.warnings.append("no package file (OPF) found; chapters read in file-name order")
        chapters = sorted(n for n in book.namelist() if n.lower().endswith((".xhtml", ".html", ".htm")))
    else:
        chapters, document.title = _spine(book, opf_path)
    if not chapters:
        raise ParseError("damaged EPUB book: it lists no chapters")
    if _is_drm_protected(book):
        raise ParseError("DRM-protected EPUB; only DRM-free books can be indexed")
    for name in chapters:
        try:
            info = book.getinfo(name)
        except KeyError:
            document.warnings.append(f"chapter {name} is listed but missing from the book")
            continue
        if info.file_size > _MAX_CHAPTER_BYTES:
            document.warnings.append(f"chapter {name} is implausibly large; skipped")
            continue
        try:
            markup = book.read(info)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:  # CRC errors, bad compression
            document.warnings.append(f"chapter {name} could not be read ({short_error(exc)}); skipped")
            continue
        document.blocks.extend(html_blocks(make_soup(markup), max_heading_level=3))
    return document


def _package_path(book: zipfile.ZipFile) -> str | None:
    """The OPF path named by ``META-INF/container.xml`` (or the first .opf in the archive)."""
    try:
        root = ElementTree.fromstring(book.read("META-INF/container.xml"))
        for element in root.iter():
            if _local(element.tag) == "rootfile" and element.get("full-path"):
                return element.get("full-path")
    except (KeyError, ElementTree.ParseError):
        pass
    return next((name for name in book.namelist() if name.lower().endswith(".opf")), None)


def _spine(book: zipfile.ZipFile, opf_path: str) -> tuple[list[str], str | None]:
    """Chapter paths in reading order, and the book title."""
    root = ElementTree.fromstring(book.read(opf_path))
    base = posixpath.dirname(opf_path)
    manifest: dict[str, tuple[str, str]] = {}
    order: list[str] = []
    title = None
    for element in root.iter():
        tag = _local(element.tag)
        if tag == "item" and element.get("id") and element.get("href"):
            manifest[element.get("id")] = (element.get("href"), element.get("media-type", ""))
        elif tag == "itemref" and element.get("idref"):
            order.append(element.get("idref"))
        elif tag == "title" and title is None and (element.text or "").strip():
            title = element.text.strip()
    chapters = []
    for idref in order:
        href, media_type = manifest.get(idref, ("", ""))
        if href and (media_type in _HTML_TYPES or href.lower().endswith((".xhtml", ".html", ".htm"))):
            chapters.append(posixpath.normpath(posixpath.join(base, unquote(href.split("#")[0]))))
    return chapters, title


def _is_drm_protected(book: zipfile.ZipFile) -> bool:
    """True when ``META-INF/encryption.xml`` encrypts chapter text (font obfuscation alone is fine)."""
    try:
        root = ElementTree.fromstring(book.read("META-INF/encryption.xml"))
    except (KeyError, ElementTree.ParseError):
        return False
    for element in root.iter():
        if _local(element.tag) == "CipherReference":
            uri = (element.get("URI") or "").lower()
            if uri.endswith((".xhtml", ".html", ".htm", ".xml")):
                return True
    return False


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
