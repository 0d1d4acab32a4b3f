"""Recognising structure in plain lines of text: headings, numbered articles, list items.

Shared by the parsers (which turn such lines into heading or list blocks) and the chunker (which
prefers to cut before a numbered article or section). Chinese documents number their parts
第一编 > 第一章 > 第一节 > 第一条 and 一、 > （一） > 1. > (1); English ones use "Article 5", "§ 4" or
"1.2.3 Title".
"""

from __future__ import annotations

import re

_CN_NUMBER = r"[一二三四五六七八九十百千万零〇两\d]+"

#: A line that opens a numbered article or section: a good place to start a chunk.
ARTICLE = re.compile(
    rf"""^[ \t\u3000]*(?:
        第{_CN_NUMBER}[条條章节節款编編部篇卷回]
      | (?:Article|Art\.|Section|Sec\.|Chapter|Clause|Part|Rule)\s+[\dIVXLC]+[A-Za-z]?\b
      | §+\s*\d+
      | \d+(?:\.\d+)+\.?\s+\S
      | [一二三四五六七八九十]+、
    )""",
    re.VERBOSE,
)

#: A line that opens a list item (bullets, "1.", "1)", "a)", "（一）", "①").
LIST_ITEM = re.compile(
    r"""^[ \t\u3000]*(?:
        [-*+•·▪●◦‣]\s+
      | \(?\d{1,3}(?:\.(?=\s)|[)、）])\s*
      | \(?[a-zA-Z]\)\s+
      | [（(][一二三四五六七八九十\d]+[)）]
      | [\u2460-\u2473]
    )""",
    re.VERBOSE,
)

_CN_PART = re.compile(rf"^[ \t\u3000]*第{_CN_NUMBER}([编編部篇卷章回节節])(?:[ \t\u3000]+\S.{{0,40}})?$")
_CN_PART_LEVEL = {"编": 1, "編": 1, "部": 1, "篇": 1, "卷": 1, "章": 2, "回": 2, "节": 3, "節": 3}
_EN_PART = re.compile(r"^(Part|PART|Book|BOOK|Chapter|CHAPTER)\s+([\dIVXLC]+|[A-Z][a-z]+)\b[^.!?]{0,80}$")
_NUMBERED = re.compile(r"^(\d+(?:\.\d+){0,3})\.?[ \t]+(\S[^\n]{0,80})$")
_CN_ENUM = re.compile(
    r"^[ \t\u3000]*([一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[)）])[^。！？；]{1,40}$"
)
_HASHES = re.compile(r"^(#{1,6})[ \t]+(\S.*?)(?:[ \t]+#+)?[ \t]*$")
SENTENCE_END = ("。", "！", "？", "；", ".", "!", "?", ";", ":", "：", ",", "，")


def strong_heading_level(line: str) -> int | None:
    """Level of a line that is a heading wherever it stands: "第二章 总则", "Chapter 3", "## Title"."""
    line = line.strip()
    if len(line) > 100:
        return None
    if match := _CN_PART.match(line):
        return _CN_PART_LEVEL[match.group(1)]
    if _EN_PART.match(line):
        return 1 if line[:4].lower() in ("part", "book") else 2
    if match := _HASHES.match(line):
        return len(match.group(1))
    return None


def standalone_heading_level(line: str) -> int | None:
    """Level of a short line standing alone between blank lines that reads like a numbered title.

    "1.2 Scope" -> 2, "一、总则" -> 1, "（一）适用范围" -> 2. A line ending in sentence punctuation is
    a sentence, not a title.
    """
    if level := strong_heading_level(line):
        return level
    line = line.strip()
    if not line or len(line) > 90 or line.endswith(SENTENCE_END):
        return None
    if match := _NUMBERED.match(line):
        return match.group(1).count(".") + 1
    if match := _CN_ENUM.match(line):
        return 1 if match.group(1).endswith("、") else 2
    return None


def heading_title(line: str) -> str:
    """The heading text without Markdown hashes."""
    line = line.strip()
    if match := _HASHES.match(line):
        return match.group(2)
    return line
