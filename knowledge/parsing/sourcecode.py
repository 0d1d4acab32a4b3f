"""Source code and config files: code blocks cut before top-level definitions.

A definition is an unindented line opening a function, class, type or similar in the common
languages; the comments and decorators right above it go with it. This is a cheap stand-in for a
real parser, good enough to keep a function and its docstring in one chunk.
"""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.encoding import read_text_file
from knowledge.parsing.document import Block, ParsedDocument

_DEFINITION = re.compile(
    r"""^(?:
        (?:async\s+)?def\s | class\s | (?:export\s+)?(?:default\s+)?(?:async\s+)?function\b
      | (?:export\s+)?(?:interface|type|enum|const|let|var)\s
      | (?:pub(?:\([^)]*\))?\s+)?(?:fn|struct|enum|trait|impl|mod)\b
      | func\s | package\s | module\s
      | (?:public|private|protected|internal|static|abstract|final|sealed)\s
      | \[[^\]]+\]\s*$                      # an INI/TOML section
      | [A-Za-z_][\w.-]*\s*:\s*$            # a YAML-style or Makefile top-level key/target
    )""",
    re.VERBOSE,
)
_PREFIX = re.compile(r"^(?:#|//|/\*|\*|@|--|;|\"\"\"|''')")  # comment or decorator lines


def parse(path: Path) -> ParsedDocument:
    decoded = read_text_file(path)
    return ParsedDocument(path, "code", code_blocks(decoded.text), decoded.encoding, decoded.warnings)


def code_blocks(text: str) -> list[Block]:
    """Code blocks of a source file, each starting at a top-level definition where there is one."""
    lines = text.split("\n")
    starts = [0]
    for index, line in enumerate(lines):
        if index and _DEFINITION.match(line):
            start = index
            while start > starts[-1] + 1 and _PREFIX.match(lines[start - 1]):
                start -= 1
            if start > starts[-1]:
                starts.append(start)
    starts.append(len(lines))
    blocks = []
    for begin, end in zip(starts, starts[1:], strict=False):
        body = "\n".join(lines[begin:end]).strip("\n")
        if body.strip():
            blocks.append(Block(body, "code"))
    return blocks
