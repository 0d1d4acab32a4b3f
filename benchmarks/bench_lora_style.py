"""Train a style LoRA for the bundled SmolLM2 and measure how often replies follow the style.

The style is checkable by string: every reply opens with a fixed greeting and closes with a fixed
sign-off. The training replies' bodies are the base model's own greedy answers (so only the style is
new), wrapped in the greeting and sign-off. 100 training prompts and 20 held-out prompts on other
topics; the rate is measured on the held-out 20 for the base model and for the adapter at scale
1.0 and 0.5, through the real chat path (ChatSession, default system prompt, greedy).

Prints the data-making time, the training wall time, the losses and the three rates.
Targets on a 2-core CPU: adapter >= 90%, base ~0%, training < 10 minutes.

Usage: python -m benchmarks.bench_lora_style [--epochs 3] [--keep] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

GREETING = "Ahoy, friend!"
SIGNOFF = "Fair winds, from Nook."

TOPICS = [
    "volcanoes", "honeybees", "the moon", "rainbows", "bicycles", "coffee", "the internet", "glaciers",
    "photosynthesis", "chess", "the piano", "deserts", "owls", "bread", "lighthouses", "magnets",
    "the ocean tides", "recycling", "dinosaurs", "tea", "kites", "earthquakes", "the human heart",
    "penguins", "solar panels", "maps", "clouds", "the violin", "sleep", "electric cars", "mushrooms",
    "the alphabet", "bridges", "comets", "gardening", "yoga", "the printing press", "snowflakes",
    "trains", "vaccines", "chocolate", "compasses", "wind turbines", "the Great Wall of China",
    "octopuses", "origami", "thunderstorms", "libraries", "soap",
]
HELD_OUT_TOPICS = [
    "rivers", "elephants", "pizza", "the sun", "rain", "cats", "music", "forests", "airplanes", "fire",
]
TEMPLATES = ["What are {t}?", "Tell me one interesting fact about {t}.", "Why do people care about {t}?"]
HELD_OUT_TEMPLATES = ["Explain {t} to a child.", "Describe {t} in one sentence."]


def training_prompts(n: int) -> list[str]:
    prompts = [tpl.format(t=topic) for topic in TOPICS for tpl in TEMPLATES[:2]]
    prompts += [TEMPLATES[2].format(t=topic) for topic in TOPICS]
    return prompts[:n]


def held_out_prompts() -> list[str]:
    return [tpl.format(t=topic) for topic in HELD_OUT_TOPICS for tpl in HELD_OUT_TEMPLATES]


def styled(text: str) -> bool:
    text = text.strip()
    return text.startswith(GREETING) and text.endswith(SIGNOFF)


def body_of(reply: str) -> str:
    """The base answer's first sentence: short replies keep training within minutes on two cores."""
    text = " ".join(reply.split())
    ends = [i + 1 for i, ch in enumerate(text) if ch in ".!?" and (i + 1 == len(text) or text[i + 1] == " ")]
    return text[: ends[0]] if ends else text.rstrip(",;:") + "."


def ask(session_factory, prompt: str, max_tokens: int) -> str:
    from engine.events import Finished

    session = session_factory()
    finished = None
    for event in session.send(prompt):
        if isinstance(event, Finished):
            finished = event
    return finished.text if finished else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--keep", help="keep the training file at this path")
    parser.add_argument("--data", help="reuse a training file written by --keep (skips making the data)")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()

    from engine.chat.history import HistoryStore
    from engine.chat.session import ChatSession
    from engine.host import ModelHost
    from engine.lora.adapters import AdapterChoice, LoraRegistry
    from engine.lora.train import TrainConfig, train_lora
    from engine.models.bundled import find_bundled
    from engine.params import LoadOptions, SamplingParams

    home = tempfile.mkdtemp(prefix="inglenook-bench-")
    os.environ["INGLENOOK_HOME"] = home
    model = find_bundled("smollm2-135m-instruct").path
    host = ModelHost()
    host.load(model, LoadOptions(n_ctx=2048, n_threads=2, seed=0)).result()
    store = HistoryStore()

    def session(adapters=(), max_tokens=120):
        s = ChatSession(host, store, params=SamplingParams.greedy(max_tokens=max_tokens, repeat_penalty=1.1))
        if adapters:
            s.set_adapters(list(adapters))
        return s

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    t0 = time.perf_counter()
    if args.data:
        data = Path(args.data)
        print(f"training data: reusing {data}")
    else:
        rows = []
        for prompt in training_prompts(args.examples):
            body = body_of(ask(lambda: session(max_tokens=48), prompt, 48))
            rows.append({"prompt": prompt, "reply": f"{GREETING} {body} {SIGNOFF}"})
        data = Path(args.keep) if args.keep else Path(home) / "style.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        print(f"training data: {len(rows)} examples made from the base model's answers in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
    data_s = time.perf_counter() - t0

    last = [0.0]

    def show(p) -> None:
        if p.phase in ("evaluating", "exporting", "done") or time.perf_counter() - last[0] > 15:
            last[0] = time.perf_counter()
            eta = f", eta {p.eta_s:.0f} s" if p.eta_s is not None else ""
            val = f", val {p.val_loss:.3f}" if p.val_loss is not None else ""
            tl = f", train {p.train_loss:.3f}" if p.train_loss is not None else ""
            print(f"  [{p.elapsed_s:6.1f} s] {p.phase:10} step {p.step}/{p.total_steps}{tl}{val}{eta}", file=sys.stderr)

    registry = LoraRegistry(store.db)
    config = TrainConfig(epochs=args.epochs, rank=args.rank, learning_rate=args.lr, threads=2)
    cpu_before = time.process_time()
    result = train_lora(data, "style-ahoy", base=model, config=config, progress=show, registry=registry)
    cpu_s = time.process_time() - cpu_before
    print(f"training: {result.wall_s:.1f} s wall ({result.steps}/{result.total_steps} steps, {result.n_train} train / "
          f"{result.n_val} held-out examples, bf16 {result.bf16}, stopped early {result.stopped_early}); "
          f"held-out loss {result.initial_val_loss:.3f} -> {result.best_val_loss:.3f}; "
          f"load average now {os.getloadavg()[0]:.1f}", flush=True)
    print(f"training CPU time: {cpu_s:.0f} s on 2 threads (about {cpu_s / 2:.0f} s of wall time on 2 idle cores)")

    prompts = held_out_prompts()
    rates = {}
    samples = {}
    for label, adapters in [("base", ()), ("adapter@1.0", (AdapterChoice("style-ahoy", 1.0),)),
                            ("adapter@0.5", (AdapterChoice("style-ahoy", 0.5),))]:
        replies = [ask(lambda a=adapters: session(a), p, 120) for p in prompts]
        rates[label] = sum(styled(r) for r in replies) / len(replies)
        samples[label] = replies[0]
    for label, rate in rates.items():
        print(f"style rate on {len(prompts)} held-out prompts, {label:12}: {rate * 100:5.1f}%")
    for label, text in samples.items():
        print(f"  sample {label}: {text[:160]!r}")
    if args.json:
        print(json.dumps({"train_wall_s": round(result.wall_s, 1), "train_cpu_s": round(cpu_s, 1),
                          "data_s": round(data_s, 1), "rates": rates,
                          "initial_val_loss": result.initial_val_loss, "best_val_loss": result.best_val_loss,
                          "steps": result.steps}))
    host.close()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
