"""Make Chinese text searchable by a full-text index that splits words on spaces.

LanceDB's full-text tokenizer treats a run of Chinese characters as one "word", so a search for
故宫 would never match 我们参观了故宫博物院. We index a copy of each chunk in which every run of
CJK characters is segmented — into words with jieba, into overlapping character bigrams, or into
single characters plus bigrams — and segment queries the same way. Latin text passes through unchanged
(the index lowercases and stems it). The default was decided by the retrieval evaluation (see README):
bigrams match the words a question shares with a passage, single characters the looser overlap of a
colloquial question (结婚 … 假 against 婚假).
"""

from __future__ import annotations

import logging
import re
import threading

from knowledge.textunits import CJK_RUN as _CJK_RUN
from knowledge.textunits import mostly_cjk  # noqa: F401  (re-exported: callers search with it)

_JIEBA_LOCK = threading.Lock()
_jieba = None
SEGMENTERS = ("jieba", "bigram", "unigram+bigram")
# Measured (benchmarks/eval_retrieval.py, README): on the hard set's colloquial Chinese questions characters
# plus bigrams find 0.90 at 10 against 0.74 for bigrams alone; bigram and jieba stay selectable per collection.
DEFAULT_SEGMENTER = "unigram+bigram"


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


def _chars_and_bigrams(run: str) -> list[str]:
    return [*run, *_bigrams(run)] if len(run) > 1 else [run]


_SPLITTERS = {"jieba": _words, "bigram": _bigrams, "unigram+bigram": _chars_and_bigrams}


def segment(text: str, mode: str = DEFAULT_SEGMENTER) -> str:
    """``text`` with each CJK run replaced by space-separated words, bigrams, or characters and bigrams."""
    split = _SPLITTERS.get(mode, _bigrams)

    def replace(match: re.Match) -> str:
        return " " + " ".join(split(match.group(0))) + " "

    return _CJK_RUN.sub(replace, text)


# Words that say how a question is asked, not what it is about. In a bigram index they add pairs such as
# 请问/问我/我想 that match every chatty passage (measured: benchmarks/eval_retrieval.py, README).
# Longest first, so 我们家 goes before 我们 and 我.
_FILLERS = sorted(["请问", "想问一下", "想问问", "问一下", "我想问", "想知道", "请教", "麻烦", "谢谢", "你好", "您好", "一下", "到底", "究竟", "怎么办", "怎么样", "怎么", "怎样", "如何", "什么", "为什么", "为啥", "咋办", "咋", "啥", "哪些", "哪里", "哪个", "多少", "是不是", "有没有", "能不能", "可不可以", "可以吗", "行不行", "会不会", "要不要", "应该", "我们家", "我们", "我家", "我的", "我", "你们", "你", "您", "他们", "他", "她", "它", "自己", "这个", "那个", "这样", "那样", "现在", "已经", "还是", "就是", "但是", "因为", "所以", "如果", "吗", "呢", "啊", "吧", "呀", "嘛", "哦", "呗", "了", "的", "着", "被", "把", "和", "跟", "也", "都", "又", "就", "很", "太", "挺", "啦"], key=len, reverse=True)
_FILLER = re.compile("|".join(map(re.escape, _FILLERS)))


def clean_query(query: str) -> str:
    """``query`` with the question words and fillers of colloquial Chinese replaced by spaces.

    Only CJK runs are touched (English stop words are the full-text index's business). A query that is
    nothing but fillers is returned unchanged rather than emptied.
    """
    def strip(match: re.Match) -> str:
        return " " + _FILLER.sub(" ", match.group(0)) + " "

    cleaned = " ".join(_CJK_RUN.sub(strip, query).split())
    return cleaned if cleaned.strip() else query
