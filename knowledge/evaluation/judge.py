"""An LLM judge: any loaded model asked short, greedy questions, and robust readers of what it answers.

The prompts live in ``resources/eval_prompts/<en|zh>/<name>.txt`` and are picked by the question's
language. Small models answer with junk more often than not, so every reader here returns None for
output it cannot read, and the metrics turn that into a None value with the reason, never a guess.
"""

from __future__ import annotations

import json
import re
from typing import Protocol

from engine.paths import resources_dir
from knowledge.errors import KnowledgeError
from knowledge.textmatch import tokens

PROMPTS = ("statements", "verdict", "questions", "context_useful")
# Small budgets, so a rambling judge stops early: a verdict is one word (a few tokens of slack for "Yes."
# or "答：是"); three short questions fit in ~72 tokens; a statement list is about as long as the text it
# splits (a token is ~4 English or ~1.5 Chinese characters, so len/2 is generous for both) plus bullets.
VERDICT_TOKENS = 8
QUESTIONS_TOKENS = 72
LIST_TOKENS_MAX = 256


def statements_budget(text: str) -> int:
    """Tokens the judge may spend listing the statements of ``text``."""
    return min(LIST_TOKENS_MAX, 32 + len(text) // 2)
# The judge sees at most this many characters of context (~1,000-1,300 tokens): it must fit a 2,048-token
# window with the prompt and the answer, which the bundled model and most small local models have.
MAX_CONTEXT_CHARS = 4000


class JudgeError(KnowledgeError):
    """The judge could not be asked (the model failed or is not loaded)."""


class Judge(Protocol):
    name: str                                   # e.g. "llm:SmolLM2-135M-Instruct"

    def ask(self, messages: list[dict], max_tokens: int) -> str: ...


class HostJudge:
    """A judge backed by a loaded ``engine.host.ModelHost`` (local GGUF or remote runtime), greedy."""

    def __init__(self, host, model_name: str):
        self.host = host
        self.name = f"llm:{model_name}"

    def ask(self, messages: list[dict], max_tokens: int) -> str:
        from engine.events import Finished, TextDelta
        from engine.params import SamplingParams

        parts: list[str] = []
        for event in self.host.chat(messages, SamplingParams.greedy(max_tokens=max_tokens)):
            if isinstance(event, TextDelta):
                parts.append(event.text)
            elif isinstance(event, Finished) and event.reason == "error":
                raise JudgeError(f"The judge model failed: {event.error or 'unknown error'}.")
        return "".join(parts)


def host_judge(host, model_name: str) -> Judge:
    """``host`` (with a model loaded) as a judge named ``llm:<model_name>``."""
    return HostJudge(host, model_name)


def prompt(name: str, lang: str, **values: str) -> str:
    """The judge prompt ``name`` in ``lang`` ("en" or "zh"), filled with ``values``."""
    if name not in PROMPTS:
        raise KnowledgeError(f"No judge prompt called {name!r}; there are {', '.join(PROMPTS)}.")
    path = resources_dir() / "eval_prompts" / ("zh" if lang == "zh" else "en") / f"{name}.txt"
    try:
        template = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KnowledgeError(f"The judge prompt {path} is missing ({exc}); reinstall Inglenook.") from exc
    return template.format(**values).strip()


def ask(judge: Judge, text: str, max_tokens: int) -> str:
    return judge.ask([{"role": "user", "content": text}], max_tokens)


# ------------------------------------------------------------------ readers of judge output
_YES_EN = {"yes", "true", "supported", "correct", "y"}
_NO_EN = {"no", "false", "unsupported", "incorrect", "n"}
_ZH_NO = ("不是", "不能", "不支持", "不可以", "没有", "否", "不")
_ZH_YES = ("是", "能", "支持", "可以", "对")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)、:：]|[（(]\d{1,2}[)）])\s*")


def parse_verdict(text: str) -> bool | None:
    """yes/no from a judge reply: the first verdict word in its first line or 60 characters ("Yes.",
    "**No**", "Answer: yes", "是。", "答：否"); None for anything else (junk, an echo of the context)."""
    head = (text or "").strip().splitlines()[0][:60] if (text or "").strip() else ""
    head = re.sub(r"^(?:answer|verdict|reply|回答|答案|答)\s*[:：]\s*", "", head.strip(" *_`\"'"), flags=re.I)
    head = head.strip(" *_`\"'")
    if re.search(r"\bnot supported\b|\bcannot be inferred\b|\bcan't be inferred\b", head, re.I):
        return False
    if re.search(r"\bis supported\b|\bcan be inferred\b", head, re.I):
        return True
    for word in re.findall(r"[a-z]+", head.lower())[:3]:
        if word in _YES_EN:
            return True
        if word in _NO_EN:
            return False
    for prefix in _ZH_NO:
        if head.startswith(prefix):
            return False
    for prefix in _ZH_YES:
        if head.startswith(prefix):
            return True
    return None


def _json_list(text: str) -> list[str] | None:
    start, end = text.find("["), text.rfind("]")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start:end + 1])
    except ValueError:
        return None
    if isinstance(data, list) and all(isinstance(x, str) for x in data):
        return data
    return None


def parse_lines(text: str, *, echo: tuple[str, ...] = ()) -> list[str]:
    """The items of a list answer: one per line (bullets and numbers stripped) or a JSON list of strings;
    lines that are headings ("Statements:"), echo the prompt's inputs, or have no content word are left out."""
    items = _json_list(text or "")
    if items is None:
        items = [_BULLET.sub("", line) for line in (text or "").splitlines()]
    seen, out = set(echo), []
    for item in (" ".join(i.split()).strip(" \"'") for i in items):
        if not item or item in seen or item.rstrip(":：").lower() in ("statements", "questions", "陈述句", "问题"):
            continue
        if item.endswith((":", "：")) or not tokens(item):
            continue
        seen.add(item)
        out.append(item)
    return out


def parse_statements(text: str, answer: str) -> list[str] | None:
    """Statements from the judge's list; None when there are none or they are not about the answer (a
    statement must share a content word with it — a weak model often writes about something else)."""
    answer_tokens = set(tokens(answer))
    items = [s for s in parse_lines(text, echo=("Answer: " + answer,)) if set(tokens(s)) & answer_tokens]
    return items or None


def parse_questions(text: str) -> list[str] | None:
    """Questions from the judge's list: items that end in a question mark or start with a question word."""
    starts = ("what", "how", "why", "when", "where", "who", "which", "is", "are", "can", "do", "does", "should")
    items = [q for q in parse_lines(text) if q.endswith(("?", "？")) or q.lower().startswith(starts)
             or re.search("什么|怎么|如何|多少|为什么|哪|吗|几", q)]
    return items or None


def clip_context(text: str) -> str:
    return text if len(text) <= MAX_CONTEXT_CHARS else text[:MAX_CONTEXT_CHARS] + " …"


def verdict(judge: Judge, context: str, statement: str, lang: str) -> tuple[bool | None, str]:
    """Does ``context`` support ``statement``? The parsed verdict (None: unreadable) and the raw reply."""
    raw = ask(judge, prompt("verdict", lang, context=clip_context(context), statement=statement), VERDICT_TOKENS)
    return parse_verdict(raw), raw
