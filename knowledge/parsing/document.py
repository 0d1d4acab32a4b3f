"""What a parser produces: a document as an ordered list of typed text blocks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

BlockKind = Literal["heading", "paragraph", "list_item", "code", "table"]

#: Text placed between blocks in :meth:`ParsedDocument.full_text`.
BLOCK_SEPARATOR = "\n\n"


@dataclass(frozen=True, slots=True)
class Block:
    """One structural unit of a document.

    ``level`` is set for headings only: 1 is a top-level section, 0 a document title above it. ``page`` is 1-based for paged formats (PDF pages,
    PPTX slides) and None elsewhere; a page break is where ``page`` changes between blocks.
    """

    text: str
    kind: BlockKind = "paragraph"
    level: int | None = None
    page: int | None = None


@dataclass(slots=True)
class ParsedDocument:
    """A parsed file: its blocks in reading order, the text encoding if it had one, and warnings.

    Warnings are the things a user may want to know ("page 4 has no text layer") that did not stop
    the file from being read.
    """

    path: Path
    kind: str
    blocks: list[Block]
    encoding: str | None = None
    warnings: list[str] = field(default_factory=list)
    title: str | None = None
    page_count: int | None = None  # for paged formats: PDF pages, PPTX slides

    def full_text(self) -> str:
        """The blocks joined by a blank line: chunk offsets are character offsets into this string."""
        return BLOCK_SEPARATOR.join(block.text for block in self.blocks)

    def block_spans(self) -> list[tuple[int, int]]:
        """``(start, end)`` of every block inside :meth:`full_text`, in block order."""
        spans = []
        position = 0
        for block in self.blocks:
            end = position + len(block.text)
            spans.append((position, end))
            position = end + len(BLOCK_SEPARATOR)
        return spans
