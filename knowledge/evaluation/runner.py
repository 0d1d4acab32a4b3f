"""An evaluation run: answer every question with every configuration, measure, summarise; resumable.

``EvalRun`` is a generator of ``EvalProgress``: iterate to run it, stop iterating to cancel. Everything
lands in the run directory as it happens:

- ``run.json``: the question set and configurations (and their hashes), so the same directory can only
  be resumed with the same inputs unless ``allow_changes`` is given;
- ``records.jsonl``: one line per answered (configuration, question), appended with fsync; on start
  the lines already there are skipped (a truncated last line, from a kill, is dropped and redone);
- ``metrics.jsonl``: the measures of each record, appended the same way while judging;
- ``summary.json``: per configuration, the seven summary metrics with bootstrap intervals, and paired
  comparisons of every configuration against the first one (the baseline).

Answering comes first, grouped by model so each model is loaded once; then the measures. With a judge
model it is loaded once after answering and first checked against a labelled set
(``judge_check.check_judge``); a judge that does not agree well enough still runs, but the summary
keeps the judge-free values in the table and says the judge is too weak.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from knowledge.evaluation.answering import ConfigAnswerer, EvalEnvironment, base_record
from knowledge.evaluation.configs import EvalConfig
from knowledge.evaluation.questions import EvalQuestion
from knowledge.evaluation.records import (
    METRICS_FILE,
    RECORDS_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    EvaluationError,
    append_jsonl,
    content_hash,
    read_jsonl,
    write_json_atomic,
    write_jsonl_atomic,
)
from knowledge.evaluation.summary import summarize

log = logging.getLogger(__name__)

JUDGE_FREE = "judge-free"
JUDGE_CHECK_FILE = "judge_check.json"
ETA_WINDOW = 8  # items in the moving average of the time per item
RETRIEVAL_METRICS = ("hit@k", "mrr", "context_precision", "context_recall")


@dataclass(frozen=True)
class EvalProgress:
    phase: str                  # "answer" | "judge" | "done"
    done: int
    total: int
    config: str | None
    question_id: str | None
    eta_s: float | None
    record: dict | None
    message: str | None = None  # a note for the user (the judge's agreement, a model that failed to load)


class MovingEta:
    """Seconds left, from the mean time of the last few items (the first ones include warm-up)."""

    def __init__(self, window: int = ETA_WINDOW):
        self.times: deque[float] = deque(maxlen=window)
        self.last = time.perf_counter()

    def tick(self) -> None:
        now = time.perf_counter()
        self.times.append(now - self.last)
        self.last = now

    def restart(self) -> None:
        self.last = time.perf_counter()

    def eta(self, remaining: int) -> float | None:
        if not self.times:
            return None
        return round(sum(self.times) / len(self.times) * remaining, 1)


def config_hash(config: EvalConfig) -> str:
    return content_hash(config.as_dict())


def question_hash(question: EvalQuestion) -> str:
    return content_hash(question.as_dict())


def models_in_order(configs: Sequence[EvalConfig]) -> list[str | None]:
    """Each model once, in the order of its first configuration."""
    seen: list[str | None] = []
    for config in configs:
        if config.model not in seen:
            seen.append(config.model)
    return seen


class EvalRun:
    def __init__(self, questions: Sequence[EvalQuestion], configs: Sequence[EvalConfig], out_dir: Path | str, *,
                 environment: EvalEnvironment, judge_model: str | None = None, allow_changes: bool = False,
                 judge_check_limit: int | None = None):
        if not questions:
            raise EvaluationError("There are no questions to evaluate.")
        if not configs:
            raise EvaluationError("There are no configurations to compare.")
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            raise EvaluationError("Every configuration needs its own name.")
        self.questions = list(questions)
        self.configs = list(configs)
        self.out_dir = Path(out_dir)
        self.environment = environment
        self.judge_model = judge_model
        self.allow_changes = allow_changes
        self.judge_check_limit = judge_check_limit
        self._embedder = None

    # ------------------------------------------------------------------ files
    @property
    def records_path(self) -> Path:
        return self.out_dir / RECORDS_FILE

    @property
    def metrics_path(self) -> Path:
        return self.out_dir / METRICS_FILE

    def run_info(self) -> dict:
        return {
            "format": 1,
            "questions_hash": content_hash([q.as_dict() for q in self.questions]),
            "configs_hash": content_hash([c.as_dict() for c in self.configs]),
            "questions": [q.as_dict() for q in self.questions],
            "configs": [c.as_dict() for c in self.configs],
            "judge_model": self.judge_model,
        }

    def prepare(self) -> None:
        """Create the run directory, or check that the one there holds a run of the same inputs."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        info = self.run_info()
        run_file = self.out_dir / RUN_FILE
        if run_file.exists() and not self.allow_changes:
            old = _read_run_info(run_file)
            changed = [what for what, key in (("question set", "questions_hash"), ("configurations", "configs_hash"))
                       if old.get(key) != info[key]]
            if changed:
                raise EvaluationError(
                    f"{self.out_dir} holds a run with a different {' and '.join(changed)}. Use another output "
                    "folder, or resume anyway (`--force`): answers of unchanged questions and configurations "
                    "are kept, the rest is answered again.")
        write_json_atomic(run_file, {**info, "updated_at": time.time()})

    def done_records(self) -> dict[tuple[str, str], dict]:
        """Records already written whose question and configuration are unchanged (the rest is redone)."""
        wanted_q = {q.id: question_hash(q) for q in self.questions}
        wanted_c = {c.name: config_hash(c) for c in self.configs}
        done = {}
        for record in read_jsonl(self.records_path, repair=True):
            key = (record.get("config"), record.get("question_id"))
            if wanted_c.get(key[0]) == record.get("config_hash") and wanted_q.get(key[1]) == record.get("question_hash"):
                done[key] = record
        return done

    # ------------------------------------------------------------------ the run
    def __iter__(self) -> Iterator[EvalProgress]:
        self.prepare()
        records = self.done_records()
        yield from self._answer_all(records)
        judge, agreement, note = yield from self._load_judge()
        metrics = yield from self._measure_all(records, judge)
        final = self._ordered(records, metrics)
        write_jsonl_atomic(self.records_path, final)
        summary = summarize(final, self.configs, self.questions, judge_name=judge.name if judge else None,
                            agreement=agreement)
        write_json_atomic(self.out_dir / SUMMARY_FILE, summary)
        total = len(final)
        yield EvalProgress("done", total, total, None, None, 0.0, None, note)

    def _answer_all(self, records: dict) -> Iterator[EvalProgress]:
        total = len(self.configs) * len(self.questions)
        eta = MovingEta()
        for model in models_in_order(self.configs):
            group = [c for c in self.configs if c.model == model]
            pending = [(c, q) for c in group for q in self.questions if (c.name, q.id) not in records]
            if not pending:
                continue
            try:
                host = self.environment.host_for(model)
            except Exception as exc:  # noqa: BLE001 - the other models' configurations still run
                host, failure = None, f"model {model or '(default)'} could not be loaded: {exc}"
            else:
                failure = None
            eta.restart()
            for config in group:
                answerer, config_failure = self._answerer(host, config) if failure is None else (None, failure)
                for question in self.questions:
                    if (config.name, question.id) in records:
                        continue
                    record = answerer.answer(question) if answerer else _failed(config, question, host, config_failure)
                    record["config_hash"] = config_hash(config)
                    record["question_hash"] = question_hash(question)
                    append_jsonl(self.records_path, record)
                    records[(config.name, question.id)] = record
                    eta.tick()
                    yield EvalProgress("answer", len(records), total, config.name, question.id,
                                       eta.eta(total - len(records)), record)

    def _answerer(self, host, config: EvalConfig) -> tuple[ConfigAnswerer | None, str | None]:
        try:
            return ConfigAnswerer(self.environment, host, config, embedder=self.embedder()), None
        except Exception as exc:  # noqa: BLE001 - an unknown adapter or collection fails this configuration only
            return None, f"configuration {config.name} cannot run: {exc}"

    def embedder(self):
        """The embedder of the judge-free measures (and of quote answers): the environment's, else the bundled one."""
        if self._embedder is None:
            self._embedder = getattr(self.environment, "embedder", None)
            if self._embedder is None:
                from knowledge.embeddings import get_embedder

                self._embedder = get_embedder()
        return self._embedder

    def _load_judge(self):
        """The LLM judge, checked on the labelled set first; (None, None, None) without a judge model."""
        if not self.judge_model:
            return None, None, None
        from knowledge.evaluation.judge import host_judge

        yield EvalProgress("judge", 0, 0, None, None, None, None, f"checking the judge {self.judge_model}…")
        host = self.environment.host_for(self.judge_model)
        if getattr(host, "adapters", None) is not None:  # the last configuration's style must not judge
            host.adapters.clear().result()
        judge = host_judge(host, self.judge_model)
        agreement = self._judge_agreement(judge)
        note = (f"judge {judge.name}: accuracy {agreement.accuracy:.2f}, kappa {agreement.kappa:.2f} on "
                f"{agreement.n} labelled cases — {agreement.message}")
        yield EvalProgress("judge", 0, 0, None, None, None, None, note)
        return judge, agreement, note

    def _judge_agreement(self, judge):
        from knowledge.evaluation.judge_check import JudgeAgreement, check_judge

        path = self.out_dir / JUDGE_CHECK_FILE
        if path.exists():  # a resumed run does not check the same judge twice
            saved = _read_run_info(path)
            if saved.get("judge") == judge.name:
                return JudgeAgreement(**{k: saved[k] for k in ("n", "accuracy", "kappa", "trustworthy", "message")})
        agreement = check_judge(judge, limit=self.judge_check_limit)
        write_json_atomic(path, {"judge": judge.name, **asdict(agreement)})
        return agreement

    def _measure_all(self, records: dict, judge) -> Iterator[EvalProgress]:
        judge_name = judge.name if judge else JUDGE_FREE
        measured = {(m.get("config"), m.get("question_id")): m.get("metrics", {})
                    for m in read_jsonl(self.metrics_path, repair=True)
                    if m.get("judge") == judge_name and m.get("record_hash") == _record_hash(
                        records.get((m.get("config"), m.get("question_id"))))}
        keys = [(c.name, q.id) for c in self.configs for q in self.questions]
        total = len(keys)
        eta = MovingEta()
        by_name = {c.name: c for c in self.configs}
        questions = {q.id: q for q in self.questions}
        for key in keys:
            if key in measured:
                continue
            record = records[key]
            metrics = self._measure(record, by_name[key[0]], questions[key[1]], judge)
            append_jsonl(self.metrics_path, {"config": key[0], "question_id": key[1], "judge": judge_name,
                                             "record_hash": _record_hash(record), "metrics": metrics})
            measured[key] = metrics
            eta.tick()
            yield EvalProgress("judge", len(measured), total, key[0], key[1], eta.eta(total - len(measured)),
                               {**record, "metrics": metrics})
        return measured

    def _measure(self, record: dict, config: EvalConfig, question: EvalQuestion, judge) -> dict:
        from knowledge.evaluation.metrics import available_metrics, compute_metrics

        names = available_metrics()
        if not config.uses_documents:  # nothing was retrieved on purpose: retrieval measures do not apply
            names = [n for n in names if n.split(":")[0] not in RETRIEVAL_METRICS]
        try:
            results = compute_metrics(sample_of(record, config, question), embedder=self.embedder(), judge=judge,
                                      names=names)
        except Exception as exc:  # noqa: BLE001 - a measure that breaks on one record leaves it unmeasured
            log.exception("measuring %s/%s failed", config.name, question.id)
            return {"_error": {"value": None, "judged_by": JUDGE_FREE, "detail": {"error": str(exc)}}}
        return {name: {"value": r.value, "judged_by": r.judged_by, "detail": r.detail} for name, r in results.items()}

    def _ordered(self, records: dict, metrics: dict) -> list[dict]:
        out = []
        for config in self.configs:
            for question in self.questions:
                key = (config.name, question.id)
                out.append({**records[key], "metrics": metrics.get(key, {})})
        return out


def sample_of(record: dict, config: EvalConfig, question: EvalQuestion):
    """The ``EvalSample`` the measures read, from a record and what it answered."""
    from knowledge.evaluation.sample import EvalSample, GoldSource, RetrievedContext

    answer = record.get("answer")
    if record.get("error") and not answer:
        answer = None  # a failed answer is unmeasured, not wrong
    language = question.extra.get("lang") if question.extra.get("lang") in ("en", "zh") else "auto"
    return EvalSample(
        question=question.question,
        answer=answer if config.answer != "none" else None,
        contexts=tuple(RetrievedContext(**c) for c in record.get("contexts", [])),
        reference=question.reference,
        gold_sources=tuple(GoldSource(file=s.file, page=s.page, heading=s.heading) for s in question.sources),
        k=config.k,
        strict=config.strict,
        language=language,
    )


def _failed(config: EvalConfig, question: EvalQuestion, host, failure: str | None) -> dict:
    record = base_record(config, question, host)
    record["error"] = failure or "not answered"
    return record


def _record_hash(record: dict | None) -> str | None:
    if record is None:
        return None
    return content_hash({k: record.get(k) for k in ("answer", "contexts", "error")})


def _read_run_info(path: Path) -> dict:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EvaluationError(f"{path} cannot be read ({exc}); use another output folder.") from None
