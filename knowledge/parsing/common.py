"""Helpers shared by the format parsers."""

from __future__ import annotations

import zipfile
from pathlib import Path

from knowledge.errors import ParseError

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def short_error(exc: BaseException) -> str:
    """A library exception as a short phrase for a reason or warning."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def check_zip_container(path: Path, what: str, app: str) -> None:
    """Office files and EPUBs are zip archives: name what an impostor is instead of a zip traceback.

    Password-protected Office files are not zips at all but OLE compound files, like the old
    .doc/.ppt formats, so the two are reported together.
    """
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(_OLE_MAGIC):
        raise ParseError(
            f"password-protected or old-format {app} file; save it from {app} as an unprotected "
            f"{path.suffix.lower() or 'file'}"
        )
    if not zipfile.is_zipfile(path):
        raise ParseError(f"not a valid {what}: the file is not a zip archive (damaged or misnamed)")
