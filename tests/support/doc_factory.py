"""Real documents made with the real libraries, for the parsing tests, and a test token counter."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z0-9]+|[^\sA-Za-z0-9\u3400-\u9fff\uf900-\ufaff]")


def count_tokens(text: str) -> int:
    """A stand-in for the embedder's WordPiece tokenizer: words, CJK characters and punctuation marks."""
    return len(_TOKEN.findall(text))


def pdf_bytes(pages: list[str], *, outline: dict[int, str] | None = None) -> bytes:
    """A PDF with one page per string (an empty string makes a page with no text).

    ``outline`` maps 0-based page indexes to bookmark titles.
    """
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for index, text in enumerate(pages):
        pdf.add_page()
        if outline and index in outline:
            pdf.start_section(outline[index])
        if text:
            pdf.multi_cell(0, 6, text)
        else:
            pdf.rect(20, 20, 100, 60, style="F")  # a page with only a drawing, like a scan
    return bytes(pdf.output())


def make_pdf(path: Path, pages: list[str], **kwargs) -> Path:
    path.write_bytes(pdf_bytes(pages, **kwargs))
    return path


def encrypt_pdf(source: bytes, path: Path, *, user_password: str, owner_password: str = "owner") -> Path:
    """Encrypt with RC4-128, which pypdf can write without the optional cryptography package."""
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(source))
    writer.encrypt(user_password, owner_password=owner_password, algorithm="RC4-128")
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def make_docx(path: Path) -> Path:
    """A Word document with a title, nested headings, a list, a table and a Chinese heading style."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Quarterly Report"
    document.add_heading("Quarterly Report", level=0)
    document.add_heading("Sales", level=1)
    document.add_paragraph("Sales grew in every region this quarter.")
    document.add_paragraph("North region", style="List Bullet")
    document.add_paragraph("South region", style="List Bullet")
    document.add_heading("Details", level=2)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Region", "Revenue"
    table.cell(1, 0).text, table.cell(1, 1).text = "North", "1200"
    document.add_heading("Outlook", level=1)
    document.add_paragraph("We expect steady growth. 我们预计稳定增长。")
    document.save(str(path))
    return path


def make_pptx(path: Path) -> Path:
    """Three slides: a titled one with bullets and notes, one with a table, one without a title."""
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])
    slide.shapes.title.text = "Roadmap"
    body = slide.placeholders[1].text_frame
    body.text = "Ship the parser"
    paragraph = body.add_paragraph()
    paragraph.text = "Handle GBK files"
    paragraph.level = 1
    slide.notes_slide.notes_text_frame.text = "Mention the encrypted PDFs."

    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    slide.shapes.title.text = "Numbers"
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    table.cell(0, 0).text, table.cell(0, 1).text = "Quarter", "Users"
    table.cell(1, 0).text, table.cell(1, 1).text = "Q1", "5000"

    slide = presentation.slides.add_slide(presentation.slide_layouts[6])  # blank: no title
    box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(5), Inches(1))
    box.text_frame.text = "A slide without a title."
    presentation.save(str(path))
    return path


def make_epub(path: Path, chapters: dict[str, str], spine: list[str], *, title: str = "A Book") -> Path:
    """An EPUB 3 book: ``chapters`` maps file names to XHTML bodies; ``spine`` is the reading order."""
    manifest = "\n".join(
        f'<item id="c{i}" href="text/{name}" media-type="application/xhtml+xml"/>'
        for i, name in enumerate(chapters)
    )
    ids = {name: f"c{i}" for i, name in enumerate(chapters)}
    spine_xml = "\n".join(f'<itemref idref="{ids.get(name, name)}"/>' for name in spine)
    opf = f"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title>
    <dc:identifier id="id">test-book</dc:identifier><dc:language>en</dc:language></metadata>
  <manifest>{manifest}</manifest>
  <spine>{spine_xml}</spine>
</package>"""
    container = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr("META-INF/container.xml", container)
        book.writestr("OEBPS/content.opf", opf)
        for name, body in chapters.items():
            book.writestr(
                f"OEBPS/text/{name}",
                '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
                f"<head><title>{name}</title></head><body>{body}</body></html>",
            )
    return path


def chinese_paragraph() -> str:
    return (
        "第一条 为了规范数据处理活动，保障数据安全，促进数据开发利用，保护个人、组织的合法权益，"
        "维护国家主权、安全和发展利益，制定本法。\n"
        "第二条 在中华人民共和国境内开展数据处理活动及其安全监管，适用本法。"
    )


def traditional_paragraph() -> str:
    return "臺灣的資料處理活動應遵守相關法律規定，保護個人隱私，並促進資料的合理利用與發展。"
