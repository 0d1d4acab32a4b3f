"""Markdown to the HTML subset Qt's rich text understands, with highlighted code and copy links.

A reply is split into blocks (paragraph, heading, list, quote, table, code fence, rule). Blocks
only depend on the lines inside them, so while a reply streams every block but the last is
final: :class:`StreamingMarkdown` renders each finished block once and re-renders only the
growing tail, and the result is exactly what a full render of the same text gives.

Code blocks are highlighted with Pygments (inline styles, which Qt understands) and carry a
``copy:N`` link; the view copies ``code_blocks[N]`` when it is clicked.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import lru_cache

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([\w+#.-]*)[^\n]*$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^ {0,3}([-*_])(\s*\1){2,}\s*$")
_QUOTE = re.compile(r"^ {0,3}>\s?(.*)$")
_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


@dataclass(frozen=True)
class Palette:
    """Colours of rendered Markdown; one per theme."""

    dark: bool = False
    text: str = "#1f1d1a"
    muted: str = "#6b6560"
    code_bg: str = "#f3f0eb"
    code_header_bg: str = "#e8e3db"
    border: str = "#ddd6cc"
    link: str = "#b45309"
    quote: str = "#6b6560"

    @property
    def pygments_style(self) -> str:
        return "one-dark" if self.dark else "friendly"


LIGHT = Palette()
DARK = Palette(dark=True, text="#e8e6e3", muted="#a09a93", code_bg="#26272b", code_header_bg="#303136",
               border="#3b3c42", link="#f5a524", quote="#a09a93")


@dataclass
class Rendered:
    html: str
    code_blocks: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------- blocks
def split_blocks(text: str) -> list[str]:
    """The text's blocks, in order, as their source lines (blank lines between them dropped)."""
    lines = text.split("\n")
    blocks: list[str] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            marker = fence.group(1)
            j = i + 1
            while j < n and not _closes(lines[j], marker):
                j += 1
            blocks.append("\n".join(lines[i: min(j + 1, n)]))
            i = j + 1
            continue
        if _HEADING.match(line) or _RULE.match(line):
            blocks.append(line)
            i += 1
            continue
        if "|" in line and i + 1 < n and _TABLE_SEP.match(lines[i + 1]):
            j = i + 2
            while j < n and "|" in lines[j] and lines[j].strip():
                j += 1
            blocks.append("\n".join(lines[i:j]))
            i = j
            continue
        if _QUOTE.match(line):
            j = i + 1
            while j < n and _QUOTE.match(lines[j]):
                j += 1
            blocks.append("\n".join(lines[i:j]))
            i = j
            continue
        if _ITEM.match(line):
            j = i + 1
            while j < n and lines[j].strip() and not _starts_other_block(lines[j], list_ok=True):
                j += 1
            blocks.append("\n".join(lines[i:j]))
            i = j
            continue
        j = i + 1
        while j < n and lines[j].strip() and not _starts_other_block(lines[j]):
            j += 1
        blocks.append("\n".join(lines[i:j]))
        i = j
    return blocks


def _closes(line: str, marker: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(marker[0] * len(marker)) and set(stripped) == {marker[0]}


def _starts_other_block(line: str, list_ok: bool = False) -> bool:
    if _FENCE.match(line) or _HEADING.match(line) or _RULE.match(line) or _QUOTE.match(line):
        return True
    return not list_ok and bool(_ITEM.match(line))


# ------------------------------------------------------------------------------------------ render
def render_markdown(text: str, palette: Palette = LIGHT, copy_label: str = "Copy") -> Rendered:
    """The whole text as Qt rich text."""
    out = Rendered("")
    parts = [render_block(block, palette, copy_label, out.code_blocks) for block in split_blocks(text)]
    out.html = document_html(parts, palette)
    return out


def document_html(parts: list[str], palette: Palette) -> str:
    return f'<div style="color:{palette.text}">' + "".join(parts) + "</div>"


def render_block(block: str, palette: Palette, copy_label: str, code_blocks: list[str]) -> str:
    """One block's HTML. A code block is appended to ``code_blocks`` and linked by its index."""
    first = block.split("\n", 1)[0]
    fence = _FENCE.match(first)
    if fence:
        lines = block.split("\n")[1:]
        if lines and _closes(lines[-1], fence.group(1)):
            lines = lines[:-1]
        code = "\n".join(lines)
        code_blocks.append(code)
        return _code_html(code, fence.group(2), palette, copy_label, len(code_blocks) - 1)
    heading = _HEADING.match(first)
    if heading:
        level = min(len(heading.group(1)) + 1, 5)
        return f"<h{level}>{inline(heading.group(2), palette)}</h{level}>"
    if _RULE.match(first):
        return "<hr/>"
    lines = block.split("\n")
    if "|" in first and len(lines) > 1 and _TABLE_SEP.match(lines[1]):
        return _table_html(lines, palette)
    if _QUOTE.match(first):
        inner = "<br/>".join(inline(_QUOTE.match(x).group(1), palette) for x in lines)
        return f'<blockquote><span style="color:{palette.quote}">{inner}</span></blockquote>'
    if _ITEM.match(first):
        return _list_html(lines, palette)
    return "<p>" + "<br/>".join(inline(x.strip(), palette) for x in lines) + "</p>"


def _list_html(lines: list[str], palette: Palette) -> str:
    out: list[str] = []
    stack: list[tuple[int, str]] = []  # (indent, tag)
    for line in lines:
        item = _ITEM.match(line)
        if not item:  # a continuation line of the previous item
            if out:
                out[-1] = out[-1].removesuffix("</li>") + "<br/>" + inline(line.strip(), palette) + "</li>"
            continue
        indent = len(item.group(1).expandtabs(4))
        ordered = item.group(2)[0].isdigit()
        tag = "ol" if ordered else "ul"
        while stack and indent < stack[-1][0]:
            out.append(f"</{stack.pop()[1]}>")
        if not stack or indent > stack[-1][0]:
            start = f' start="{int(item.group(2)[:-1])}"' if ordered else ""
            out.append(f"<{tag}{start}>")
            stack.append((indent, tag))
        elif stack[-1][1] != tag:
            out.append(f"</{stack.pop()[1]}>")
            start = f' start="{int(item.group(2)[:-1])}"' if ordered else ""
            out.append(f"<{tag}{start}>")
            stack.append((indent, tag))
        out.append(f"<li>{inline(item.group(3), palette)}</li>")
    while stack:
        out.append(f"</{stack.pop()[1]}>")
    return "".join(out)


def _table_html(lines: list[str], palette: Palette) -> str:
    def cells(line: str) -> list[str]:
        line = line.strip()
        if line.startswith("|"):
            line = line[1:]
        if line.endswith("|"):
            line = line[:-1]
        return [c.strip() for c in line.split("|")]

    head = "".join(f"<th>{inline(c, palette)}</th>" for c in cells(lines[0]))
    rows = "".join("<tr>" + "".join(f"<td>{inline(c, palette)}</td>" for c in cells(x)) + "</tr>" for x in lines[2:])
    return (f'<table border="1" cellspacing="0" cellpadding="5" style="border-color:{palette.border};'
            f' border-style:solid; margin-top:4px; margin-bottom:4px"><tr style="background-color:'
            f'{palette.code_header_bg}">{head}</tr>{rows}</table>')


def _code_html(code: str, language: str, palette: Palette, copy_label: str, index: int) -> str:
    body = _highlight(code, language.lower(), palette.pygments_style)
    label = html.escape(language or "text")
    return (
        f'<table width="100%" cellspacing="0" cellpadding="7" style="background-color:{palette.code_bg};'
        f' border-color:{palette.border}; border-style:solid; margin-top:6px; margin-bottom:6px" border="1">'
        f'<tr><td style="background-color:{palette.code_header_bg}">'
        f'<table width="100%" cellspacing="0" cellpadding="0"><tr>'
        f'<td><span style="color:{palette.muted}">{label}</span></td>'
        f'<td align="right"><a href="copy:{index}" style="color:{palette.link}; text-decoration:none">'
        f"{html.escape(copy_label)}</a></td></tr></table></td></tr>"
        f"<tr><td><pre style=\"margin:0\">{body}</pre></td></tr></table>"
    )


@lru_cache(maxsize=256)
def _highlight(code: str, language: str, style: str) -> str:
    try:
        lexer = get_lexer_by_name(language, stripnl=False, ensurenl=False) if language else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    formatter = HtmlFormatter(nowrap=True, noclasses=True, style=style)
    return highlight(code, lexer, formatter).rstrip("\n")


def warm_up() -> None:
    """Load Pygments' lexers and styles for common languages ahead of time (a first highlight
    otherwise costs ~100 ms on the GUI thread, mid-stream). Safe to run in a background thread."""
    for language in ("python", "bash", "javascript", "typescript", "json", "yaml", "html", "css", "sql",
                     "c", "cpp", "rust", "go", "java", "text"):
        for palette in (LIGHT, DARK):
            _highlight("x = 1\n", language, palette.pygments_style)


# ------------------------------------------------------------------------------------------ inline
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_AUTOLINK = re.compile(r"(?<![\"'=>])\b(https?://[^\s<]+[^\s<.,;:!?)\]'\"])")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_ITALIC = re.compile(r"(?<![*\w])\*(?=\S)(.+?)(?<=\S)\*(?![*\w])|(?<![_\w])_(?=\S)(.+?)(?<=\S)_(?![_\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")


def inline(text: str, palette: Palette = LIGHT) -> str:
    """Inline Markdown (code, links, bold, italic, strikethrough) as escaped HTML."""
    spans: list[str] = []

    def stash(fragment: str) -> str:
        spans.append(fragment)
        return f"\x00{len(spans) - 1}\x00"

    def code(match: re.Match) -> str:
        content = html.escape(match.group(2).strip() or match.group(2))
        return stash(f'<code style="background-color:{palette.code_bg}">&#8202;{content}&#8202;</code>')

    text = _CODE_SPAN.sub(code, text)

    def link(match: re.Match) -> str:
        url = match.group(2)
        if not re.match(r"^(https?|mailto|file):", url):
            return match.group(0)
        return stash(f'<a href="{html.escape(url, quote=True)}" style="color:{palette.link}">'
                     f"{html.escape(match.group(1))}</a>")

    text = _LINK.sub(link, text)
    text = _AUTOLINK.sub(lambda m: stash(f'<a href="{html.escape(m.group(1), quote=True)}" '
                                         f'style="color:{palette.link}">{html.escape(m.group(1))}</a>'), text)
    text = html.escape(text, quote=False)
    text = _BOLD.sub(lambda m: f"<b>{m.group(1) or m.group(2)}</b>", text)
    text = _ITALIC.sub(lambda m: f"<i>{m.group(1) or m.group(2)}</i>", text)
    text = _STRIKE.sub(lambda m: f"<s>{m.group(1)}</s>", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], text)


# --------------------------------------------------------------------------------------- streaming
class StreamingMarkdown:
    """Incremental rendering of a growing text.

    ``update(text)`` returns ``(new_final_blocks_html, tail_html)``: the HTML of blocks that just
    became final (append them once) and the HTML of the unfinished tail (replace the previous
    tail). A block is final once a later block has started on a complete line.
    """

    def __init__(self, palette: Palette = LIGHT, copy_label: str = "Copy"):
        self.palette = palette
        self.copy_label = copy_label
        self.text = ""
        self.final_sources: list[str] = []
        self.final_html: list[str] = []
        self.code_blocks: list[str] = []
        self._tail_code: list[str] = []

    def update(self, text: str) -> tuple[list[str], str]:
        self.text = text
        complete = text[: text.rfind("\n") + 1]
        blocks = split_blocks(complete)
        new_html: list[str] = []
        # every block of the complete lines but the last is final
        for block in blocks[len(self.final_sources): max(len(blocks) - 1, 0)]:
            self.final_sources.append(block)
            html_ = render_block(block, self.palette, self.copy_label, self.code_blocks)
            self.final_html.append(html_)
            new_html.append(html_)
        consumed = _consumed_length(text, self.final_sources)
        tail_blocks = split_blocks(text[consumed:])
        self._tail_code = []
        codes = list(self.code_blocks)
        tail_html = "".join(render_block(b, self.palette, self.copy_label, codes) for b in tail_blocks)
        self._tail_code = codes[len(self.code_blocks):]
        return new_html, tail_html

    @property
    def all_code_blocks(self) -> list[str]:
        return self.code_blocks + self._tail_code


def _consumed_length(text: str, final_sources: list[str]) -> int:
    """Where the text after the final blocks begins."""
    position = 0
    for source in final_sources:
        found = text.find(source, position)
        if found < 0:  # cannot happen: blocks are verbatim slices of the text
            return position
        position = found + len(source)
    return position
