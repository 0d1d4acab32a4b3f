"""How long a text is for people, whatever its script: Chinese characters and Latin words.

Chunk sizes used to be counted in the embedder's tokens, and the bundled MiniLM spends one token per
Chinese character but ~1.3 per English word, so a "200-token" chunk held ~150 English words but only
~160 Chinese characters: too little context for a Chinese answer, and a size that changed with the
embedder. A *unit* here is one CJK character, and two units are one word of any other script (a
word is a run of letters or digits), so 300 units hold 300 Chinese characters or 150 English words —
about the same amount of meaning (a Chinese word is ~1.5-2 characters).
"""

from __future__ import annotations

import re

CJK_CLASS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
CJK_RUN = re.compile(f"[{CJK_CLASS}]+")
_CJK_CHAR = re.compile(f"[{CJK_CLASS}]")
_WORD = re.compile(f"[^\\W_{CJK_CLASS}]+")
_LATIN = re.compile(r"[A-Za-z]")
UNITS_PER_WORD = 2


def units(text: str) -> int:
    """CJK characters plus ``UNITS_PER_WORD`` per word of other scripts."""
    return len(_CJK_CHAR.findall(text)) + UNITS_PER_WORD * len(_WORD.findall(text))


def mostly_cjk(text: str) -> bool:
    """True for text written in Chinese/Japanese/Korean, even with a code or name in Latin letters in it
    ("清风 A7 F2"), and False for an English sentence that quotes a Chinese name ("opening hours of 故宫")."""
    cjk = len(_CJK_CHAR.findall(text))
    return cjk > 0 and cjk * 3 >= len(_LATIN.findall(text))
