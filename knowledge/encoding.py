"""Telling text from binary, and turning text bytes into ``str`` whatever their encoding.

Detection order (first match wins):

1. a byte-order mark: UTF-8-SIG, UTF-32 LE/BE, UTF-16 LE/BE;
2. UTF-16 without a BOM, recognised by NUL bytes on one byte parity only (ASCII-heavy text);
3. strict UTF-8;
4. "mostly UTF-8": valid multi-byte sequences and a few bad bytes -> UTF-8 with U+FFFD and a warning;
5. East Asian double-byte encodings (GB18030 ⊃ GBK, Big5/CP950, CP949, EUC-JP) scored by how many of the
   decoded characters are *common* ones. charset-normalizer gets short Chinese wrong (it reads five
   GBK characters as Big5, and French Latin-1 as Big5), and these are the files our users have most;
6. Windows-1252 for mostly-ASCII text whose other bytes read as accented letters and quotes;
7. charset-normalizer on a sample, for everything else (Cyrillic, Shift_JIS, Greek, ...);
8. UTF-8 with replacement characters, and a warning.

Text that decodes to mostly control characters is refused as "binary or corrupt text".
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from knowledge.errors import ParseError
from knowledge.hanzi import TOP_SIMPLIFIED, TOP_TRADITIONAL

SNIFF_BYTES = 8192
_DETECT_SAMPLE = 256 * 1024

_BOMS = (  # UTF-32 before UTF-16: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_MAGIC = (  # signatures of binary formats that sometimes hide behind a text extension
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "zip archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x7fELF", "executable"),
    (b"MZ", "Windows executable"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Office document"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"ID3", "MP3 audio"),
    (b"OggS", "Ogg media"),
    (b"\x00\x00\x00\x18ftyp", "MP4 video"),
    (b"\x00\x00\x00\x20ftyp", "MP4 video"),
    (b"GGUF", "GGUF model"),
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
_CONTROL_LIMIT = 0.10  # share of control/replacement characters above which text is "binary or corrupt"
_BAD_UTF8_LIMIT = 0.01  # share of bad sequences that still counts as "UTF-8 with a few bad bytes"


@dataclass(slots=True)
class DecodedText:
    """Text with newlines normalised to ``\\n``, the codec it came from, and what went wrong."""

    text: str
    encoding: str
    warnings: list[str] = field(default_factory=list)


def bom_encoding(head: bytes) -> str | None:
    """The encoding announced by a byte-order mark, if any."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None


def bomless_utf16(head: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when NULs sit on one byte parity only, as in UTF-16 ASCII text."""
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return None
    even_zeros = sample[0::2].count(0)
    odd_zeros = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_zeros >= half * 0.2 and even_zeros <= half * 0.01:
        return "utf-16-le"
    if even_zeros >= half * 0.2 and odd_zeros <= half * 0.01:
        return "utf-16-be"
    return None


def binary_reason(head: bytes) -> str | None:
    """Why the first bytes of a would-be text file say it is binary, or None if they look like text."""
    if bom_encoding(head) or bomless_utf16(head):
        return None
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return f"binary file ({what})"
    if b"\x00" in head:
        return "binary file (contains NUL bytes)"
    return None


def read_text_file(path: Path) -> DecodedText:
    """Read and decode a whole text file. Raises ParseError for binary or undecodable content."""
    return decode_bytes(Path(path).read_bytes())


def decode_bytes(data: bytes, declared: str | None = None) -> DecodedText:
    """Decode text of unknown encoding; see the module docstring for the order of guesses.

    ``declared`` is a charset the file names itself (an HTML ``<meta charset>``); it is tried after
    strict UTF-8, because valid UTF-8 mislabelled as Latin-1 is common and the reverse is not.
    """
    if not data:
        return DecodedText("", "utf-8")
    encoding = bom_encoding(data[:4]) or bomless_utf16(data[:SNIFF_BYTES])
    if encoding:
        return _finish(data, encoding, strict_first=True)
    if b"\x00" in data[:SNIFF_BYTES]:
        raise ParseError("binary or corrupt text (contains NUL bytes)")
    try:
        return _finish_text(data.decode("utf-8"), "utf-8", [])
    except UnicodeDecodeError:
        pass
    if declared and (codec := _known_codec(declared)):
        try:
            return _finish_text(data.decode(codec), codec, [])
        except UnicodeDecodeError:
            pass
    sample = data[:_DETECT_SAMPLE]
    if _mostly_utf8(sample):
        return _finish(data, "utf-8", strict_first=False)
    encoding = guess_east_asian(sample) or guess_western(sample) or _charset_normalizer_guess(sample)
    if encoding:
        return _finish(data, encoding, strict_first=True)
    result = _finish(data, "utf-8", strict_first=False)
    result.warnings.insert(0, "could not tell the text encoding; read as UTF-8 with replacement characters")
    return result


def _known_codec(name: str) -> str | None:
    """Python's codec for a declared charset name; GB2312 and GBK labels read as GB18030, their superset."""
    try:
        codec = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    return "gb18030" if codec in ("gb2312", "gbk") else codec


def _finish(data: bytes, encoding: str, *, strict_first: bool) -> DecodedText:
    warnings: list[str] = []
    text = None
    if strict_first:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            text = None
    if text is None:
        text = data.decode(encoding, errors="replace")
        bad = text.count("\ufffd")
        if bad:
            warnings.append(f"{bad} invalid byte sequence(s) in {encoding} text were replaced with \ufffd")
    return _finish_text(text, encoding, warnings)


def _finish_text(text: str, encoding: str, warnings: list[str]) -> DecodedText:
    text = normalise_newlines(text.removeprefix("\ufeff"))
    probe = text[:1_000_000]
    if probe and len(_CONTROL.findall(probe)) > _CONTROL_LIMIT * len(probe):
        raise ParseError("binary or corrupt text")
    return DecodedText(text, encoding, warnings)


def normalise_newlines(text: str) -> str:
    """CRLF, CR, form feed and the Unicode line/paragraph separators become ``\\n``; NULs go."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\f" in text:
        text = text.replace("\f", "\n\n")
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text


def _mostly_utf8(sample: bytes) -> bool:
    """True for UTF-8 text with a few bad bytes (a damaged file, or one edited in a Latin-1 editor)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = decoder.decode(sample, final=False)
    bad = text.count("\ufffd")
    multibyte = sum(1 for ch in text if ch > "\x7f" and ch != "\ufffd")
    return multibyte >= 2 * bad and bad <= _BAD_UTF8_LIMIT * max(len(text), 1)


# --- East Asian double-byte encodings -------------------------------------------------------------------


@cache
def _gb2312_level1() -> frozenset[str]:
    """The 3,755 most common simplified characters (GB 2312 level 1, rows 0xB0-0xD7)."""
    return _decode_range("gb2312", range(0xB0, 0xD8), range(0xA1, 0xFF))


@cache
def _big5_common() -> frozenset[str]:
    """The 5,401 common traditional characters (Big5 常用字, 0xA440-0xC67E)."""
    chars = _decode_range("big5", range(0xA4, 0xC6), [*range(0x40, 0x7F), *range(0xA1, 0xFF)])
    return chars | _decode_range("big5", [0xC6], range(0x40, 0x7F))


def _decode_range(codec: str, leads, trails) -> frozenset[str]:
    chars = set()
    for lead in leads:
        for trail in trails:
            try:
                chars.add(bytes((lead, trail)).decode(codec))
            except UnicodeDecodeError:
                continue
    return frozenset(chars)


def _is_neutral(ch: str) -> bool:
    """ASCII, CJK punctuation and full-width forms count for no encoding."""
    return (
        ch < "\x80" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef" or "\u2000" <= ch <= "\u206f"
    )


def _share(text: str, common: frozenset[str]) -> tuple[float, int]:
    """Share of the non-neutral characters that are in ``common``, and how many characters counted."""
    counted = hits = 0
    for ch in text:
        if _is_neutral(ch):
            continue
        counted += 1
        hits += ch in common
    return (hits / counted if counted else 0.0), counted


def _strict(sample: bytes, codec: str) -> str | None:
    try:
        return codecs.getincrementaldecoder(codec)().decode(sample, final=False)
    except UnicodeDecodeError:
        return None


def guess_east_asian(sample: bytes) -> str | None:
    """``gb18030``, ``cp950`` (Big5), ``cp949`` or ``euc_jp`` when the bytes clearly read as that.

    Decoding with the wrong one of GBK/Big5 still "works" but yields rare characters, kana or
    private-use code points, so the share of *common* characters separates them even for a
    five-character file. When both read as common characters (two-character files), the share of the
    few hundred most frequent characters breaks the tie, and after that GBK wins: most of our users
    have GBK.
    """
    korean = _strict(sample, "cp949")
    if korean is not None:
        # GB 2312's first rows coincide with EUC-KR's Hangul rows, so insist on Korean's word spacing too.
        share, counted = _share(korean, _ksx1001_hangul())
        if counted >= 4 and share >= 0.9 and _KOREAN_SPACING.search(korean):
            return "cp949"
    japanese = _strict(sample, "euc_jp")
    if japanese is not None:
        share, counted = _share(japanese, _KANA)
        if counted >= 6 and share >= 0.3:
            return "euc_jp"  # GB 2312 and Big5 read EUC-JP kana rows as common characters
    scores = {}
    for codec, common in (("gb18030", _gb2312_level1()), ("cp950", _big5_common())):
        text = _strict(sample, codec)
        if text is None:
            continue
        share, counted = _share(text, common)
        if counted and share >= 0.6:
            scores[codec] = (
                share,
                _share(text, TOP_SIMPLIFIED if codec == "gb18030" else TOP_TRADITIONAL)[0],
            )
    if not scores:
        return None
    if len(scores) == 1:
        return next(iter(scores))
    (gb_share, gb_both), (big5_share, big5_both) = scores["gb18030"], scores["cp950"]
    for gb, big5 in ((gb_share, big5_share), (gb_both, big5_both)):
        if abs(gb - big5) >= 0.15:
            return "gb18030" if gb > big5 else "cp950"
    return "gb18030"


@cache
def _ksx1001_hangul() -> frozenset[str]:
    """The 2,350 Hangul syllables of KS X 1001 (EUC-KR), which cover nearly all real Korean text."""
    return _decode_range("euc_kr", range(0xB0, 0xC9), range(0xA1, 0xFF))


_KOREAN_SPACING = re.compile(r"[\uac00-\ud7a3]+\s+[\uac00-\ud7a3]+")
_KANA = frozenset(chr(c) for c in range(0x3041, 0x30FF))


def guess_western(sample: bytes) -> str | None:
    """``cp1252`` for mostly-ASCII text whose other bytes read as accented Latin letters or quotes."""
    try:
        text = codecs.getincrementaldecoder("cp1252")().decode(sample, final=False)
    except UnicodeDecodeError:
        return None
    ascii_count = sum(1 for ch in text if ch < "\x80")
    others = [ch for ch in text if ch >= "\x80"]
    latin = sum(1 for ch in others if "\xc0" <= ch <= "\xff" or "\u2013" <= ch <= "\u203a" or ch == "\u20ac")
    if others and ascii_count >= 0.7 * len(text) and latin >= 0.9 * len(others):
        return "cp1252"
    return None


def _charset_normalizer_guess(sample: bytes) -> str | None:
    from charset_normalizer import from_bytes

    for match in from_bytes(sample):
        # A BOM-less UTF-16/32 guess for bytes without the NUL pattern is nearly always wrong.
        if not match.encoding.startswith(("utf_16", "utf_32")):
            return match.encoding
    return None
