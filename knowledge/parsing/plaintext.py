"""Plain text: paragraphs between blank lines, plus the headings and numbered articles found in them.

A group of lines with no blank line between them stays one block (Chinese text often has one
paragraph per line and no blank lines at all); the chunker splits long blocks at line ends. Lines
that open an article ("第五条", "Article 5") or a list item start a new block, and heading-like
lines ("第二章 总则", "1.2 Scope" standing alone) become heading blocks.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.encoding import read_text_file
from knowledge.parsing.document import Block, BlockKind, ParsedDocument
from knowledge.structure import (
    ARTICLE,
    LIST_ITEM,
    SENTENCE_END,
    heading_title,
    standalone_heading_level,
    strong_heading_level,
)


def parse(path: Path) -> ParsedDocument:
    decoded = read_text_file(path)
    blocks = text_blocks(decoded.text)
    title = None
    if blocks and _looks_like_title(blocks[0]):
        title = blocks[0].text
        blocks[0] = Block(title, "heading", 1)
    return ParsedDocument(path, "text", blocks, decoded.encoding, decoded.warnings, title=title)


def _looks_like_title(block: Block) -> bool:
    """A first line on its own, short and without sentence punctuation, is the document's title."""
    text = block.text
    return (
        block.kind == "paragraph" and "\n" not in text and len(text) <= 60 and not text.endswith(SENTENCE_END)
    )


def text_blocks(text: str, page: int | None = None) -> list[Block]:
    """Blocks of a plain-text string (also used for PDF page text)."""
    blocks: list[Block] = []
    for group in _line_groups(text):
        if len(group) == 1 and (level := standalone_heading_level(group[0])):
            blocks.append(Block(heading_title(group[0]), "heading", level, page))
            continue
        blocks.extend(_group_blocks(group, page))
    return blocks


def _line_groups(text: str) -> list[list[str]]:
    """Runs of non-blank lines, right-stripped."""
    groups: list[list[str]] = []
    current: list[str] = []
    for line in text.split("\n"):
        line = line.rstrip()
        if line.strip():
            current.append(line)
        elif current:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _group_blocks(lines: list[str], page: int | None) -> list[Block]:
    blocks: list[Block] = []
    current: list[str] = []
    kind: BlockKind = "paragraph"

    def flush() -> None:
        text = "\n".join(current).strip()
        if text:
            blocks.append(Block(text, kind, None, page))
        current.clear()

    for line in lines:
        if level := strong_heading_level(line):
            flush()
            blocks.append(Block(heading_title(line), "heading", level, page))
            continue
        is_item = LIST_ITEM.match(line) is not None
        if is_item or ARTICLE.match(line):
            flush()
            kind = "list_item" if is_item else "paragraph"
        elif not current:
            kind = "paragraph"
        current.append(line)
    flush()
    return blocks
