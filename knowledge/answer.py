"""Grounded answers: retrieve, number the sources, fit them in the context, and say so when they don't help.

``DocumentAugmenter`` plugs into ``engine.chat.session.ChatSession`` (the engine never learns what a
document is). For each question it retrieves passages from the chosen collections, keeps the ones
that are relevant, puts as many as fit the token budget into the question as numbered sources,
and asks the model to cite them as [1], [2]. The sources travel with the answer (saved with the
message and streamed first as a ``SourcesEvent``), so they are shown even when the model forgets
to cite. In strict mode, when nothing relevant is found, the model is not asked at all: the reply
says plainly that the documents do not cover the question.

After a grounded reply completes, each of its sentences is checked against the sources it was given
(``knowledge.support``, judge-free) and the result is saved with the reply under
``"support"``, so a face can mark the sentences no source supports. ``quote_answer`` is the
alternative that generates nothing: the source sentences that best answer the question, cited.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.chat.session import Augmentation
from knowledge.retrieval import Retriever, SearchHit, SearchOptions
from knowledge.rewrite import QueryRewriter, RewrittenQuery
from knowledge.support import Quote, RetrievedContext, format_quotes, quote_sentences, sentence_support

MIN_SIMILARITY = 0.25  # vector-only hits below this are noise for MiniLM (AnythingLLM uses the same floor)
SNIPPET_CHARS = 300

GROUNDED_SYSTEM = (
    "You answer questions using the numbered sources given with the question. "
    "Cite the sources you use as [1], [2] right after the sentence they support. "
    "If the sources do not contain the answer, say so."
)
STRICT_SYSTEM = (
    "You answer ONLY from the numbered sources given with the question, never from your own knowledge. "
    "Cite them as [1], [2]. If the sources do not contain the answer, reply exactly: "
    "\"The documents do not contain the answer.\""
)
NOTHING_FOUND = "I could not find anything about this in {collections}, so I won't guess. Try other words, or add the documents that cover it."


@dataclass
class Source:
    n: int
    path: str
    page: int | None
    heading: str | None
    snippet: str
    text: str
    score: float
    collection: str
    start: int
    end: int

    @property
    def label(self) -> str:
        name = Path(self.path).name
        where = f", page {self.page}" if self.page else ""
        heading = f" — {self.heading}" if self.heading else ""
        return f"{name}{where}{heading}"

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("text")
        return data


@dataclass(frozen=True)
class SourcesEvent:
    """Streamed before the answer: the passages the answer is grounded on."""

    sources: list[Source]


def relevant(hits: list[SearchHit]) -> list[SearchHit]:
    """Hits that matched the question's words, or are semantically close enough to matter."""
    return [h for h in hits if h.fulltext_rank is not None or (h.similarity or 0.0) >= MIN_SIMILARITY]


def format_sources(sources: list[Source]) -> str:
    return "\n\n".join(f"[{s.n}] {s.label}\n{s.text.strip()}" for s in sources)


def grounded_question(question: str, sources: list[Source]) -> str:
    return (f"Sources:\n\n{format_sources(sources)}\n\n"
            f"Question: {question}\n\nAnswer from the sources above and cite them like [1].")


@dataclass(frozen=True)
class QuotedAnswer:
    """An extractive answer: ``text`` cites ``sources`` as [n]; each quote's start/end are offsets in its
    source's ``text`` (to highlight it in the source panel)."""

    text: str
    sources: list[Source]
    quotes: list[Quote]


def as_contexts(sources: list[Source]) -> list[RetrievedContext]:
    """The sources as the evaluation code sees them: exactly the text the model was given."""
    return [RetrievedContext(s.n, s.path, s.text, s.page, s.heading) for s in sources]


def support_finisher(sources: list[Source]) -> Callable[[str], dict]:
    """The ``Augmentation.finish`` hook: which sentences of the finished reply the sources support, as
    ``{"support": [{start, end, supported, score, source_n, evidence}, ...]}`` (offsets in the reply)."""
    contexts = as_contexts(sources)

    def finish(text: str) -> dict:
        return {"support": [s.as_dict() for s in sentence_support(text, contexts)]}

    return finish


def cited_numbers(answer: str) -> list[int]:
    return sorted({int(n) for n in re.findall(r"\[(\d{1,2})\]", answer)})


class DocumentAugmenter:
    """Turns the last user message into a grounded question over the chosen collections."""

    def __init__(self, retriever: Retriever, collections: list[str], *, strict: bool = False, k: int = 5,
                 count_tokens: Callable[[str], int] | None = None, n_ctx: int = 4096,
                 answer_reserve: int = 512, options: SearchOptions | None = None,
                 rewriter: QueryRewriter | None = None):
        self.retriever = retriever
        self.collections = collections
        self.strict = strict
        self.k = k
        self.count_tokens = count_tokens or (lambda text: len(text) // 3)
        self.n_ctx = n_ctx
        self.answer_reserve = answer_reserve
        self.options = options or SearchOptions(k=k)
        self.rewriter = rewriter
        self.last_sources: list[Source] = []
        self.last_queries: list[RewrittenQuery] = []

    def retrieve(self, question: str, history: list[dict] | None = None) -> list[SearchHit]:
        options = SearchOptions(**{**self.options.__dict__, "k": self.k})
        queries = (self.rewriter.queries(question, history) if self.rewriter
                   else [RewrittenQuery(question, 1.0, "question")])
        self.last_queries = queries
        return relevant(self.retriever.search_queries(self.collections, [(q.text, q.weight) for q in queries],
                                                      options))

    def budget(self, messages: list[dict]) -> int:
        """Tokens left for sources after the conversation and room for the answer."""
        used = sum(self.count_tokens(m["content"]) + 4 for m in messages)
        return max(0, min(self.n_ctx // 2, self.n_ctx - self.answer_reserve - used - 64))

    def fit(self, hits: list[SearchHit], budget: int) -> list[Source]:
        sources: list[Source] = []
        for hit in hits:
            text = hit.text
            cost = self.count_tokens(text) + 16
            if cost > budget:
                if sources:
                    break
                text = text[: max(0, budget * 3)]  # at least part of the best passage
                cost = budget
            budget -= cost
            sources.append(Source(n=len(sources) + 1, path=hit.path, page=hit.page, heading=hit.heading,
                                  snippet=_snippet(hit.text), text=text, score=hit.score,
                                  collection=hit.collection, start=hit.start, end=hit.end))
            if budget <= 0:
                break
        return sources

    def __call__(self, messages: list[dict]) -> Augmentation:
        question = messages[-1]["content"]
        history = [m for m in messages[:-1] if m["role"] != "system"]
        hits = self.retrieve(question, history)
        system = STRICT_SYSTEM if self.strict else GROUNDED_SYSTEM
        own_system = [m["content"] for m in messages[:1] if m["role"] == "system"]
        merged_system = system + ("\n\n" + own_system[0] if own_system else "")
        base = [{"role": "system", "content": merged_system}, *history]
        sources = self.fit(hits, self.budget([*base, messages[-1]]))
        self.last_sources = sources
        extra = {"sources": [s.as_dict() for s in sources], "collections": self.collections, "strict": self.strict}
        if len(self.last_queries) > 1:  # what was searched besides the question, for the record
            extra["queries"] = [{"text": q.text, "kind": q.kind} for q in self.last_queries[1:]]
        events = [SourcesEvent(sources)]
        if not sources:
            names = ", ".join(self.collections)
            if self.strict:
                return Augmentation(messages, extra, events, reply=NOTHING_FOUND.format(collections=names))
            return Augmentation(messages, extra, events)  # nothing relevant: plain chat, sources list empty
        final = [*base, {"role": "user", "content": grounded_question(question, sources)}]
        return Augmentation(final, extra, events, finish=support_finisher(sources))

    def quote_answer(self, question: str, history: list[dict] | None = None, *, max_sentences: int = 3,
                     embedder=None) -> QuotedAnswer:
        """Answer by quoting: retrieve as for a grounded answer, then take the source sentences that best
        match the question, each cited [n]; no model is asked. With nothing relevant, the plain sentence
        that the documents do not cover it (in the question's language) and no sources."""
        hits = self.retrieve(question, history)
        sources = self.fit(hits, max(0, self.n_ctx // 2))
        contexts = as_contexts(sources)
        quotes = quote_sentences(question, contexts, embedder=embedder, max_sentences=max_sentences)
        text = format_quotes(question, quotes)
        cited = {q.n for q in quotes}
        return QuotedAnswer(text, [s for s in sources if s.n in cited], quotes)


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"
