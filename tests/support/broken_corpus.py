"""A folder of broken and awkward files, built from real documents, and what must become of each.

Every entry is made the way such files arise: PDFs cut short, a PDF locked with a password, a
"document" that is really text, Chinese text saved by Windows in GBK or Big5 or UTF-16, a link that
points back at its own folder. ``EXPECTED`` says, for each, where it ends: ``"parsed"`` (a
ParsedDocument, perhaps with warnings), ``"scan"`` (a SkippedFile from scan) or ``"parse"`` (a
SkippedFile from parse_file_safe), with a fragment of the reason or warning that must be given.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.doc_factory import (
    chinese_paragraph,
    encrypt_pdf,
    make_docx,
    make_epub,
    pdf_bytes,
    traditional_paragraph,
)

#: name -> (outcome, fragment of the reason, or of a warning for parsed files; "" = no warning needed)
EXPECTED: dict[str, tuple[str, str]] = {
    "report.pdf": ("parsed", "page 3 has no text layer"),
    "truncated_tail.pdf": ("parsed", "damaged or truncated PDF"),
    "truncated_head.pdf": ("parse", "damaged or truncated PDF"),
    "locked.pdf": ("parse", "password-protected PDF"),
    "owner_only.pdf": ("parsed", ""),
    "not_a_pdf.pdf": ("parse", "damaged or truncated PDF"),
    "not_a_zip.docx": ("parse", "not a zip archive"),
    "truncated.docx": ("parse", "not a zip archive"),
    "truncated.epub": ("parse", "not a zip archive"),
    "empty.txt": ("scan", "empty file"),
    "binary.txt": ("scan", "binary file"),
    "png_named.txt": ("scan", "binary file (PNG image)"),
    "bad_utf8.txt": ("parsed", "invalid byte sequence"),
    "gbk.txt": ("parsed", ""),
    "big5.txt": ("parsed", ""),
    "utf16.txt": ("parsed", ""),
    "utf16_nobom.txt": ("parsed", ""),
    "loop": ("scan", "symlink loop"),
    "self_loop.txt": ("scan", "symlink loop"),
    "dangling.txt": ("scan", "broken symlink"),
    "photo.jpg": ("scan", "OCR is not supported"),
    "old.doc": ("scan", "save it as .docx"),
    ".hidden.txt": ("scan", "hidden"),
    "bad.json": ("parsed", "invalid JSON"),
}

#: Text of the files whose content the tests compare after decoding.
TEXTS = {
    "gbk.txt": chinese_paragraph(),
    "big5.txt": traditional_paragraph(),
    "utf16.txt": "UTF-16 with a BOM, as Windows Notepad saves it.\n" + chinese_paragraph(),
    "utf16_nobom.txt": "UTF-16 without a byte-order mark, mostly ASCII text.\n" * 5,
}


def build_broken_corpus(root: Path) -> Path:
    """Write the corpus into ``root`` (created) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    report = pdf_bytes(
        ["First page about budgets. " * 20, "Second page about hiring. " * 20, "", "Fourth page."]
    )
    (root / "report.pdf").write_bytes(report)
    (root / "truncated_tail.pdf").write_bytes(report[: int(len(report) * 0.8)])
    (root / "truncated_head.pdf").write_bytes(report[: len(report) // 4])
    encrypt_pdf(report, root / "locked.pdf", user_password="secret")
    encrypt_pdf(report, root / "owner_only.pdf", user_password="")
    (root / "not_a_pdf.pdf").write_text("This is a text file someone renamed to .pdf\n")

    (root / "not_a_zip.docx").write_text("I am plain text wearing a .docx name.")
    docx_bytes = make_docx(root / "good.docx").read_bytes()
    (root / "truncated.docx").write_bytes(docx_bytes[: len(docx_bytes) // 2])
    epub = make_epub(root / "book.epub", {"a.xhtml": "<h1>One</h1><p>Text.</p>"}, ["a.xhtml"]).read_bytes()
    (root / "truncated.epub").write_bytes(epub[: len(epub) // 2])

    (root / "empty.txt").write_bytes(b"")
    (root / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (root / "png_named.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    (root / "bad_utf8.txt").write_bytes(
        "Mostly fine UTF-8 text — with accents: café, naïve, 中文。\n".encode() * 20 + b"bad \xff\xfe bytes\n"
    )
    (root / "gbk.txt").write_bytes(TEXTS["gbk.txt"].encode("gbk"))
    (root / "big5.txt").write_bytes(TEXTS["big5.txt"].encode("big5"))
    (root / "utf16.txt").write_bytes(TEXTS["utf16.txt"].encode("utf-16"))  # with BOM
    (root / "utf16_nobom.txt").write_bytes(TEXTS["utf16_nobom.txt"].encode("utf-16-le"))
    (root / "bad.json").write_text('{"name": "inglenook", "broken": [1, 2,\n')

    (root / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    (root / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))
    (root / ".hidden.txt").write_text("hidden notes")

    os.symlink(root, root / "loop")  # a link to its own folder
    os.symlink(root / "self_loop.txt", root / "self_loop.txt")  # a link to itself
    os.symlink(root / "gone.txt", root / "dangling.txt")
    return root


def write_big_text(path: Path, size: int) -> Path:
    """A real text file of ``size`` bytes (paragraphs of English and Chinese), written quickly."""
    unit = (
        ("The committee reviewed the annual budget and approved the plan. " * 5 + "\n\n") * 4
        + "第十二条 数据处理者应当建立健全全流程数据安全管理制度。\n\n"
    ).encode()
    units, remainder = divmod(size, len(unit))
    block_units = 1024 * 1024 // len(unit) + 1
    with open(path, "wb") as handle:
        for _ in range(units // block_units):
            handle.write(unit * block_units)
        handle.write(unit * (units % block_units))
        handle.write(b"." * remainder)
    return path
