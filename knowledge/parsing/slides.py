"""PowerPoint (.pptx) via python-pptx: one page per slide, the slide title as its heading.

Shapes are read top to bottom, then left to right (their stored order is z-order, not reading
order); groups are opened, tables become ``cell | cell`` rows, speaker notes come last. A slide
without a title gets "Slide N" so its chunks do not inherit the previous slide's heading.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.errors import ParseError
from knowledge.parsing.common import check_zip_container, short_error
from knowledge.parsing.document import Block, ParsedDocument

_MAX_GROUP_DEPTH = 8


def parse(path: Path) -> ParsedDocument:
    from pptx import Presentation

    check_zip_container(path, "PowerPoint file (.pptx)", "PowerPoint")
    try:
        presentation = Presentation(str(path))
        blocks: list[Block] = []
        slides = list(presentation.slides)
        for number, slide in enumerate(slides, start=1):
            blocks.extend(_slide_blocks(slide, number))
        title = (presentation.core_properties.title or "").strip() or None
    except Exception as exc:  # python-pptx raises KeyError/ValueError/lxml errors on damaged parts
        raise ParseError(f"damaged PowerPoint file ({short_error(exc)})") from exc
    return ParsedDocument(path, "pptx", blocks, title=title, page_count=len(slides))


def _slide_blocks(slide, number: int) -> list[Block]:
    title_shape = slide.shapes.title
    title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
    blocks = [Block(title or f"Slide {number}", "heading", 1, number)]
    title_id = title_shape.shape_id if title_shape is not None else None
    for shape in _reading_order(slide.shapes, 0):
        if shape.shape_id == title_id:
            continue
        blocks.extend(_shape_blocks(shape, number))
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            blocks.append(Block(f"Speaker notes: {notes.text.strip()}", "paragraph", None, number))
    return blocks


def _reading_order(shapes, depth: int) -> list:
    """Shapes sorted top-to-bottom, left-to-right, with group members in place of their group."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    ordered = []
    for shape in sorted(shapes, key=lambda s: (s.top or 0, s.left or 0)):
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP and depth < _MAX_GROUP_DEPTH:
            ordered.extend(_reading_order(shape.shapes, depth + 1))
        else:
            ordered.append(shape)
    return ordered


def _shape_blocks(shape, page: int) -> list[Block]:
    if getattr(shape, "has_table", False):
        rows = [" | ".join(" ".join(cell.text.split()) for cell in row.cells) for row in shape.table.rows]
        rows = [row for row in rows if row.strip(" |")]
        return [Block("\n".join(rows), "table", None, page)] if rows else []
    if not getattr(shape, "has_text_frame", False):
        return []
    blocks = []
    for paragraph in shape.text_frame.paragraphs:
        text = " ".join(paragraph.text.split())
        if text:
            blocks.append(Block(text, "list_item" if paragraph.level > 0 else "paragraph", None, page))
    return blocks
