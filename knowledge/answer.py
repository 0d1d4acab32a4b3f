"""Grounded answers: retrieve, number the sources, fit them in the context, and say so when they don't help.

``DocumentAugmenter`` plugs into ``engine.chat.session.ChatSession`` (the engine never learns what a
document is). For each question it retrieves passages from the chosen collections, keeps the ones
that are relevant, puts as many as fit the token budget into the question as numbered sources,
and asks the model to cite them as [1], [2]. The sources travel with the answer (saved with the
message and streamed first as a ``SourcesEvent``), so they are shown even when the model forgets
to cite. In strict mode, when nothing relevant is found, the model is not asked at all: the reply
says plainly that the documents do not cover the question.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.chat.session import Augmentation
from knowledge.retrieval import Retriever, SearchHit, SearchOptions
from knowledge.rewrite import QueryRewriter, RewrittenQuery

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
        return Augmentation(final, extra, events)


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"
