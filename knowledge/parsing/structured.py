"""JSON and YAML: readable text with the top-level keys as headings.

JSON is re-printed with indentation (minified files become readable lines), scalar top-level
values are gathered into one ``key: value`` block, and each key holding an object or list gets a
heading; big nested objects get ``key.sub`` headings one level down. A list at the top becomes
one block per item (records). JSON Lines are read line by line. YAML keeps its own text (and its
comments), cut before each top-level key. Invalid files are indexed as plain text with a warning.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from knowledge.encoding import read_text_file
from knowledge.parsing.document import Block, ParsedDocument
from knowledge.parsing.plaintext import text_blocks

_SPLIT_NESTED_CHARS = 2000  # an object bigger than this printed gets headings for its own keys
_YAML_VALIDATE_CHARS = 2_000_000
_YAML_KEY = re.compile(r"^(?:\"[^\"]+\"|'[^']+'|[^\s#\-?:][^:#]*?)\s*:(?:\s|$)")


def parse_json(path: Path) -> ParsedDocument:
    decoded = read_text_file(path)
    document = ParsedDocument(path, "json", [], decoded.encoding, decoded.warnings)
    try:
        values = _json_values(decoded.text, lines=path.suffix.lower() in (".jsonl", ".ndjson"))
        for value in values:
            document.blocks.extend(_value_blocks(value, "", 1))
    except (ValueError, RecursionError) as exc:
        document.warnings.append(f"invalid JSON ({_json_error(exc)}); indexed as plain text")
        document.blocks = text_blocks(decoded.text)
    return document


def _json_values(text: str, *, lines: bool) -> list:
    if not lines:
        try:
            return [json.loads(text)]
        except json.JSONDecodeError as exc:
            if "Extra data" not in exc.msg:  # several values one per line: JSON Lines after all
                raise
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def _json_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}"
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)


def _pretty(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _value_blocks(value, prefix: str, level: int) -> list[Block]:
    if isinstance(value, list):
        return [Block(_pretty(item), "code") for item in value if item not in (None, "", [], {})]
    if not isinstance(value, dict):
        return [Block(_pretty(value), "code")] if value not in (None, "") else []
    blocks: list[Block] = []
    scalars = [f"{key}: {_pretty(item)}" for key, item in value.items() if not isinstance(item, (dict, list))]
    if scalars:
        blocks.append(Block("\n".join(scalars), "code"))
    for key, item in value.items():
        if not isinstance(item, (dict, list)) or not item:
            continue
        path = f"{prefix}.{key}" if prefix else str(key)
        blocks.append(Block(path, "heading", level))
        printed = _pretty(item)
        if (
            isinstance(item, dict)
            and level == 1
            and len(printed) > _SPLIT_NESTED_CHARS
            or isinstance(item, list)
            and len(printed) > _SPLIT_NESTED_CHARS
        ):
            blocks.extend(_value_blocks(item, path, level + 1))
        else:
            blocks.append(Block(printed, "code"))
    return blocks


def parse_yaml(path: Path) -> ParsedDocument:
    decoded = read_text_file(path)
    document = ParsedDocument(path, "yaml", [], decoded.encoding, decoded.warnings)
    if problem := _yaml_problem(decoded.text):
        document.warnings.append(f"YAML syntax error ({problem}); indexed as text")
    document.blocks = yaml_blocks(decoded.text)
    return document


def yaml_blocks(text: str) -> list[Block]:
    """Sections of a YAML text. A key with nested lines gets a heading naming it; runs of one-line
    ``key: value`` entries stay together in one block, so a flat config is not cut into crumbs."""
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in text.split("\n"):
        if line.startswith(("---", "...")) and not line[3:].strip():
            sections.append((None, []))
        elif match := _YAML_KEY.match(line):
            previous = sections[-1][1]
            leading: list[str] = []  # comments just above a key belong to it
            while previous and (not previous[-1].strip() or previous[-1].lstrip().startswith("#")):
                leading.insert(0, previous.pop())
            sections.append((match.group(0).rstrip().rstrip(":").strip("\"'"), [*leading, line]))
        else:
            sections[-1][1].append(line)
    blocks: list[Block] = []
    flat: list[tuple[str, str]] = []

    def flush_flat() -> None:
        if not flat:
            return
        if blocks:  # name the run, or it would sit under the previous key's heading
            names = [key for key, _ in flat]
            blocks.append(Block(", ".join(names[:4]) + (", ..." if len(names) > 4 else ""), "heading", 1))
        blocks.append(Block("\n".join(line for _, line in flat), "code"))
        flat.clear()

    for key, lines in sections:
        body = "\n".join(lines).strip("\n")
        if not body.strip():
            continue
        if key is not None and len(_content_lines(lines)) == 1:  # a one-line "key: value"
            flat.append((key, body.strip()))
            continue
        flush_flat()
        if key is not None:
            blocks.append(Block(key, "heading", 1))
        blocks.append(Block(body, "code"))
    flush_flat()
    return blocks


def _content_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _yaml_problem(text: str) -> str | None:
    """A short description of the first syntax error, or None (big files are not checked)."""
    if len(text) > _YAML_VALIDATE_CHARS:
        return None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for _ in yaml.load_all(text, Loader=loader):
            pass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "somewhere"
        return f"{getattr(exc, 'problem', None) or 'invalid'} at {where}"
    return None
