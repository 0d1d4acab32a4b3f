"""Answering one question the way the app answers it, and keeping what the model saw.

Every configuration answers through the same path as ``nook ask``: a ``ChatSession`` (preset or system
prompt, greedy decoding with the configuration's seed and max_tokens, LoRA adapters switched on by
the session) whose augmenter comes from ``knowledge.conversation_docs.build_augmenter`` (the chosen
collections, strict mode, k, query rewriting), with the configuration's retrieval mode set on its
search options. The passages the model was given (``augmenter.last_sources``: number, path, page,
heading, the text exactly as put in the prompt) become the record's ``contexts``.

Conversations go to the environment's ``history``, a scratch store in the run directory, so evaluation
chats never show up among the user's own.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Protocol

from engine.chat.session import ChatSession
from engine.errors import InglenookError
from engine.events import Finished, TextDelta
from engine.lora.adapters import AdapterChoice, LoraRegistry
from knowledge.conversation_docs import DocumentChoice, build_augmenter
from knowledge.evaluation.configs import EvalConfig
from knowledge.evaluation.questions import EvalQuestion
from knowledge.evaluation.sample import RetrievedContext

if TYPE_CHECKING:
    from engine.chat.history import HistoryStore
    from engine.host import ModelHost
    from knowledge.answer import DocumentAugmenter
    from knowledge.library import Library

log = logging.getLogger(__name__)


class EvalEnvironment(Protocol):
    """What a run needs from the face that starts it (the CLI, the window, a benchmark).

    Optional attributes a run also uses when present: ``embedder`` (a ``knowledge.embeddings``
    embedder for the judge-free measures; default: the bundled one) and ``lora_registry`` (where
    adapter names are looked up; default: the app's registry).
    """

    library: Library
    history: HistoryStore  # a scratch store for evaluation conversations (not the user's chats)

    def host_for(self, model: str | None) -> ModelHost: ...  # a loaded host for that model (None: the default)


def greedy_params(config: EvalConfig) -> dict:
    """Sampling for a fair comparison: the most likely token every time, the configuration's seed and length.

    The repeat penalty stays as the app (or the preset) sets it: it is part of how the app answers.
    """
    return {"temperature": 0.0, "top_k": 1, "top_p": 1.0, "min_p": 0.0, "seed": config.seed,
            "max_tokens": config.max_tokens}


def adapter_choices(config: EvalConfig, registry: LoraRegistry) -> list[AdapterChoice]:
    """The configuration's adapters as file paths, looked up in the user's registry.

    The scratch history store has a registry of its own that knows no adapters, and an adapter given
    by path is accepted by any registry, so resolving here keeps the user's names working.
    """
    choices = []
    for item in config.lora:
        entry = registry.get(item["name"])
        choices.append(AdapterChoice(str(entry.path), float(item.get("scale", 1.0))))
    return choices


def contexts_of(augmenter: DocumentAugmenter | None) -> list[RetrievedContext]:
    """The passages of the last question exactly as the model got them, in the order it saw them."""
    if augmenter is None:
        return []
    return [RetrievedContext(n=s.n, path=s.path, text=s.text, page=s.page, heading=s.heading)
            for s in augmenter.last_sources]


def context_dict(context: RetrievedContext) -> dict:
    return asdict(context)


class ConfigAnswerer:
    """Answers questions for one configuration on an already loaded model."""

    def __init__(self, environment: EvalEnvironment, host: ModelHost, config: EvalConfig, *, embedder=None):
        self.environment = environment
        self.host = host
        self.config = config
        self.embedder = embedder
        registry = getattr(environment, "lora_registry", None) or LoraRegistry()
        self.adapters = adapter_choices(config, registry)
        self.session: ChatSession | None = None  # the question being answered, so a face can stop it
        if config.uses_documents:
            environment.library.require(config.collections)  # a typo fails before any question

    def new_session(self) -> ChatSession:
        """One fresh conversation per question: no question sees another's history."""
        from knowledge.retrieval import SearchOptions


        config = self.config
        loaded = self.host.loaded
        session = ChatSession(self.host, self.environment.history, model_name=loaded.name if loaded else None,
                              preset=config.preset, system_prompt=config.system_prompt)
        session.set_params(**greedy_params(config))
        if config.uses_documents:
            choice = DocumentChoice(tuple(config.collections), config.strict)
            augmenter = build_augmenter(self.environment.library.retriever(), session, choice, k=config.k,
                                        rewrite=config.rewrite)
            augmenter.options = SearchOptions(k=config.k, mode=config.retrieval)
            session.augmenter = augmenter
        if self.adapters:
            session.set_adapters(self.adapters)
        return session

    def answer(self, question: EvalQuestion) -> dict:
        """The record of one question; a failure is a record with ``error`` (the run goes on)."""
        record = base_record(self.config, question, self.host)
        started = time.perf_counter()
        try:
            session = self.session = self.new_session()
            if self.config.answer == "model":
                self._model_answer(session, question, record, started)
            else:
                self._retrieved_answer(session, question, record)
        except InglenookError as exc:
            record["error"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - one broken question must not end a long run
            log.exception("evaluation question %s failed", question.id)
            record["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            self.session = None
        record["timings"]["total_s"] = round(time.perf_counter() - started, 4)
        return record

    def cancel(self) -> None:
        """Stop the answer being written now (its record then says ``finish_reason: cancelled``)."""
        session = self.session
        if session is not None:
            session.cancel()

    def _model_answer(self, session: ChatSession, question: EvalQuestion, record: dict, started: float) -> None:
        finished: Finished | None = None
        first_token: float | None = None
        for event in session.send(question.question):
            if isinstance(event, TextDelta) and first_token is None and event.text:
                first_token = time.perf_counter() - started
            elif isinstance(event, Finished):
                finished = event
        outcome = session.last_outcome
        record["answer"] = outcome.message.content if outcome else ""
        record["contexts"] = [context_dict(c) for c in contexts_of(session.augmenter)]
        record["timings"]["first_token_s"] = round(first_token, 4) if first_token is not None else None
        if finished is not None:
            record["finish_reason"] = finished.reason
            record["timings"]["model"] = finished.timings.as_dict()
            if finished.error:
                record["error"] = finished.error

    def _retrieved_answer(self, session: ChatSession, question: EvalQuestion, record: dict) -> None:
        """``quotes``: an extractive answer from the passages; ``none``: the passages only."""
        augmenter = session.augmenter
        messages = [*session.model_messages([]), {"role": "user", "content": question.question}]
        augmenter(messages)  # retrieves and fits the passages exactly as a model answer would get them
        contexts = contexts_of(augmenter)
        record["contexts"] = [context_dict(c) for c in contexts]
        record["finish_reason"] = "stop"
        if self.config.answer == "quotes":
            from knowledge.support import quote_answer

            record["answer"] = quote_answer(question.question, contexts, embedder=self.embedder)


def base_record(config: EvalConfig, question: EvalQuestion, host: ModelHost | None) -> dict:
    loaded = host.loaded if host is not None else None
    return {
        "config": config.name,
        "question_id": question.id,
        "question": question.question,
        "reference": question.reference,
        "gold_sources": [{"file": s.file, "page": s.page, "heading": s.heading} for s in question.sources],
        "model": loaded.name if loaded else None,
        "answer": None,
        "contexts": [],
        "metrics": {},
        "timings": {"first_token_s": None, "total_s": None},
        "finish_reason": None,
        "error": None,
    }
