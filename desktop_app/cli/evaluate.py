"""`nook eval run|report|generate`: compare configurations on a question set, show a run, draft a set."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from desktop_app.cli.common import Context, add_load_args
from engine.errors import InglenookError

EXIT_STOPPED = 130


# ---------------------------------------------------------------------------------- parser
def add_eval_parser(sub) -> None:
    evaluate = sub.add_parser("eval", help="measure answers: compare prompts, retrieval and LoRA styles on your "
                                           "questions")
    esub = evaluate.add_subparsers(dest="eval_action", required=True)
    run = esub.add_parser("run", help="answer a question set with every configuration and measure the answers")
    run.add_argument("questions", metavar="SET.jsonl", help='one JSON object a line: {"question", "reference"?, '
                                                            '"sources"?}')
    run.add_argument("--configs", required=True, metavar="CONFIGS.json",
                     help='a JSON list of configurations, e.g. [{"name": "off", "retrieval": "off"}, '
                          '{"name": "hybrid", "collections": ["docs"]}]; the first is the baseline')
    run.add_argument("--out", required=True, metavar="DIR", help="run folder; the same folder again resumes")
    run.add_argument("--judge", metavar="MODEL", help="an LLM judge (checked on a labelled set first)")
    run.add_argument("--limit", type=int, help="only the first N questions")
    run.add_argument("--force", action="store_true",
                     help="resume in DIR even though the questions or configurations changed")
    add_load_args(run)  # --model is the default for configurations that name none
    report = esub.add_parser("report", help="print a run's table and write its HTML report")
    report.add_argument("run", metavar="RUN", help="the run folder (--out of `nook eval run`)")
    report.add_argument("--html", metavar="PATH", help="where to write the HTML report (default RUN/report.html)")
    report.add_argument("--baseline", metavar="CONFIG",
                        help="compare every configuration with this one (default: the first)")
    generate = esub.add_parser("generate", help="draft questions with references and sources from a collection")
    generate.add_argument("collection")
    generate.add_argument("--out", required=True, metavar="SET.jsonl")
    generate.add_argument("-n", type=int, default=20, help="how many questions to draft (default 20)")
    generate.add_argument("--seed", type=int, default=0, help="which passages are picked")
    generate.add_argument("--language", choices=["auto", "en", "zh"], default="auto")
    add_load_args(generate)


def run_eval(args: argparse.Namespace) -> int:
    if args.eval_action == "run":
        return _run(args)
    if args.eval_action == "report":
        return _report(args)
    return _generate(args)


# ------------------------------------------------------------------------------ environment
class CliEnvironment:
    """What a run needs, from the command line's ``Context``: models through the engine process,
    the user's library and adapters, and a scratch chat store inside the run folder."""

    def __init__(self, ctx: Context, args: argparse.Namespace, run_dir: Path):
        from engine.chat.history import HistoryStore
        from engine.lora.adapters import LoraRegistry
        from knowledge.library import Library

        self.ctx = ctx
        self.args = args
        self.library = Library()
        self.history = HistoryStore(run_dir / "eval-chats.sqlite")  # never the user's history
        own_prompt = ctx.store.get_setting("default_system_prompt")
        if own_prompt is not None:  # answer as the user's app does
            self.history.set_setting("default_system_prompt", own_prompt)
        self.lora_registry = LoraRegistry(ctx.store.db)
        self._loaded: tuple[str | None] | None = None

    def host_for(self, model: str | None):
        wanted = model or getattr(self.args, "model", None)
        if self._loaded == (wanted,) and self.ctx.host is not None and self.ctx.host.loaded is not None:
            return self.ctx.host
        self.ctx.load_model(self.args, name=wanted, quiet=True)
        self._loaded = (wanted,)
        print(f"\nLoaded {self.ctx.host.loaded.name}.", file=sys.stderr)
        return self.ctx.host

    def close(self) -> None:
        self.library.close()
        self.history.close()


# ----------------------------------------------------------------------------------- run
def _run(args: argparse.Namespace) -> int:
    from knowledge.evaluation.configs import load_configs
    from knowledge.evaluation.questions import load_questions
    from knowledge.evaluation.report import load_run, summary_table, write_html
    from knowledge.evaluation.runner import EvalRun

    questions = load_questions(args.questions)
    if args.limit is not None:
        if args.limit < 1:
            raise InglenookError("--limit must be 1 or more.")
        questions = questions[: args.limit]
    configs = load_configs(args.configs)  # both files are checked before a model is loaded
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context.open()
    environment = CliEnvironment(ctx, args, out)
    run = EvalRun(questions, configs, out, environment=environment, judge_model=args.judge,
                  allow_changes=args.force)
    progress = ProgressLine()
    try:
        for event in run:
            progress.show(event)
    except KeyboardInterrupt:
        progress.end()
        print(f"Stopped. What was answered is kept in {out}; run the same command again to continue "
              "where it stopped.", file=sys.stderr)
        return EXIT_STOPPED
    finally:
        environment.close()
        ctx.close()
    progress.end()
    result = load_run(out)
    print(summary_table(result))
    html = write_html(result)
    print(f"\nReport: {html}", file=sys.stderr)
    return 0


class ProgressLine:
    """One line on stderr, rewritten in place on a terminal (a line per step when piped)."""

    def __init__(self, out=sys.stderr):
        self.out = out
        self.tty = out.isatty()
        self.last_print = 0.0

    def show(self, event) -> None:
        if event.message:
            self.end()
            print(event.message, file=self.out)
        if event.phase == "done" or not event.total:
            return
        where = f" {event.config}/{event.question_id}" if event.config else ""
        failed = " (failed)" if event.record and event.record.get("error") else ""
        text = f"{event.phase} {event.done}/{event.total}{where}{failed}, ETA {format_eta(event.eta_s)}"
        if self.tty:
            print(f"\r\033[K{text}", end="", file=self.out, flush=True)
        else:
            print(text, file=self.out, flush=True)
        self.last_print = time.monotonic()

    def end(self) -> None:
        if self.tty and self.last_print:
            print(file=self.out)
            self.last_print = 0.0


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


# --------------------------------------------------------------------------------- report
def _report(args: argparse.Namespace) -> int:
    from knowledge.evaluation.report import load_run, summary_table, write_html

    result = load_run(args.run, baseline=args.baseline)
    print(summary_table(result))
    html = write_html(result, args.html)
    print(f"\nReport: {html}", file=sys.stderr)
    return 0 if result.finished else 1


# ------------------------------------------------------------------------------- generate
def _generate(args: argparse.Namespace) -> int:
    from knowledge.evaluation.questions import save_questions
    from knowledge.evaluation.testset import generate_questions
    from knowledge.library import Library

    if args.n < 1:
        raise InglenookError("-n must be 1 or more.")
    out = Path(args.out)
    library = Library()
    ctx = Context.open()
    drafts = []
    try:
        library.require([args.collection])
        ctx.load_model(args, quiet=True)
        progress = ProgressLine()
        generation = generate_questions(library, ctx.host, args.collection, n=args.n, seed=args.seed,
                                        language=args.language)
        try:
            for event in generation:
                drafts = event.questions
                progress.show(event)
        except KeyboardInterrupt:
            progress.end()
            print("Stopped; the drafts so far are saved.", file=sys.stderr)
        progress.end()
    finally:
        library.close()
        ctx.close()
    if not drafts:
        print(f"No usable question could be drafted from {args.collection} (the model's drafts were not "
              "supported by their passages); try again with another --seed or a stronger --model.", file=sys.stderr)
        return 1
    save_questions(out, drafts)
    print(f"Wrote {len(drafts)} draft questions to {out}; review them (each has \"extra\": {{\"draft\": true}}) "
          "before you use them with `nook eval run`.", file=sys.stderr)
    return 0
