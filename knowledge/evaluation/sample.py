"""What one evaluated question is: the question, what was retrieved, the answer, and what it should have been.

The runner builds an ``EvalSample`` per (configuration, question); every metric reads only this, so a
metric can be tested on a hand-made sample without a model, a collection or a run.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.support import RetrievedContext  # re-exported: the chat's sentence support uses it too
from knowledge.textmatch import detect_language

LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class GoldSource:
    """Where the answer lives, from the question set."""

    file: str                # path relative to a collection root, or a file name; matched by suffix/name
    page: int | None = None
    heading: str | None = None


@dataclass(frozen=True)
class EvalSample:
    question: str
    answer: str | None                      # None when the configuration only retrieves
    contexts: tuple[RetrievedContext, ...] = ()
    reference: str | None = None
    gold_sources: tuple[GoldSource, ...] = ()
    k: int = 5
    strict: bool = False                    # strict mode: refusing is right when nothing relevant was found
    language: str = "auto"                  # "en" | "zh" | "auto" (detected from the question)

    @property
    def lang(self) -> str:
        """The sample's language, ``"en"`` or ``"zh"``: as given, else detected from the question."""
        return self.language if self.language in LANGUAGES else detect_language(self.question)


def _norm_path(path: str) -> str:
    return path.replace("\\", "/").strip().strip("/").casefold()


def matches_gold(context: RetrievedContext, gold: GoldSource) -> bool:
    """Is ``context`` from the gold source? The file matches by path suffix ("en/leave.md" matches
    ".../docs/en/leave.md") or by name; a page must be equal when the gold names one; a heading must
    occur in the context's heading path or its text when the gold names one."""
    path, want = _norm_path(context.path), _norm_path(gold.file)
    if not want or not (path == want or path.endswith("/" + want)):
        return False
    if gold.page is not None and context.page != gold.page:
        return False
    if gold.heading:
        heading = gold.heading.strip().casefold()
        return heading in (context.heading or "").casefold() or heading in context.text.casefold()
    return True


def matches_any_gold(context: RetrievedContext, golds: tuple[GoldSource, ...]) -> bool:
    return any(matches_gold(context, gold) for gold in golds)
