"""chunk_document: budgets, boundaries, heading trails, pages, overlap, offsets and speed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from knowledge.chunking import Chunk, chunk_document
from knowledge.parsing import Block, ParsedDocument, parse_file
from knowledge.scanning import FileCandidate, scan
from tests.support.broken_corpus import write_big_text
from tests.support.doc_factory import count_tokens, make_docx, make_pdf


def _doc(*blocks: Block, kind: str = "text") -> ParsedDocument:
    return ParsedDocument(Path("doc.txt"), kind, list(blocks))


def _check_invariants(doc: ParsedDocument, chunks: list[Chunk], max_tokens: int) -> None:
    """What must hold for every chunking: offsets, budgets, order, and no text lost."""
    text = doc.full_text()
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    covered = 0
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert count_tokens(chunk.text) <= chunk.tokens <= max_tokens, chunk
        assert chunk.text == chunk.text.strip()
        assert chunk.start <= covered or not text[covered : chunk.start].strip(), (
            "text skipped between chunks"
        )
        covered = max(covered, chunk.end)
    assert not text[covered:].strip(), "text lost at the end"


def test_small_blocks_are_packed_into_one_chunk() -> None:
    doc = _doc(Block("First paragraph."), Block("- an item", "list_item"), Block("Last one."))
    (chunk,) = chunk_document(doc, count_tokens, max_tokens=50)
    assert chunk == Chunk("First paragraph.\n\n- an item\n\nLast one.", None, (), 0, 38, 0, 9, sections=(0, 0),
                          home=(0, 38), chapter_home=(0, 38))


def test_headings_start_chunks_and_build_the_trail() -> None:
    doc = _doc(
        Block("Guide", "heading", 1),
        Block("Intro text."),
        Block("Install", "heading", 2),
        Block("Run the installer."),
        Block("Linux", "heading", 3),
        Block("Use the tarball."),
        Block("Usage", "heading", 2),
        Block("Open the app."),
    )
    chunks = chunk_document(doc, count_tokens, max_tokens=100)
    assert [(c.heading_trail, c.text) for c in chunks] == [
        (("Guide",), "Guide\n\nIntro text."),
        (("Guide", "Install"), "Install\n\nRun the installer."),
        (("Guide", "Install", "Linux"), "Linux\n\nUse the tarball."),
        (("Guide", "Usage"), "Usage\n\nOpen the app."),
    ]
    _check_invariants(doc, chunks, 100)


def test_consecutive_headings_stay_with_the_text_under_them() -> None:
    doc = _doc(Block("Part One", "heading", 1), Block("Chapter 1", "heading", 2), Block("Body text."))
    (chunk,) = chunk_document(doc, count_tokens, max_tokens=100)
    assert chunk.text == "Part One\n\nChapter 1\n\nBody text."
    assert chunk.heading_trail == ("Part One", "Chapter 1")


def test_chinese_articles_are_kept_whole_when_they_fit() -> None:
    articles = [
        f"第{n}条 " + "数据处理者应当依照法律规定建立健全数据安全管理制度。" * (1 + n % 3)
        for n in range(1, 21)
    ]
    doc = _doc(Block("第一章 总则", "heading", 2), *(Block(a) for a in articles))
    chunks = chunk_document(doc, count_tokens, max_tokens=120, overlap_tokens=16)
    _check_invariants(doc, chunks, 120)
    assert chunks[0].text.startswith("第一章 总则\n\n第1条")
    for chunk in chunks[1:]:
        assert chunk.text.split(" ")[0].endswith("条"), "a chunk starts in the middle of an article"
    assert all(any(article in chunk.text for chunk in chunks) for article in articles), "an article was split"


def test_an_article_boundary_is_preferred_to_a_later_paragraph_boundary() -> None:
    """When the budget runs out, the cut goes back to the article start, not the last paragraph."""
    doc = _doc(
        Block("Article 1 " + "word " * 40),
        Block("Article 2 " + "word " * 20),
        Block("continued paragraph " + "word " * 10),
        Block("more of article two " + "word " * 10),
    )
    chunks = chunk_document(doc, count_tokens, max_tokens=70, overlap_tokens=0)
    assert [c.text.split(" ")[:2] for c in chunks] == [["Article", "1"], ["Article", "2"]]


def test_long_paragraph_is_cut_at_sentences_with_overlap() -> None:
    sentences = [f"Sentence number {n} says something useful." for n in range(40)]
    doc = _doc(Block("Notes", "heading", 1), Block(" ".join(sentences)))
    chunks = chunk_document(doc, count_tokens, max_tokens=60, overlap_tokens=16)
    _check_invariants(doc, chunks, 60)
    assert len(chunks) > 3
    for previous, chunk in zip(chunks, chunks[1:], strict=False):
        assert chunk.text.startswith("Sentence number"), "cut in the middle of a sentence"
        assert chunk.start < previous.end, "no overlap"
        overlap = doc.full_text()[chunk.start : previous.end]
        assert count_tokens(overlap) <= 16 and overlap.endswith(".")
        assert chunk.heading_trail == ("Notes",)


def test_chinese_sentences_are_boundaries_too() -> None:
    text = "".join(f"这是第{n}句话，讲的是数据安全的重要性。" for n in range(60))
    doc = _doc(Block(text))
    chunks = chunk_document(doc, count_tokens, max_tokens=64, overlap_tokens=12)
    _check_invariants(doc, chunks, 64)
    assert all(c.text.endswith("。") for c in chunks)
    assert all(c.text.startswith("这是第") or c.text.startswith("讲的是") for c in chunks)


def test_no_overlap_across_headings_articles_or_pages() -> None:
    doc = _doc(
        Block("One. " * 40, page=1),
        Block("Two. " * 40, page=2),
        Block("Head", "heading", 1, page=2),
        Block("Three. " * 40, page=2),
        Block("第五条 " + "规定。" * 30, page=2),
    )
    chunks = chunk_document(doc, count_tokens, max_tokens=100, overlap_tokens=20)
    _check_invariants(doc, chunks, 100)
    for previous, chunk in zip(chunks, chunks[1:], strict=False):
        assert chunk.start >= previous.end
    assert [c.page for c in chunks] == [1, 2, 2, 2]


def test_chunks_never_cross_pages_and_take_their_page() -> None:
    doc = _doc(
        Block("Short page one.", page=1), Block("Short page two.", page=2), Block("Page two again.", page=2)
    )
    chunks = chunk_document(doc, count_tokens, max_tokens=200)
    assert [(c.page, c.text) for c in chunks] == [
        (1, "Short page one."),
        (2, "Short page two.\n\nPage two again."),
    ]


def test_a_wall_of_chinese_without_punctuation_is_cut_by_characters() -> None:
    wall = "数据处理活动保障数据安全促进数据开发利用保护个人组织的合法权益" * 40
    doc = _doc(Block(wall))
    chunks = chunk_document(doc, count_tokens, max_tokens=100, overlap_tokens=10)
    _check_invariants(doc, chunks, 100)
    assert all(80 <= c.tokens <= 100 for c in chunks[:-1])
    for previous, chunk in zip(chunks, chunks[1:], strict=False):
        assert 0 < previous.end - chunk.start <= 10, "a cut mid-text should repeat a little of the tail"


def test_long_code_blocks_are_cut_at_line_ends() -> None:
    code = "\n".join(f"    value_{n} = compute(value_{n - 1}, factor={n})" for n in range(200))
    doc = _doc(Block(code, "code"), kind="code")
    chunks = chunk_document(doc, count_tokens, max_tokens=80, overlap_tokens=0)
    _check_invariants(doc, chunks, 80)
    assert all(c.text.startswith("value_") and c.text.endswith(")") for c in chunks)


def test_overlong_heading_and_a_single_huge_token_run_still_fit() -> None:
    doc = _doc(Block("Title " * 300, "heading", 1), Block("x" * 5000), Block("tail"))
    chunks = chunk_document(doc, count_tokens, max_tokens=50, overlap_tokens=5)
    _check_invariants(doc, chunks, 50)


def test_empty_document_gives_no_chunks() -> None:
    assert chunk_document(_doc(), count_tokens) == []


@pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 0), (10, 10), (10, -1)])
def test_bad_budgets_are_rejected(max_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        chunk_document(_doc(Block("x")), count_tokens, max_tokens=max_tokens, overlap_tokens=overlap)


def test_real_pdf_and_docx_chunks_keep_page_and_trail(tmp_path: Path) -> None:
    pdf = parse_file(
        make_pdf(tmp_path / "r.pdf", ["Alpha text. " * 80, "Beta text. " * 80], outline={1: "Beta"})
    )
    chunks = chunk_document(pdf, count_tokens, max_tokens=64)
    _check_invariants(pdf, chunks, 64)
    assert {c.page for c in chunks} == {1, 2}
    assert all(c.heading_trail == ("Beta",) for c in chunks if c.page == 2)
    docx = parse_file(make_docx(tmp_path / "r.docx"))
    trails = [c.heading_trail for c in chunk_document(docx, count_tokens, max_tokens=64)]
    assert ("Quarterly Report", "Sales", "Details") in trails


def test_count_tokens_is_called_a_linear_number_of_times() -> None:
    calls = 0

    def counting(text: str) -> int:
        nonlocal calls
        calls += 1
        return count_tokens(text)

    paragraphs = [Block(" ".join(f"Sentence {p}.{n} is here." for n in range(12))) for p in range(400)]
    doc = _doc(*paragraphs)
    chunks = chunk_document(doc, counting, max_tokens=64, overlap_tokens=8)
    sentences = 400 * 12
    assert calls <= 2 * sentences + 3 * len(chunks), calls


def test_a_50_mb_text_file_parses_and_chunks_in_reasonable_time(tmp_path: Path) -> None:
    big = write_big_text(tmp_path / "big.txt", 52 * 1024 * 1024)
    (candidate,) = scan([big], max_bytes=64 * 1024 * 1024)
    assert isinstance(candidate, FileCandidate)

    started = time.perf_counter()
    doc = parse_file(candidate.path)
    parsed = time.perf_counter()
    chunks = chunk_document(doc, count_tokens)
    done = time.perf_counter()

    assert len(chunks) > 30_000
    assert all(c.tokens <= 256 for c in chunks)
    sample = chunks[:: len(chunks) // 50]
    text = doc.full_text()
    assert all(text[c.start : c.end] == c.text for c in sample)
    assert done - started < 120, f"parse {parsed - started:.1f} s, chunk {done - parsed:.1f} s"
