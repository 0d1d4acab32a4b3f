"""Text matching for judge-free evaluation, English and Chinese: tokens, token F1, ROUGE-L, sentences, citations.

Tokens for matching: English words lowercased, with a small stop-word list removed and a light suffix
stemmer (so "refrigerated" meets "refrigerate" and "hours" meets "hour"); numbers are tokens of their
own ("3.5", "250"). Chinese runs are cut into words by jieba (already the project's Chinese word
segmenter, see ``knowledge.textsearch``) and function words are dropped. Negations ("not", "no", 不,
没有) are kept: they change what a sentence claims.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass

from knowledge.textunits import CJK_CLASS, CJK_RUN, mostly_cjk

_EN_STOPWORDS = (
    "a an the and or but of to in on at for from by with as is are was were be been being it its this that "
    "these those there their they them he she his her we our you your i me my do does did so than then if "
    "into about also can could should would will may might must have has had which who whom what when "
    "where why how all any some such only just very more most other here please"
)
EN_STOPWORDS = frozenset(_EN_STOPWORDS.split())
_ZH_STOPWORDS = (
    "的 地 得 了 着 过 是 在 和 与 及 或 也 都 就 而 之 其 这 那 这个 那个 一个 吗 呢 吧 啊 呀 被 把 对 "
    "于 为 以 将 所 等 请 您 你 我 我们 他 她 它"
)
ZH_STOPWORDS = frozenset(_ZH_STOPWORDS.split())
_NUMBER_OR_WORD = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+")
_CJK_OR_OTHER = re.compile(f"([{CJK_CLASS}]+)")
_EN_NUMBERS = {w: str(i) for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"])}
_EN_NUMBERS.update(thirty="30", forty="40", fifty="50", sixty="60", hundred="100", thousand="1000")
# A Chinese token that is a quantity: numerals (and digits) with at most a measure word after them (五天, 两个小时).
_ZH_NUMBER = re.compile(r"[\d.零一二两三四五六七八九十百千万]+(?:天|个|个月|小时|年|月|周|日|次|倍|岁|元|块|分钟|分|秒|度|人|页|条|%)?")
_SUFFIXES = (("ies", "y"), ("ing", ""), ("ed", ""), ("s", ""))
_jieba = None
_JIEBA_LOCK = threading.Lock()


def _cut_chinese(run: str) -> list[str]:
    global _jieba
    with _JIEBA_LOCK:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba = jieba
    return [w for w in _jieba.lcut(run) if w.strip()]


def stem(word: str) -> str:
    """A light English stemmer: one common suffix off, then a final "e" (bake/baked/baking → bak)."""
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + repl
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def tokens(text: str) -> list[str]:
    """Content tokens of ``text`` in order (repeats kept): what F1, ROUGE-L and support compare."""
    out: list[str] = []
    for part in _CJK_OR_OTHER.split(text or ""):
        if not part:
            continue
        if CJK_RUN.fullmatch(part):
            out.extend(w for w in _cut_chinese(part) if w not in ZH_STOPWORDS)
            continue
        for word in _NUMBER_OR_WORD.findall(part.lower()):
            if word in EN_STOPWORDS or (len(word) == 1 and not word.isdigit()):
                continue
            out.append(_EN_NUMBERS.get(word) or (word if word[0].isdigit() else stem(word)))
    return out


def is_number(token: str) -> bool:
    """Is this token a quantity ("12", "3.5", "4" from "four", 五天)? Claims hinge on them."""
    return token[0].isdigit() or (token != "一" and bool(_ZH_NUMBER.fullmatch(token)))


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1: overlap of the two token multisets; 0 when either has no content tokens."""
    pred, ref = tokens(prediction), tokens(reference)
    same = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence (dynamic programming, one row at a time)."""
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (β = 1): LCS of the token sequences over their lengths."""
    pred, ref = tokens(prediction), tokens(reference)
    lcs = lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


# ------------------------------------------------------------------ citations
_CITATION = re.compile(r"[\[［【]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]］】]")


def parse_citations(text: str) -> list[int]:
    """The source numbers cited in ``text`` in order of first appearance: [1], [1,2], [1][2], 【1】."""
    seen: list[int] = []
    for group in _CITATION.finditer(text or ""):
        for number in re.split(r"\s*[,，、]\s*", group.group(1)):
            if int(number) not in seen:
                seen.append(int(number))
    return seen


def strip_citations(text: str) -> str:
    return " ".join(_CITATION.sub(" ", text or "").split())


# ------------------------------------------------------------------ sentences
@dataclass(frozen=True)
class Sentence:
    text: str
    start: int   # offsets into the text it was split from: text == source[start:end]
    end: int


_CJK_TERMINATORS = "。！？；"
_LATIN_TERMINATORS = ".!?"
_CLOSERS = "\"'”’」』）)】*"  # * closes Markdown emphasis: "**Bake.** Preheat"
_ABBREVIATION_LIST = "e.g i.e etc vs mr mrs ms dr prof st no fig approx dept inc ltd co jr sr cf al ca p pp art sec vol"
_ABBREVIATIONS = frozenset(_ABBREVIATION_LIST.split())
_TRAILING_CITATIONS = re.compile(r"(?:\s*" + _CITATION.pattern + r")+")
_HAS_CONTENT = re.compile(r"[^\W_]")


def _ends_latin_sentence(text: str, i: int) -> bool:
    """Is the ".", "!" or "?" at ``i`` the end of a sentence (not 3.5, e.g., Dr. or a file.name)?"""
    after = text[i + 1] if i + 1 < len(text) else " "
    if not (after.isspace() or after in _CLOSERS or after in "[［【" or re.match(f"[{CJK_CLASS}]", after)):
        return False
    if text[i] != ".":
        return True
    word = re.search(r"([\w.]+)$", text[:i])
    if word is None:
        return True
    stem_word = word.group(1).lower().rstrip(".")
    if stem_word in _ABBREVIATIONS:
        return False
    before = text[word.start() - 1] if word.start() > 0 else " "
    initial = len(stem_word) == 1 and stem_word.isalpha() and word.group(1)[0].isupper() and before.isspace()
    return not initial  # "J. Smith" goes on; "250°C." and "vitamin C." end


def _sentence_end(text: str, i: int) -> int | None:
    """If a sentence ends at ``i``, where it ends after its closing quotes and trailing [n] citations."""
    ch = text[i]
    if ch not in _CJK_TERMINATORS and not (ch in _LATIN_TERMINATORS and _ends_latin_sentence(text, i)):
        return None
    end = i + 1
    while end < len(text) and (text[end] in _CJK_TERMINATORS or text[end] in _LATIN_TERMINATORS
                               or text[end] in _CLOSERS):
        end += 1  # "?!", "...", a closing quote
    cited = _TRAILING_CITATIONS.match(text, end)
    if cited:
        end = cited.end()
        while end < len(text) and (text[end] in _CJK_TERMINATORS or text[end] in _LATIN_TERMINATORS):
            end += 1  # "done. [1]." style
    return end


def _spans(text: str) -> list[tuple[int, int]]:
    spans, start, i = [], 0, 0
    while i < len(text):
        if text[i] == "\n":
            spans.append((start, i))
            start = i = i + 1
            continue
        end = _sentence_end(text, i)
        if end is None:
            i += 1
            continue
        spans.append((start, end))
        start = i = end
    spans.append((start, len(text)))
    return spans


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of English or Chinese text with their offsets. A line break ends a sentence too (lists);
    a piece that is only citations ("[2]" on its own) joins the sentence before it."""
    out: list[Sentence] = []
    for start, end in _spans(text or ""):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            continue
        piece = text[start:end]
        if out and not _HAS_CONTENT.search(_CITATION.sub("", piece)):
            last = out.pop()
            out.append(Sentence(text[last.start:end], last.start, end))
            continue
        out.append(Sentence(piece, start, end))
    return out


# ------------------------------------------------------------------ refusals
_REFUSAL = re.compile(
    r"\b(?:do|does|did)(?: not|n't) (?:contain|mention|cover|say|include|provide|specify|state|have|know)"
    r"|\b(?:cannot|can't|can not|unable to|could not|couldn't) (?:answer|find|determine|tell|say)"
    r"|\bno (?:information|mention|answer|relevant|details)|\bnot (?:mentioned|covered|stated|specified|"
    r"provided|found|enough information)|\bwon't guess|\bi(?: a|')m not sure|\bi don't know"
    r"|没有提到|未提及|没有提及|没有相关|未找到|找不到|无法回答|无法确定|不知道|没有涉及|不包含|没有包含|"
    r"没有说明|未说明|没有找到|文档中没有|资料中没有|无法从|没有足够|不涉及",
    re.IGNORECASE,
)


def is_refusal(answer: str) -> bool:
    """Does the answer decline (the documents don't cover it, I don't know)? A refusal phrase in the first
    sentence, or anywhere in an answer of at most two sentences; a long answer that mentions in passing
    what a source lacks is not a refusal."""
    sentences = split_sentences(answer or "")
    if not sentences:
        return False
    if _REFUSAL.search(sentences[0].text):
        return True
    return len(sentences) <= 2 and bool(_REFUSAL.search(answer))


def is_claim(sentence: str) -> bool:
    """A sentence that says something checkable: it has content tokens and is not a refusal."""
    return bool(tokens(strip_citations(sentence))) and not _REFUSAL.search(sentence)


def detect_language(text: str) -> str:
    """``"zh"`` for text written mostly in Chinese characters, else ``"en"`` (the two languages we ship)."""
    return "zh" if mostly_cjk(text or "") else "en"
