"""Cutting a parsed document into chunks that fit the embedder, along the document's own structure.

Every chunk is a contiguous slice ``full_text[start:end]`` of :meth:`ParsedDocument.full_text`, so a
citation can always point back into the text. How it works:

1. Each block becomes one or more *pieces* of at most ``max_tokens``. A block that is too long is cut
   at line ends, then at sentence ends (``.!?`` and ``。！？；``), then, for a run with neither (a
   wall of Chinese, a base64 blob), by characters, preferring a space.
2. Every piece records how good a place to cut its start is: a heading or a new page (always cut),
   a numbered article or section (第五条, Article 5, § 4, 1.2.3 Title), a block start, a line start,
   a sentence start, an arbitrary character.
3. Pieces are packed greedily up to ``max_tokens``. When the next piece does not fit, the cut goes
   at the best-ranked boundary that leaves the chunk at least half full, so an article is kept
   whole where it can be rather than cut wherever the budget ran out.
4. A chunk that was cut inside a section starts with an overlap: the last sentences (or, after a
   cut mid-text, the last characters) of the previous chunk, up to ``overlap_tokens``. There is no
   overlap across a heading, an article or a page.

Page policy: chunks never cross a page (PDF page, PPTX slide), so a chunk's page is exact. The cost
is an occasional short chunk at the foot of a page.

Token counts come from ``count_tokens`` (the embedder's tokenizer, without special tokens). It is
called about once per piece and a few times per chunk, never on growing concatenations, so
chunking is linear in the document's length. A chunk's count is the sum of its pieces' counts; for a
WordPiece tokenizer that sum is exact at spaces and punctuation and an over-estimate elsewhere, so
chunks never exceed ``max_tokens``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from knowledge.parsing.document import ParsedDocument
from knowledge.structure import ARTICLE, LIST_ITEM

# How good a place to cut the start of a piece is: higher is better, FORCED always cuts.
HARD, SENTENCE, LINE, BLOCK, ARTICLE_START, FORCED = range(6)

_MIN_FILL = 0.5  # a chunk cut early at a better boundary is still at least this full
_MAX_CHARS_PER_TOKEN = 16  # text longer than max_tokens * this is too long without counting it
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)|[。！？；]+[”’」』）)\"]*")
_CLAUSE_END = re.compile(r"[，,、：:;]\s*")
_WHITESPACE = " \t\n\r\u3000"

TokenCounter = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class Chunk:
    """A slice of a document small enough to embed, and where it came from.

    ``start``/``end`` are character offsets into ``ParsedDocument.full_text()``; ``ordinal`` is the
    chunk's position in the document; ``tokens`` is its size as counted when chunking.
    """

    text: str
    page: int | None
    heading_trail: tuple[str, ...]
    start: int
    end: int
    ordinal: int
    tokens: int = 0
    sections: tuple[int, int] = (0, 0)  # first and last section (heading or numbered article) it touches
    home: tuple[int, int] = (0, 0)  # the span of those sections: how far its context may grow
    chapter_home: tuple[int, int] = (0, 0)  # the span of the heading sections it touches (articles included)


@dataclass(slots=True)
class _Piece:
    start: int
    end: int
    tokens: int
    rank: int
    page: int | None
    section: int
    trail: tuple[str, ...]
    heading: bool = False
    chapter: int = 0  # counts headings only (``section`` counts numbered articles too)


def chunk_document(
    doc: ParsedDocument,
    count_tokens: TokenCounter,
    *,
    max_tokens: int = 256,
    overlap_tokens: int = 32,
) -> list[Chunk]:
    """Chunks of ``doc`` of at most ``max_tokens`` tokens each; see the module docstring."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    if not 0 <= overlap_tokens < max_tokens:
        raise ValueError("overlap_tokens must be at least 0 and less than max_tokens")
    text = doc.full_text()
    pieces = list(_Splitter(text, count_tokens, max_tokens).document_pieces(doc))
    chunks = _Packer(text, count_tokens, max_tokens, overlap_tokens).pack(iter(pieces))
    spans = _extents(pieces, lambda p: p.section)
    chapters = _extents(pieces, lambda p: p.chapter)
    first_chapter = {p.section: p.chapter for p in reversed(pieces)}
    last_chapter = {p.section: p.chapter for p in pieces}
    return [replace(c, home=(spans[c.sections[0]][0], spans[c.sections[1]][1]),
                    chapter_home=(chapters[first_chapter[c.sections[0]]][0], chapters[last_chapter[c.sections[1]]][1]))
            for c in chunks]


def _extents(pieces: list[_Piece], key: Callable[[_Piece], int]) -> dict[int, tuple[int, int]]:
    spans: dict[int, tuple[int, int]] = {}
    for piece in pieces:
        start, end = spans.get(key(piece), (piece.start, piece.end))
        spans[key(piece)] = (min(start, piece.start), max(end, piece.end))
    return spans


class _Splitter:
    """Turns blocks into pieces of at most ``max_tokens``, each with the rank of its start."""

    def __init__(self, text: str, count_tokens: TokenCounter, max_tokens: int) -> None:
        self.text = text
        self.count = count_tokens
        self.max_tokens = max_tokens
        self.max_chars = max_tokens * _MAX_CHARS_PER_TOKEN

    def document_pieces(self, doc: ParsedDocument) -> Iterator[_Piece]:
        trail: list[tuple[int, str]] = []
        section = chapter = 0
        for block, (start, end) in zip(doc.blocks, doc.block_spans(), strict=True):
            if block.kind == "heading":
                level = block.level if block.level is not None else 1
                while trail and trail[-1][0] >= level:
                    trail.pop()
                trail.append((level, " ".join(block.text.split())[:200]))
                section += 1
                chapter += 1
                rank = FORCED
            elif ARTICLE.match(block.text):
                section += 1  # no overlap reaches back into the previous article
                rank = ARTICLE_START
            else:
                rank = BLOCK
            names = tuple(name for _, name in trail)
            for piece_start, piece_end, tokens, piece_rank in self.split(
                start, end, rank, block.kind == "code"
            ):
                yield _Piece(
                    piece_start,
                    piece_end,
                    tokens,
                    piece_rank,
                    block.page,
                    section,
                    names,
                    block.kind == "heading",
                    chapter,
                )

    def split(self, start: int, end: int, rank: int, code: bool) -> Iterator[tuple[int, int, int, int]]:
        """``(start, end, tokens, rank)`` pieces of ``text[start:end]``, each within the budget."""
        start, end = _trim(self.text, start, end)
        whole = self._whole(start, end, rank)
        if whole is not None:
            if whole:
                yield whole
            return
        if "\n" in self.text[start:end]:
            yield from self._lines(start, end, rank, code)
        else:
            yield from self._line(start, end, rank, code, known_too_long=True)

    def _lines(self, start: int, end: int, rank: int, code: bool) -> Iterator[tuple[int, int, int, int]]:
        after_blank = False
        position = start
        while position < end:
            newline = self.text.find("\n", position, end)
            line_end = end if newline == -1 else newline
            line_start, line_stop = _trim(self.text, position, line_end)
            if line_start < line_stop:
                line = self.text[line_start:line_stop]
                if position == start:
                    line_rank = rank
                elif ARTICLE.match(line):
                    line_rank = ARTICLE_START
                elif after_blank or LIST_ITEM.match(line):
                    line_rank = BLOCK
                else:
                    line_rank = LINE
                yield from self._line(line_start, line_stop, line_rank, code)
                after_blank = False
            else:
                after_blank = True
            position = line_end + 1

    def _line(
        self, start: int, end: int, rank: int, code: bool, known_too_long: bool = False
    ) -> Iterator[tuple[int, int, int, int]]:
        if not known_too_long and end - start <= self.max_chars:
            tokens = self.count(self.text[start:end])
            if tokens <= self.max_tokens:
                yield start, end, tokens, rank
                return
        if code:  # code is not prose: no sentence ends to find
            yield from self._hard(start, end, rank)
            return
        sentence_start = start
        for match in _SENTENCE_END.finditer(self.text, start, end):
            yield from self._sentence(sentence_start, match.end(), rank)
            rank = SENTENCE
            sentence_start = match.end()
        yield from self._sentence(sentence_start, end, rank)

    def _sentence(self, start: int, end: int, rank: int) -> Iterator[tuple[int, int, int, int]]:
        start, end = _trim(self.text, start, end)
        whole = self._whole(start, end, rank)
        if whole is not None:
            if whole:
                yield whole
            return
        yield from self._hard(start, end, rank)

    def _whole(self, start: int, end: int, rank: int) -> tuple | None:
        """``()`` for an empty span, the span as one piece when it fits the budget, None when it must be cut."""
        if start >= end:
            return ()
        if end - start <= self.max_chars:
            tokens = self.count(self.text[start:end])
            if tokens <= self.max_tokens:
                return start, end, tokens, rank
        return None

    def _hard(self, start: int, end: int, rank: int) -> Iterator[tuple[int, int, int, int]]:
        """Cut a run with no usable boundary into windows that fit, preferring to cut at a space."""
        sample = self.text[start : min(end, start + 4096)]
        chars_per_token = len(sample) / max(1, self.count(sample))
        position = start
        while position < end:
            width = max(1, int(self.max_tokens * chars_per_token * 0.9))
            while True:
                cut = min(end, position + width)
                if cut < end:
                    space = max(self.text.rfind(ch, position + width * 3 // 4, cut) for ch in " \t\n\u3000")
                    if space > position:
                        cut = space
                piece_start, piece_end = _trim(self.text, position, cut)
                tokens = self.count(self.text[piece_start:piece_end]) if piece_start < piece_end else 0
                if tokens <= self.max_tokens or width == 1:
                    break
                width = max(1, min(width - 1, int(width * self.max_tokens / tokens * 0.9)))
            if piece_start < piece_end:
                yield piece_start, piece_end, tokens, rank
                rank = HARD
            position = cut


class _Packer:
    """Packs pieces into chunks, choosing cut points by rank and adding the overlap."""

    def __init__(self, text: str, count_tokens: TokenCounter, max_tokens: int, overlap_tokens: int) -> None:
        self.text = text
        self.count = count_tokens
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens
        self.chunks: list[Chunk] = []
        self.current: list[_Piece] = []
        self.overlap: tuple[int, int] | None = None  # (start, tokens) repeated before current
        self.used = 0  # tokens in the current chunk, overlap included

    def pack(self, pieces: Iterator[_Piece]) -> list[Chunk]:
        for piece in pieces:
            if self.current and self._must_cut_before(piece):
                self._close(len(self.current), piece)
            while self.current and self.used + piece.tokens > self.max_tokens:
                self._close(self._best_cut(piece), piece)
            self.current.append(piece)
            self.used += piece.tokens
        if self.current:
            self._close(len(self.current), None)
        return self.chunks

    def _must_cut_before(self, piece: _Piece) -> bool:
        if piece.page != self.current[0].page:
            return True
        return piece.rank == FORCED and not all(p.heading for p in self.current)

    def _best_cut(self, incoming: _Piece) -> int:
        """Index in ``current`` to cut before (``len(current)``: before ``incoming``).

        The best-ranked boundary that leaves the chunk at least half full, the latest on a tie;
        never one that would leave a chunk of headings alone.
        """
        best, best_rank = len(self.current), incoming.rank
        filled = self.overlap[1] if self.overlap else 0
        body_seen = False
        for index, piece in enumerate(self.current):
            if body_seen and filled >= self.max_tokens * _MIN_FILL and piece.rank > best_rank:
                best, best_rank = index, piece.rank
            filled += piece.tokens
            body_seen = body_seen or not piece.heading
        return best

    def _close(self, cut: int, incoming: _Piece | None) -> None:
        """Emit ``current[:cut]`` as a chunk; the rest, after any overlap, starts the next one."""
        taken, rest = self.current[:cut], self.current[cut:]
        start = self.overlap[0] if self.overlap else taken[0].start
        body = next((p for p in taken if not p.heading), taken[-1])
        self.chunks.append(
            Chunk(
                text=self.text[start : taken[-1].end],
                page=taken[0].page,
                heading_trail=body.trail,
                start=start,
                end=taken[-1].end,
                ordinal=len(self.chunks),
                tokens=(self.overlap[1] if self.overlap else 0) + sum(p.tokens for p in taken),
                sections=(taken[0].section, taken[-1].section),
            )
        )
        self.current = rest
        self.used = sum(p.tokens for p in rest)
        self.overlap = None
        following = rest[0] if rest else incoming
        if following is None:
            return
        overlap = self._overlap(taken, following)
        next_tokens = self.used if rest else following.tokens
        if overlap and overlap[1] + next_tokens <= self.max_tokens:
            self.overlap = overlap
            self.used += overlap[1]

    def _overlap(self, taken: list[_Piece], following: _Piece) -> tuple[int, int] | None:
        """``(start, tokens)`` of the tail of the chunk just closed to repeat before ``following``."""
        last = taken[-1]
        if (
            not self.overlap_tokens
            or following.rank >= ARTICLE_START
            or last.heading
            or last.section != following.section
            or last.page != following.page
        ):
            return None
        chunk_start = taken[0].start
        if following.rank == HARD:
            return self._tail_by_characters(last, chunk_start)
        window = max(last.start, last.end - self.overlap_tokens * _MAX_CHARS_PER_TOKEN)
        for pattern in (_SENTENCE_END, _CLAUSE_END):
            starts = [m.end() for m in pattern.finditer(self.text, window, last.end)]
            best = None
            for start in reversed([window, *starts] if window == last.start else starts):
                start, _ = _trim(self.text, start, last.end)
                if start >= last.end or start <= chunk_start:
                    continue
                tokens = self.count(self.text[start : last.end])
                if tokens > self.overlap_tokens:
                    break
                best = (start, tokens)
            if best:
                return best
        return None

    def _tail_by_characters(self, last: _Piece, chunk_start: int) -> tuple[int, int] | None:
        chars_per_token = (last.end - last.start) / max(1, last.tokens)
        width = max(1, int(self.overlap_tokens * chars_per_token * 0.9))
        for _ in range(6):
            start = max(last.start, last.end - width)
            space = self.text.find(" ", start, last.end)
            if 0 <= space < start + width // 4:
                start = space
            start, _ = _trim(self.text, start, last.end)
            if start <= chunk_start or start >= last.end:
                return None
            tokens = self.count(self.text[start : last.end])
            if tokens <= self.overlap_tokens:
                return start, tokens
            width = max(1, width * self.overlap_tokens // (tokens + 1))
        return None


CONTEXT_SCOPES = ("heading", "article")


def context_spans(chunks: list[Chunk], measure: TokenCounter, text: str, limit: int,
                  scope: str = "heading") -> list[tuple[int, int]]:
    """For each chunk, the span of text to hand to the answer step: the chunk grown by its neighbours,
    alternately after and before, clipped to its page and to its ``scope`` — the heading's section it is
    in ("heading": neighbouring articles of the same chapter included) or the numbered articles it touches
    ("article") — while the span measures at most ``limit``. Small chunks are matched precisely; the
    answer gets their surroundings.
    """
    spans = []
    for index, chunk in enumerate(chunks):
        low = high = index
        start, end = chunk.start, chunk.end
        home = chunk.chapter_home if scope == "heading" else chunk.home
        home_start, home_end = home if home != (0, 0) else (chunk.start, chunk.end)
        grew = True
        while grew:
            grew = False
            if high + 1 < len(chunks) and chunks[high + 1].page == chunk.page and end < home_end:
                candidate = min(chunks[high + 1].end, home_end)
                if measure(text[start:candidate]) <= limit:
                    high, end, grew = high + 1, candidate, True
            if low > 0 and chunks[low - 1].page == chunk.page and start > home_start:
                candidate = max(chunks[low - 1].start, home_start)
                if measure(text[candidate:end]) <= limit:
                    low, start, grew = low - 1, candidate, True
        spans.append(_trim(text, start, end))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``start``/``end`` moved inward past whitespace."""
    while start < end and text[start] in _WHITESPACE:
        start += 1
    while end > start and text[end - 1] in _WHITESPACE:
        end -= 1
    return start, end
