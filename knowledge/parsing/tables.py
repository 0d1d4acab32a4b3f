"""CSV and TSV: one block per row, written as ``column: value`` lines.

Spelling out the column name next to every value keeps each row meaningful on its own once rows
are packed into chunks. The delimiter is sniffed (comma, semicolon, tab, pipe); the first row is
the header when it looks like one (distinct, non-empty, non-numeric cells).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from knowledge.encoding import read_text_file
from knowledge.parsing.document import Block, ParsedDocument

_SNIFF_CHARS = 64 * 1024


def parse(path: Path) -> ParsedDocument:
    decoded = read_text_file(path)
    document = ParsedDocument(path, "csv", [], decoded.encoding, decoded.warnings)
    rows = csv.reader(io.StringIO(decoded.text), _dialect(path, decoded.text[:_SNIFF_CHARS]))
    header: list[str] | None = None
    try:
        for number, row in enumerate(rows):
            if number == 0 and _is_header(row):
                header = [cell.strip() for cell in row]
                continue
            if text := _row_text(row, header):
                document.blocks.append(Block(text, "table"))
    except csv.Error as exc:
        document.warnings.append(f"CSV row {rows.line_num} could not be read ({exc}); the rest was skipped")
    return document


def _dialect(path: Path, sample: str) -> type[csv.Dialect] | csv.Dialect:
    if path.suffix.lower() == ".tsv":
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _is_header(row: list[str]) -> bool:
    cells = [cell.strip() for cell in row]
    return (
        len(cells) > 1
        and all(cells)
        and len(set(cells)) == len(cells)
        and not any(_is_number(cell) for cell in cells)
    )


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def _row_text(row: list[str], header: list[str] | None) -> str:
    lines = []
    for index, value in enumerate(row):
        value = " ".join(value.split())
        if not value:
            continue
        name = header[index] if header and index < len(header) else f"column {index + 1}"
        lines.append(f"{name}: {value}")
    return "\n".join(lines)
