"""Drafting a question set from a collection: the chat model writes question / reference / source triples.

Passages are sampled across the collection's files (seeded: the same seed picks the same passages),
one file after another so a big file does not take every question. For each, the chat model is asked
(``resources/eval_prompts/{en,zh}/generate_question.txt``) for a question the passage answers and the
answer copied from it. A draft is kept only when its answer is really in the passage (token
containment, so a model that makes something up is filtered out) and its question is not a duplicate.
Drafts carry ``extra: {"draft": true}``: a person reviews them before they are used.
"""

from __future__ import annotations

import random
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.evaluation.questions import EvalQuestion
from knowledge.evaluation.records import EvaluationError
from knowledge.evaluation.sample import GoldSource
from knowledge.textunits import mostly_cjk

MIN_PASSAGE_CHARS = 80       # shorter chunks (titles, list stubs) rarely hold a question's answer
MAX_PASSAGE_CHARS = 900      # what the model is shown of a passage: keeps the prompt small for small models
MIN_SUPPORT = 0.8            # share of the reference's tokens that must occur in the passage
DRAFT_MAX_TOKENS = 64
TRIES_PER_QUESTION = 3       # passages tried per wanted question before giving up
_LABELS = {"question": ("question", "q", "问题", "問題"), "answer": ("answer", "a", "答案", "回答")}
_LINE = re.compile(r"^\s*[*#>\-\d.]*\s*\**\s*([A-Za-z\u4e00-\u9fff]+)\s*\**\s*[:：]\s*\**\s*(.+?)\s*$")
_TOKEN = re.compile(r"[\u3400-\u9fff]|[A-Za-z0-9]+(?:[.,'’][A-Za-z0-9]+)*")


@dataclass(frozen=True)
class Passage:
    path: str
    text: str
    page: int | None = None
    heading: str | None = None


@dataclass(frozen=True)
class GenerationProgress:
    phase: str                       # "generate" | "done"
    done: int                        # passages tried
    total: int                       # passages that will be tried at most
    eta_s: float | None
    questions: list[EvalQuestion] = field(default_factory=list)  # the drafts kept so far
    message: str | None = None
    config: str | None = None        # (the shape of runner.EvalProgress, for faces that show both)
    question_id: str | None = None
    record: dict | None = None


def collection_passages(library, name: str) -> list[Passage]:
    """Every chunk of a collection's index (text, path, page, heading), without the vectors."""
    collection = library.get(name)
    table = library.store().existing(collection.table_name)
    if table is None or table.count_rows() == 0:
        raise EvaluationError(f"The collection {name!r} has nothing indexed yet; run `nook index {name}` first.")
    rows = (table.search().select(["path", "text", "page", "heading"]).limit(table.count_rows())
            .to_arrow().to_pylist())
    return [Passage(path=r["path"], text=r["text"] or "", page=r["page"] or None, heading=r["heading"] or None)
            for r in rows]


def spread_sample(passages: list[Passage], count: int, seed: int) -> list[Passage]:
    """Up to ``count`` passages, taken a file at a time in turn (seeded), skipping too-short ones."""
    rng = random.Random(seed)
    by_file: dict[str, list[Passage]] = defaultdict(list)
    for passage in passages:
        if len(passage.text.strip()) >= MIN_PASSAGE_CHARS:
            by_file[passage.path].append(passage)
    files = sorted(by_file)
    rng.shuffle(files)
    for path in files:
        rng.shuffle(by_file[path])
    picked: list[Passage] = []
    while len(picked) < count and any(by_file.values()):
        for path in files:
            if by_file[path] and len(picked) < count:
                picked.append(by_file[path].pop())
    return picked


def tokens(text: str) -> list[str]:
    """Words (lowercased) of Latin text and single characters of Chinese, for containment checks."""
    return [t.lower() for t in _TOKEN.findall(text or "")]


def support_ratio(reference: str, passage: str) -> float:
    """The share of the reference's tokens that occur in the passage (0 for an empty reference)."""
    wanted = tokens(reference)
    if not wanted:
        return 0.0
    present = set(tokens(passage))
    return sum(1 for t in wanted if t in present) / len(wanted)


def usable(draft: tuple[str, str], passage: Passage) -> bool:
    """The reference is in the passage, and is not the question said again (a small model's echo)."""
    question, reference = draft
    return support_ratio(reference, passage.text) >= MIN_SUPPORT and support_ratio(reference, question) < MIN_SUPPORT


def parse_draft(text: str) -> tuple[str, str] | None:
    """(question, answer) from the model's reply, tolerating markdown, numbering and either language's labels."""
    found: dict[str, str] = {}
    for line in (text or "").splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        label, value = match.group(1).strip().lower(), match.group(2).strip().strip('"“”')
        for key, names in _LABELS.items():
            if label in names and key not in found and value:
                found[key] = value
    question, answer = found.get("question"), found.get("answer")
    if not question or not answer or len(question) < 6:
        return None
    return question, answer


def parse_question_only(text: str) -> str | None:
    """The question of a reply that gave no answer (a labelled line, or a lone line ending in "?")."""
    for line in (text or "").splitlines():
        match = _LINE.match(line)
        if match and match.group(1).strip().lower() in _LABELS["question"] and len(match.group(2).strip()) >= 6:
            return match.group(2).strip().strip('"“”')
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(lines) == 1 and lines[0].endswith(("?", "？")) and len(lines[0]) >= 6:
        return lines[0]
    return None


ANSWER_MARKER = "=== answer ==="  # the prompt file's second part: asked when the first reply has no answer


def prompt_parts(language: str) -> tuple[str, str]:
    """The two prompts of ``generate_question.txt``: question and answer together, then the answer alone."""
    from engine.paths import resources_dir

    text = (resources_dir() / "eval_prompts" / language / "generate_question.txt").read_text(encoding="utf-8")
    both, _, answer_only = text.partition(ANSWER_MARKER)
    return both.strip(), answer_only.strip()


def draft_prompt(passage: Passage, language: str) -> list[dict]:
    return [{"role": "user", "content": prompt_parts(language)[0].replace("{passage}", _shown(passage))}]


def answer_prompt(passage: Passage, question: str, language: str) -> list[dict]:
    template = prompt_parts(language)[1]
    return [{"role": "user", "content": template.replace("{passage}", _shown(passage)).replace("{question}", question)}]


def _shown(passage: Passage) -> str:
    return passage.text.strip()[:MAX_PASSAGE_CHARS]


def draft_for(host, passage: Passage, language: str) -> tuple[str, str] | None:
    """(question, reference) for a passage; small models often stop after the question, so the answer
    is then asked for on its own."""
    reply = ask_model(host, draft_prompt(passage, language))
    draft = parse_draft(reply)
    if draft is not None:
        return draft
    question = parse_question_only(reply)
    if question is None:
        return None
    answer = ask_model(host, answer_prompt(passage, question, language)).strip().strip('"“”')
    return (question, answer) if answer else None


def ask_model(host, messages: list[dict], max_tokens: int = DRAFT_MAX_TOKENS) -> str:
    from engine.events import TextDelta
    from engine.params import SamplingParams

    stream = host.chat(messages, SamplingParams.greedy(max_tokens=max_tokens))
    return "".join(event.text for event in stream if isinstance(event, TextDelta))


def relative_file(path: str, roots: list[Path]) -> str:
    """The passage's file relative to the collection root holding it (as gold sources are written)."""
    for root in roots:
        try:
            return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            continue
    return Path(path).name


def _normalized(question: str) -> str:
    return "".join(tokens(question))


def generate_questions(library, host, collection: str, *, n: int = 20, seed: int = 0,
                       language: str = "auto") -> Iterator[GenerationProgress]:
    """Draft up to ``n`` questions; each step yields the drafts kept so far (stop iterating to cancel)."""
    roots = library.get(collection).roots
    candidates = spread_sample(collection_passages(library, collection), n * TRIES_PER_QUESTION, seed)
    kept: list[EvalQuestion] = []
    seen: set[str] = set()
    started = time.perf_counter()
    for tried, passage in enumerate(candidates, 1):
        lang = language if language in ("en", "zh") else ("zh" if mostly_cjk(passage.text) else "en")
        draft = draft_for(host, passage, lang)
        if draft is not None and usable(draft, passage):
            key = _normalized(draft[0])
            if key not in seen:
                seen.add(key)
                kept.append(EvalQuestion(
                    id=f"g{len(kept) + 1}", question=draft[0], reference=draft[1],
                    sources=[GoldSource(file=relative_file(passage.path, roots), page=passage.page,
                                        heading=passage.heading)],
                    extra={"draft": True, "lang": lang}))
        remaining = min(len(candidates) - tried, (n - len(kept)) * TRIES_PER_QUESTION)
        eta = (time.perf_counter() - started) / tried * remaining
        yield GenerationProgress("generate", tried, len(candidates), round(eta, 1), list(kept))
        if len(kept) >= n:
            break
    yield GenerationProgress("done", len(candidates), len(candidates), 0.0, list(kept),
                             message=f"kept {len(kept)} of the drafts")
