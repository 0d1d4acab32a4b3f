"""Marking the sentences of a reply that no source supports, in its rendered Markdown.

A grounded reply carries ``message.extra["support"]`` (``knowledge.support``, saved by the
chat): one ``{start, end, supported, score, source_n, evidence}`` per sentence, with character
offsets into the reply's text. Marks go into the Markdown source as two private-use characters
around each unsupported sentence, survive parsing as plain text, and become a dotted underline with a
tooltip in the HTML. The underline is in the text's own colour, so it reads in both themes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

OPEN, CLOSE = "\ue000", "\ue001"  # private use: never in a model's reply
# Markdown that has to stay at the start of its line: heading, quote, list markers, indentation.
_LINE_PREFIX = re.compile(r"[ \t]*(?:(?:#{1,6}|>|[-*+]|\d{1,9}[.)])[ \t]+)*")


@dataclass(frozen=True)
class SentenceMark:
    start: int
    end: int
    supported: bool
    score: float | None = None
    source_n: int | None = None
    evidence: str | None = None


def sentence_marks(support: Any, text: str) -> list[SentenceMark]:
    """The valid entries of a stored ``support`` list (anything malformed or out of range is skipped)."""
    marks = []
    for item in support if isinstance(support, list) else []:
        if not isinstance(item, dict):
            continue
        try:
            start, end = int(item["start"]), int(item["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if not 0 <= start < end <= len(text):
            continue
        score = item.get("score")
        marks.append(SentenceMark(start, end, bool(item.get("supported")),
                                  float(score) if isinstance(score, (int, float)) else None,
                                  item.get("source_n") if isinstance(item.get("source_n"), int) else None,
                                  item.get("evidence") if isinstance(item.get("evidence"), str) else None))
    marks.sort(key=lambda m: m.start)
    return marks


def unsupported(marks: list[SentenceMark]) -> list[SentenceMark]:
    return [m for m in marks if not m.supported]


def insert_marks(text: str, marks: list[SentenceMark]) -> str:
    """``text`` with OPEN/CLOSE around each unsupported sentence (overlaps are skipped)."""
    out, position = [], 0
    for mark in unsupported(marks):
        start, end = mark.start, mark.end
        if start < position:
            continue
        line_start = text.rfind("\n", 0, start) + 1
        if not text[line_start:start].strip():  # the sentence opens its line: keep "- " or "# " before it
            prefix = _LINE_PREFIX.match(text, line_start)
            start = max(start, prefix.end() if prefix else start)
        while end > start and text[end - 1].isspace():
            end -= 1
        if end <= start:
            continue
        out += [text[position:start], OPEN, text[start:end], CLOSE]
        position = end
    out.append(text[position:])
    return "".join(out)


def mark_html(rendered: str, tooltip: str) -> str:
    """Turn the marks in rendered HTML into dotted underlines with ``tooltip``."""
    span = f'<span style="text-underline-style: dotted" title="{html.escape(tooltip, quote=True)}">'
    return rendered.replace(OPEN, span).replace(CLOSE, "</span>")


def strip_marks(text: str) -> str:
    return text.replace(OPEN, "").replace(CLOSE, "")
