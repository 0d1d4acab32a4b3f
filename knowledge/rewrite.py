"""Query rewriting with the chat model, before retrieval.

Three modes, each optional (``REWRITE_MODES``):

* ``standalone`` — a follow-up ("and the second one?") is rewritten into a question that can be searched
  without the conversation. Only done when there is a conversation before the question.
* ``multi`` — also a few other phrasings of the question (multi-query expansion); each is searched and
  all rankings are fused.
* ``hyde`` — also a short hypothetical passage that would answer the question (HyDE); its words and its
  embedding are searched beside the question's.

The original question is always searched too, with the full weight; rewritten queries add rankings with
``EXTRA_WEIGHT``, so a poor rewrite can only add candidates, never push the literal match out. Rewriting
costs a model call before the answer (and the prompt cache of the conversation), so it is off unless the
user turns it on; ``benchmarks/eval_retrieval.py --rewrite`` measures whether it helps.

The model is reached through a plain ``generate(messages, max_tokens) -> str`` callable, so this module
never learns which runtime answers (``host_generate`` adapts the engine's ``ModelHost``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from knowledge.errors import KnowledgeError

log = logging.getLogger(__name__)

REWRITE_MODES = ("off", "standalone", "multi", "hyde")
EXTRA_WEIGHT = 0.5  # weight of each rewritten query's rankings, relative to the question itself
HISTORY_TURNS = 4  # conversation messages shown to the model when making a follow-up standalone
HISTORY_CHARS = 600  # per message

Generate = Callable[[list[dict], int], str]

STANDALONE_PROMPT = (
    "Rewrite the user's last question so that it can be understood without the conversation: replace "
    "pronouns and references with what they mean. Keep the question's language. Reply with the rewritten "
    "question only."
)
MULTI_PROMPT = (
    "Write {n} different short search queries that would find documents answering the question below. "
    "Use the question's language. One query per line, no numbering, nothing else."
)
HYDE_PROMPT = (
    "Write a short passage of two or three sentences, as it would appear in a document, that answers the "
    "question below. Use the question's language. Reply with the passage only."
)


@dataclass
class RewrittenQuery:
    text: str
    weight: float
    kind: str  # "question", "standalone", "variant", "hypothetical"


def host_generate(host) -> Generate:
    """A ``Generate`` that asks the engine's model owner thread for a short greedy completion."""
    from engine.events import TextDelta
    from engine.params import SamplingParams

    def generate(messages: list[dict], max_tokens: int) -> str:
        stream = host.chat(messages, SamplingParams.greedy(max_tokens=max_tokens))
        return "".join(e.text for e in stream if isinstance(e, TextDelta))

    return generate


def check_mode(mode: str) -> str:
    """``mode`` when it is one of ``REWRITE_MODES``; else a ``KnowledgeError`` naming them."""
    if mode not in REWRITE_MODES:
        raise KnowledgeError(f"Unknown query rewriting {mode!r}; use one of {', '.join(REWRITE_MODES)}.")
    return mode


class QueryRewriter:
    def __init__(self, generate: Generate, mode: str = "standalone", n_variants: int = 3):
        self.generate = generate
        self.mode = check_mode(mode)
        self.n_variants = n_variants

    def queries(self, question: str, history: list[dict] | None = None) -> list[RewrittenQuery]:
        """The queries to search: the question first, then what the model adds. A failing model call
        leaves just the question (logged): retrieval must not fail because rewriting did."""
        out = [RewrittenQuery(question, 1.0, "question")]
        if self.mode == "off":
            return out
        try:
            focus = question
            turns = [m for m in (history or []) if m.get("role") in ("user", "assistant")]
            if turns:
                focus = self._standalone(question, turns) or question
                if focus != question:
                    out.append(RewrittenQuery(focus, 1.0, "standalone"))  # it is what the user means
            if self.mode == "multi":
                out += [RewrittenQuery(v, EXTRA_WEIGHT, "variant") for v in self._variants(focus)]
            elif self.mode == "hyde":
                passage = self._hypothetical(focus)
                if passage:
                    out.append(RewrittenQuery(passage, EXTRA_WEIGHT, "hypothetical"))
        except Exception:  # the model is busy, unloaded or failed: search the question as it is
            log.warning("query rewriting failed; searching the question as asked", exc_info=True)
        return _unique(out)

    # ------------------------------------------------------------------ model calls
    def _standalone(self, question: str, turns: list[dict]) -> str:
        transcript = "\n".join(f"{m['role']}: {_clip(m['content'], HISTORY_CHARS)}" for m in turns[-HISTORY_TURNS:])
        text = self.generate([{"role": "system", "content": STANDALONE_PROMPT},
                              {"role": "user", "content": f"Conversation:\n{transcript}\n\nLast question: {question}"}],
                             96)
        return _first_line(text)

    def _variants(self, question: str) -> list[str]:
        text = self.generate([{"role": "system", "content": MULTI_PROMPT.format(n=self.n_variants)},
                              {"role": "user", "content": question}], 32 * self.n_variants)
        lines = [_strip_marker(line) for line in text.splitlines()]
        return [line for line in lines if len(line) >= 3][: self.n_variants]

    def _hypothetical(self, question: str) -> str:
        text = self.generate([{"role": "system", "content": HYDE_PROMPT},
                              {"role": "user", "content": question}], 128)
        return " ".join(text.split())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_MARKER = re.compile(r"^\s*(?:[-*•]|\d+[.)、]|(?:query|question|问题|查询)\s*\d*\s*[:：])\s*", re.IGNORECASE)


def _strip_marker(line: str) -> str:
    return _MARKER.sub("", line).strip().strip('"“”')


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = _strip_marker(line)
        if line:
            return line
    return ""


def _unique(queries: list[RewrittenQuery]) -> list[RewrittenQuery]:
    seen: set[str] = set()
    out = []
    for q in queries:
        key = " ".join(q.text.lower().split())
        if key and key not in seen:
            seen.add(key)
            out.append(q)
    return out
