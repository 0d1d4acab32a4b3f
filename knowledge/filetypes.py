"""Which files the pipeline reads, and what kind of document each one is.

The kind decides the parser. Files are recognised by extension (and a few well-known names such as
``README`` or ``Makefile``); the scanner then checks their first bytes before anything is parsed.
"""

from __future__ import annotations

from pathlib import Path

#: Kinds whose content is text in some encoding (as opposed to a container format).
TEXT_KINDS = frozenset({"text", "markdown", "code", "html", "csv", "json", "yaml"})

_BY_EXTENSION: dict[str, str] = {}


def _register(kind: str, extensions: str) -> None:
    for ext in extensions.split():
        _BY_EXTENSION["." + ext] = kind


_register("text", "txt text log rst org tex nfo srt vtt")
_register("markdown", "md markdown mdown mkd mkdn mdx")
_register("html", "html htm xhtml")
_register("pdf", "pdf")
_register("docx", "docx docm")
_register("pptx", "pptx pptm")
_register("epub", "epub")
_register("csv", "csv tsv")
_register("json", "json jsonl ndjson geojson")
_register("yaml", "yaml yml")
_register(
    "code",
    "py pyi pyw js mjs cjs jsx ts tsx java kt kts scala groovy gradle c h cc cpp cxx hpp hh hxx m mm "
    "cs fs vb go rs swift dart rb php pl pm lua r jl hs ml ex exs erl clj cljs elm zig nim v "
    "sh bash zsh fish ps1 psm1 bat cmd sql graphql proto thrift css scss sass less vue svelte "
    "xml xsl xsd svg toml ini cfg conf properties env cmake mk make dockerfile tf hcl ipynb",
)

#: Extension-less files that are text by convention.
_BY_NAME = {
    "readme": "text",
    "license": "text",
    "licence": "text",
    "copying": "text",
    "authors": "text",
    "changelog": "text",
    "notice": "text",
    "makefile": "code",
    "dockerfile": "code",
    "containerfile": "code",
    "vagrantfile": "code",
    "gemfile": "code",
    "rakefile": "code",
    "cmakelists.txt": "code",
}

#: Formats people commonly have that we cannot read yet, with advice instead of a bare "unsupported".
_UNSUPPORTED_REASONS = {
    ".doc": "old Word format (.doc) is not supported; save it as .docx",
    ".ppt": "old PowerPoint format (.ppt) is not supported; save it as .pptx",
    ".xls": "spreadsheets are not supported yet; export the sheet as CSV",
    ".xlsx": "spreadsheets are not supported yet; export the sheet as CSV",
    ".xlsm": "spreadsheets are not supported yet; export the sheet as CSV",
    ".odt": "OpenDocument text is not supported yet; save it as .docx",
    ".rtf": "RTF is not supported yet; save it as .docx",
    ".pages": "Apple Pages files are not supported; export as .docx or PDF",
    ".mobi": "Kindle formats are not supported; convert the book to EPUB",
    ".azw3": "Kindle formats are not supported; convert the book to EPUB",
    ".djvu": "DjVu is not supported; convert it to PDF",
}
_IMAGE_EXTENSIONS = frozenset(
    [".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".ico"]
)


def kind_for_path(path: Path | str) -> str | None:
    """The document kind for a file name, or None when the pipeline does not read it."""
    path = Path(path)
    name = path.name.lower()
    if name in _BY_NAME:
        return _BY_NAME[name]
    return _BY_EXTENSION.get(path.suffix.lower())


def unsupported_reason(path: Path | str) -> str:
    """A human reason why a file of this type is not indexed."""
    suffix = Path(path).suffix.lower()
    if suffix in _UNSUPPORTED_REASONS:
        return _UNSUPPORTED_REASONS[suffix]
    if suffix in _IMAGE_EXTENSIONS:
        return "image file; OCR is not supported yet"
    if not suffix:
        return "unsupported file type (no extension)"
    return f"unsupported file type ({suffix})"


