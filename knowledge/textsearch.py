"""Make Chinese text searchable by a full-text index that splits words on spaces.

LanceDB's full-text tokenizer treats a run of Chinese characters as one "word", so a search for
故宫 would never match 我们参观了故宫博物院. We index a copy of each chunk in which every run of
CJK characters is segmented — into words with jieba, or into overlapping character bigrams —
and segment queries the same way. Latin text passes through unchanged (the index lowercases and
stems it). Which of the two is the default was decided by the retrieval evaluation (see README).
"""

from __future__ import annotations

import logging
import re
import threading

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]+")
_JIEBA_LOCK = threading.Lock()
_jieba = None
SEGMENTERS = ("jieba", "bigram")
DEFAULT_SEGMENTER = "bigram"  # measured: benchmarks/eval_retrieval.py (README); jieba stays selectable per collection


def _get_jieba():
    global _jieba
    with _JIEBA_LOCK:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba = jieba
    return _jieba


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


def _words(run: str) -> list[str]:
    return [w for w in _get_jieba().cut_for_search(run) if w.strip()]


def segment(text: str, mode: str = DEFAULT_SEGMENTER) -> str:
    """``text`` with each CJK run replaced by space-separated words or bigrams."""
    split = _words if mode == "jieba" else _bigrams

    def replace(match: re.Match) -> str:
        return " " + " ".join(split(match.group(0))) + " "

    return _CJK_RUN.sub(replace, text)


_LATIN = re.compile(r"[A-Za-z]")


def mostly_cjk(text: str) -> bool:
    """True for a query written in Chinese/Japanese/Korean, even with a code or name in Latin letters in it
    ("清风 A7 F2"), and False for an English sentence that quotes a Chinese name ("opening hours of 故宫")."""
    cjk = sum(len(run) for run in _CJK_RUN.findall(text))
    return cjk > 0 and cjk * 3 >= len(_LATIN.findall(text))
