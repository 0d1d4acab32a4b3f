"""Markdown: ATX (``# Title``) and setext (underlined) headings, fenced code, list items, tables.

A small line-based reader rather than a full CommonMark parser: it only has to find the block
structure. Inline markup is left in the text, where it does no harm to search.
"""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.encoding import read_text_file
from knowledge.parsing.document import Block, BlockKind, ParsedDocument

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)")
_TABLE_ROW = re.compile(r"^ {0,3}\|")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")


def parse(path: Path) -> ParsedDocument:
    decoded = read_text_file(path)
    blocks = markdown_blocks(decoded.text)
    title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), None)
    return ParsedDocument(path, "markdown", blocks, decoded.encoding, decoded.warnings, title=title)


def markdown_blocks(text: str) -> list[Block]:
    """Blocks of a Markdown string."""
    lines = text.split("\n")
    blocks: list[Block] = []
    buffer: list[str] = []
    kind: BlockKind = "paragraph"

    def flush() -> None:
        body = "\n".join(buffer).strip()
        if body:
            blocks.append(Block(body, kind))
        buffer.clear()

    index = _skip_front_matter(lines, blocks)
    while index < len(lines):
        line = lines[index]
        if fence := _FENCE.match(line):
            flush()
            index = _read_fence(lines, index, fence.group(1), blocks)
            continue
        if heading := _ATX.match(line):
            flush()
            if title := (heading.group(2) or "").strip():
                blocks.append(Block(title, "heading", len(heading.group(1))))
        elif not line.strip():
            flush()
        elif (underline := _SETEXT.match(line)) and buffer and kind == "paragraph":
            title = "\n".join(buffer).strip()
            buffer.clear()
            blocks.append(Block(title, "heading", 1 if underline.group(1)[0] == "=" else 2))
        elif _THEMATIC_BREAK.match(line):
            flush()
        elif _LIST.match(line):
            flush()
            kind = "list_item"
            buffer.append(line)
        elif _TABLE_ROW.match(line):
            if kind != "table":
                flush()
                kind = "table"
            buffer.append(line)
        else:
            if not buffer:
                kind = "paragraph"
            elif kind == "table":  # a table ends at the first line that is not a row
                flush()
                kind = "paragraph"
            buffer.append(line)
        index += 1
    flush()
    return blocks


def _read_fence(lines: list[str], start: int, fence: str, blocks: list[Block]) -> int:
    """Add the fenced code block opening at ``start``; return the index after its closing fence."""
    closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
    index = start + 1
    while index < len(lines) and not closing.match(lines[index]):
        index += 1
    code = "\n".join(lines[start + 1 : index]).strip("\n")
    if code.strip():
        blocks.append(Block(code, "code"))
    return index + 1  # an unclosed fence runs to the end of the file


def _skip_front_matter(lines: list[str], blocks: list[Block]) -> int:
    """YAML front matter (``---`` ... ``---`` on the first lines) becomes one code block."""
    if not lines or lines[0].strip() != "---":
        return 0
    for index in range(1, min(len(lines), 200)):
        if lines[index].strip() in ("---", "..."):
            body = "\n".join(lines[1:index]).strip()
            if body:
                blocks.append(Block(body, "code"))
            return index + 1
    return 0
