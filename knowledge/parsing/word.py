"""Word documents (.docx) via python-docx: paragraphs and tables in body order.

Headings come from the paragraph style ("Heading 2", "标题 2"; "Title" is level 0) or, failing that, from an
outline level set on the paragraph. Tables become ``cell | cell`` rows. Headers, footers, footnotes
and text boxes are not read.
"""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.errors import ParseError
from knowledge.parsing.common import check_zip_container, short_error
from knowledge.parsing.document import Block, BlockKind, ParsedDocument

_HEADING_STYLE = re.compile(r"^(?:heading|标题|標題|überschrift|titre|título)\s*(\d)$", re.IGNORECASE)


def parse(path: Path) -> ParsedDocument:
    import docx

    check_zip_container(path, "Word document (.docx)", "Word")
    try:
        document = docx.Document(str(path))
        blocks = _body_blocks(document)
        title = (document.core_properties.title or "").strip() or None
    except Exception as exc:  # python-docx raises KeyError/ValueError/lxml errors on damaged parts
        raise ParseError(f"damaged Word document ({short_error(exc)})") from exc
    return ParsedDocument(path, "docx", blocks, title=title)


def _body_blocks(document) -> list[Block]:
    from docx.table import Table

    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            if rows := _table_rows(item):
                blocks.append(Block("\n".join(rows), "table"))
        elif block := _paragraph_block(item):
            blocks.append(block)
    return blocks


def _paragraph_block(paragraph) -> Block | None:
    text = paragraph.text.strip()
    if not text:
        return None
    level = _heading_level(paragraph)
    if level is not None:
        return Block(text, "heading", level)
    kind: BlockKind = "list_item" if _is_list_item(paragraph) else "paragraph"
    return Block(text, kind)


def _heading_level(paragraph) -> int | None:
    style = paragraph.style.name if paragraph.style is not None else ""
    if style.lower() == "title":
        return 0  # above "Heading 1", so the title stays at the head of the heading trail
    if match := _HEADING_STYLE.match(style.strip()):
        return max(1, int(match.group(1)))
    levels = paragraph._p.xpath("./w:pPr/w:outlineLvl/@w:val")
    if levels and levels[0].isdigit() and int(levels[0]) < 9:
        return int(levels[0]) + 1
    return None


def _is_list_item(paragraph) -> bool:
    style = paragraph.style.name.lower() if paragraph.style is not None else ""
    return style.startswith("list") or bool(paragraph._p.xpath("./w:pPr/w:numPr"))


def _table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a merged cell is repeated once per grid column
                continue
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(" | ".join(cells))
    return rows
