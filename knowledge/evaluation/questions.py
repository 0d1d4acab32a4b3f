"""Question sets: JSONL files of questions, each with an optional reference answer and gold sources.

One JSON object a line::

    {"id": "q1", "question": "How long does the dough proof?", "reference": "12 to 16 hours",
     "sources": [{"file": "recipe-sourdough.md", "page": null, "heading": "Proofing"}, "other.pdf"]}

``question`` is required; ``id`` defaults to ``q<position>`` (stable as long as the order is);
``sources`` entries are objects with ``file`` (and optional ``page``, ``heading``) or plain file names.
Keys this format does not know are kept in ``extra``. The repository's own set
(``benchmarks/eval/questions.jsonl``: ``query``, ``file``, ``answer``) is read as is: ``query`` is the
question, ``file`` the gold source and ``answer`` (a substring of the answering passage) the reference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.evaluation.records import EvaluationError
from knowledge.evaluation.sample import GoldSource

MAX_FILE_BYTES = 50 * 1024 * 1024  # a question set is typed by people; anything this big is the wrong file
MAX_REPORTED_PROBLEMS = 10
KNOWN_KEYS = {"id", "question", "reference", "sources", "extra"}
BENCHMARK_KEYS = {"query", "file", "answer"}  # benchmarks/eval/questions.jsonl


@dataclass
class EvalQuestion:
    id: str
    question: str
    reference: str | None = None
    sources: list[GoldSource] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The JSONL form ``load_questions`` reads back to an equal question."""
        data: dict = {"id": self.id, "question": self.question}
        if self.reference is not None:
            data["reference"] = self.reference
        if self.sources:
            data["sources"] = [_source_dict(s) for s in self.sources]
        if self.extra:
            data["extra"] = self.extra
        return data


def _source_dict(source: GoldSource) -> dict:
    data: dict = {"file": source.file}
    if source.page is not None:
        data["page"] = source.page
    if source.heading:
        data["heading"] = source.heading
    return data


def load_questions(path: Path | str) -> list[EvalQuestion]:
    """Read a question set; every problem is reported at once, by line number, with how to fix it."""
    path = Path(path)
    text = _read_text(path)
    questions: list[EvalQuestion] = []
    line_numbers: list[int] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            questions.append(parse_question(line, position=len(questions) + 1))
            line_numbers.append(number)
        except EvaluationError as exc:
            problems.append(f"line {number}: {exc}")
    if not questions and not problems:
        raise EvaluationError(f"{path} holds no questions: write one JSON object a line, "
                              'e.g. {"question": "How long does the dough proof?"}.')
    problems += _duplicate_ids(questions, line_numbers)
    if problems:
        shown = problems[:MAX_REPORTED_PROBLEMS]
        more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise EvaluationError(f"{path} has {len(problems)} problem(s):\n  " + "\n  ".join(shown) + more)
    return questions


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise EvaluationError(f"There is no question set at {path}.") from None
    except OSError as exc:
        raise EvaluationError(f"Cannot read the question set {path}: {exc.strerror or exc}.") from None
    if size > MAX_FILE_BYTES:
        raise EvaluationError(f"{path} is {size // (1024 * 1024)} MB; a question set is a small JSONL file "
                              f"(at most {MAX_FILE_BYTES // (1024 * 1024)} MB). Is it the right file?")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise EvaluationError(f"{path} is not UTF-8 text (line {line}, byte {exc.start}); "
                              "save it as UTF-8 and try again.") from None


def parse_question(line: str, *, position: int) -> EvalQuestion:
    """One line of a question set; ``position`` (1-based, among questions) makes the default id."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EvaluationError(f"not JSON ({exc.msg} at column {exc.colno}); each line must be one JSON object") from None
    if not isinstance(data, dict):
        raise EvaluationError('each line must be a JSON object like {"question": "..."}')
    if "question" not in data and "query" in data:
        data = _from_benchmark(data)
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        raise EvaluationError('"question" is missing or empty; every line needs the question text')
    return EvalQuestion(
        id=_id(data.get("id"), position),
        question=question.strip(),
        reference=_reference(data.get("reference")),
        sources=_sources(data.get("sources")),
        extra=_extra(data),
    )


def _from_benchmark(data: dict) -> dict:
    """``{"id", "query", "file", "answer", ...}`` (benchmarks/eval) in this format's words."""
    out = {k: v for k, v in data.items() if k not in BENCHMARK_KEYS}
    out["question"] = data.get("query")
    if data.get("answer") is not None:
        out["reference"] = data["answer"]
    if data.get("file"):
        out["sources"] = [data["file"]]
    return out


def _id(value, position: int) -> str:
    if value is None:
        return f"q{position}"
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise EvaluationError('"id" must be a non-empty text or number (or leave it out: q1, q2... are used)')
    return str(value).strip()


def _reference(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise EvaluationError('"reference" must be text (the expected answer) or left out')
    return value.strip() or None


def _sources(value) -> list[GoldSource]:
    if value is None:
        return []
    if isinstance(value, str | dict):
        value = [value]
    if not isinstance(value, list):
        raise EvaluationError('"sources" must be a list of file names or {"file", "page", "heading"} objects')
    return [_source(item) for item in value]


def _source(item) -> GoldSource:
    if isinstance(item, str) and item.strip():
        return GoldSource(file=item.strip())
    if not isinstance(item, dict) or not isinstance(item.get("file"), str) or not item["file"].strip():
        raise EvaluationError('each source needs a "file" (a file name or a path inside the collection)')
    unknown = set(item) - {"file", "page", "heading"}
    if unknown:
        raise EvaluationError(f"a source has unknown key(s) {', '.join(sorted(unknown))}; "
                              "use file, page and heading")
    page = item.get("page")
    if page is not None and (isinstance(page, bool) or not isinstance(page, int) or page < 1):
        raise EvaluationError('a source\'s "page" must be a page number (1 or more) or null')
    heading = item.get("heading")
    if heading is not None and not isinstance(heading, str):
        raise EvaluationError('a source\'s "heading" must be text or null')
    return GoldSource(file=item["file"].strip(), page=page, heading=(heading or "").strip() or None)


def _extra(data: dict) -> dict:
    extra = {k: v for k, v in data.items() if k not in KNOWN_KEYS}
    given = data.get("extra")
    if given is not None:
        if not isinstance(given, dict):
            raise EvaluationError('"extra" must be a JSON object')
        extra.update(given)
    return extra


def _duplicate_ids(questions: list[EvalQuestion], line_numbers: list[int]) -> list[str]:
    seen: dict[str, int] = {}
    problems = []
    for question, number in zip(questions, line_numbers, strict=True):
        if question.id in seen:
            problems.append(f"line {number}: the id {question.id!r} is already used on line {seen[question.id]}; "
                            "ids must be unique")
        else:
            seen[question.id] = number
    return problems


def save_questions(path: Path | str, questions: list[EvalQuestion]) -> None:
    """Write a question set atomically (a temporary file renamed over the old one)."""
    from knowledge.evaluation.records import write_jsonl_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl_atomic(path, (q.as_dict() for q in questions))
