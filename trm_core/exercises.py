"""Exercises that check themselves: ``check("02.1", answer)`` says right or wrong, and why.

Each notebook ends with two or three exercises. The question is in the notebook; here are the
checkers and hints, so that a student gets an answer without a teacher:

    from trm_core import exercises
    exercises.hint("02.1")               # a nudge, not the answer
    exercises.check("02.1", (4, 36, 64))  # prints "02.1 right: ..." or "02.1 not yet: <why>"

A checker computes the right answer from the workbook's own code (``trm_core``), never from a
stored number, and recognises the usual wrong answers to say what went wrong. Some checkers take
the notebook's objects as keywords (``check("05.1", i, model=model, puzzles=puzzles)``). The worked
solutions are in ``notebooks/solutions.py``, kept out of the student notebooks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import numpy as np

NOT_ANSWERED = (None, Ellipsis)


class Result(NamedTuple):
    """What :func:`check` found: ``ok`` and the sentence it printed."""

    exercise: str
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class Exercise:
    id: str  # "NN.k": notebook NN, exercise k
    title: str
    hint: str
    checker: Callable[..., str | None]  # answer, **context -> None when right, else the reason
    explanation: str  # said when the answer is right


class Wrong(Exception):
    """Raised inside a checker: the answer is wrong, for the reason given."""


EXERCISES: dict[str, Exercise] = {}


def exercise(id: str, title: str, hint: str, explanation: str):
    """Register the decorated checker as exercise ``id``."""

    def register(checker):
        EXERCISES[id] = Exercise(id, title, hint, checker, explanation)
        return checker

    return register


def _get(id: str) -> Exercise:
    if id not in EXERCISES:
        raise KeyError(f"no exercise {id!r}; there are: {', '.join(EXERCISES)}")
    return EXERCISES[id]


def check(id: str, answer: Any, quiet: bool = False, **context) -> Result:
    """Check ``answer`` to exercise ``id``; print and return the verdict (a :class:`Result`)."""
    ex = _get(id)
    if any(answer is v for v in NOT_ANSWERED):
        ok, message = False, f"{id} not answered yet: replace the None with your answer ({ex.title})."
    else:
        try:
            reason = ex.checker(answer, **context)
        except Wrong as e:
            reason = str(e)
        ok = reason is None
        message = f"{id} right: {ex.explanation}" if ok else f"{id} not yet: {reason} (a hint: exercises.hint({id!r}))"
    if not quiet:
        print(message)
    return Result(id, ok, message)


def hint(id: str) -> str:
    """Print and return the hint of exercise ``id``."""
    text = f"{id} hint: {_get(id).hint}"
    print(text)
    return text


def listing(notebook: str | None = None) -> list[str]:
    """"NN.k: title" for every exercise (of one notebook, e.g. "02")."""
    return [f"{e.id}: {e.title}" for e in EXERCISES.values() if notebook is None or e.id.startswith(notebook + ".")]


# --------------------------------------------------------------------------------------------------
# Helpers for checkers
# --------------------------------------------------------------------------------------------------
def _integer(answer, what: str = "a whole number") -> int:
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer, float, np.floating)):
        raise Wrong(f"the answer should be {what}, got {type(answer).__name__} {answer!r}")
    if float(answer) != int(answer):
        raise Wrong(f"the answer should be {what}, got {answer}")
    return int(answer)


def _number(answer) -> float:
    try:
        return float(answer)
    except (TypeError, ValueError):
        raise Wrong(f"the answer should be a number, got {type(answer).__name__} {answer!r}") from None


def _function(answer, name: str) -> Callable:
    if not callable(answer):
        raise Wrong(f"pass your function itself ({name}, without calling it), got {type(answer).__name__}")
    return answer


def _call(fn: Callable, *args):
    """Call the student's function; its exception becomes the reason."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 - any error of the student's code is the answer's problem
        raise Wrong(f"your function raised {type(e).__name__}: {e}") from None


def _array_like(value, shape: tuple, what: str) -> np.ndarray:
    try:
        out = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Wrong(f"{what} should be an array, got {type(value).__name__}") from None
    if out.shape != shape:
        raise Wrong(f"{what} has shape {out.shape}, expected {shape}")
    return out


def _close(got: np.ndarray, want: np.ndarray, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    return bool(np.allclose(got, want, rtol=rtol, atol=atol))


# --------------------------------------------------------------------------------------------------
# 00 Start here
# --------------------------------------------------------------------------------------------------
@exercise("00.1", "network calls in one TRM supervision step with T = 3, n = 6",
          "Each of the T cycles updates z n times and then y once; every update is one call of the network.",
          "T (n + 1) = 3 x 7 = 21 calls of the same 2-layer network, so 42 layers deep.")
def _00_1(answer):
    T, n = 3, 6
    got = _integer(answer)
    if got == T * n:
        raise Wrong(f"{got} counts the z updates only: each cycle also updates y once")
    if got == n + 1:
        raise Wrong(f"{got} is one cycle; a supervision step runs T = {T} of them")
    if got == T * (n + 1) * 2:
        raise Wrong(f"{got} counts layers (2 per call), not calls of the network")
    if got != T * (n + 1):
        raise Wrong(f"not {got}: count the updates of z and of y in every one of the {T} cycles")


@exercise("00.2", "a 6x6 puzzle with exactly one solution and at most 12 givens",
          "Start from a puzzle of `sudoku.generate(6, 1, seed=...)`: generated puzzles are minimal (no "
          "given can go). `sudoku.count_solutions(p)` tells 1 from more.",
          "a proper puzzle: one solution, few givens. The model has to deduce the rest.")
def _00_2(answer, max_givens: int = 12):
    from .data import sudoku

    if not isinstance(answer, str):
        raise Wrong(f"write the puzzle as a string of 36 characters ('.' for a blank), got {type(answer).__name__}")
    try:
        grid = sudoku.validate_puzzle(answer, size=6)
    except sudoku.SudokuError as e:
        raise Wrong(str(e)) from None
    givens = int((grid != 0).sum())
    if givens > max_givens:
        raise Wrong(f"it has {givens} givens; remove some (at most {max_givens}) and keep one solution")
    count = sudoku.count_solutions(grid, limit=2)
    if count != 1:
        raise Wrong("it has no solution" if count == 0 else "it has more than one solution: add a given back")


# --------------------------------------------------------------------------------------------------
# 01 HRM vs TRM
# --------------------------------------------------------------------------------------------------
@exercise("01.1", "HRM's effective depth per supervision step (published Sudoku settings)",
          "`preset('hrm-sudoku')` has T = 2 high-level cycles; each runs n = 2 low-level updates and one "
          "high-level update, and each network has 4 layers.",
          "T (n L-layers + H-layers) = 2 x (2 x 4 + 4) = 24 layers, against TRM's 42 with far fewer weights.")
def _01_1(answer):
    from .config import preset

    c = preset("hrm-sudoku")
    want, got = c.effective_depth, _integer(answer)
    if got == c.T * c.n * c.layers:
        raise Wrong(f"{got} leaves out the high-level update that ends every cycle")
    if got == c.T * (c.n + 1):
        raise Wrong(f"{got} counts network calls; each call goes through {c.layers} layers")
    if got != want:
        raise Wrong(f"not {got}: add up the layers of every L and H update in the {c.T} cycles")


@exercise("01.2", "network calls that receive gradients in one TRM supervision step (T = 3, n = 6)",
          "The first T - 1 cycles run under torch.no_grad(); section 3 counts the calls that the backward "
          "pass reaches.",
          "n + 1 = 7: the whole last cycle (6 z updates and the y update) is back-propagated, the "
          "first 2 cycles are not. HRM's one-step gradient reaches only 2 calls.")
def _01_2(answer):
    T, n = 3, 6
    got = _integer(answer)
    if got == T * (n + 1):
        raise Wrong(f"{got} is every call; the first T - 1 = {T - 1} cycles run without gradient")
    if got == 2:
        raise Wrong("2 is HRM's one-step gradient (its last L and H updates); TRM back-propagates a whole cycle")
    if got == n:
        raise Wrong(f"{got} counts the z updates of the last cycle; its y update gets gradients too")
    if got != n + 1:
        raise Wrong(f"not {got}: which cycle runs with gradients, and how many calls does it make?")


@exercise("01.3", "forward passes per training supervision step for ACT: {'hrm': ?, 'trm': ?}",
          "HRM's Q-learning target for 'continue' is the Q head's value at the NEXT state; TRM dropped the "
          "continue loss (section 4).",
          "HRM needs 2 passes (the step itself and one more from its result for the continue target); "
          "TRM needs 1, because it learns halting from its own answer's correctness only.")
def _01_3(answer):
    if not isinstance(answer, dict) or set(answer) != {"hrm", "trm"}:
        raise Wrong("answer with a dict {'hrm': passes, 'trm': passes}")
    hrm, trm = _integer(answer["hrm"]), _integer(answer["trm"])
    if hrm == 1:
        raise Wrong("HRM's continue target needs a second pass from the new state (act.continue_target)")
    if trm == 2:
        raise Wrong("TRM has no continue target, so it needs no extra pass")
    if (hrm, trm) != (2, 1):
        raise Wrong(f"not hrm={hrm}, trm={trm}: count the passes act_step makes for each")


# --------------------------------------------------------------------------------------------------
# 02 NumPy reference
# --------------------------------------------------------------------------------------------------
@exercise("02.1", "the shape of x for a batch of 4 6x6 puzzles in trm-mlp-tiny (D = 64)",
          "x is the input embedding: one D-dimensional vector for every token of every puzzle (section 2). "
          "The laptop preset has no puzzle-embedding positions.",
          "(batch, tokens, D) = (4, 36, 64): y and z have the same shape, which is why they can be added.")
def _02_1(answer):
    from .config import preset

    c = preset("trm-mlp-tiny", vocab_size=8, seq_len=36)
    want = (4, c.total_len, c.hidden_size)
    try:
        got = tuple(int(v) for v in answer)
    except (TypeError, ValueError):
        raise Wrong("answer with a shape, a tuple such as (2, 3, 4)") from None
    if got == want[1:]:
        raise Wrong(f"{got} is one puzzle; the batch comes first")
    if got == want[:2]:
        raise Wrong(f"{got} is the shape of the token ids; the embedding adds a D = {c.hidden_size} axis")
    if got != want:
        raise Wrong(f"not {got}: which axes does x have, and how long is each?")


def _02_2_rms_norm_variants(x):
    return {
        "normalises over the first axis instead of the last": x / np.sqrt(np.mean(x * x, axis=0, keepdims=True) + 1e-5),
        "leaves out eps (1e-5) inside the square root": x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True)),
        "divides by the standard deviation (that is LayerNorm, which also subtracts the mean)":
            (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5),
        "divides by the mean square, not its root": x / (np.mean(x * x, axis=-1, keepdims=True) + 1e-5),
    }


@exercise("02.2", "rms_norm(x) in NumPy: divide by the root mean square over the last axis (eps = 1e-5, no scale)",
          "np.mean(x * x, axis=-1, keepdims=True) is the mean square; add eps before the square root.",
          "that is TRM's RMSNorm: no learnable scale, over the features of each token.")
def _02_2(answer):
    from . import numpy_ref

    fn = _function(answer, "rms_norm")
    rng = np.random.default_rng(0)
    for shape, scale in (((3, 5, 8), 1.0), ((2, 7), 3.0), ((4, 6), 1e-3)):
        x = scale * rng.standard_normal(shape)
        got = _array_like(_call(fn, x.copy()), shape, f"rms_norm of an array of shape {shape}")
        want = numpy_ref.rms_norm(x)
        if not _close(got, want):
            for mistake, value in _02_2_rms_norm_variants(x).items():
                if _close(got, value):
                    raise Wrong(f"your function {mistake}")
            raise Wrong(f"for an array of shape {shape} it is off by up to {np.abs(got - want).max():.3g}")


def _toy_net(dim: int, seed: int):
    """A small nonlinear stand-in for the network: (h, injection) -> new h, never symmetric in its inputs."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((dim, dim)) / dim ** 0.5, rng.standard_normal((dim, dim)) / dim ** 0.5
    return lambda h, injection: np.tanh(h @ a + 0.5 * injection @ b)


@exercise("02.3", "latent_recursion(net, x, y, z, n) in NumPy: n updates of z, then one of y; return (y, z)",
          "z = net(z, y + x) is one thinking update (net(h, injection) computes net(h + injection)); after "
          "the n of them, y = net(y, z). x only reaches y through z.",
          "the core of TRM in three lines: the same network thinks (z) and answers (y), told apart only "
          "by whether x is in the sum.")
def _02_3(answer):
    from . import numpy_ref

    fn = _function(answer, "latent_recursion")
    rng = np.random.default_rng(1)
    net = _toy_net(8, seed=2)
    x, y, z = (rng.standard_normal((2, 5, 8)) for _ in range(3))
    n = 3
    out = _call(fn, net, x.copy(), y.copy(), z.copy(), n)
    if not isinstance(out, tuple) or len(out) != 2:
        raise Wrong("return the pair (y, z)")
    got_y, got_z = (_array_like(v, x.shape, name) for v, name in zip(out, ("y", "z")))
    want_y, want_z = numpy_ref.latent_recursion(net, x, y, z, n)
    if _close(got_y, want_y) and _close(got_z, want_z):
        return None
    if _close(got_y, want_z) and _close(got_z, want_y):
        raise Wrong("you returned (z, y): return y first")
    variants = {
        "updates z n + 1 times": numpy_ref.latent_recursion(net, x, y, net(z, y + x), n),
        "updates z n - 1 times": numpy_ref.latent_recursion(net, x, y, z, n - 1),
        "leaves x out of the z update": numpy_ref.latent_recursion(net, np.zeros_like(x), y, z, n),
    }
    z_with_x = z
    for _ in range(n):
        z_with_x = net(z_with_x, y + x)
    variants["adds x to the y update too"] = (net(y, z_with_x + x), z_with_x)
    for mistake, (vy, vz) in variants.items():
        if _close(got_y, vy) and _close(got_z, vz):
            raise Wrong(f"your function {mistake}")
    if _close(got_z, want_z):
        raise Wrong("z is right but y is not: after the loop, y = net(y, z)")
    raise Wrong(f"z is off by up to {np.abs(got_z - want_z).max():.3g}: z = net(z, y + x), n times")


# --------------------------------------------------------------------------------------------------
# 03 PyTorch model
# --------------------------------------------------------------------------------------------------
@exercise("03.1", "the SwiGLU hidden width of the published TRM (D = 512, expansion 4)",
          "A SwiGLU has three matrices, not two, so it takes 2/3 of expansion x D, rounded UP to a multiple "
          "of 256 (section 2, `layers.swiglu_width`).",
          "round(4 x 512 x 2/3) = 1365, rounded up to 1536: the same weights as a plain MLP of width 2048.")
def _03_1(answer):
    from .layers import swiglu_width

    D, expansion = 512, 4
    want, got = swiglu_width(D, expansion), _integer(answer)
    plain = round(expansion * D * 2 / 3)
    if got == plain:
        raise Wrong(f"{got} is 2/3 of 4 x 512, before rounding up to a multiple of 256")
    if got == expansion * D:
        raise Wrong(f"{got} is a plain MLP's width; a SwiGLU takes 2/3 of it")
    if got == (plain // 256) * 256:
        raise Wrong(f"{got} rounds down; the width is rounded up")
    if got != want:
        raise Wrong(f"not {got}: compute 2/3 of expansion x D, then round up to a multiple of 256")


@exercise("03.2", "stablemax(logits): probabilities over the last axis, s(x) = x + 1 for x >= 0 and 1 / (1 - x) below",
          "Apply s elementwise (np.where(x >= 0, x + 1, 1 / (1 - x))), then divide by the sum over the last axis.",
          "stablemax grows linearly, not exponentially, so no logit can overflow; the paper trains with it.")
def _03_2(answer):
    import torch

    from .losses import log_stablemax

    fn = _function(answer, "stablemax")
    logits = np.array([[2.0, 0.0, -1.0, 0.5], [-3.0, -0.5, 4.0, 1.0]])
    got = _array_like(_call(fn, logits.copy()), logits.shape, "stablemax of a (2, 4) array")
    want = log_stablemax(torch.from_numpy(logits)).exp().numpy()
    if _close(got, want):
        return None
    if _close(got, np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)):
        raise Wrong("that is softmax; use s(x) instead of exp(x)")
    s = np.where(logits >= 0, logits + 1, 1 / (1 - np.minimum(logits, 0)))
    if _close(got, s):
        raise Wrong("the values are s(x) but do not sum to 1: divide by the sum over the last axis")
    if _close(got, s / s.sum(0, keepdims=True)):
        raise Wrong("you normalised over the first axis; normalise over the last")
    neg_wrong = np.where(logits >= 0, logits + 1, 1 - logits)
    if _close(got, neg_wrong / neg_wrong.sum(-1, keepdims=True)):
        raise Wrong("for negative x, s(x) = 1 / (1 - x), not 1 - x (it must stay below 1)")
    raise Wrong(f"off by up to {np.abs(got - want).max():.3g} from stablemax")


@exercise("03.3", "the sequence length the network sees in trm-att-arc (30x30 canvas plus puzzle positions)",
          "The puzzle embedding takes `num_puzzle_positions` extra positions in front of the 900 tokens "
          "(section 4; `preset('trm-att-arc', vocab_size=12, seq_len=900)`).",
          "900 tokens + 16 puzzle positions = 916: y and z cover the puzzle positions too.")
def _03_3(answer):
    from .config import preset

    c = preset("trm-att-arc", vocab_size=12, seq_len=900)
    got = _integer(answer)
    if got == c.seq_len:
        raise Wrong(f"{got} is the canvas alone; the puzzle embedding adds positions in front")
    if got == c.seq_len + 1:
        raise Wrong("the puzzle vector is spread over several positions, not one")
    if got != c.total_len:
        raise Wrong(f"not {got}: tokens plus the puzzle-embedding positions")


# --------------------------------------------------------------------------------------------------
# 04 Training
# --------------------------------------------------------------------------------------------------
@exercise("04.1", "the learning rate of the published run at optimizer step 999 (counting from 0)",
          "The published schedule warms up linearly over 2000 steps to lr = 1e-4 and then stays constant; "
          "step 0 already gets lr / 2000 (`optim.lr_at`).",
          "1e-4 x 1000 / 2000 = 5e-5: halfway through the warm-up.")
def _04_1(answer):
    from .optim import lr_at
    from .trainer import TrainConfig

    c = TrainConfig()
    want = lr_at(999, c.lr, c.lr_warmup_steps, 0.0, c.lr_min_ratio)
    got = _number(answer)
    if math.isclose(got, c.lr * 999 / c.lr_warmup_steps, rel_tol=1e-6):
        raise Wrong("off by one step: step 0 already has lr / 2000, so step 999 is the 1000th")
    if math.isclose(got, c.lr, rel_tol=1e-6):
        raise Wrong("step 999 is still in the warm-up")
    if not math.isclose(got, want, rel_tol=1e-6):
        raise Wrong(f"not {got:g}: where in the 2000-step warm-up is step 999?")


@exercise("04.2", "EMA with decay 0.999: steps until the average of a weight that jumped from 0 to 1 passes 0.5",
          "After k updates the EMA copy holds 1 - 0.999**k of the new value; solve 1 - 0.999**k >= 0.5 for the "
          "smallest whole k (or just loop).",
          "693 steps: the EMA lags the weights by hundreds of steps, which averages out the noise of single steps.")
def _04_2(answer, decay: float = 0.999):
    want = math.ceil(math.log(0.5) / math.log(decay))
    got = _integer(answer)
    if got == want - 1:
        raise Wrong(f"after {got} steps the average is {1 - decay ** got:.4f}, still below 0.5")
    if got == round(1 / (1 - decay)):
        raise Wrong(f"1 / (1 - decay) = {got} is the average's time constant; at that step it is at "
                    f"{1 - decay ** got:.2f}, past 0.5")
    if got != want:
        raise Wrong(f"after {got} steps the average is {1 - decay ** got:.4f}; find where it first reaches 0.5")


@exercise("04.3", "a carry of 768 rows where every puzzle halts after exactly 16 supervision steps: "
                  "how many distinct puzzles enter training in 1600 optimizer steps?",
          "Each optimizer step is ONE supervision step for every row; a row takes a new puzzle only after "
          "its puzzle halts (section 1).",
          "768 x 1600 / 16 = 76,800: each optimizer step sees a batch, but a puzzle stays for 16 steps.")
def _04_3(answer, rows: int = 768, steps: int = 1600, n_sup: int = 16):
    got = _integer(answer)
    want = rows * math.ceil(steps / n_sup)
    if got == rows * steps:
        raise Wrong("that counts a new puzzle at every step; a puzzle stays in its row until it halts")
    if got == steps // n_sup:
        raise Wrong(f"{got} is the number of times each row is refilled; there are {rows} rows")
    if got != want:
        raise Wrong(f"not {got}: how often does each of the {rows} rows take a new puzzle?")


# --------------------------------------------------------------------------------------------------
# 05 Latent states
# --------------------------------------------------------------------------------------------------
def _steps_right(model, puzzles, solutions) -> np.ndarray:
    """(steps, puzzles) bool: the answer after each supervision step equals the solution."""
    import torch

    with torch.no_grad():
        pred = model.reason(torch.as_tensor(np.asarray(puzzles), dtype=torch.long)).predictions.cpu().numpy()
    return (pred == np.asarray(solutions)[None]).all(-1)


@exercise("05.1", "the index of a puzzle the model gets wrong after step 1 but right after its last step",
          "`out = model.reason(inputs)`; compare `out.predictions[0]` and `out.predictions[-1]` with the "
          "solutions, row by row (section 3).",
          "for this puzzle the later supervision steps repaired a wrong first answer: that is what recursion buys.")
def _05_1(answer, model=None, puzzles=None, solutions=None):
    if model is None or puzzles is None or solutions is None:
        raise Wrong("call check('05.1', index, model=model, puzzles=inputs, solutions=labels)")
    i = _integer(answer, "a puzzle index")
    if not 0 <= i < len(puzzles):
        raise Wrong(f"index {i} is outside 0..{len(puzzles) - 1}")
    right = _steps_right(model, puzzles, solutions)
    if right[0, i]:
        raise Wrong(f"puzzle {i} is already right after step 1")
    if not right[-1, i]:
        raise Wrong(f"puzzle {i} is still wrong after the last step")


@exercise("05.2", "of the puzzles the model would halt on after step 1 (q_halt > 0), the fraction it has right",
          "`out = model.reason(inputs)`: `out.q_halt[0] > 0` says 'halt' after step 1, and "
          "`(out.predictions[0] == labels).all(-1)` says 'right'. Divide the right-and-halted by the halted.",
          "how far the halting signal can be trusted: it is the accuracy ACT would give if it stopped there.")
def _05_2(answer, model=None, puzzles=None, solutions=None):
    import torch

    if model is None or puzzles is None or solutions is None:
        raise Wrong("call check('05.2', fraction, model=model, puzzles=inputs, solutions=labels)")
    got = _number(answer)
    if got > 1:
        got /= 100  # a percentage
    with torch.no_grad():
        out = model.reason(torch.as_tensor(np.asarray(puzzles), dtype=torch.long), steps=1)
    halted = (out.q_halt[0] > 0).cpu().numpy()
    right = (out.predictions[0].cpu().numpy() == np.asarray(solutions)).all(-1)
    if not halted.any():
        raise Wrong("the model halts on none of these puzzles after step 1: try more puzzles")
    want = float(right[halted].mean())
    if abs(got - float(right.mean())) < 1e-3 and abs(got - want) >= 1e-3:
        raise Wrong("that is the accuracy over all puzzles; count only those where q_halt > 0")
    if abs(got - float(halted[right].mean())) < 1e-3 and abs(got - want) >= 1e-3:
        raise Wrong("that is the fraction of right answers that halt; divide by the halted ones instead")
    if abs(got - want) >= 1e-3:
        raise Wrong(f"not {got:.3f}: right and halted, divided by halted")


# --------------------------------------------------------------------------------------------------
# 06 Recursion vs scale
# --------------------------------------------------------------------------------------------------
def _depth(layers: int, T: int, n: int) -> int:
    from .config import preset

    return preset("trm-mlp-tiny", vocab_size=8, seq_len=36, layers=layers, T=T, n=n).effective_depth


@exercise("06.1", "the effective depth of each of (layers, T, n) = (4, 2, 1), (2, 2, 3), (1, 2, 7)",
          "Effective depth = layers x T x (n + 1): every one of the T (n + 1) calls of the network goes "
          "through all its layers (section 1). Answer with a dict {(4, 2, 1): depth, ...}.",
          "16 for all three: the paper's '4 layers vs 2 layers with more recursion' compares equal depths.")
def _06_1(answer):
    configs = [(4, 2, 1), (2, 2, 3), (1, 2, 7)]
    if not isinstance(answer, dict) or set(answer) != set(configs):
        raise Wrong(f"answer with a dict whose keys are exactly {configs}")
    for cfg in configs:
        got, want = _integer(answer[cfg]), _depth(*cfg)
        layers, T, n = cfg
        if got == layers * T * n:
            raise Wrong(f"{cfg}: {got} leaves out the y update of each cycle (n + 1 calls per cycle)")
        if got != want:
            raise Wrong(f"{cfg}: not {got}; multiply layers, T and n + 1")


@exercise("06.2", "a configuration (layers, T, n) with ONE layer and the effective depth of (2, 3, 3)",
          "(2, 3, 3) is 2 x 3 x 4 = 24 deep; with one layer you need T (n + 1) = 24.",
          "one layer, more recursion, the same depth and half the weights: the trade the paper measures.")
def _06_2(answer):
    try:
        layers, T, n = (int(v) for v in answer)
    except (TypeError, ValueError):
        raise Wrong("answer with a tuple (layers, T, n)") from None
    if layers != 1:
        raise Wrong(f"it has {layers} layers; the exercise asks for 1")
    if T < 1 or n < 1:
        raise Wrong("T and n must be at least 1")
    want, got = _depth(2, 3, 3), _depth(layers, T, n)
    if got != want:
        raise Wrong(f"(1, {T}, {n}) is {got} deep, not {want}")


# --------------------------------------------------------------------------------------------------
# 07 Mazes and ARC
# --------------------------------------------------------------------------------------------------
def maze_question(seed: int = 7, size: int = 9) -> str:
    """The maze of exercise 07.1 as a string (row-major, "# SGo" characters)."""
    from .data import maze

    return maze.to_string(maze.generate(size, 1, seed=seed, min_path=10).questions[0])


@exercise("07.1", "a valid shortest path through the maze `exercises.maze_question()`",
          "Copy the question and turn the cells of one shortest path from S to G into 'o' (or let "
          "`maze.solve` find one: `maze.to_string(maze.solve(maze.parse(q)))`).",
          "a valid shortest path: the checker accepts any of the shortest paths, not only the one in a file.")
def _07_1(answer, seed: int = 7, size: int = 9):
    from .data import maze

    question = maze_question(seed, size)
    try:
        grid = maze.parse(answer, size)
    except maze.MazeError as e:
        raise Wrong(str(e)) from None
    reason = maze.check_answer(maze.parse(question, size), grid)
    if reason is not None:
        raise Wrong(reason)


@exercise("07.2", "the number of augmentations of an ARC task (8 symmetries x colour permutations, black fixed)",
          "Black (colour 0) stays black; the other 9 colours may be permuted in any order (`arc.random_aug`).",
          "8 x 9! = 2,903,040 versions of every task; training samples 1000 of them.")
def _07_2(answer):
    from .data.grids import DIHEDRAL

    got, want = _integer(answer), len(DIHEDRAL) * math.factorial(9)
    if got == len(DIHEDRAL) * math.factorial(10):
        raise Wrong("black is kept: only the 9 other colours are permuted")
    if got == math.factorial(9):
        raise Wrong("that is the colour permutations alone; each also comes in 8 symmetries")
    if got == len(DIHEDRAL) * 9:
        raise Wrong("9 colours can be ordered in 9! ways, not 9")
    if got != want:
        raise Wrong(f"not {got}: multiply the symmetries by the colour permutations")


@exercise("07.3", "undo(grid, aug): map an augmented ARC grid back (aug.k: transform, aug.colours: colour map)",
          "Undo the colour map with its inverse permutation (np.argsort) and the transform with "
          "`grids.inverse_dihedral(grid, k)`: a rotation by 90 degrees is undone by one the other way.",
          "augmentation is exactly invertible, which is what lets the votes of 1000 versions be counted together.")
def _07_3(answer):
    from .data import arc

    fn = _function(answer, "undo")
    rng = np.random.default_rng(3)
    for trial in range(16):
        aug = arc.Aug(trial % 8, (0, *(int(c) for c in rng.permutation(9) + 1)))
        grid = rng.integers(0, 10, size=(3 + trial % 3, 5)).astype(np.int8)
        augmented = aug.apply(grid)
        got = np.asarray(_call(fn, augmented.copy(), aug))
        if got.shape == grid.shape and (got == grid).all():
            continue
        if got.shape == grid.shape and (got == aug.apply(augmented)).all() or (
                got.shape == augmented.shape and (got == augmented).all()):
            raise Wrong(f"with k = {aug.k} your function applies the augmentation instead of undoing it")
        colours_only = np.argsort(np.asarray(aug.colours))[augmented]
        if got.shape == colours_only.shape and (got == colours_only).all() and aug.k:
            raise Wrong(f"the colours are undone but not the transform (k = {aug.k})")
        from .data.grids import dihedral

        if got.shape == grid.shape and (got == dihedral(colours_only, aug.k)).all():
            raise Wrong(f"k = {aug.k}: undo the transform with inverse_dihedral, not dihedral")
        raise Wrong(f"for k = {aug.k} and colours {aug.colours} it does not give the original grid back")



@exercise("08.1", "the mean number of supervision steps per puzzle the TRM's own halting rule spends on `inputs`",
          "`s = model.solve(inputs)` stops each puzzle by the model's rule; `s.steps` is the step (1, 2, ...) at "
          "which each stopped. Average it.",
          "far fewer than N_sup: most puzzles say 'halt' after one or two steps. That is the compute ACT saves.")
def _08_1(answer, model=None, puzzles=None):
    import torch

    if model is None or puzzles is None:
        raise Wrong("call check('08.1', steps, model=trm, puzzles=inputs)")
    got = _number(answer)
    x = torch.as_tensor(np.asarray(puzzles), dtype=torch.long)
    want = model.solve(x).mean_steps
    if abs(got - want) < 1e-3:
        return
    if abs(got - model.config.N_sup) < 1e-3:
        raise Wrong(f"{model.config.N_sup} is what reason spends: every puzzle runs every step. Count where "
                    "each stops instead (model.solve)")
    if abs(got - (want - 1)) < 1e-3:
        raise Wrong("one less than the answer: steps count from 1 (solve's steps), not from 0 (an index)")
    raise Wrong(f"{got:g} is not it: average model.solve(inputs).steps")


@exercise("08.2", "the cheapest threshold of THRESHOLDS within one point of all-steps accuracy on `hard_inputs`",
          "`halting_tradeoff` (section 3) gives every threshold's accuracy and steps from one `reason` run; keep "
          "those within 0.01 of the 'all steps' row and take the one with the fewest mean_steps.",
          "the cheapest stop that costs (almost) nothing: on hard puzzles it has to wait longer than on easy ones.")
def _08_2(answer, model=None, puzzles=None, solutions=None):
    from .evaluate import THRESHOLDS, calibrate_threshold

    if model is None or puzzles is None or solutions is None:
        raise Wrong("call check('08.2', threshold, model=trm, puzzles=hard_inputs, solutions=hard_labels)")
    got = _number(answer)
    c = calibrate_threshold(model, np.asarray(puzzles), np.asarray(solutions), tolerance=0.01)
    rows = {r["threshold"]: r for r in c["table"] if r["threshold"] is not None}
    match = [t for t in THRESHOLDS if abs(t - got) < 1e-9]
    if not match:
        raise Wrong(f"{got:g} is not one of THRESHOLDS {THRESHOLDS}")
    if c["threshold"] is None:
        raise Wrong("no threshold is within one point on these puzzles: then the answer is None")
    r, best = rows[match[0]], rows[c["threshold"]]
    if r["exact_accuracy"] < c["all_steps_accuracy"] - 0.01:
        raise Wrong(f"P >= {got:g} gives {100 * r['exact_accuracy']:.1f}%, more than a point below all steps "
                    f"({100 * c['all_steps_accuracy']:.1f}%)")
    if r["mean_steps"] > best["mean_steps"] + 1e-9:
        raise Wrong(f"P >= {got:g} is within a point but spends {r['mean_steps']:.2f} steps per puzzle; a lower "
                    "threshold spends fewer")


@exercise("09.1", "the perplexity of a model that gives every one of the tokenizer's V tokens the same probability",
          "Each token then has probability 1 / V, so the cross-entropy of every token is log V nats. "
          "Perplexity is exp of the mean cross-entropy.",
          "exp(log V) = V: a model that knows nothing is as unsure as a uniform choice among all V tokens. "
          "Anything below V is learned.")
def _09_1(answer, vocab_size=None):
    if vocab_size is None:
        raise Wrong("call check('09.1', perplexity, vocab_size=tokenizer.vocab_size)")
    got = _number(answer)
    if abs(got - vocab_size) < 1e-6 * vocab_size:
        return
    if abs(got - math.log(vocab_size)) < 1e-3:
        raise Wrong(f"{got:.3f} = log V is the cross-entropy in nats; perplexity is exp of it")
    if abs(got - 1) < 1e-9:
        raise Wrong("1 is the perplexity of a perfect model, sure of every next token")
    raise Wrong(f"{got:g} is not it for V = {vocab_size}")


@exercise("09.2", "with causal attention, how many of a 16-token row's positions can change when token 10 changes",
          "Position t sees tokens 0..t. Which positions see token 10 (positions count from 0)?",
          "positions 10 to 15, six of them: the mask is why a language model can be trained on every position "
          "of a story at once without seeing the answers.")
def _09_2(answer):
    got = _integer(answer)
    if got == 6:
        return
    if got == 10:
        raise Wrong("10 is how many positions (0 to 9) can NOT change: they do not see token 10")
    if got == 16:
        raise Wrong("16 would be non-causal attention, where every position sees every token")
    if got == 5:
        raise Wrong("position 10 sees itself: count it too")
    raise Wrong(f"{got} is not it: count the positions t with t >= 10 in a row of 16")
