""""Answer with quotes": another version of a grounded reply, made only of sentences from its sources.

For a small model whose answers the sources do not support, the honest alternative is to quote:
``knowledge.answer.DocumentAugmenter.quote_answer`` retrieves as the chat did (same question, same
collections, as many passages as the reply had) and takes the source sentences that best answer the
question, each cited [n]. Nothing is generated, so no model is needed and it takes well under a second.

The quoted reply is saved as a sibling of the original (nothing is replaced), with each quoted sentence
in its source's ``quotes`` so the source panel can highlight it, and with its own sentence support.
Qt-free: the window runs it off the GUI thread.
"""

from __future__ import annotations

from engine.chat.history import HistoryStore, StoredMessage
from engine.errors import InglenookError
from knowledge.answer import DocumentAugmenter, as_contexts
from knowledge.support import sentence_support

QUOTED_MODEL = "quotes from the sources"  # shown where a reply names its model


def quoted_reply(library, store: HistoryStore, message_id: int) -> StoredMessage:
    """Save and return a quoted version of the grounded reply ``message_id`` (a sibling of it)."""
    reply = store.get_message(message_id)
    collections = reply.extra.get("collections") or []
    if reply.role != "assistant" or not collections or reply.parent_id is None:
        raise InglenookError("Only a reply that was answered from documents can be answered with quotes.")
    question = store.get_message(reply.parent_id)
    k = max(1, len(reply.extra.get("sources") or [])) if reply.extra.get("sources") else 5
    augmenter = DocumentAugmenter(library.retriever(), list(collections), strict=bool(reply.extra.get("strict")), k=k)
    answer = augmenter.quote_answer(question.content)
    quoted: dict[int, list[str]] = {}
    for quote in answer.quotes:
        quoted.setdefault(quote.n, []).append(quote.sentence.strip())
    sources = [{**source.as_dict(), "quotes": quoted.get(source.n, [])} for source in answer.sources]
    extra = {
        "sources": sources,
        "collections": list(collections),
        "strict": bool(reply.extra.get("strict")),
        "answer": "quotes",
        "quoted_from": reply.id,
        "support": [s.as_dict() for s in sentence_support(answer.text, as_contexts(answer.sources))],
    }
    return store.add_message(reply.conversation_id, "assistant", answer.text, parent_id=question.id,
                             model=QUOTED_MODEL, extra=extra)
