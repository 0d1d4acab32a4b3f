"""Which sentences of an answer do the sources support? Judge-free, fast enough to run after every reply.

Each claim sentence of the answer (a sentence with content words that is not a refusal) is compared
with the sentences of the contexts, single and as pairs of neighbours (an answer often merges two):
the score is the share of the claim's content tokens found in the best context window (lexical
containment), blended with embedding cosine when an embedder is given. The context the sentence cites
([n]) is tried first; when it does not support the sentence, the best other context is reported (the
citation is wrong but the claim may still be backed). Numbers weigh extra: the score is scaled by the
share of the claim's numbers found in the evidence, so "four to six hours" against "12 to 16 hours"
fails even though "dough", "hours" and the rest match.

``quote_answer`` is the extractive alternative for a weak model: the source sentences that best match
the question, each with its [n], nothing generated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from knowledge.textmatch import (
    Sentence,
    detect_language,
    is_claim,
    is_number,
    parse_citations,
    split_sentences,
    strip_citations,
    tokens,
)
from knowledge.textsearch import clean_query

if TYPE_CHECKING:  # numpy loads with the first check, not with the window
    import numpy as np


@dataclass(frozen=True)
class RetrievedContext:
    """One retrieved passage, in rank order: exactly what the answer model saw."""

    n: int                   # 1-based rank = the [n] the model cites
    path: str
    text: str
    page: int | None = None
    heading: str | None = None


# Calibrated on resources/eval/judge_check.jsonl (40 hand-labelled context/statement pairs, 20 en + 20 zh,
# half supported), sweeping thresholds 0.40-0.80 (see README "How far a judge can be trusted"):
# lexical alone, 0.55-0.65 is a plateau (32-33 of 40 right, κ 0.60-0.65); 0.6 is its middle (κ 0.60).
SUPPORT_THRESHOLD = 0.6
# With embeddings, lexical weights 0.5-0.7 at threshold 0.6 all get 35-36 of 40 (κ 0.75-0.80); 0.6 is the
# middle of that plateau (35 of 40, κ 0.75), higher thresholds or weights lose paraphrases.
BLEND_LEXICAL_WEIGHT = 0.6       # with an embedder: score = 0.6 * containment + 0.4 * cosine
BLEND_THRESHOLD = 0.6
# A quoted sentence shares at least a quarter of the question's content words: with the 3-5 content words
# of a typical question that is at least one or two of them (one shared generic word such as "dough" alone
# in a 5-word question is not enough).
QUOTE_MIN_OVERLAP = 0.25
_END_PUNCTUATION = ".!?。！？；;"
_LIST_MARK = re.compile(r"^\s*(?:#{1,6}\s+|[-*+•]\s+|\d{1,3}[.)]\s+)")
_MARKUP = re.compile(r"\*\*|__|`")
NOT_COVERED = {"en": "The documents do not cover this.", "zh": "文档中没有涉及这个问题。"}


@dataclass(frozen=True)
class SentenceSupport:
    sentence: str
    start: int                 # offsets of the sentence in the answer
    end: int
    supported: bool
    score: float               # in [0, 1]: containment (blended with cosine when an embedder is given)
    source_n: int | None       # the context that supports it best (its own [n] when that one does)
    evidence: str | None       # the context sentence(s) it was matched with

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "supported": self.supported, "score": self.score,
                "source_n": self.source_n, "evidence": self.evidence}


@dataclass(frozen=True)
class Quote:
    """A context sentence quoted in an extractive answer, with where it is in the context's text."""

    n: int
    sentence: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class _Window:
    n: int
    text: str
    tokens: frozenset[str]


@dataclass(frozen=True)
class Match:
    score: float
    n: int | None
    evidence: str | None


def containment(claim: Sequence[str], evidence: frozenset[str] | set[str]) -> float:
    """Share of the claim's distinct content tokens that occur in the evidence, scaled by the share of its
    numbers that do: a wrong quantity ("four to six hours" against "12 to 16 hours") is the typical error
    of a small model and must sink the claim even when its other words all match."""
    distinct = set(claim)
    if not distinct:
        return 0.0
    share = len(distinct & evidence) / len(distinct)
    numbers = {t for t in distinct if is_number(t)}
    return share * (len(numbers & evidence) / len(numbers)) if numbers else share


def _windows(context: RetrievedContext) -> list[_Window]:
    sentences = split_sentences(context.text)
    parts = [(s.text, frozenset(tokens(s.text))) for s in sentences]
    out = [_Window(context.n, text, toks) for text, toks in parts]
    out += [_Window(context.n, a[0] + " " + b[0], a[1] | b[1]) for a, b in zip(parts, parts[1:], strict=False)]
    return out


class ContextIndex:
    """The contexts' sentence windows with their tokens (and vectors when an embedder is given), built once
    for all the sentences of one answer."""

    def __init__(self, contexts: Sequence[RetrievedContext], embedder=None):
        self.numbers = {c.n for c in contexts}
        self.windows = [w for c in contexts for w in _windows(c)]
        self.embedder = embedder
        self._vectors: np.ndarray | None = None

    @property
    def threshold(self) -> float:
        return BLEND_THRESHOLD if self.embedder is not None else SUPPORT_THRESHOLD

    def _window_vectors(self) -> np.ndarray:
        if self._vectors is None:
            self._vectors = _unit(self.embedder.embed_passages([w.text for w in self.windows]))
        return self._vectors

    def best(self, claim: str, only: Sequence[int] | None = None) -> Match:
        """The best-supporting window for ``claim`` (among contexts ``only`` when given)."""
        chosen = [i for i, w in enumerate(self.windows) if only is None or w.n in only]
        if not chosen:
            return Match(0.0, None, None)
        import numpy as np

        claim_tokens = tokens(claim)
        scores = np.array([containment(claim_tokens, self.windows[i].tokens) for i in chosen])
        if self.embedder is not None:
            cosines = self._window_vectors()[chosen] @ _unit(self.embedder.embed_passages([claim]))[0]
            scores = BLEND_LEXICAL_WEIGHT * scores + (1 - BLEND_LEXICAL_WEIGHT) * np.clip(cosines, 0, 1)
        top = int(np.argmax(scores))
        window = self.windows[chosen[top]]
        return Match(float(scores[top]), window.n, window.text)


def _unit(vectors) -> np.ndarray:
    import numpy as np

    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def support_of(sentence: Sentence, index: ContextIndex) -> SentenceSupport:
    """How well the contexts support one claim sentence, its own citation first."""
    claim = strip_citations(sentence.text)
    cited = [n for n in parse_citations(sentence.text) if n in index.numbers]
    match = index.best(claim, only=cited) if cited else Match(0.0, None, None)
    if match.score < index.threshold:
        overall = index.best(claim)
        if overall.score > match.score:
            match = overall
    return SentenceSupport(sentence.text, sentence.start, sentence.end, match.score >= index.threshold,
                           round(match.score, 3), match.n, match.evidence)


def sentence_support(answer: str, contexts: Sequence[RetrievedContext], *, embedder=None) -> list[SentenceSupport]:
    """Support of each claim sentence of ``answer`` by ``contexts``. Sentences that claim nothing (no content
    words, or a refusal such as "the documents do not say") are not listed: there is nothing to check."""
    index = ContextIndex(contexts, embedder)
    return [support_of(s, index) for s in split_sentences(answer or "") if is_claim(s.text)]


def _question_tokens(question: str) -> set[str]:
    return set(tokens(clean_query(question)))


def quote_sentences(question: str, contexts: Sequence[RetrievedContext], *, embedder=None,
                    max_sentences: int = 3) -> list[Quote]:
    """The context sentences that best match the question (share of its content words, blended with
    cosine when an embedder is given), best first, at most ``max_sentences``, never the same one twice."""
    wanted = _question_tokens(question)
    candidates: list[tuple[float, int, Quote]] = []
    for context in contexts:
        for sentence in split_sentences(context.text):
            found = frozenset(tokens(sentence.text))
            overlap, news = containment(list(wanted), found), len(found - wanted)
            if overlap >= QUOTE_MIN_OVERLAP and news:  # a heading or an echo of the question says nothing new
                candidates.append((overlap, news, Quote(context.n, sentence.text, sentence.start, sentence.end, overlap)))
    if embedder is not None and candidates:
        import numpy as np

        vectors = _unit(embedder.embed_passages([question] + [q.sentence for *_, q in candidates]))
        cosines = np.clip(vectors[1:] @ vectors[0], 0, 1)
        candidates = [(BLEND_LEXICAL_WEIGHT * s + (1 - BLEND_LEXICAL_WEIGHT) * float(c), news, q)
                      for (s, news, q), c in zip(candidates, cosines, strict=True)]
    seen: set[str] = set()
    out: list[Quote] = []
    # best match first; between equal matches, the sentence that says more (more content words of its own)
    for score, _news, quote in sorted(candidates, key=lambda item: (-item[0], -item[1], item[2].n, item[2].start)):
        key = " ".join(quote.sentence.split())
        if key in seen:
            continue
        seen.add(key)
        out.append(Quote(quote.n, quote.sentence, quote.start, quote.end, round(score, 3)))
        if len(out) == max_sentences:
            break
    return out


def quote_answer(question: str, contexts: Sequence[RetrievedContext], *, embedder=None, max_sentences: int = 3) -> str:
    """An extractive answer: the source sentences that best answer the question, each followed by its
    [n]; when nothing matches, the plain sentence that the documents do not cover it (in the question's
    language)."""
    return format_quotes(question, quote_sentences(question, contexts, embedder=embedder, max_sentences=max_sentences))


def format_quotes(question: str, quotes: Sequence[Quote]) -> str:
    """The quotes as an answer to ``question``, each cited [n], in the question's language."""
    lang = detect_language(question)
    if not quotes:
        return NOT_COVERED[lang]
    joiner = "" if lang == "zh" else " "
    return joiner.join(_cite(q.sentence, q.n, lang) for q in quotes)


def _cite(sentence: str, n: int, lang: str) -> str:
    """The sentence with [n] before its closing punctuation ("… 16 hours [1].", "…丧假[2]。"), without the
    citation marks the source sentence carries itself (they would read as ours)."""
    text = strip_citations(sentence) if parse_citations(sentence) else sentence.strip()
    text = _MARKUP.sub("", _LIST_MARK.sub("", text)).strip()  # "4. **Bake.** Preheat" reads "Bake. Preheat"
    body = text.rstrip(_END_PUNCTUATION)
    mark = f"[{n}]" if lang == "zh" else f" [{n}]"
    return body + mark + (text[len(body):] or ("。" if lang == "zh" else "."))
