"""Attach documents to a conversation: which collections it answers from, and the augmenter that does it.

A conversation's choice (collections, strict mode) is saved with the conversation, in
``conversations.extra`` under ``collections`` and ``strict``, so reopening it answers from the same
documents. ``build_augmenter`` is the one place where a ``DocumentAugmenter`` is made for a chat
session (the window and the CLI both come here): the model's own token counting, the context size
(``FALLBACK_N_CTX`` before a model is loaded), the room kept for the answer, and query rewriting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import InglenookError
from knowledge.rewrite import QueryRewriter, check_mode, host_generate

if TYPE_CHECKING:
    from engine.chat.history import HistoryStore
    from engine.chat.session import ChatSession
    from engine.host import ModelHost
    from knowledge.answer import DocumentAugmenter
    from knowledge.library import Library
    from knowledge.retrieval import Retriever

log = logging.getLogger(__name__)

FALLBACK_N_CTX = 4096  # the context assumed while no model is loaded (the app's default context size)
DEFAULT_K = 5  # passages retrieved per question
REWRITE_OFF = "off"  # rewriting costs a model call per question, so it is opt-in (see knowledge.rewrite)


@dataclass(frozen=True)
class DocumentChoice:
    """The collections a conversation answers from, and whether only from them."""

    collections: tuple[str, ...] = ()
    strict: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "collections", tuple(self.collections))
        object.__setattr__(self, "strict", bool(self.strict))

    def without(self, name: str) -> DocumentChoice:
        return DocumentChoice(tuple(n for n in self.collections if n != name), self.strict)

    def as_extra(self) -> dict:
        """The keys saved in ``conversations.extra``."""
        return {"collections": list(self.collections), "strict": self.strict}


def stored_choice(store: HistoryStore, conversation_id: int) -> DocumentChoice | None:
    """The choice saved with the conversation; None when it never made one (or cannot be read)."""
    try:
        extra = store.get_conversation(conversation_id).extra or {}
    except InglenookError:
        return None
    if "collections" not in extra:
        return None
    return DocumentChoice(tuple(extra.get("collections") or ()), bool(extra.get("strict")))


def save_choice(store: HistoryStore, conversation_id: int, choice: DocumentChoice) -> None:
    """Save ``choice`` with the conversation, keeping the rest of its ``extra`` (LoRA styles...)."""
    extra = dict(store.get_conversation(conversation_id).extra or {})
    extra.update(choice.as_extra())
    store.update_conversation(conversation_id, extra=extra)


def query_rewriter(host: ModelHost, mode: str) -> QueryRewriter | None:
    """The rewriter for ``mode`` ("off", "standalone", "multi", "hyde"), asking the session's model."""
    if mode == REWRITE_OFF:
        return None
    return QueryRewriter(host_generate(host), mode)


def build_augmenter(retriever: Retriever, session: ChatSession, choice: DocumentChoice, *,
                    k: int = DEFAULT_K, rewrite: str = REWRITE_OFF) -> DocumentAugmenter:
    """The ``DocumentAugmenter`` grounding ``session``'s answers in ``choice``'s collections.

    Tokens are counted by the loaded model, so the sources fill what is really left of its context;
    the answer keeps its ``max_tokens``, but never more than a quarter of the context.
    """
    from knowledge.answer import DocumentAugmenter

    host = session.host
    loaded = host.loaded
    n_ctx = loaded.n_ctx if loaded else FALLBACK_N_CTX
    return DocumentAugmenter(
        retriever, list(choice.collections), strict=choice.strict, k=k,
        count_tokens=host.count_tokens,  # in the engine process, across the boundary
        n_ctx=n_ctx, answer_reserve=min(session.params.max_tokens, n_ctx // 4),
        rewriter=query_rewriter(host, rewrite),
    )


class ConversationDocuments:
    """The current conversation's documents, for a face that switches between conversations.

    ``choice`` is what the current conversation uses (or, before it exists, what a new one will use).
    ``attach`` is the hook for every session the face opens: a conversation that made a choice gets
    it back; one that did not adopts the current choice, which is saved with it.
    """

    def __init__(self, library: Library, store: HistoryStore, choice: DocumentChoice | None = None, *,
                 k: int = DEFAULT_K, rewrite: str = REWRITE_OFF,
                 report: Callable[[str], None] | None = None):
        self.library = library
        self.store = store
        self.choice = choice or DocumentChoice()
        self.k = k
        self.rewrite = rewrite
        # where a failure that must not stop the chat is told (saving the choice); default: the log
        self.report = report or (lambda text: log.warning("%s", text))

    @property
    def rewrite(self) -> str:
        """How questions are rewritten before searching (``knowledge.rewrite.REWRITE_MODES``)."""
        return self._rewrite

    @rewrite.setter
    def rewrite(self, mode: str) -> None:
        self._rewrite = check_mode(mode)

    def attach(self, session: ChatSession) -> DocumentAugmenter | None:
        """Adopt the conversation's saved choice, or save the current one with it; its augmenter."""
        saved = stored_choice(self.store, session.conversation_id)
        if saved is not None:
            self.choice = saved
        else:
            self.remember(session)
        return self.augmenter(session)

    def apply_to(self, session: ChatSession) -> None:
        """After the choice changed: save it with the session's conversation and re-arm its augmenter."""
        self.remember(session)
        session.augmenter = self.augmenter(session)

    def remember(self, session: ChatSession) -> None:
        try:
            save_choice(self.store, session.conversation_id, self.choice)
        except InglenookError as exc:
            self.report(str(exc))

    def augmenter(self, session: ChatSession) -> DocumentAugmenter | None:
        """For the current choice, leaving out collections removed since; None when none is left."""
        names = self.library.existing(self.choice.collections)
        if not names:
            return None
        return build_augmenter(self.library.retriever(), session, DocumentChoice(names, self.choice.strict),
                               k=self.k, rewrite=self.rewrite)

    def forget(self, name: str) -> bool:
        """A removed collection leaves the current choice; True when it was in it."""
        if name not in self.choice.collections:
            return False
        self.choice = self.choice.without(name)
        return True
