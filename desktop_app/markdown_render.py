"""Markdown to the HTML subset Qt's rich text understands, with highlighted code and copy links.

Parsing is markdown-it-py's (CommonMark, plus GFM tables and strikethrough; raw HTML is shown as
text, never interpreted). This module only turns its tokens into Qt-friendly HTML and adds two
things of its own:

* Streaming. A reply is a sequence of top-level blocks (paragraph, heading, list, quote, table,
  code fence, rule), each knowing its source lines (``token.map``). While a reply streams, every
  block but the last one of its complete lines is final: :class:`StreamingMarkdown` renders each
  finished block once and re-parses and re-renders only the unfinished tail, and the result is
  what a full render of the same text gives.
* Code. Code blocks are highlighted with Pygments (inline styles, which Qt understands) and carry
  a ``copy:N`` link; the view copies ``code_blocks[N]`` when it is clicked.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Raw HTML in a reply is text to show, not markup to obey (html=False).
_PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])

_SAFE_LINK = re.compile(r"^(https?|mailto|file):", re.IGNORECASE)
# Bare URLs in text become links too (markdown-it's linkify would need another package).
_BARE_URL = re.compile(r"\bhttps?://[^\s<]+[^\s<.,;:!?)\]'\"]")


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
@dataclass(frozen=True)
class Block:
    """One top-level block: its tokens and the source lines it spans (``end`` exclusive)."""

    tokens: list[Token]
    start: int
    end: int


def parse_blocks(text: str) -> list[Block]:
    """The text's top-level blocks, in order."""
    blocks: list[Block] = []
    tokens = _PARSER.parse(text)
    i = 0
    while i < len(tokens):
        j = i
        if tokens[i].nesting == 1:  # runs to its matching close at the same level
            depth = 0
            while True:
                depth += tokens[j].nesting
                if depth == 0:
                    break
                j += 1
        start, end = tokens[i].map or (0, 0)
        blocks.append(Block(tokens[i:j + 1], start, end))
        i = j + 1
    return blocks


def split_blocks(text: str) -> list[str]:
    """The text's blocks, in order, as their source lines (blank lines between them dropped)."""
    lines = text.split("\n")
    return ["\n".join(lines[b.start:b.end]).rstrip() for b in parse_blocks(text)]


# ------------------------------------------------------------------------------------------ render
def render_markdown(text: str, palette: Palette = LIGHT, copy_label: str = "Copy") -> Rendered:
    """The whole text as Qt rich text."""
    out = Rendered("")
    parts = [render_block(block, palette, copy_label, out.code_blocks) for block in parse_blocks(text)]
    out.html = document_html(parts, palette)
    return out


def document_html(parts: list[str], palette: Palette) -> str:
    return f'<div style="color:{palette.text}">' + "".join(parts) + "</div>"


def render_block(block: Block, palette: Palette, copy_label: str, code_blocks: list[str]) -> str:
    """One block's HTML. A code block is appended to ``code_blocks`` and linked by its index."""
    return _HtmlWriter(palette, copy_label, code_blocks).blocks(block.tokens)


def inline(text: str, palette: Palette = LIGHT) -> str:
    """Inline Markdown (code, links, bold, italic, strikethrough) as escaped HTML."""
    tokens = _PARSER.parseInline(text)
    children = (tokens[0].children or []) if tokens else []
    return _HtmlWriter(palette, "", []).inline(children)


class _HtmlWriter:
    """Writes markdown-it tokens as the HTML subset Qt's rich text understands."""

    _SIMPLE = {"bullet_list_open": "<ul>", "bullet_list_close": "</ul>", "ordered_list_close": "</ol>",
               "list_item_open": "<li>", "list_item_close": "</li>", "hr": "<hr/>",
               "tr_close": "</tr>", "th_close": "</th>", "td_close": "</td>", "table_close": "</table>"}
    _INLINE = {"softbreak": "<br/>", "hardbreak": "<br/>", "em_open": "<i>", "em_close": "</i>",
               "strong_open": "<b>", "strong_close": "</b>", "s_open": "<s>", "s_close": "</s>"}

    def __init__(self, palette: Palette, copy_label: str, code_blocks: list[str]):
        self.palette = palette
        self.copy_label = copy_label
        self.code_blocks = code_blocks
        self.quote_depth = 0
        self.in_head = False

    # ------------------------------------------------------------------ blocks
    def blocks(self, tokens: Sequence[Token]) -> str:
        return "".join(self._block(token) for token in tokens)

    def _block(self, token: Token) -> str:
        kind = token.type
        if kind in self._SIMPLE:
            return self._SIMPLE[kind]
        if kind == "inline":
            return self.inline(token.children or [])
        if kind in ("paragraph_open", "paragraph_close"):
            return "" if token.hidden else ("<p>" if token.nesting == 1 else "</p>")
        if kind in ("heading_open", "heading_close"):
            level = min(int(token.tag[1]) + 1, 5)  # the reply's h1 is a little smaller than the page's
            return f"<h{level}>" if token.nesting == 1 else f"</h{level}>"
        if kind in ("blockquote_open", "blockquote_close"):
            self.quote_depth += token.nesting
            return "<blockquote>" if token.nesting == 1 else "</blockquote>"
        if kind == "ordered_list_open":
            return f'<ol start="{int(token.attrGet("start") or 1)}">'
        if kind in ("fence", "code_block"):
            return self._code(token)
        return self._table_part(token)

    def _table_part(self, token: Token) -> str:
        kind = token.type
        if kind == "table_open":
            return (f'<table border="1" cellspacing="0" cellpadding="5" style="border-color:{self.palette.border};'
                    f' border-style:solid; margin-top:4px; margin-bottom:4px">')
        if kind in ("thead_open", "thead_close"):
            self.in_head = token.nesting == 1
            return ""
        if kind == "tr_open":
            return f'<tr style="background-color:{self.palette.code_header_bg}">' if self.in_head else "<tr>"
        if kind in ("th_open", "td_open"):
            align = str(token.attrGet("style") or "").removeprefix("text-align:")
            return f'<{token.tag} align="{align}">' if align else f"<{token.tag}>"
        return ""  # tbody and anything unknown: no markup of its own

    def _code(self, token: Token) -> str:
        code = token.content.removesuffix("\n")
        language = token.info.split()[0] if token.info.strip() else ""
        self.code_blocks.append(code)
        return code_html(code, language, self.palette, self.copy_label, len(self.code_blocks) - 1)

    # ------------------------------------------------------------------ inline
    def inline(self, tokens: Sequence[Token]) -> str:
        out: list[str] = []
        links: list[bool] = []  # for each open link: whether it was written as an anchor
        for token in tokens:
            kind = token.type
            if kind == "text":
                out.append(html.escape(token.content, quote=False) if links else self._text(token.content))
            elif kind in self._INLINE:
                out.append(self._INLINE[kind])
            elif kind == "code_inline":
                content = html.escape(token.content.strip() or token.content)
                out.append(f'<code style="background-color:{self.palette.code_bg}">&#8202;{content}&#8202;</code>')
            elif kind == "link_open":
                href = str(token.attrGet("href") or "")
                links.append(bool(_SAFE_LINK.match(href)))
                out.append(self._anchor(href) if links[-1] else "")
            elif kind == "link_close":
                out.append("</a>" if links and links.pop() else "")
            elif kind == "image":  # never fetched: shown as a link to the picture
                href = str(token.attrGet("src") or "")
                alt = html.escape(token.content, quote=False)
                out.append(f"{self._anchor(href)}{alt}</a>" if _SAFE_LINK.match(href) else alt)
            else:  # html_inline cannot occur (html=False); anything else is shown as its text
                out.append(html.escape(token.content, quote=False))
        result = "".join(out)
        if self.quote_depth:
            return f'<span style="color:{self.palette.quote}">{result}</span>'
        return result

    def _anchor(self, href: str) -> str:
        return f'<a href="{html.escape(href, quote=True)}" style="color:{self.palette.link}">'

    def _text(self, text: str) -> str:
        """Escaped text with bare URLs made into links."""
        out, position = [], 0
        for match in _BARE_URL.finditer(text):
            out.append(html.escape(text[position:match.start()], quote=False))
            out.append(f"{self._anchor(match.group(0))}{html.escape(match.group(0))}</a>")
            position = match.end()
        out.append(html.escape(text[position:], quote=False))
        return "".join(out)


# -------------------------------------------------------------------------------------------- code
def code_html(code: str, language: str, palette: Palette, copy_label: str, index: int) -> str:
    """A code block: a header with the language and a ``copy:index`` link, then the highlighted code."""
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
    from pygments import highlight  # Pygments loads after the window's first paint (``warm_up``)
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import TextLexer, get_lexer_by_name
    from pygments.util import ClassNotFound

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


# --------------------------------------------------------------------------------------- streaming
class StreamingMarkdown:
    """Incremental rendering of a growing text.

    ``update(text)`` returns ``(new_final_blocks_html, tail_html)``: the HTML of blocks that just
    became final (append them once) and the HTML of the unfinished tail (replace the previous
    tail). A block is final once a later block has started on a complete line; only the text
    after the final blocks is parsed again, so an update costs the same however long the reply.
    """

    def __init__(self, palette: Palette = LIGHT, copy_label: str = "Copy"):
        self.palette = palette
        self.copy_label = copy_label
        self.text = ""
        self.final_html: list[str] = []
        self.code_blocks: list[str] = []
        self._tail_code: list[str] = []
        self._consumed = 0  # characters of the text the final blocks (and blank lines before the tail) span

    def update(self, text: str) -> tuple[list[str], str]:
        self.text = text
        new_html = self._finalize(text)
        codes = list(self.code_blocks)
        tail_blocks = parse_blocks(text[self._consumed:])
        tail_html = "".join(render_block(b, self.palette, self.copy_label, codes) for b in tail_blocks)
        self._tail_code = codes[len(self.code_blocks):]
        return new_html, tail_html

    def _finalize(self, text: str) -> list[str]:
        """Render the blocks that became final (every block of the complete lines but the last)."""
        rest = text[self._consumed:]
        complete = rest[: rest.rfind("\n") + 1]
        blocks = parse_blocks(complete)
        if len(blocks) < 2:
            return []
        new_html = [render_block(b, self.palette, self.copy_label, self.code_blocks) for b in blocks[:-1]]
        self.final_html.extend(new_html)
        self._consumed += _line_offset(complete, blocks[-2].end)
        return new_html

    def render(self, text: str) -> Rendered:
        """All of ``text``, exactly as ``render_markdown`` renders it. When ``text`` continues what was
        streamed, the final blocks are reused and only the rest is parsed: the last render of a long
        reply costs what a streaming update does."""
        if not text.startswith(self.text):
            return render_markdown(text, self.palette, self.copy_label)
        _new, tail = self.update(text)
        return Rendered(document_html(self.final_html + [tail], self.palette), self.all_code_blocks)

    @property
    def all_code_blocks(self) -> list[str]:
        return self.code_blocks + self._tail_code


def _line_offset(text: str, line: int) -> int:
    """Where line ``line`` (0-based) of ``text`` begins."""
    position = 0
    for _ in range(line):
        found = text.find("\n", position)
        if found < 0:
            return len(text)
        position = found + 1
    return position
