""""Answer with quotes": another version of a grounded reply, made only of sentences from its sources.

For a small model whose answers the sources do not support, the honest alternative is to quote:
``knowledge.evaluation.support.quote_sentences`` picks the source sentences that best answer the
question, and the reply is those sentences, each with its [n]. Nothing is generated, so no model is
needed and it takes well under a second.

A reply's stored sources keep where each passage came from but not its full text, so the passages are
searched again (same question, same collections, as many as before): an unchanged index gives the same
passages back, matched to the reply's numbers by file and position. The quoted reply is saved as a
sibling of the original (nothing is replaced), with the quoted sentences in its sources so the source
panel can highlight them. Qt-free: the window runs it off the GUI thread.
"""

from __future__ import annotations

from dataclasses import asdict

from engine.chat.history import HistoryStore, StoredMessage
from engine.errors import InglenookError
from knowledge.answer import relevant
from knowledge.evaluation.sample import RetrievedContext
from knowledge.evaluation.support import quote_answer, quote_sentences, sentence_support
from knowledge.retrieval import SearchHit, SearchOptions

QUOTED_MODEL = "quotes from the sources"  # shown where a reply names its model
SNIPPET_CHARS = 220


def _numbered(hits: list[SearchHit], sources: list[dict]) -> list[tuple[int, SearchHit]]:
    """Hits numbered as the original reply numbered its sources (by file and position), others after."""
    wanted = {(s.get("path"), s.get("start")): s.get("n") for s in sources if s.get("n")}
    numbered, used = [], {n for n in wanted.values()}
    extra_n = max(used, default=0)
    for hit in hits:
        n = wanted.get((hit.path, hit.start))
        if n is None:
            extra_n += 1
            n = extra_n
        numbered.append((n, hit))
    return sorted(numbered, key=lambda item: item[0])


def quoted_reply(library, store: HistoryStore, message_id: int) -> StoredMessage:
    """Save and return a quoted version of the grounded reply ``message_id`` (a sibling of it)."""
    reply = store.get_message(message_id)
    collections = reply.extra.get("collections") or []
    if reply.role != "assistant" or not collections or reply.parent_id is None:
        raise InglenookError("Only a reply that was answered from documents can be answered with quotes.")
    question = store.get_message(reply.parent_id)
    sources = [s for s in reply.extra.get("sources") or [] if isinstance(s, dict)]
    options = SearchOptions(k=max(5, len(sources)))
    hits = relevant(library.retriever().search_queries(collections, [(question.content, 1.0)], options))
    numbered = _numbered(hits, sources)[: max(len(sources), 1) if sources else options.k]
    contexts = [RetrievedContext(n=n, path=h.path, text=h.text, page=h.page, heading=h.heading) for n, h in numbered]
    text = quote_answer(question.content, contexts)
    quotes = quote_sentences(question.content, contexts)
    by_n: dict[int, list[str]] = {}
    for quote in quotes:
        by_n.setdefault(quote.n, []).append(quote.sentence.strip())
    extra = {
        "sources": [_source_dict(n, hit, by_n.get(n, [])) for n, hit in numbered],
        "collections": collections,
        "strict": reply.extra.get("strict", False),
        "answer": "quotes",
        "quoted_from": reply.id,
        "support": [asdict(s) for s in sentence_support(text, contexts)],
    }
    return store.add_message(reply.conversation_id, "assistant", text, parent_id=question.id,
                             model=QUOTED_MODEL, extra=extra)


def _source_dict(n: int, hit: SearchHit, quotes: list[str]) -> dict:
    flat = " ".join(hit.text.split())
    snippet = flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1] + "…"
    data = {"n": n, "path": hit.path, "page": hit.page, "heading": hit.heading, "snippet": snippet,
            "collection": hit.collection, "start": hit.start, "end": hit.end}
    if quotes:
        data["quotes"] = quotes
    return data
