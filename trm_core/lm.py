"""TRM as a language model: the TinyStories workflow (``trm train --task tinystories``, ``trm eval``,
``trm generate``).

The same model and the same deep-supervision trainer as for puzzles, with three changes:

- attention is causal (``ModelConfig.causal``): position t sees tokens 0..t only, so the answer ``y``
  at position t can be read as a guess of token t+1 (labels are the inputs shifted by one);
- no puzzle embedding (text has no puzzle ids): ``puzzle_emb_ndim = 0``, zero extra positions;
- softmax cross-entropy, so the loss is a log-perplexity. The Q head learns that a story is never
  "exactly right", so every row runs all ``N_sup`` supervision steps.

Because the carry (y, z) at position t was computed from tokens 0..t only, every supervision step
stays causal: the model may improve its guess of the next token N_sup times, and
:func:`perplexity_per_step` measures what each improvement is worth.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import checkpoint as ckpt_io
from .cli import UsageError, bounded, positive_int
from .config import PRESETS, preset
from .data import text
from .data.dataset import IGNORE_LABEL
from .data.tokenizer import DEFAULT_VOCAB, TextTokenizer, gpt_neo, train_bpe
from .devices import autocast_context, pick_device, seed_everything
from .errors import UserError
from .losses import softmax_cross_entropy
from .models import build_model
from .recursive import inference
from .trainer import TrainConfig, Trainer

TASK = "tinystories"
TEXT_PRESETS = ("trm-lm-1m", "trm-lm-10m")
DEFAULT_TEXT_PRESET = "trm-lm-1m"
#: TrainConfig settings of the text presets (a few CPU minutes to an hour on a GPU).
TEXT_RECIPE = dict(batch_size=32, lr=2e-3, lr_warmup_steps=100, lr_min_ratio=0.1, weight_decay=0.1,
                   optimizer="adamw", ema_decay=0.99, loss="softmax", eval_batch_size=32)
#: The smoke run: two batches of a few stories, then exit.
SMOKE = dict(n_train=64, n_test=16, train=dict(max_steps=2, max_minutes=0, batch_size=4, checkpoint_minutes=0))


@dataclass
class TextTask:
    """The text a language model trains and is tested on, and its tokenizer."""

    train: text.TextSplit
    test: text.TextSplit
    tokenizer: TextTokenizer
    source: str
    params: dict

    def describe(self) -> dict:
        return {"name": TASK, "vocab_size": self.tokenizer.vocab_size, "seq_len": self.train.seq_len,
                "num_puzzle_identifiers": 1, "source": self.source, "tokenizer": self.tokenizer.kind,
                "tokenizer_sha": self.tokenizer.digest(), "params": dict(self.params),
                **{name: {"stories": s.num_stories, "rows": s.num_rows, "tokens": s.num_tokens}
                   for name, s in (("train", self.train), ("test", self.test))}}


class TextTrainer(Trainer):
    """The Trainer, whose checkpoints also carry the tokenizer (as JSON text: data, not code)."""

    def __init__(self, *args, tokenizer: TextTokenizer, **kwargs):
        super().__init__(*args, **kwargs)
        self.tokenizer = tokenizer

    def state_dict(self) -> dict:
        return {**super().state_dict(), "tokenizer": self.tokenizer.to_json()}


# ----------------------------------------------------------------------------------------------
# Data and runs
# ----------------------------------------------------------------------------------------------
def resolve_data(data) -> str | None:
    """``data`` as given, with ``synthetic`` made into files (the stand-in, in the cache folder)."""
    if data is not None and str(data) == "synthetic":
        return str(text.write_synthetic(text.cache_dir() / "synthetic"))
    return None if data is None else str(data)


def make_tokenizer(option: str, stories, vocab: int) -> TextTokenizer:
    """``bpe`` (trained on ``stories``), ``gpt-neo[:PATH]`` (capped at ``vocab``) or a saved tokenizer's path."""
    if option == "bpe":
        return train_bpe(stories, vocab)
    if option.startswith("gpt-neo"):
        return gpt_neo(option.partition(":")[2] or None, cap=vocab)
    return TextTokenizer.load(option)


def text_task(data, seq_len: int, n_train: int | None = None, n_test: int | None = None, tokenizer=None,
              tokenizer_option: str = "bpe", vocab: int = DEFAULT_VOCAB, tokenizer_stories: int = 200_000,
              cache=None) -> TextTask:
    """The train and test splits of ``data`` (see :mod:`trm_core.data.text`) tokenized with ``tokenizer``
    (a :class:`TextTokenizer`; else one made by ``tokenizer_option`` from the first training stories).

    ``n_train`` / ``n_test``: stories (None: all the training file; 1000 test stories). Without a
    validation file, the first ``n_test`` training stories are the test split.
    """
    train_src, test_src = text.find_sources(data)
    n_test = 1000 if n_test is None else n_test
    skip = 0
    if test_src is None:
        test_src, skip = train_src, n_test
    if tokenizer is None:
        limit = tokenizer_stories if n_train is None else min(n_train, tokenizer_stories)
        tokenizer = make_tokenizer(tokenizer_option, train_src.stories(limit, skip), vocab)
    train = text.build_split(train_src, tokenizer, seq_len, n_train, skip, cache)
    test = text.build_split(test_src, tokenizer, seq_len, n_test, 0, cache)
    params = dict(n_train=n_train, n_test=n_test, vocab=vocab)
    return TextTask(train, test, tokenizer, train_src.describe(), params)


def build_text_run(settings: dict, device="cpu", out_dir=None, progress: bool | None = None):
    """(trainer, task) of a text run's settings (``run.json``); the tokenizer is kept in the run folder."""
    name = settings.get("preset") or DEFAULT_TEXT_PRESET
    if name not in PRESETS or not PRESETS[name].get("causal"):
        raise UsageError(f"preset {name!r} is not a language model; choose one of: {', '.join(TEXT_PRESETS)}")
    options = dict(settings.get("task_options", {}))
    unknown = sorted(set(options) - {"tokenizer", "vocab", "tokenizer_stories"})
    if unknown:
        raise UsageError(f"task tinystories has no option {unknown[0]} (it has tokenizer, vocab, tokenizer_stories)")
    model_over = dict(settings.get("model") or {})
    if "vocab_size" in model_over:
        raise UsageError("the tokenizer fixes vocab_size: set --task-option vocab=N instead")
    seq_len = int(model_over.get("seq_len", PRESETS[name]["seq_len"]))
    saved = Path(out_dir) / "tokenizer.json" if out_dir else None
    tokenizer = TextTokenizer.load(saved) if saved and saved.exists() else None
    task = text_task(resolve_data(settings.get("data")), seq_len, settings.get("n_train"), settings.get("n_test"),
                     tokenizer, str(options.get("tokenizer", "bpe")), int(options.get("vocab", DEFAULT_VOCAB)),
                     int(options.get("tokenizer_stories", 200_000)))
    if saved and not saved.exists():
        task.tokenizer.save(saved)
    train = {**TEXT_RECIPE, **settings.get("train", {}), **({} if progress is None else {"progress": progress})}
    config = TrainConfig(**train)
    seed_everything(config.seed)
    model = build_model(preset(name, **{**model_over, "vocab_size": task.tokenizer.vocab_size}))
    source = text.TextBatches(task.train, config.batch_size, seed=config.seed)
    trainer = TextTrainer(model, source, config, None, out_dir=out_dir, data_description=task.describe(),
                          device=device, tokenizer=task.tokenizer)
    return trainer, task


# ----------------------------------------------------------------------------------------------
# Perplexity and generation
# ----------------------------------------------------------------------------------------------
def eval_batch_size(model, wanted: int = 32) -> int:
    """At most ``wanted`` rows, and few enough that a step's logits stay near 128 MB."""
    c = model.config
    return max(1, min(wanted, (1 << 25) // (c.seq_len * c.vocab_size)))


@torch.no_grad()
def perplexity_per_step(model, split: text.TextSplit, steps: int | None = None, batch_size: int = 32,
                        max_rows: int | None = None) -> dict:
    """Perplexity of ``split``'s next tokens after each supervision step (every row runs all ``steps``).

    Returns ``perplexity`` (after the last step), ``per_step_perplexity``, ``loss`` (nats per token),
    ``tokens`` and ``rows``. Softmax probabilities; padding (IGNORE_LABEL) is not counted.
    """
    steps = model.config.N_sup if steps is None else int(steps)
    if steps < 1:
        raise UserError(f"steps must be at least 1, got {steps}")
    nll, tokens, rows = np.zeros(steps), 0, 0
    was_training = model.training
    model.eval()
    try:
        with inference(), autocast_context(model.device):
            for batch in text.eval_batches(split, eval_batch_size(model, batch_size), max_rows):
                x, y = batch["inputs"].to(model.device), batch["labels"].to(model.device)
                state = model.initial_state(x.shape[0])
                for s in range(steps):
                    state, logits, _, _ = model(state, x)
                    nll[s] += float(softmax_cross_entropy(logits, y).double().sum())
                tokens += int((y != IGNORE_LABEL).sum())
                rows += x.shape[0]
    finally:
        model.train(was_training)
    if tokens == 0:
        raise UserError("no tokens to evaluate")
    per_step = [math.exp(v / tokens) for v in nll]
    return {"perplexity": per_step[-1], "per_step_perplexity": per_step, "loss": nll[-1] / tokens,
            "tokens": tokens, "rows": rows}


@torch.no_grad()
def generate(model, tokenizer: TextTokenizer, prompt: str = "Once upon a time", max_new_tokens: int = 100,
             temperature: float = 0.8, top_k: int = 50, seed: int = 0, steps: int | None = None) -> str:
    """The prompt and its continuation, one token at a time (each after ``steps`` supervision steps,
    default ``N_sup``); stops at ``<|endoftext|>``. ``temperature`` 0: always the likeliest token;
    ``top_k`` 0: sample from the whole vocabulary."""
    if temperature < 0 or top_k < 0 or max_new_tokens < 1:
        raise UserError("generate needs temperature >= 0, top_k >= 0 and max_new_tokens >= 1")
    c = model.config
    steps = c.N_sup if steps is None else int(steps)
    prompt_ids = tokenizer.encode(prompt)
    ids = [tokenizer.eos_id, *prompt_ids]  # a story starts after <|endoftext|>, as in training
    g = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    try:
        with inference(), autocast_context(model.device):
            for _ in range(max_new_tokens):
                context = ids[-c.seq_len:]
                x = torch.full((1, c.seq_len), tokenizer.pad_id, dtype=torch.long)
                x[0, :len(context)] = torch.tensor(context)
                x = x.to(model.device)
                state = model.initial_state(1)
                for _ in range(steps):  # causal: the padding after the context changes nothing before it
                    state, logits, _, _ = model(state, x)
                last = logits[0, len(context) - 1].float().cpu()  # (V,)
                if temperature == 0:
                    token = int(last.argmax())
                else:
                    last = last / temperature
                    if top_k:
                        kth = torch.topk(last, min(top_k, len(last))).values[-1]
                        last = torch.where(last < kth, float("-inf"), last)
                    token = int(torch.multinomial(torch.softmax(last, -1), 1, generator=g))
                if token == tokenizer.eos_id:
                    break
                ids.append(token)
    finally:
        model.train(was_training)
    return prompt + tokenizer.decode(ids[1 + len(prompt_ids):])


# ----------------------------------------------------------------------------------------------
# Checkpoints
# ----------------------------------------------------------------------------------------------
def is_text_checkpoint(ckpt: dict) -> bool:
    return isinstance(ckpt.get("data"), dict) and ckpt["data"].get("name") == TASK


def load_text_checkpoint(path, device="cpu"):
    """(model, tokenizer, checkpoint) of a language-model checkpoint; a clear error for any other."""
    ckpt = ckpt_io.load(path, map_location="cpu")
    if not is_text_checkpoint(ckpt):
        name = ckpt.get("data", {}).get("name", "an unnamed task") if isinstance(ckpt.get("data"), dict) else "?"
        raise UsageError(f"{path} is a checkpoint for {name}, not a language model: "
                         f"train one with `trm train --task tinystories --data PATH`")
    if not isinstance(ckpt.get("tokenizer"), str):
        raise UsageError(f"{path} has no tokenizer: it cannot read or write text")
    tokenizer = TextTokenizer.from_json(ckpt["tokenizer"])
    if tokenizer.vocab_size != ckpt["model_config"]["vocab_size"]:
        raise UsageError(f"{path}: its tokenizer has {tokenizer.vocab_size} tokens, its model "
                         f"{ckpt['model_config']['vocab_size']}")
    return ckpt_io.model_from_checkpoint(ckpt, device=device), tokenizer, ckpt


# ----------------------------------------------------------------------------------------------
# Commands
# ----------------------------------------------------------------------------------------------
def is_text_run(args) -> bool:
    """``trm train`` arguments that ask for (or resume) a text run."""
    if args.resume:
        run = Path(args.resume) / "run.json"
        try:
            return run.is_file() and json.loads(run.read_text()).get("task") == TASK
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            return False
    return args.task == TASK


def cmd_train(args, device) -> int:
    """``trm train --task tinystories --data PATH [--smoke]`` (and ``--resume`` of such a run)."""
    from . import distributed
    from .commands import parse_overrides, parse_task_options, prepare_run_folder, read_run_settings

    if distributed.current() is not None:
        raise UsageError("text training runs in one process (no torchrun)")
    if args.resume:
        out = Path(args.resume)
        with ckpt_io.run_lock(out):
            settings = read_run_settings(out)
            if args.steps:
                settings.setdefault("train", {})["max_steps"] = args.steps
            if args.minutes is not None:
                settings.setdefault("train", {})["max_minutes"] = args.minutes
            if not (out / "checkpoint.pt").exists():
                raise UsageError(f"{out} has no checkpoint yet: start it again with --overwrite")
            state = ckpt_io.load(out / "checkpoint.pt", map_location=device)
            trainer, task = build_text_run(settings, device, out)
            trainer.load_state_dict(state)
            print(f"resuming {out} at step {trainer.step}")
            return _train(trainer, task, out, settings)
    model_over, train_over = parse_overrides(args.overrides)
    if args.model == "hrm":
        raise UsageError("the text path trains TRM language models (no HRM preset for text)")
    name = args.preset or DEFAULT_TEXT_PRESET
    if args.size is not None:
        raise UsageError("--size does not apply to text (the context length is seq_len=N)")
    n_train, n_test = args.n_train, args.n_test
    if args.smoke:
        n_train, n_test = n_train or SMOKE["n_train"], n_test or SMOKE["n_test"]
        train_over = {**train_over, **SMOKE["train"]}
    if args.steps:
        train_over["max_steps"] = args.steps
    if args.minutes is not None:
        train_over["max_minutes"] = args.minutes
        if not args.steps:
            train_over["max_steps"] = 0  # the minutes decide
    if args.track is not None:
        train_over["track"] = args.track
    train_over.setdefault("seed", args.seed)
    settings = dict(task=TASK, data=args.data, n_train=n_train, n_test=n_test, seed=args.seed, preset=name,
                    model=model_over, train=train_over, task_options=parse_task_options(args.task_option),
                    smoke=bool(args.smoke))
    out = Path(args.out or f"runs/{TASK}-{name}" + ("-smoke" if args.smoke else ""))
    with ckpt_io.run_lock(out):
        prepare_run_folder(out, args.overwrite or args.smoke)
        (out / "tokenizer.json").unlink(missing_ok=True)  # a new run trains or loads its own
        t0 = time.perf_counter()
        trainer, task = build_text_run(settings, device, out)
        (out / "run.json").write_text(json.dumps(settings, indent=2))
        print(f"training {name} ({trainer.model.num_parameters():,} parameters, {task.tokenizer.vocab_size:,}-token "
              f"{task.tokenizer.kind} tokenizer) on {task.train.num_stories:,} stories ({task.train.num_tokens:,} "
              f"tokens, {task.train.num_rows:,} rows of {task.train.seq_len}) from {task.source} on {device}; "
              f"data ready in {time.perf_counter() - t0:.1f} s; run directory {out}", flush=True)
        return _train(trainer, task, out, settings)


def _train(trainer, task: TextTask, out: Path, settings: dict) -> int:
    from .commands import _fit

    _fit(trainer, out)
    max_rows = 64 if settings.get("smoke") else None
    metrics = perplexity_per_step(trainer.eval_model(), task.test, max_rows=max_rows)
    metrics.update(step=trainer.step, time=trainer.elapsed)
    ckpt_io.write_text_atomic(out / "eval.json", json.dumps(metrics, indent=2))
    print_perplexity(metrics)
    if settings.get("smoke"):
        print(f"smoke run: {trainer.step} batches of {trainer.config.batch_size} rows trained, checkpoint "
              f"saved in {out / 'checkpoint.pt'}: ok")
    else:
        print(f"saved {out / 'checkpoint.pt'}. Next: trm generate --checkpoint {out / 'checkpoint.pt'}")
    return 0


def print_perplexity(m: dict) -> None:
    print(f"perplexity on {m['tokens']:,} held-out tokens ({m['rows']:,} rows): {m['perplexity']:.2f}")
    print("perplexity after each supervision step: "
          + "  ".join(f"{i + 1}:{v:.2f}" for i, v in enumerate(m["per_step_perplexity"])))


def cmd_eval(args, model, ckpt, device) -> int:
    """``trm eval --checkpoint C --data PATH`` for a language model: perplexity after each step."""
    if args.samples > 1 or args.ensemble or args.halt_threshold is not None or args.noise:
        raise UsageError("--samples, --noise, --ensemble and --halt-threshold are for puzzle checkpoints; "
                         "a language model is evaluated by its perplexity")
    tokenizer = TextTokenizer.from_json(ckpt["tokenizer"]) if isinstance(ckpt.get("tokenizer"), str) else None
    if tokenizer is None:
        raise UsageError(f"{args.checkpoint} has no tokenizer: it cannot read text")
    train_src, test_src = text.find_sources(resolve_data(args.data))
    source = test_src or train_src
    split = text.build_split(source, tokenizer, model.config.seq_len, args.max_stories)
    t0 = time.perf_counter()
    metrics = perplexity_per_step(model, split, steps=args.steps, batch_size=args.batch_size)
    metrics.update(stories=split.num_stories, source=source.describe(), seconds=time.perf_counter() - t0)
    if args.json:
        print(json.dumps(metrics))
    else:
        print(f"{split.num_stories:,} stories from {source.describe()}")
        print_perplexity(metrics)
    return 0


def cmd_generate(args) -> int:
    device = pick_device(args.device)
    model, tokenizer, _ = load_text_checkpoint(args.checkpoint, device)
    for k in range(args.samples):
        story = generate(model, tokenizer, args.prompt, args.max_new_tokens, args.temperature, args.top_k,
                         args.seed + k, args.steps)
        print(story if args.samples == 1 else f"--- sample {k + 1}\n{story}", flush=True)
    return 0


def register(sub) -> None:
    p = sub.add_parser("generate", help="write a story with a language-model checkpoint (trm train --task tinystories)")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--prompt", default="Once upon a time")
    p.add_argument("--max-new-tokens", type=positive_int("--max-new-tokens"), default=120)
    p.add_argument("--temperature", type=bounded(float, 0.0, "--temperature"), default=0.8,
                   help="0: always the likeliest token")
    p.add_argument("--top-k", type=bounded(int, 0, "--top-k"), default=50, help="0: the whole vocabulary")
    p.add_argument("--steps", type=positive_int("--steps"), help="supervision steps per token (default N_sup)")
    p.add_argument("--samples", type=positive_int("--samples"), default=1,
                   help="stories to write (seeds SEED, SEED+1, ...)")
    p.add_argument("--seed", type=bounded(int, 0, "--seed"), default=0)
    p.add_argument("--device")
    p.set_defaults(func=cmd_generate)
