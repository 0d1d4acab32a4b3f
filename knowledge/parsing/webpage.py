"""HTML (and the XHTML chapters of EPUB books): headings, paragraphs, list items, code, tables.

BeautifulSoup builds the tree (lxml when installed, else the standard library's parser); the walk
over it is iterative, so deeply nested markup cannot exhaust Python's recursion limit.
"""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.encoding import decode_bytes
from knowledge.parsing.document import Block, BlockKind, ParsedDocument

_SKIP = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "math",
        "head",
        "iframe",
        "object",
        "embed",
        "canvas",
        "button",
        "select",
        "nav",
        "form",
    ]
)
_BLOCKS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "main",
        "aside",
        "header",
        "footer",
        "blockquote",
        "figure",
        "figcaption",
        "dl",
        "dt",
        "dd",
        "address",
        "details",
        "summary",
        "center",
        "body",
        "html",
        "ul",
        "ol",
        "hr",
        "fieldset",
    ]
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")


def declared_charset(head: bytes) -> str | None:
    """The charset an HTML/XHTML file declares in its first bytes, if any."""
    match = _XML_ENCODING.match(head) or _META_CHARSET.search(head)
    return match.group(1).decode("ascii") if match else None


def parse(path: Path) -> ParsedDocument:
    data = path.read_bytes()
    decoded = decode_bytes(data, declared=declared_charset(data[:4096]))
    soup = make_soup(decoded.text)
    title = soup.title.get_text(" ", strip=True) if soup.title else None
    blocks = html_blocks(soup)
    return ParsedDocument(path, "html", blocks, decoded.encoding, decoded.warnings, title=title or None)


def make_soup(markup: str | bytes):
    """A BeautifulSoup tree, built by lxml when it is installed (faster), else by html.parser."""
    from bs4 import BeautifulSoup, FeatureNotFound

    try:
        return BeautifulSoup(markup, "lxml")
    except FeatureNotFound:
        return BeautifulSoup(markup, "html.parser")


def html_blocks(soup, *, max_heading_level: int = 6) -> list[Block]:
    """Blocks of a parsed HTML tree, in document order.

    Headings deeper than ``max_heading_level`` are kept as paragraphs (EPUB books use h4-h6 for
    decoration more often than for structure).
    """
    from bs4.element import Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

    root = soup.body or soup
    blocks: list[Block] = []
    inline: list[str] = []
    kinds: list[BlockKind] = ["paragraph"]

    def flush() -> None:
        text = _SPACES.sub(" ", "".join(inline)).strip()
        inline.clear()
        if text:
            blocks.append(Block(text, kinds[-1]))

    # Events: a node to visit, or the marker "exit" paired with the kind to pop after a block element.
    stack: list[tuple[object, bool]] = [(child, False) for child in reversed(list(root.children))]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            flush()
            kinds.pop()
            continue
        if isinstance(node, NavigableString):
            if not isinstance(node, (Comment, Declaration, Doctype, ProcessingInstruction)):
                inline.append(str(node))
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name.lower() if node.name else ""
        if name in _SKIP:
            continue
        if name == "br":
            inline.append(" ")
        elif name in _HEADINGS or name in ("pre", "table"):
            flush()
            if block := _whole_block(node, name, max_heading_level):
                blocks.append(block)
        elif name == "li" or name in _BLOCKS:
            flush()
            kinds.append("list_item" if name == "li" else "paragraph")
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(list(node.children)))
        else:
            stack.extend((child, False) for child in reversed(list(node.children)))
    flush()
    return blocks


def _whole_block(node, name: str, max_heading_level: int) -> Block | None:
    """A heading, preformatted code or a table, taken whole (None when it holds no text)."""
    if name in _HEADINGS:
        text = _SPACES.sub(" ", node.get_text(" ")).strip()
        level = _HEADINGS[name]
        if not text:
            return None
        return Block(text, "heading", level) if level <= max_heading_level else Block(text)
    if name == "pre":
        code = node.get_text().strip("\n")
        return Block(code, "code") if code.strip() else None
    rows = _table_rows(node)
    return Block("\n".join(rows), "table") if rows else None


def _table_rows(table) -> list[str]:
    """Rows of an HTML table as ``cell | cell`` lines (nested tables are flattened into their cell)."""
    rows = []
    for row in table.find_all("tr"):
        cells = [
            _SPACES.sub(" ", cell.get_text(" ")).strip()
            for cell in row.find_all(["td", "th"], recursive=False)
        ]
        if any(cells):
            rows.append(" | ".join(cells))
    return rows
