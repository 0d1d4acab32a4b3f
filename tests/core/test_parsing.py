"""parse_file / parse_file_safe on real files of every supported kind, and on broken ones."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from engine.errors import InglenookError
from knowledge import parsing
from knowledge.encoding import decode_bytes
from knowledge.errors import KnowledgeError, ParseError
from knowledge.parsing import Block, ParsedDocument, parse_file, parse_file_safe
from knowledge.scanning import FileCandidate, SkippedFile, scan
from tests.support.broken_corpus import EXPECTED, TEXTS, build_broken_corpus
from tests.support.doc_factory import (
    chinese_paragraph,
    encrypt_pdf,
    make_docx,
    make_epub,
    make_pdf,
    make_pptx,
    pdf_bytes,
    traditional_paragraph,
)


def _write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _headings(doc: ParsedDocument) -> list[tuple[int | None, str]]:
    return [(b.level, b.text) for b in doc.blocks if b.kind == "heading"]


# --- errors ------------------------------------------------------------------------------------------


def test_parse_error_is_a_typed_inglenook_error_with_a_reason(tmp_path: Path) -> None:
    error = ParseError("password-protected PDF", tmp_path / "a.pdf")
    assert isinstance(error, KnowledgeError) and isinstance(error, InglenookError)
    assert error.reason == "password-protected PDF"
    assert str(error) == f"Cannot read {tmp_path / 'a.pdf'}: password-protected PDF"


# --- encodings ---------------------------------------------------------------------------------------

SHORT_SIMPLIFIED = ["会议记录", "今天天气很好，我们去公园散步吧。", "你好，世界", "上海市人民政府"]
SHORT_TRADITIONAL = ["繁體中文", "這是一個測試檔案。", "請參閱附件", "產品說明書"]


@pytest.mark.parametrize("text", [chinese_paragraph(), *SHORT_SIMPLIFIED])
def test_gbk_text_is_detected(text: str, tmp_path: Path) -> None:
    doc = parse_file(_write(tmp_path / "gbk.txt", text.encode("gbk")))
    assert doc.encoding == "gb18030"
    assert doc.full_text().replace("\n\n", "\n") == text
    assert doc.warnings == []


@pytest.mark.parametrize("text", [traditional_paragraph(), *SHORT_TRADITIONAL])
def test_big5_text_is_detected(text: str, tmp_path: Path) -> None:
    doc = parse_file(_write(tmp_path / "big5.txt", text.encode("big5")))
    assert doc.encoding == "cp950"
    assert doc.full_text() == text


@pytest.mark.parametrize(
    ("codec", "prefix", "expected"),
    [
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("utf-16-le", b"\xff\xfe", "utf-16-le"),
        ("utf-16-be", b"\xfe\xff", "utf-16-be"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "utf-32-le"),
    ],
)
def test_byte_order_marks_decide_the_encoding(codec: str, prefix: bytes, expected: str) -> None:
    text = "Windows Notepad 记事本 text\nsecond line"
    decoded = decode_bytes(prefix + text.encode(codec))
    assert (decoded.encoding, decoded.text) == (expected, text)


def test_utf16_without_bom_is_recognised_by_its_nul_pattern() -> None:
    text = "Mostly ASCII text saved as UTF-16 with no BOM.\n" * 3
    assert decode_bytes(text.encode("utf-16-le")).text == text
    assert decode_bytes(text.encode("utf-16-be")).text == text


def test_windows_1252_and_other_single_byte_encodings() -> None:
    assert decode_bytes("Café crème, déjà vu — naïve “quotes”.".encode("cp1252")).text == (
        "Café crème, déjà vu — naïve “quotes”."
    )
    russian = "Привет, как дела? Всё хорошо, спасибо. Погода сегодня отличная."
    assert decode_bytes(russian.encode("cp1251")).text == russian


def test_korean_and_japanese_are_not_read_as_chinese() -> None:
    korean = "안녕하세요 반갑습니다 오늘 날씨가 좋네요"
    japanese = "こんにちは、世界。今日はいい天気ですね。"
    assert decode_bytes(korean.encode("cp949")).text == korean
    assert decode_bytes(japanese.encode("shift_jis")).text == japanese
    assert decode_bytes(japanese.encode("euc_jp")).text == japanese


def test_mostly_valid_utf8_keeps_its_text_and_warns(tmp_path: Path) -> None:
    good = "Résumé of the 会议 notes.\n" * 30
    doc = parse_file(_write(tmp_path / "damaged.txt", good.encode() + b"broken \xff\xfe here\n"))
    assert doc.encoding == "utf-8"
    assert "Résumé of the 会议 notes." in doc.full_text()
    assert doc.warnings == ["2 invalid byte sequence(s) in utf-8 text were replaced with \ufffd"]


def test_newlines_are_normalised(tmp_path: Path) -> None:
    doc = parse_file(_write(tmp_path / "crlf.txt", b"line one\r\nline two\rline three\r\n\r\nnext"))
    assert doc.full_text() == "line one\nline two\nline three\n\nnext"


def test_binary_content_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ParseError) as caught:
        parse_file(_write(tmp_path / "noise.txt", bytes(range(1, 32)) * 100))
    assert caught.value.reason == "binary or corrupt text"
    with pytest.raises(ParseError, match="NUL"):
        parse_file(_write(tmp_path / "nul.txt", b"text\x00\x00\x01\x02 more"))


def test_html_declared_charset_is_used_when_the_bytes_are_not_utf8(tmp_path: Path) -> None:
    html = '<html><head><meta charset="gbk"><title>标题</title></head><body><p>短文本</p></body></html>'
    doc = parse_file(_write(tmp_path / "page.html", html.encode("gbk")))
    assert doc.title == "标题"
    assert doc.blocks == [Block("短文本")]


# --- plain text, Markdown, code ---------------------------------------------------------------------


def test_plain_text_finds_title_chapters_and_articles(tmp_path: Path) -> None:
    text = (
        "中华人民共和国数据安全法\n\n第一章 总则\n第一条 为了规范数据处理活动，制定本法。\n"
        "第二条 在中华人民共和国境内开展数据处理活动，适用本法。\n继续说明。\n\n第二章 数据安全\n第三条 国家建立制度。\n"
    )
    doc = parse_file(_write(tmp_path / "law.txt", text))
    assert doc.title == "中华人民共和国数据安全法"
    assert _headings(doc) == [(1, "中华人民共和国数据安全法"), (2, "第一章 总则"), (2, "第二章 数据安全")]
    assert [b.text for b in doc.blocks if b.kind == "paragraph"] == [
        "第一条 为了规范数据处理活动，制定本法。",
        "第二条 在中华人民共和国境内开展数据处理活动，适用本法。\n继续说明。",
        "第三条 国家建立制度。",
    ]


def test_plain_text_list_items_and_numbered_titles(tmp_path: Path) -> None:
    text = "Intro line that is a sentence.\n\n1.2 Scope\n\nWhat it covers:\n- first\n- second\n"
    doc = parse_file(_write(tmp_path / "notes.txt", text))
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("paragraph", "Intro line that is a sentence."),
        ("heading", "1.2 Scope"),
        ("paragraph", "What it covers:"),
        ("list_item", "- first"),
        ("list_item", "- second"),
    ]


def test_markdown_structure(tmp_path: Path) -> None:
    text = """---
title: Guide
---
# Guide

Intro paragraph
over two lines.

Setext Section
--------------

- item one
  continued
- item two
1. numbered

```python
# not a heading
def f():
    return 1
```

| a | b |
|---|---|
| 1 | 2 |

Other Title
===========
Closing text.
"""
    doc = parse_file(_write(tmp_path / "guide.md", text))
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        ("code", None, "title: Guide"),
        ("heading", 1, "Guide"),
        ("paragraph", None, "Intro paragraph\nover two lines."),
        ("heading", 2, "Setext Section"),
        ("list_item", None, "- item one\n  continued"),
        ("list_item", None, "- item two"),
        ("list_item", None, "1. numbered"),
        ("code", None, "# not a heading\ndef f():\n    return 1"),
        ("table", None, "| a | b |\n|---|---|\n| 1 | 2 |"),
        ("heading", 1, "Other Title"),
        ("paragraph", None, "Closing text."),
    ]
    assert doc.title == "Guide"


def test_unclosed_fence_runs_to_the_end(tmp_path: Path) -> None:
    doc = parse_file(_write(tmp_path / "open.md", "# T\n\n```\ncode forever\n# still code\n"))
    assert doc.blocks[-1] == Block("code forever\n# still code", "code")


def test_source_code_is_cut_before_top_level_definitions(tmp_path: Path) -> None:
    code = '''"""Module docstring."""
import os


# helper for paths
@cache
def first():
    return 1


class Second:
    def method(self):
        return 2
'''
    doc = parse_file(_write(tmp_path / "mod.py", code))
    assert [b.text.split("\n")[0] for b in doc.blocks] == [
        '"""Module docstring."""',
        "# helper for paths",
        "class Second:",
    ]
    assert all(b.kind == "code" for b in doc.blocks)
    assert "    def method(self):" in doc.blocks[-1].text


# --- HTML and EPUB -----------------------------------------------------------------------------------


def test_html_blocks_skip_scripts_and_keep_structure(tmp_path: Path) -> None:
    html = """<!DOCTYPE html><html><head><title>Page</title><style>p{}</style></head><body>
    <nav>menu</nav><h1>Main</h1><p>First <b>bold</b>
    paragraph.</p><script>var x = 1;</script><!-- a comment -->
    <ul><li>one</li><li>two <a href="#">link</a></li></ul>
    <pre>  indented
code</pre><table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr></table>
    <h3>Sub</h3><div>loose text<br>after break</div></body></html>"""
    doc = parse_file(_write(tmp_path / "page.html", html))
    assert doc.title == "Page"
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        ("heading", 1, "Main"),
        ("paragraph", None, "First bold paragraph."),
        ("list_item", None, "one"),
        ("list_item", None, "two link"),
        ("code", None, "  indented\ncode"),
        ("table", None, "k | v\na | 1"),
        ("heading", 3, "Sub"),
        ("paragraph", None, "loose text after break"),
    ]


def test_deeply_nested_html_does_not_hit_the_recursion_limit(tmp_path: Path) -> None:
    html = "<html><body>" + "<div>" * 3000 + "<p>deep text</p>" + "</div>" * 3000 + "</body></html>"
    doc = parse_file(_write(tmp_path / "deep.html", html))
    assert doc.blocks == [Block("deep text")]


def test_epub_chapters_follow_the_spine_with_h1_to_h3_headings(tmp_path: Path) -> None:
    book = make_epub(
        tmp_path / "book.epub",
        {
            "ch1.xhtml": "<h1>Chapter One</h1><p>Alpha.</p><h4>Ornament</h4>",
            "ch2.xhtml": "<h2>Chapter Two</h2><p>Beta.</p>",
        },
        ["ch2.xhtml", "ch1.xhtml"],
        title="Test Book",
    )
    doc = parse_file(book)
    assert doc.title == "Test Book"
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Chapter Two"),
        ("paragraph", "Beta."),
        ("heading", "Chapter One"),
        ("paragraph", "Alpha."),
        ("paragraph", "Ornament"),
    ]


def test_epub_missing_chapter_is_a_warning_and_drm_a_reason(tmp_path: Path) -> None:
    book = make_epub(tmp_path / "book.epub", {"a.xhtml": "<p>Here.</p>"}, ["a.xhtml"])
    with zipfile.ZipFile(book, "a") as archive:  # list a chapter that is not in the archive
        opf = archive.read("OEBPS/content.opf").decode()
    rebuilt = tmp_path / "gaps.epub"
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(rebuilt, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.endswith(".opf"):
                data = (
                    opf.replace(
                        "</manifest>",
                        '<item id="gone" href="text/gone.xhtml" media-type="application/xhtml+xml"/></manifest>',
                    )
                    .replace("</spine>", '<itemref idref="gone"/></spine>')
                    .encode()
                )
            target.writestr(item, data)
    doc = parse_file(rebuilt)
    assert doc.blocks == [Block("Here.")]
    assert doc.warnings == ["chapter OEBPS/text/gone.xhtml is listed but missing from the book"]

    with zipfile.ZipFile(book, "a") as archive:
        archive.writestr(
            "META-INF/encryption.xml",
            '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
            'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:CipherData>'
            '<enc:CipherReference URI="OEBPS/text/a.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>',
        )
    assert parse_file_safe(book) == SkippedFile(
        book, "DRM-protected EPUB; only DRM-free books can be indexed"
    )


# --- PDF ---------------------------------------------------------------------------------------------


def test_pdf_pages_are_numbered_from_one_and_empty_pages_reported(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "r.pdf", ["Budget review text.", "", "Hiring plan text."])
    doc = parse_file(pdf)
    assert doc.page_count == 3
    assert [(b.page, b.text) for b in doc.blocks] == [(1, "Budget review text."), (3, "Hiring plan text.")]
    assert doc.warnings == ["page 2 has no text layer (scanned image?); OCR is not supported yet"]


def test_pdf_bookmarks_become_headings_on_their_pages(tmp_path: Path) -> None:
    pdf = make_pdf(
        tmp_path / "b.pdf", ["Intro.", "Methods.", "More methods."], outline={0: "Introduction", 1: "Methods"}
    )
    doc = parse_file(pdf)
    assert [(b.kind, b.page, b.text) for b in doc.blocks] == [
        ("heading", 1, "Introduction"),
        ("paragraph", 1, "Intro."),
        ("heading", 2, "Methods"),
        ("paragraph", 2, "Methods."),
        ("paragraph", 3, "More methods."),
    ]


def test_password_protected_pdf_is_refused_with_advice(tmp_path: Path) -> None:
    locked = encrypt_pdf(pdf_bytes(["Secret."]), tmp_path / "locked.pdf", user_password="hunter2")
    with pytest.raises(ParseError) as caught:
        parse_file(locked)
    assert caught.value.reason == "password-protected PDF; remove the password or export an unprotected copy"
    assert caught.value.path == locked


def test_pdf_with_only_an_owner_password_opens(tmp_path: Path) -> None:
    pdf = encrypt_pdf(pdf_bytes(["Readable but restricted."]), tmp_path / "restricted.pdf", user_password="")
    assert parse_file(pdf).blocks == [Block("Readable but restricted.", page=1)]


def test_truncated_pdf_keeps_the_pages_before_the_cut(tmp_path: Path) -> None:
    data = pdf_bytes([f"Page {n} talks about topic {n}. " * 15 for n in range(1, 6)])
    cut = _write(tmp_path / "cut.pdf", data[: int(len(data) * 0.75)])
    doc = parse_file(cut)
    assert doc.warnings[0] == "damaged or truncated PDF; only the pages that could be recovered were read"
    pages = sorted({b.page for b in doc.blocks})
    assert pages and pages == list(range(1, len(pages) + 1)) and len(pages) < 5
    assert doc.blocks[0].text.startswith("Page 1 talks about topic 1.")


def test_hundred_page_pdf_parses_in_reasonable_time(tmp_path: Path) -> None:
    import time

    pages = [
        f"Page {n}. " + "The quarterly figures show steady growth across the regions. " * 30
        for n in range(100)
    ]
    pdf = make_pdf(tmp_path / "long.pdf", pages)
    started = time.perf_counter()
    doc = parse_file(pdf)
    elapsed = time.perf_counter() - started
    assert doc.page_count == 100 and {b.page for b in doc.blocks} == set(range(1, 101))
    assert elapsed < 30, f"100 pages took {elapsed:.1f} s"


# --- Office ------------------------------------------------------------------------------------------


def test_docx_headings_lists_and_tables_in_body_order(tmp_path: Path) -> None:
    doc = parse_file(make_docx(tmp_path / "report.docx"))
    assert doc.title == "Quarterly Report"
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        ("heading", 0, "Quarterly Report"),
        ("heading", 1, "Sales"),
        ("paragraph", None, "Sales grew in every region this quarter."),
        ("list_item", None, "North region"),
        ("list_item", None, "South region"),
        ("heading", 2, "Details"),
        ("table", None, "Region | Revenue\nNorth | 1200"),
        ("heading", 1, "Outlook"),
        ("paragraph", None, "We expect steady growth. 我们预计稳定增长。"),
    ]


def test_pptx_one_page_per_slide_with_titles_tables_and_notes(tmp_path: Path) -> None:
    doc = parse_file(make_pptx(tmp_path / "deck.pptx"))
    assert doc.page_count == 3
    assert [(b.page, b.kind, b.text) for b in doc.blocks] == [
        (1, "heading", "Roadmap"),
        (1, "paragraph", "Ship the parser"),
        (1, "list_item", "Handle GBK files"),
        (1, "paragraph", "Speaker notes: Mention the encrypted PDFs."),
        (2, "heading", "Numbers"),
        (2, "table", "Quarter | Users\nQ1 | 5000"),
        (3, "heading", "Slide 3"),
        (3, "paragraph", "A slide without a title."),
    ]


@pytest.mark.parametrize("name", ["fake.docx", "fake.pptx"])
def test_office_impostors_get_clear_reasons(name: str, tmp_path: Path) -> None:
    text_file = _write(tmp_path / name, "just text")
    assert "the file is not a zip archive (damaged or misnamed)" in parse_file_safe(text_file).reason
    ole = _write(tmp_path / f"ole_{name}", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    assert parse_file_safe(ole).reason.startswith("password-protected or old-format")


# --- CSV, JSON, YAML ---------------------------------------------------------------------------------


def test_csv_rows_become_column_value_blocks(tmp_path: Path) -> None:
    csv_text = "name;city;notes\nAlice;Paris;likes tea\nBob;Berlin;\n"
    doc = parse_file(_write(tmp_path / "people.csv", csv_text))
    assert doc.blocks == [
        Block("name: Alice\ncity: Paris\nnotes: likes tea", "table"),
        Block("name: Bob\ncity: Berlin", "table"),
    ]


def test_csv_in_gbk_without_header_and_tsv(tmp_path: Path) -> None:
    gbk = _write(tmp_path / "data.csv", "1,北京,首都\n2,上海,直辖市\n".encode("gbk"))
    doc = parse_file(gbk)
    assert doc.encoding == "gb18030"
    assert doc.blocks[0] == Block("column 1: 1\ncolumn 2: 北京\ncolumn 3: 首都", "table")
    tsv = parse_file(_write(tmp_path / "data.tsv", "k\tv\nx\t1\n"))
    assert tsv.blocks == [Block("k: x\nv: 1", "table")]


def test_json_top_level_keys_become_headings(tmp_path: Path) -> None:
    data = '{"name": "inglenook", "version": 1, "authors": ["a", "b"], "config": {"threads": 2}}'
    doc = parse_file(_write(tmp_path / "pkg.json", data))
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("code", 'name: "inglenook"\nversion: 1'),
        ("heading", "authors"),
        ("code", '[\n  "a",\n  "b"\n]'),
        ("heading", "config"),
        ("code", '{\n  "threads": 2\n}'),
    ]


def test_json_records_lines_and_invalid_json(tmp_path: Path) -> None:
    records = parse_file(_write(tmp_path / "list.json", '[{"id": 1, "t": "中文"}, {"id": 2}]'))
    assert [b.text for b in records.blocks] == ['{\n  "id": 1,\n  "t": "中文"\n}', '{\n  "id": 2\n}']
    lines = parse_file(_write(tmp_path / "log.jsonl", '{"a": 1}\n{"a": 2}\n'))
    assert [b.text for b in lines.blocks] == ["a: 1", "a: 2"]
    broken = parse_file(_write(tmp_path / "bad.json", '{"a": [1, 2,\n'))
    assert broken.warnings[0].startswith("invalid JSON (") and broken.warnings[0].endswith(
        "indexed as plain text"
    )
    assert broken.full_text() == '{"a": [1, 2,'


def test_yaml_sections_keep_comments_and_group_flat_keys(tmp_path: Path) -> None:
    text = (
        "name: demo\nversion: 2\n# database settings\ndatabase:\n  host: localhost\n  port: 5432\nowner: me\n"
    )
    doc = parse_file(_write(tmp_path / "conf.yaml", text))
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("code", "name: demo\nversion: 2"),
        ("heading", "database"),
        ("code", "# database settings\ndatabase:\n  host: localhost\n  port: 5432"),
        ("heading", "owner"),
        ("code", "owner: me"),
    ]
    assert doc.warnings == []
    broken = parse_file(_write(tmp_path / "bad.yml", "key: [unclosed\nother: 1\n"))
    assert broken.warnings and broken.warnings[0].startswith("YAML syntax error")


# --- the safe wrapper and the broken corpus ----------------------------------------------------------


def test_full_text_and_block_spans_agree(tmp_path: Path) -> None:
    doc = parse_file(make_docx(tmp_path / "r.docx"))
    text = doc.full_text()
    assert [text[start:end] for start, end in doc.block_spans()] == [b.text for b in doc.blocks]


def test_parse_file_safe_turns_every_failure_into_a_reason(tmp_path: Path, monkeypatch) -> None:
    assert parse_file_safe(tmp_path / "missing.txt") == SkippedFile(
        tmp_path / "missing.txt", "file not found (moved or deleted?)"
    )
    assert parse_file_safe(_write(tmp_path / "x.xyz", "data")).reason == "unsupported file type (.xyz)"
    assert parse_file_safe(_write(tmp_path / "empty.md", b"")).reason == "empty file"

    def explode(path: Path) -> ParsedDocument:
        raise RuntimeError("library bug")

    monkeypatch.setitem(parsing._PARSERS, "text", explode)
    result = parse_file_safe(_write(tmp_path / "a.txt", "text"))
    assert result == SkippedFile(tmp_path / "a.txt", "could not be read (RuntimeError: library bug)")


def test_permission_denied_while_reading_is_a_reason(tmp_path: Path, monkeypatch) -> None:
    target = _write(tmp_path / "locked.txt", "secret")

    def denied(self) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert parse_file_safe(target) == SkippedFile(target, "permission denied")


def test_broken_corpus_every_file_is_parsed_or_skipped_with_a_reason(tmp_path: Path) -> None:
    corpus = build_broken_corpus(tmp_path / "corpus")
    outcomes: dict[str, ParsedDocument | SkippedFile] = {}
    for result in scan([corpus]):
        outcomes[result.path.name] = (
            parse_file_safe(result.path, result.kind) if isinstance(result, FileCandidate) else result
        )

    for name, (expected, fragment) in EXPECTED.items():
        result = outcomes[name]
        if expected == "parsed":
            assert isinstance(result, ParsedDocument), (name, result)
            assert not fragment or any(fragment in warning for warning in result.warnings), (
                name,
                result.warnings,
            )
        else:
            assert isinstance(result, SkippedFile) and fragment in result.reason, (name, result)
    for name, text in TEXTS.items():
        assert outcomes[name].full_text().replace("\n\n", "\n").strip() == text.strip(), name
    assert all(
        isinstance(r, ParsedDocument) or (isinstance(r, SkippedFile) and r.reason) for r in outcomes.values()
    )
    assert isinstance(outcomes["good.docx"], ParsedDocument) and isinstance(
        outcomes["book.epub"], ParsedDocument
    )
