"""Train a LoRA style adapter on CPU from a JSONL file of chat examples. Needs the ``train`` extra.

The file holds one example a line, either ``{"messages": [{"role": ..., "content": ...}, ...]}`` or
``{"prompt": ..., "reply": ...}`` (optionally ``"system"``). Reading and checking the file needs no
torch, so bad input is reported (with line numbers) before anything heavy starts.

What the adapter learns is exactly what it will see in the app: prompts are rendered with the model's
own chat template (the one ``LlamaCppBackend`` uses), tokenized by llama.cpp's tokenizer, with the
app's default system prompt where an example has none, and the loss counts only the reply tokens
(and the end-of-turn token, so the model learns to stop). The base weights come from the GGUF
itself (``engine.lora.gguf_torch``); the result goes through the same converter as any PEFT adapter
(``engine.lora.convert``) and is registered, ready to switch on.

Progress is a callback (``TrainProgress``); cancel with a ``threading.Event``. Nothing here knows Qt.
"""

from __future__ import annotations

import json
import math
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import InglenookError, TrainingCancelled, TrainingDataError, TrainingError
from engine.models.gguf import GGUFInfo, read_gguf
from engine.params import physical_cores

MIN_EXAMPLES = 10
MAX_REPORTED_PROBLEMS = 8
ROLES = ("system", "user", "assistant")


# ------------------------------------------------------------------------------ examples
@dataclass(frozen=True)
class Example:
    messages: tuple[dict, ...]
    line: int


def load_examples(path: str | Path, *, minimum: int = MIN_EXAMPLES) -> list[Example]:
    """Read and check a JSONL training file; every malformed line is reported with its number."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TrainingDataError(f"{path} does not exist; pass a .jsonl file with one example a line.") from None
    except UnicodeDecodeError as exc:
        raise TrainingDataError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 JSONL.") from None
    except OSError as exc:
        raise TrainingDataError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    examples, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            examples.append(Example(tuple(_parse_line(line)), number))
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
    if problems:
        shown = "; ".join(problems[:MAX_REPORTED_PROBLEMS])
        more = f" (and {len(problems) - MAX_REPORTED_PROBLEMS} more)" if len(problems) > MAX_REPORTED_PROBLEMS else ""
        raise TrainingDataError(
            f"{path} has {len(problems)} malformed line(s): {shown}{more}. Each line must be one JSON object, "
            'either {"prompt": "...", "reply": "..."} or {"messages": [{"role": "user", "content": "..."}, '
            '{"role": "assistant", "content": "..."}]}. Fix or delete those lines and try again.'
        )
    if len(examples) < minimum:
        raise TrainingDataError(
            f"{path} has {len(examples)} example(s); training needs at least {minimum} (some are held out to "
            "check progress). About 100 examples teach a style well."
        )
    return examples


def _parse_line(line: str) -> list[dict]:
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if "messages" in data:
        messages = data["messages"]
        if not isinstance(messages, list) or not messages:
            raise ValueError('"messages" must be a non-empty list')
        out = []
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                raise ValueError(f'message {i + 1} needs a "role" of system, user or assistant')
            if not isinstance(message.get("content"), str):
                raise ValueError(f'message {i + 1} needs a text "content"')
            out.append({"role": message["role"], "content": message["content"]})
        if not any(m["role"] == "assistant" and m["content"].strip() for m in out):
            raise ValueError("has no assistant reply to learn from")
        if any(m["role"] == "system" for m in out[1:]):
            raise ValueError("a system message may only come first")
        if out[0]["role"] == "assistant" or (out[0]["role"] == "system" and len(out) > 1 and out[1]["role"] != "user"):
            raise ValueError("the conversation must start with a user message (after an optional system one)")
        return out
    reply = next((data[k] for k in ("reply", "response", "completion") if k in data), None)
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError('needs a non-empty "prompt" (or a "messages" list)')
    if not isinstance(reply, str) or not reply.strip():
        raise ValueError('needs a non-empty "reply"')
    out = [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
    system = data.get("system")
    if system is not None:
        if not isinstance(system, str):
            raise ValueError('"system" must be text')
        out.insert(0, {"role": "system", "content": system})
    return out


# ------------------------------------------------------------------------------ tokenizing
class PromptTokenizer:
    """The model's chat template and llama.cpp's tokenizer, as the chat backend uses them."""

    def __init__(self, info: GGUFInfo, chat_template: str | None = None) -> None:
        from engine import llama_native
        from engine.models.templates import ChatTemplate

        llama_cpp, _ = llama_native.modules()
        with llama_native.quiet_stderr():
            self._llm = llama_cpp.Llama(str(info.path), vocab_only=True, verbose=False)
        self.template = ChatTemplate.choose(
            info.chat_template, chat_template, llama_native.special_token_text(self._llm, "bos"),
            llama_native.special_token_text(self._llm, "eos"),
        )
        self.add_bos = bool(self._llm._model.add_bos_token())
        self.eos_id = self._llm.token_eos()

    def tokens(self, text: str) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def encode(self, messages: list[dict]) -> tuple[list[int], list[bool]]:
        """Token ids and, for each, whether it belongs to an assistant reply (what the loss counts)."""
        render = self.template.render
        segments: list[tuple[str, bool]] = []
        done = ""
        for i, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            prompt = render(list(messages[:i]), add_generation_prompt=True)
            full = render(list(messages[: i + 1]), add_generation_prompt=False)
            if not prompt.startswith(done) or not full.startswith(prompt):
                raise TrainingError(
                    "This model's chat template does not render conversations turn by turn, so reply tokens "
                    "cannot be told apart from the prompt; set a simpler template for the model."
                )
            segments += [(prompt[len(done):], False), (full[len(prompt):], True)]
            done = full
        ids: list[int] = []
        mask: list[bool] = []
        bos = self.template.bos_token
        if self.add_bos and not (bos and done.startswith(bos)):
            ids.append(self._llm.token_bos())
            mask.append(False)
        for text, is_reply in segments:
            piece = self.tokens(text)
            ids += piece
            mask += [is_reply] * len(piece)
        return ids, mask


# ------------------------------------------------------------------------------ training
@dataclass
class TrainConfig:
    """Defaults that teach a style to a small model on a laptop CPU in minutes."""

    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    epochs: int = 3
    learning_rate: float = 1e-3
    batch_size: int = 8
    max_length: int = 384
    val_fraction: float = 0.1
    eval_every: int | None = None  # steps; default: twice an epoch
    patience: int = 3  # evaluations without improvement before stopping
    seed: int = 0
    bf16: bool | None = None  # None: when the CPU computes bf16 natively
    threads: int | None = None
    system_prompt: str | None = None  # for examples without one; None: the app's default
    chat_template: str | None = None  # the model's template override, if the user set one

    def validate(self) -> TrainConfig:
        problems = []
        if not 1 <= self.rank <= 256:
            problems.append("rank must be 1..256")
        if self.alpha <= 0:
            problems.append("alpha must be > 0")
        if not 1 <= self.epochs <= 100:
            problems.append("epochs must be 1..100")
        if not 0 < self.learning_rate < 1:
            problems.append("learning rate must be in (0, 1)")
        if self.batch_size < 1:
            problems.append("batch size must be >= 1")
        if self.max_length < 16:
            problems.append("max length must be >= 16 tokens")
        if not 0 < self.val_fraction < 0.5:
            problems.append("the held-out fraction must be in (0, 0.5)")
        if self.patience < 1:
            problems.append("patience must be >= 1")
        if problems:
            raise TrainingError("Invalid training settings: " + "; ".join(problems) + ".")
        return self


@dataclass(frozen=True)
class TrainProgress:
    """One report; ``phase``: loading, training, evaluating, exporting, done."""

    phase: str
    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0
    train_loss: float | None = None
    val_loss: float | None = None
    best_val_loss: float | None = None
    elapsed_s: float = 0.0
    eta_s: float | None = None
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.step / self.total_steps if self.total_steps else 0.0


@dataclass
class TrainResult:
    name: str
    path: Path
    n_train: int
    n_val: int
    steps: int
    total_steps: int
    initial_val_loss: float
    best_val_loss: float
    stopped_early: bool
    truncated: int
    bf16: bool
    wall_s: float
    history: list[TrainProgress] = field(default_factory=list)


def bf16_native() -> bool:
    """True when the CPU has bf16 instructions; elsewhere bf16 autocast is emulated and slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def train_lora(data: str | Path, name: str, *, base: str | Path, config: TrainConfig | None = None,
               progress: Callable[[TrainProgress], None] | None = None, cancel: threading.Event | None = None,
               registry=None) -> TrainResult:
    """Train an adapter for the GGUF model ``base`` on ``data`` and register it as ``name``.

    Raises ``TrainingDataError`` for a bad file (before loading anything heavy), ``TrainingCancelled``
    when ``cancel`` is set (nothing is written), ``TrainingUnavailableError`` without the extra.
    """
    from engine.lora.adapters import LoraRegistry
    from engine.lora.gguf_torch import require_torch

    config = (config or TrainConfig()).validate()
    examples = load_examples(data)
    registry = registry or LoraRegistry()
    name = _free_name(registry, name)
    torch = require_torch()
    started = time.perf_counter()
    history: list[TrainProgress] = []

    def report(**fields) -> None:
        event = TrainProgress(elapsed_s=time.perf_counter() - started, **fields)
        history.append(event)
        if progress is not None:
            progress(event)

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise TrainingCancelled("Training was cancelled; no adapter was written.")

    report(phase="loading", message="reading the base model")
    info = read_gguf(base)
    tokenizer = PromptTokenizer(info, config.chat_template)
    encoded, truncated = _encode_all(examples, tokenizer, config)
    check_cancel()
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads or physical_cores())
    train_set, val_set = _split(encoded, config)
    model = _peft_model(info, config)
    use_bf16 = bf16_native() if config.bf16 is None else config.bf16
    trainer = _Loop(torch, model, train_set, val_set, config, use_bf16, tokenizer.eos_id)
    check_cancel()
    initial = trainer.evaluate()
    report(phase="training", total_steps=trainer.total_steps, val_loss=initial, best_val_loss=initial,
           message=f"{len(train_set)} examples to learn from, {len(val_set)} held out")
    best, stopped_early = trainer.run(report, check_cancel, initial)
    report(phase="exporting", step=trainer.step, total_steps=trainer.total_steps, best_val_loss=best,
           message="writing the GGUF adapter")
    path = _export(model, info, registry, name, config)
    result = TrainResult(name=name, path=path, n_train=len(train_set), n_val=len(val_set), steps=trainer.step,
                         total_steps=trainer.total_steps, initial_val_loss=initial, best_val_loss=best,
                         stopped_early=stopped_early, truncated=truncated, bf16=use_bf16,
                         wall_s=time.perf_counter() - started, history=history)
    report(phase="done", step=trainer.step, total_steps=trainer.total_steps, best_val_loss=best,
           message=f"registered as {name}")
    result.history = history
    return result


def _free_name(registry, name: str) -> str:
    from engine.models.registry import slugify

    slug = slugify(name)
    if slug in {e.name for e in registry.models.list(None)}:
        raise TrainingError(f"A model or adapter called {slug!r} exists already; choose another name or remove it first.")
    return slug


def _encode_all(examples: list[Example], tokenizer: PromptTokenizer, config: TrainConfig):
    from engine.params import DEFAULT_SYSTEM_PROMPT

    system = config.system_prompt if config.system_prompt is not None else DEFAULT_SYSTEM_PROMPT
    encoded, truncated = [], 0
    for example in examples:
        messages = list(example.messages)
        if messages[0]["role"] != "system" and system:
            messages.insert(0, {"role": "system", "content": system})
        try:
            ids, mask = tokenizer.encode(messages)
        except InglenookError as exc:
            raise TrainingDataError(f"line {example.line}: {exc}") from None
        if len(ids) > config.max_length:
            truncated += 1
            ids, mask = ids[: config.max_length], mask[: config.max_length]
        if any(mask[1:]):  # at least one reply token survives (the first position is never a target)
            encoded.append((ids, mask))
    if len(encoded) < MIN_EXAMPLES:
        raise TrainingDataError(
            f"Only {len(encoded)} examples keep any reply within {config.max_length} tokens; shorten the prompts "
            "or raise the maximum length."
        )
    return encoded, truncated


def _split(encoded: list, config: TrainConfig) -> tuple[list, list]:
    order = list(range(len(encoded)))
    random.Random(config.seed).shuffle(order)
    n_val = max(2, round(len(encoded) * config.val_fraction))
    return [encoded[i] for i in order[n_val:]], [encoded[i] for i in order[:n_val]]


def _peft_model(info: GGUFInfo, config: TrainConfig):
    from peft import LoraConfig, get_peft_model

    from engine.lora.gguf_torch import load_llama

    model, _ = load_llama(info)
    lora = LoraConfig(r=config.rank, lora_alpha=config.alpha, lora_dropout=config.dropout,
                      target_modules=list(config.targets), bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


class _Loop:
    """AdamW with warm-up and linear decay, evaluation on the held-out set, best weights kept."""

    def __init__(self, torch, model, train_set, val_set, config: TrainConfig, bf16: bool, pad_id: int) -> None:
        self.torch, self.model, self.config, self.bf16, self.pad_id = torch, model, config, bf16, pad_id
        self.train_set, self.val_set = train_set, val_set
        self.steps_per_epoch = math.ceil(len(train_set) / config.batch_size)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.eval_every = config.eval_every or max(1, math.ceil(self.steps_per_epoch / 2))
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=config.learning_rate, weight_decay=0.0)
        warmup = max(1, self.total_steps // 10)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda s: min((s + 1) / warmup, max(0.05, (self.total_steps - s) / max(1, self.total_steps - warmup))),
        )
        self.step = 0
        self.random = random.Random(config.seed)

    def _batch(self, items):
        torch = self.torch
        width = max(len(ids) for ids, _ in items)
        ids = torch.full((len(items), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(items), width), -100, dtype=torch.long)
        attention = torch.zeros((len(items), width), dtype=torch.long)
        for row, (tokens, mask) in enumerate(items):
            n = len(tokens)
            ids[row, :n] = torch.tensor(tokens)
            attention[row, :n] = 1
            labels[row, :n] = torch.tensor([t if m else -100 for t, m in zip(tokens, mask, strict=True)])
        return ids, attention, labels

    def _loss(self, items, reduction_sum: bool = False):
        """Cross-entropy over the reply tokens only. The output head (49k x 576 for SmolLM2, a fifth of
        the model's compute) is applied to those positions alone, not to every prompt token."""
        torch = self.torch
        ids, attention, labels = self._batch(items)
        causal = self.model.get_base_model()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            hidden = causal.model(input_ids=ids, attention_mask=attention).last_hidden_state
            targets = labels[:, 1:]
            keep = targets != -100
            logits = causal.lm_head(hidden[:, :-1][keep])
        loss = torch.nn.functional.cross_entropy(logits.float(), targets[keep], reduction="sum")
        count = int(keep.sum())
        return (loss, count) if reduction_sum else (loss / max(1, count), count)

    def evaluate(self) -> float:
        torch = self.torch
        self.model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for start in range(0, len(self.val_set), self.config.batch_size):
                loss, n = self._loss(self.val_set[start:start + self.config.batch_size], reduction_sum=True)
                total, count = total + float(loss), count + n
        self.model.train()
        return total / max(1, count)

    def _order(self) -> list[int]:
        """A shuffled order in which each run of four batches is sorted by length: less padding to compute."""
        order = list(range(len(self.train_set)))
        self.random.shuffle(order)
        chunk = self.config.batch_size * 4
        out: list[int] = []
        for start in range(0, len(order), chunk):
            out += sorted(order[start:start + chunk], key=lambda i: len(self.train_set[i][0]))
        return out

    def _lora_state(self) -> dict:
        return {n: p.detach().clone() for n, p in self.model.named_parameters() if p.requires_grad}

    def run(self, report, check_cancel, initial: float) -> tuple[float, bool]:
        torch = self.torch
        best, best_state, bad = initial, self._lora_state(), 0
        started = time.perf_counter()
        self.model.train()
        for epoch in range(self.config.epochs):
            order = self._order()
            for start in range(0, len(order), self.config.batch_size):
                check_cancel()
                items = [self.train_set[i] for i in order[start:start + self.config.batch_size]]
                loss, _ = self._loss(items)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.params, 1.0)
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.step += 1
                per_step = (time.perf_counter() - started) / self.step
                common = dict(step=self.step, total_steps=self.total_steps,
                              epoch=epoch + (start + len(items)) / len(order), train_loss=float(loss.detach()))
                if self.step % self.eval_every == 0 or self.step == self.total_steps:
                    value = self.evaluate()
                    if value < best - 1e-4:
                        best, best_state, bad = value, self._lora_state(), 0
                    else:
                        bad += 1
                    report(phase="evaluating", val_loss=value, best_val_loss=best,
                           eta_s=per_step * (self.total_steps - self.step), **common)
                    if bad >= self.config.patience:
                        self._restore(best_state)
                        return best, True
                else:
                    report(phase="training", best_val_loss=best, eta_s=per_step * (self.total_steps - self.step),
                           **common)
        self._restore(best_state)
        return best, False

    def _restore(self, state: dict) -> None:
        with self.torch.no_grad():
            for n, p in self.model.named_parameters():
                if n in state:
                    p.copy_(state[n])


def _export(model, info: GGUFInfo, registry, name: str, config: TrainConfig) -> Path:
    from engine.lora.convert import convert_peft

    with tempfile.TemporaryDirectory(prefix="inglenook-lora-") as folder:
        model.save_pretrained(folder, safe_serialization=True)
        out = Path(folder) / f"{name}.gguf"
        convert_peft(folder, info, out, name=name)
        entry = registry.install_file(out, name, source="trained")
    return entry.path
