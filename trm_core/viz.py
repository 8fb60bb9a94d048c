"""Pictures: training curves, accuracy per supervision step, grids, latent trajectories, halting.

Every function takes data (NumPy arrays, torch tensors, a :class:`~trm_core.recursive.Trace`, the
dicts of :mod:`trm_core.evaluate`) and an optional matplotlib ``ax``, draws, and returns the ax (or
the figure, for pictures of several panels). No global state: pass ``ax`` to place a picture in your
own figure; leave it out and a new pyplot figure is made.

- training: :func:`plot_training_curve`, :func:`plot_per_step_accuracy`
- grids: :func:`draw_sudoku`, :func:`draw_maze`, :func:`draw_arc`, and :func:`plot_steps_grid` (the
  decoded answer after every supervision step, coloured by confidence)
- latent states: :func:`pca`, :func:`plot_latent_trajectories`, :func:`state_distances`,
  :func:`plot_state_distances`
- halting: :func:`plot_halting_histogram`, :func:`plot_calibration`
- text and files: :func:`print_sudoku_steps` (``trm solve``), :func:`save_training_summary` (``trm demo``)
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

CONFIDENCE_CMAP = "RdYlGn"  # red = unsure, green = sure
#: The 10 standard ARC colours (as on the ARC-AGI website): black, blue, red, green, yellow, grey,
#: magenta, orange, sky blue, maroon.
ARC_COLORS = ("#000000", "#0074D9", "#FF4136", "#2ECC40", "#FFDC00",
              "#AAAAAA", "#F012BE", "#FF851B", "#7FDBFF", "#870C25")
#: Maze colours by charset index ("# SGo"): wall, open, start, goal, path.
MAZE_COLORS = ("#2b2b2b", "#ffffff", "#2ca02c", "#d62728", "#ff9f1c")


def _ax(ax, figsize=(5, 3.5)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


def _numpy(x) -> np.ndarray:
    """A torch tensor (any device, any float dtype, as float32) or array-like as a NumPy array."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy() if x.is_floating_point() else x.detach().cpu().numpy()
    return np.asarray(x)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------
def plot_training_curve(history: list[dict], ax=None):
    """Training loss (left axis) and test exact accuracy (right axis) against optimizer steps."""
    ax = _ax(ax)
    train = [r for r in history if r.get("kind") == "train"]
    evals = [r for r in history if r.get("kind") == "eval"]
    if train:
        ax.plot([r["step"] for r in train], [r["loss"] for r in train], color="tab:blue", lw=1)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss", color="tab:blue")
    if evals:
        ax2 = ax.twinx()
        ax2.plot([r["step"] for r in evals], [100 * r["exact_accuracy"] for r in evals], "o-", color="tab:red")
        ax2.set_ylabel("test exact accuracy (%)", color="tab:red")
        ax2.set_ylim(0, 100)
    ax.set_title("training")
    return ax


def plot_per_step_accuracy(per_step: list[float], ax=None, label: str | None = None):
    """Exact accuracy (%) after each supervision step: does thinking longer help?"""
    ax = _ax(ax)
    steps = np.arange(1, len(per_step) + 1)
    ax.plot(steps, 100 * np.asarray(per_step), "o-", label=label)
    ax.set_xlabel("supervision step")
    ax.set_ylabel("exact accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks(steps)
    ax.set_title("accuracy after each supervision step")
    if label:
        ax.legend()
    return ax



def plot_halting_tradeoff(table: list[dict], per_step=None, ax=None, title: str | None = None):
    """Stopping rules as points of accuracy against supervision steps per puzzle (the rows of
    :func:`trm_core.evaluate.halting_tradeoff`), beside the curve of running every puzzle S steps."""
    ax = _ax(ax)
    if per_step is not None:
        xs = np.arange(1, len(per_step) + 1)
        ax.plot(xs, 100 * np.asarray(per_step), "o-", color="gray", alpha=0.7, label="every puzzle runs S steps")
    thr = [r for r in table if r["threshold"] is not None]
    ax.plot([r["mean_steps"] for r in thr], [100 * r["exact_accuracy"] for r in thr], "s-", color="tab:blue",
            label="halt when P(halt) >= t")
    for r in thr[::2]:
        ax.annotate(f"{r['threshold']:g}", (r["mean_steps"], 100 * r["exact_accuracy"]), fontsize=7,
                    xytext=(3, -9), textcoords="offset points")
    marks = {"model": ("*", "tab:orange", "the model's own rule"), "oracle": ("D", "tab:green", "oracle (best stop)")}
    for r in table:
        if r["rule"] in marks:
            m, c, label = marks[r["rule"]]
            ax.plot([r["mean_steps"]], [100 * r["exact_accuracy"]], m, color=c, markersize=11, label=label)
    ax.set_xlabel("supervision steps per puzzle (compute)")
    ax.set_ylabel("exact accuracy (%)")
    ax.set_title(title or "stopping earlier: accuracy against compute")
    ax.legend(fontsize=8, loc="lower right")
    return ax


def plot_compute_curves(rows: list[dict], ax=None, title: str | None = None, n_sup: int | None = None):
    """Accuracy against compute (supervision steps per puzzle, log scale) of each test-time method,
    from rows like those of ``data/thinking_longer.csv`` (``method``, ``mean_steps``,
    ``exact_accuracy``, ...) for one model and one puzzle set."""
    ax = _ax(ax)
    styles = {"steps": ("o-", "gray", "every puzzle runs S steps"),
              "halt": ("s", "tab:blue", "adaptive halting (rule / thresholds)"),
              "calibrated": ("*-", "tab:orange", "calibrated threshold, up to N_sup..16 steps"),
              "noisy": ("^", "tab:purple", "K noisy samples, Q head chooses"),
              "first": ("v-", "tab:red", "K noisy samples, first to halt")}
    for method, (style, colour, label) in styles.items():
        sel = sorted((r for r in rows if r["method"] == method), key=lambda r: float(r["mean_steps"]))
        if sel:
            ax.plot([float(r["mean_steps"]) for r in sel], [100 * float(r["exact_accuracy"]) for r in sel], style,
                    color=colour, label=label, markersize=8 if "*" in style else 6)
    if n_sup:
        ax.axvline(n_sup, color="k", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("supervision steps per puzzle, all samples (log scale)")
    ax.set_ylabel("exact accuracy (%)")
    ax.set_title(title or "accuracy against compute at inference")
    ax.legend(fontsize=7, loc="lower right")
    return ax

# ---------------------------------------------------------------------------------------------
# Grids
# ---------------------------------------------------------------------------------------------
def _sudoku_grid(grid) -> np.ndarray:
    from .data import sudoku

    return sudoku.parse(grid).astype(np.int64)


def _cell_mask(mask, size: int, name: str) -> np.ndarray:
    """A (size, size) bool mask from a mask, a grid or a puzzle string (non-zero cells count)."""
    if isinstance(mask, str):
        from .data import sudoku

        mask = sudoku.parse(mask, size)
    m = _numpy(mask)
    if m.size != size * size:
        raise ValueError(f"{name} has {m.size} cells, expected {size * size} ({size}x{size})")
    return m.reshape(size, size) != 0


def _grid_frame(ax, h: int, w: int, title: str | None) -> None:
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)  # row 0 at the top
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)


def draw_sudoku(grid, ax=None, givens=None, confidence=None, wrong=None, title=None, cmap=CONFIDENCE_CMAP):
    """A Sudoku grid (4x4, 6x6 with 2x3 boxes, or 9x9) with its box lines.

    grid: anything :func:`trm_core.data.sudoku.parse` reads (a string, a flat or (size, size)
    array), 0 or '.' for blank. ``givens``: the puzzle (its non-zero cells) or a bool mask; those
    digits are drawn bold and black on white. The other digits are the model's: ``confidence``
    (size, size) in [0, 1] colours their cells (red = unsure, green = sure). ``wrong`` (a bool mask)
    marks cells in red with a red frame. Cell (r, c) has its centre at x = c + 0.5, y = r + 0.5.
    """
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    from .data import sudoku

    g = _sudoku_grid(grid)
    size = len(g)
    br, bc = sudoku.box_shape(size)
    given = _cell_mask(givens, size, "givens") if givens is not None else np.zeros((size, size), bool)
    bad = _cell_mask(wrong, size, "wrong") if wrong is not None else np.zeros((size, size), bool)
    ax = _ax(ax, figsize=(3.2, 3.2))
    rgba = np.ones((size, size, 4))
    if confidence is not None:
        conf = _numpy(confidence).astype(np.float64)
        if conf.size != size * size:
            raise ValueError(f"confidence has {conf.size} cells, expected {size * size} ({size}x{size})")
        import matplotlib

        shade = matplotlib.colormaps[cmap](Normalize(0, 1)(np.clip(conf.reshape(size, size), 0, 1)))
        shade[..., :3] = 0.45 * shade[..., :3] + 0.55  # pale, so the digits stay readable
        rgba = np.where(given[..., None], rgba, shade)
    ax.imshow(rgba, extent=(0, size, size, 0), interpolation="nearest", zorder=0)
    fontsize = {4: 16, 6: 13, 9: 11}[size]
    for r in range(size):
        for c in range(size):
            d = int(g[r, c])
            if bad[r, c]:
                ax.add_patch(Rectangle((c + 0.06, r + 0.06), 0.88, 0.88, fill=False, ec="#c00000", lw=1.6, zorder=2))
            if d == 0:
                continue
            style = dict(color="black", fontweight="bold") if given[r, c] else dict(color="#1f3b73")
            if bad[r, c]:
                style["color"] = "#c00000"
            ax.text(c + 0.5, r + 0.5, str(d), ha="center", va="center", fontsize=fontsize, zorder=3, **style)
    for i in range(size + 1):  # thin cell lines, thick box lines
        ax.axhline(i, color="black", lw=2.0 if i % br == 0 else 0.5, zorder=4)
        ax.axvline(i, color="black", lw=2.0 if i % bc == 0 else 0.5, zorder=4)
    _grid_frame(ax, size, size, title)
    return ax


def _path_cells(path, n: int) -> tuple[np.ndarray, bool]:
    """(k, 2) (row, col) cells of a path and whether their order means something."""
    p = _numpy(path)
    if p.ndim == 2 and p.shape == (n, n) and p.dtype != object:
        # A bool mask, or a maze grid of charset indices whose 'o' cells are the path.
        from .data.maze import PATH

        mask = p if p.dtype == bool else p == PATH
        return np.argwhere(mask), False
    if p.ndim == 2 and p.shape[1] == 2:
        return p.astype(np.int64), True
    raise ValueError(f"path must be an ({n}, {n}) mask or maze grid, or a list of (row, col) cells; "
                     f"got shape {p.shape}")


def draw_maze(grid, ax=None, path=None, title=None):
    """A maze over the charset "# SGo": walls dark, start green, goal red, path cells orange.

    grid: a maze string or an (n, n) grid of charset indices (see :mod:`trm_core.data.maze`; for
    tokens use ``maze.from_tokens`` first). ``path``, drawn on top as blue dots: an (n, n) bool
    mask, a maze grid (its 'o' cells, e.g. a model's answer), or (row, col) cells in order (also
    joined by a line). A dot on a wall is a path that walks through one.
    """
    from matplotlib.colors import ListedColormap

    from .data import maze

    g = _numpy(grid) if not isinstance(grid, str) else grid
    if not isinstance(g, str) and g.ndim == 1:
        n = int(round(np.sqrt(g.size)))
        g = g.reshape(n, n) if n * n == g.size else g
    g = maze.parse(g)
    n = len(g)
    ax = _ax(ax, figsize=(4, 4))
    ax.imshow(g, cmap=ListedColormap(MAZE_COLORS), vmin=-0.5, vmax=len(MAZE_COLORS) - 0.5,
              extent=(0, n, n, 0), interpolation="nearest")
    if path is not None:
        cells, ordered = _path_cells(path, n)
        if len(cells):
            x, y = cells[:, 1] + 0.5, cells[:, 0] + 0.5
            if ordered:
                ax.plot(x, y, "-", color="#1f77b4", lw=1.5, zorder=3)
            ax.plot(x, y, "o", color="#1f77b4", ms=max(2.0, 120 / n), zorder=4, label="path")
    _grid_frame(ax, n, n, title)
    return ax


def draw_arc(grid, ax=None, title=None):
    """An ARC grid of colours 0-9 in the standard ARC palette, with thin grey cell lines.

    For the model's 30x30 tokens, decode first: ``trm_core.data.arc.decode(tokens)``.
    """
    from matplotlib.colors import ListedColormap

    g = _numpy(grid)
    if g.ndim != 2:
        raise ValueError(f"ARC grid must be 2-D (height, width), got shape {g.shape}")
    if g.size and (g.min() < 0 or g.max() > 9):
        raise ValueError(f"ARC colours must be 0-9, got values from {g.min()} to {g.max()}; "
                         "decode tokens with trm_core.data.arc.decode first")
    h, w = g.shape
    ax = _ax(ax, figsize=(3, 3))
    ax.imshow(g, cmap=ListedColormap(ARC_COLORS), vmin=-0.5, vmax=9.5, extent=(0, w, h, 0), interpolation="nearest")
    for i in range(h + 1):
        ax.axhline(i, color="#555555", lw=0.5)
    for j in range(w + 1):
        ax.axvline(j, color="#555555", lw=0.5)
    _grid_frame(ax, h, w, title)
    return ax


# ---------------------------------------------------------------------------------------------
# The answer after every supervision step
# ---------------------------------------------------------------------------------------------
class SudokuSteps(NamedTuple):
    """A Sudoku answer decoded after every supervision step (one puzzle)."""

    digits: np.ndarray  # (steps, size, size) predicted digits (0 where the model predicts PAD/blank)
    confidence: np.ndarray  # (steps, size, size) probability of the predicted token (stablemax or softmax)
    halt_probability: np.ndarray | None  # (steps,) sigmoid(q_halt), when known


#: How logits become probabilities: "stablemax" for a model trained with the stablemax loss (the
#: published runs and ``TrainConfig``'s default), "softmax" for one trained with ``loss="softmax"``.
PROBS = ("stablemax", "softmax")


def token_probs(logits, probs: str = "stablemax") -> np.ndarray:
    """Logits (..., V) -> float64 probabilities (..., V) over the vocabulary, by stablemax or softmax."""
    if probs not in PROBS:
        raise ValueError(f"probs must be one of {', '.join(PROBS)}, got {probs!r}")
    lg = _numpy(logits).astype(np.float64)
    if probs == "softmax":
        p = np.exp(lg - lg.max(-1, keepdims=True))
        return p / p.sum(-1, keepdims=True)
    import torch

    from .losses import stablemax_probs

    return stablemax_probs(torch.from_numpy(lg), dim=-1).numpy()  # on the raw logits: no shift


def decode_sudoku_steps(trace_or_logits, index: int = 0, q_halt=None, probs: str = "stablemax") -> SudokuSteps:
    """Digits and confidences after each step for puzzle ``index`` of a Trace or of logits.

    Logits: (steps, B, L, V) (pick row ``index``) or (steps, L, V). q_halt: (steps, B) or (steps,)
    logits, taken from the Trace when one is given. The confidence of a digit is its probability
    under ``probs``: "stablemax" (the loss the models train with) or "softmax".
    """
    from .data import sudoku

    logits = getattr(trace_or_logits, "logits", trace_or_logits)
    if q_halt is None:
        q_halt = getattr(trace_or_logits, "q_halt", None)
    lg = _numpy(logits).astype(np.float64)
    if lg.ndim == 4:
        lg = lg[:, index]
    if lg.ndim != 3:
        raise ValueError(f"logits must have shape (steps, B, L, V) or (steps, L, V), got {_numpy(logits).shape}")
    steps, L, _ = lg.shape
    size = int(round(np.sqrt(L)))
    if size * size != L:
        raise ValueError(f"{L} answer positions do not make a square Sudoku grid")
    p = token_probs(lg, probs)  # (steps, L, V)
    tokens = p.argmax(-1)  # the logits' argmax: both maps are increasing
    digits = np.clip(sudoku.from_tokens(tokens), 0, size).reshape(steps, size, size)
    conf = p.max(-1).reshape(steps, size, size)
    halt = None
    if q_halt is not None:
        q = _numpy(q_halt).astype(np.float64)
        q = q[:, index] if q.ndim == 2 else q
        halt = 1 / (1 + np.exp(-q))
    return SudokuSteps(digits.astype(np.int64), conf, halt)


def plot_steps_grid(trace_or_logits, puzzle=None, index: int = 0, solution=None, steps=None, q_halt=None,
                    fig=None, cols: int | None = None, probs: str = "stablemax"):
    """A row of Sudoku grids, the decoded answer y after each supervision step, coloured by confidence.

    trace_or_logits: a :class:`~trm_core.recursive.Trace` or logits (steps, B, L, V) / (steps, L, V);
    ``index`` picks the puzzle of the batch. ``puzzle``: the question (its digits are drawn as
    givens). ``solution``: the answer, to mark wrong cells. ``steps``: which supervision steps to
    show, counted from 1 as in the titles (default all). ``probs``: see :func:`decode_sudoku_steps`.
    Returns the figure.
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    dec = decode_sudoku_steps(trace_or_logits, index, q_halt, probs)
    n_steps, size = dec.digits.shape[0], dec.digits.shape[1]
    shown = list(range(1, n_steps + 1)) if steps is None else [int(s) for s in steps]
    bad = [s for s in shown if not 1 <= s <= n_steps]
    if bad:
        raise ValueError(f"steps {bad} out of range: the trace has supervision steps 1 to {n_steps}")
    givens = _cell_mask(_sudoku_grid(puzzle), size, "puzzle") if puzzle is not None else None
    answer = _sudoku_grid(solution) if solution is not None else None
    cols = cols or min(len(shown), 8)
    rows = -(-len(shown) // cols)
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(2.3 * cols + 0.8, 2.5 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, s in zip(axes, shown):
        digits = dec.digits[s - 1]
        title = f"step {s}" + (f"  P(halt)={dec.halt_probability[s - 1]:.2f}"
                               if dec.halt_probability is not None else "")
        draw_sudoku(digits, ax=ax, givens=givens, confidence=dec.confidence[s - 1],
                    wrong=None if answer is None else digits != answer, title=title)
        ax.title.set_fontsize(9)
    for ax in axes[len(shown):]:
        ax.set_axis_off()
    fig.colorbar(ScalarMappable(Normalize(0, 1), CONFIDENCE_CMAP), ax=list(axes), shrink=0.8,
                 label=f"confidence ({probs} prob.)")
    return fig


# ---------------------------------------------------------------------------------------------
# Latent states: where y and z go across supervision steps
# ---------------------------------------------------------------------------------------------
class PCA(NamedTuple):
    """Principal components of a set of points."""

    coords: np.ndarray  # (N, k) the points in the first k components
    components: np.ndarray  # (k, D) orthonormal directions, largest variance first
    mean: np.ndarray  # (D,) subtracted before projecting
    explained_variance_ratio: np.ndarray  # (k,) share of the total variance along each direction

    def transform(self, x) -> np.ndarray:
        """Project new points (M, D) onto the same components -> (M, k)."""
        return (np.asarray(x, dtype=np.float64) - self.mean) @ self.components.T


def pca(x, k: int = 2) -> PCA:
    """PCA of points x (N, D) by SVD of the centred data (NumPy only).

    Each direction's sign is fixed so that its largest entry is positive (a deterministic answer).
    With fewer than k independent directions the missing ones are zero.
    """
    x = _numpy(x).astype(np.float64)
    if x.ndim != 2:
        raise ValueError(f"pca needs points of shape (N, D), got {x.shape}")
    N, D = x.shape
    if not 1 <= k <= D:
        raise ValueError(f"k must lie in [1, {D}] for {D}-dimensional points, got {k}")
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)  # vt (min(N, D), D)
    comps = np.zeros((k, D))
    var = np.zeros(k)
    m = min(k, len(s))
    comps[:m], var[:m] = vt[:m], s[:m] ** 2
    sign = np.sign(comps[np.arange(k), np.abs(comps).argmax(1)])
    comps *= np.where(sign == 0, 1, sign)[:, None]
    total = (s ** 2).sum()
    ratio = var / total if total > 0 else np.zeros(k)
    return PCA((x - mean) @ comps.T, comps, mean, ratio)


def _states(s, name: str) -> np.ndarray:
    """States (steps, B, L, D) or (steps, L, D) as float64 (steps, B, L, D)."""
    a = _numpy(s).astype(np.float64)
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4:
        raise ValueError(f"{name} must have shape (steps, B, L, D) or (steps, L, D), got {a.shape}; "
                         "run model.reason(..., keep_states=True)")
    return a


def pooled_states(s) -> np.ndarray:
    """Mean over positions: (steps, B, L, D) -> (steps, B, D)."""
    return _states(s, "states").mean(2)


def latent_pca(y, z=None, k: int = 2) -> tuple[np.ndarray, np.ndarray | None, PCA]:
    """One PCA of the pooled y and z of every step and puzzle, so both share the same axes.

    Returns y in those axes (steps, B, k), z likewise (or None) and the PCA.
    """
    py = pooled_states(y)
    pz = pooled_states(z) if z is not None else None
    if pz is not None and pz.shape != py.shape:
        raise ValueError(f"y and z differ in shape: {py.shape} and {pz.shape}")
    pts = py.reshape(-1, py.shape[-1]) if pz is None else np.concatenate([py, pz]).reshape(-1, py.shape[-1])
    fit = pca(pts, k)
    return fit.transform(py), None if pz is None else fit.transform(pz), fit


def plot_latent_trajectories(y, z=None, ax=None, puzzles=None, highlight: int | None = None, max_puzzles: int = 8):
    """Where the answer y and the latent z travel across supervision steps (PCA of pooled states).

    y, z: (steps, B, L, D) states from ``model.reason(..., keep_states=True)`` (``trace.y``,
    ``trace.z``; a Trace may be passed as ``y``). Each puzzle is a colour: y solid with circles, z
    dashed with squares; the first step is labelled 1, the last its number. ``puzzles``: which rows
    to draw (default the first ``max_puzzles``); ``highlight``: one row drawn bold, the others faint.
    """
    if z is None and hasattr(y, "z"):
        y, z = y.y, y.z
    if y is None:
        raise ValueError("no states: run model.reason(..., keep_states=True)")
    ys, zs, fit = latent_pca(y, z)
    steps, B = ys.shape[:2]
    rows = list(range(min(B, max_puzzles))) if puzzles is None else [int(b) for b in puzzles]
    if highlight is not None and highlight not in rows:
        rows.append(int(highlight))
    ax = _ax(ax, figsize=(5, 4))
    colors = [f"C{i % 10}" for i in range(len(rows))]
    for color, b in zip(colors, rows):
        faint = highlight is not None and b != highlight
        kw = dict(color=color, alpha=0.25 if faint else 1.0, lw=1 if faint else 2)
        for pts, style, marker, name in ((ys[:, b], "-", "o", "y"), (None if zs is None else zs[:, b], "--", "s", "z")):
            if pts is None:
                continue
            ax.plot(pts[:, 0], pts[:, 1], style, marker=marker, ms=3 if faint else 5, label=f"{name} puzzle {b}", **kw)
            if not faint:
                ax.annotate("1", pts[0], fontsize=8, xytext=(3, 3), textcoords="offset points")
                ax.annotate(str(steps), pts[-1], fontsize=8, xytext=(3, 3), textcoords="offset points")
    ev = fit.explained_variance_ratio
    ax.set_xlabel(f"PC 1 ({100 * ev[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC 2 ({100 * ev[1]:.0f}% of variance)" if len(ev) > 1 else "")
    ax.set_title("latent trajectories (y solid, z dashed)")
    if len(rows) <= 4:
        ax.legend(fontsize=7)
    return ax


def state_distances(s, relative: bool = False) -> np.ndarray:
    """How far a state moves in each supervision step: ||s_t - s_(t-1)|| (Frobenius norm over
    positions and features), mean over puzzles, for t = 2 .. steps -> (steps - 1,).

    ``relative`` divides each puzzle's distance by ||s_(t-1)||. Shrinking distances = converging.
    """
    a = _states(s, "states")
    diff = np.sqrt(((a[1:] - a[:-1]) ** 2).sum((2, 3)))  # (steps - 1, B)
    if relative:
        diff = diff / np.maximum(np.sqrt((a[:-1] ** 2).sum((2, 3))), 1e-12)
    return diff.mean(1)


def plot_state_distances(y, z=None, ax=None, relative: bool = False, label: str | None = None, **plot_kw):
    """Distance between successive states, per supervision step, for y (and z): do they settle?

    y, z: (steps, B, L, D) (or (steps, L, D) for one puzzle; a Trace may be passed as ``y``). The
    point at step t is ||s_t - s_(t-1)||, mean over puzzles (see :func:`state_distances`).
    """
    if z is None and hasattr(y, "z"):
        y, z = y.y, y.z
    ax = _ax(ax)
    prefix = f"{label}: " if label else ""
    for s, name, color in ((y, "y", "tab:blue"), (z, "z", "tab:orange")):
        if s is None:
            continue
        d = state_distances(s, relative)
        steps = np.arange(2, len(d) + 2)
        kw = dict(color=color, marker="o")
        kw.update(plot_kw)
        ax.plot(steps, d, label=f"{prefix}{name}: |{name}_t - {name}_t-1|", **kw)
        if len(steps):
            ax.set_xticks(steps)
    ax.set_xlabel("supervision step t")
    ax.set_ylabel("relative distance" if relative else "distance")
    # From 0 to above every curve on the axes, including those of earlier calls on the same ax.
    highest = max((np.nanmax(line.get_ydata()) for line in ax.get_lines() if len(line.get_ydata())), default=1.0)
    ax.set_ylim(0, 1.05 * highest if highest > 0 else 1.0)
    ax.set_title("state change per step")
    ax.legend(fontsize=8, loc="lower left")
    return ax


# ---------------------------------------------------------------------------------------------
# Halting
# ---------------------------------------------------------------------------------------------
def plot_halting_histogram(hist_or_metrics, ax=None):
    """At which supervision step q_halt first says "done" (the last bar: it never did).

    Takes ``metrics["halt_step_histogram"]`` from :func:`trm_core.evaluate.evaluate` (counts for
    steps 1..N, then never) or the metrics dict itself.
    """
    metrics = hist_or_metrics if isinstance(hist_or_metrics, dict) else None
    counts = np.asarray(metrics["halt_step_histogram"] if metrics is not None else hist_or_metrics, dtype=np.float64)
    if counts.ndim != 1 or len(counts) < 2:
        raise ValueError("a halting histogram needs counts for steps 1..N and a last 'never halted' bucket")
    n = len(counts) - 1
    ax = _ax(ax)
    x = np.arange(1, n + 2)
    ax.bar(x[:-1], counts[:-1], color="tab:blue", label="halted at step")
    ax.bar(x[-1:], counts[-1:], color="tab:gray", label="never halted")
    ax.set_xticks(x)
    ax.set_xticklabels([str(s) for s in range(1, n + 1)] + ["never"])
    ax.set_xlabel("supervision step of the first q_halt > 0")
    ax.set_ylabel("puzzles")
    title = "when the model stops"
    if metrics is not None and "mean_halt_step" in metrics:
        title += f"\nmean step {metrics['mean_halt_step']:.1f}"
        if "accuracy_at_halt" in metrics:
            title += f", exact at halt {100 * metrics['accuracy_at_halt']:.0f}%"
    ax.set_title(title)
    return ax


def plot_calibration(calibration_bins, ax=None):
    """Is P(halt) = sigmoid(q_halt) an honest probability of being right? Dots on the diagonal: yes.

    Takes ``metrics["q_halt_calibration"]`` (a list of bins with mean_confidence, fraction_correct
    and count) or the metrics dict itself. Dot area grows with the number of puzzles in the bin.
    """
    bins = calibration_bins["q_halt_calibration"] if isinstance(calibration_bins, dict) else calibration_bins
    ax = _ax(ax, figsize=(4, 4))
    ax.plot([0, 1], [0, 1], "--", color="gray", lw=1, label="perfectly calibrated")
    if bins:
        conf = np.array([b["mean_confidence"] for b in bins])
        frac = np.array([b["fraction_correct"] for b in bins])
        count = np.array([b.get("count", 1) for b in bins], dtype=np.float64)
        ax.plot(conf, frac, "-", color="tab:red", lw=1)
        ax.scatter(conf, frac, s=20 + 200 * count / count.max(), color="tab:red", zorder=3, label="q_halt")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("P(halt) = sigmoid(q_halt), mean in bin")
    ax.set_ylabel("fraction solved exactly")
    ax.set_title("halting calibration")
    ax.legend(fontsize=8, loc="upper left")
    return ax


def print_sudoku_steps(model, puzzle: str, steps: int | None = None, file=None, halt_threshold: float | None = None,
                       stop: bool = False) -> dict:
    """Print a Sudoku being solved, one supervision step at a time, as text (``trm solve``), and the
    step at which the halting rule (the model's, or P(halt) >= ``halt_threshold``) stops it; with
    ``stop``, print no step after that one.

    Returns the trace, the last grid printed, whether it is a valid solution and the halting step."""
    import sys

    import torch

    from .data import sudoku
    from .evaluate import halt_steps

    file = file or sys.stdout
    size = int(round(model.config.seq_len ** 0.5))
    grid = sudoku.validate_puzzle(puzzle, size)
    tokens = torch.as_tensor(sudoku.to_tokens(grid.reshape(1, -1)))
    trace = model.reason(tokens, steps=steps)
    steps_run = trace.logits.shape[0]
    first = int(halt_steps(trace.q_halt.cpu().numpy(), trace.q_continue.cpu().numpy(), model.config.act_continue,
                           halt_threshold)[0])  # 0-based; steps_run if it never halts
    halted = first < steps_run
    halt_step = first + 1 if halted else steps_run  # where model.solve stops
    print("puzzle:", file=file)
    print(sudoku.pretty(grid), file=file)
    prev = None
    for s in range(halt_step if stop else trace.logits.shape[0]):
        pred = np.clip(sudoku.from_tokens(trace.predictions[s, 0].cpu().numpy()), 0, size).reshape(size, size)
        changed = 0 if prev is None else int((pred != prev).sum())
        ok = not sudoku.conflicts(pred) and (pred > 0).all() and ((grid == 0) | (grid == pred)).all()
        p_halt = float(trace.halt_probability[s, 0])
        print(f"\nstep {s + 1}: P(halt)={p_halt:.2f}  {'valid solution' if ok else 'not yet valid'}"
              + (f"  ({changed} cells changed)" if prev is not None else ""), file=file)
        print(sudoku.pretty(pred), file=file)
        prev = pred
    rule = "the model's halting rule" if halt_threshold is None else f"P(halt) >= {halt_threshold:g}"
    print(f"\n{rule}: " + (f"stops at step {halt_step} of {steps_run}" if halted else
                            f"never halts in {steps_run} steps; the answer is the last step's"), file=file)
    return {"trace": trace, "final": prev, "valid": ok, "halt_step": halt_step}


def save_training_summary(history: list[dict], metrics: dict, path) -> None:
    """Save the training curve and the accuracy after each supervision step side by side as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    plot_training_curve(history, ax=axes[0])
    plot_per_step_accuracy(metrics["per_step_exact"], ax=axes[1])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# Pictures for a slide: the flow of one supervision step, HRM vs TRM, an animated solve
# ---------------------------------------------------------------------------------------------
FLOW_COLORS = {"z": "tab:orange", "y": "tab:blue", "x": "#7f7f7f"}


class FlowBox(NamedTuple):
    cycle: int  # 1..T
    state: str  # "z" (TRM's z, HRM's z_L) or "y" (TRM's y, HRM's z_H)
    update: int  # 1..n for z, 1 for y
    grad: bool  # back-propagated through
    text: str


def flow_boxes(arch: str = "trm", n: int = 3, T: int = 3) -> list[FlowBox]:
    """The network calls of one supervision step, in order, with the gradient each receives.

    TRM: every call of its one network in the last cycle has gradients. HRM: only the last L and the
    last H update (the one-step gradient)."""
    if arch not in ("trm", "hrm"):
        raise ValueError(f"arch must be 'trm' or 'hrm', got {arch!r}")
    if n < 1 or T < 1:
        raise ValueError(f"n and T must be at least 1, got n={n}, T={T}")
    hrm = arch == "hrm"
    z_text = "z_L = L(z_L + z_H + x)" if hrm else "z = net(x + y + z)"
    y_text = "z_H = H(z_H + z_L)" if hrm else "y = net(y + z)"
    boxes = []
    for c in range(1, T + 1):
        for k in range(1, n + 1):
            grad = c == T and (k == n or not hrm)
            boxes.append(FlowBox(c, "z", k, grad, z_text))
        boxes.append(FlowBox(c, "y", 1, c == T, y_text))
    return boxes


def draw_flow(arch: str = "trm", n: int = 3, T: int = 3, ax=None, max_updates: int = 3):
    """A drawn diagram of one supervision step: how x, y and z (HRM: x, z_H, z_L) flow through the
    network calls, which calls get gradients, and what leaves the step (answer, halting, carry).

    Three lanes: x on top, z (z_L) in the middle, y (z_H) below. Each box is one network call;
    pale boxes run under no_grad. Cycles with more than ``max_updates`` z updates are drawn with
    "..." but labelled with the real n. Returns the ax.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    hrm = arch == "hrm"
    boxes = flow_boxes(arch, n, T)
    ax = _ax(ax, figsize=(11, 3.6))
    lane = {"x": 2.0, "z": 1.0, "y": 0.0}
    names = {"x": "x (question)", "z": "z_L (low level)" if hrm else "z (latent)",
             "y": "z_H (high level)" if hrm else "y (answer)"}
    pos, col = [], 0.0  # x position of every drawn box (None for calls hidden behind "...")
    for b in boxes:
        if b.state == "z" and max_updates < b.update < n:
            pos.append(None)
            continue
        if b.state == "z" and b.update == n and n > max_updates:
            col += 0.6  # room for the "..."
        pos.append(col)
        col += 1.0
        if b.state == "y":
            col += 0.5  # a gap between cycles
    end = col
    drawn = []
    for b, x0 in zip(boxes, pos):
        if x0 is None:
            continue
        colour = FLOW_COLORS[b.state]
        ax.add_patch(FancyBboxPatch((x0 + 0.05, lane[b.state] - 0.3), 0.8, 0.6, boxstyle="round,pad=0.02",
                                    fc=colour, ec="black" if b.grad else colour, lw=1.8 if b.grad else 0.5,
                                    alpha=1.0 if b.grad else 0.3))
        label = ("L" if hrm else "net") if b.state == "z" else ("H" if hrm else "net")
        ax.text(x0 + 0.45, lane[b.state], f"{label}\n{b.state}{b.update}" if b.state == "z" else label,
                ha="center", va="center", fontsize=8, color="white" if b.grad else "black")
        drawn.append(b)
        if b.state == "z":  # x comes down into every z update
            ax.add_patch(FancyArrowPatch((x0 + 0.45, lane["x"] - 0.25), (x0 + 0.45, lane["z"] + 0.32),
                                         arrowstyle="->", color=FLOW_COLORS["x"], lw=0.8, mutation_scale=8))
        else:  # z goes into the y update
            ax.add_patch(FancyArrowPatch((x0 + 0.2, lane["z"] - 0.32), (x0 + 0.45, lane["y"] + 0.32),
                                         arrowstyle="->", color=FLOW_COLORS["z"], lw=0.8, mutation_scale=8))
        if b.state == "z" and b.update == n and n > max_updates:
            ax.text(x0 - 0.3, lane["z"], "...", ha="center", va="center", fontsize=12)
    for c in range(1, T + 1):  # bracket each cycle, and say whether it learns
        xs = [p for b, p in zip(boxes, pos) if p is not None and b.cycle == c]
        left, right = min(xs), max(xs) + 0.9
        learns = c == T
        ax.plot([left, right], [-0.55, -0.55], color="black" if learns else "gray", lw=1.2)
        ax.text((left + right) / 2, -0.8, f"cycle {c} of {T}: " + (
            ("last L and H get gradients" if hrm else "gradients") if learns else "no grad"),
            ha="center", va="top", fontsize=8, color="black" if learns else "gray")
    ax.add_patch(FancyBboxPatch((-0.1, lane["x"] - 0.25), end - 0.3, 0.5, boxstyle="round,pad=0.02",
                                fc="#e6e6e6", ec="none"))
    ax.text((end - 0.4) / 2, lane["x"], f"each cycle: {boxes[0].text}, n = {n} times; then {boxes[n].text}",
            ha="center", va="center", fontsize=8, color="#404040")
    for s in ("x", "z", "y"):
        ax.text(-0.3, lane[s], names[s], ha="right", va="center", fontsize=9, color=FLOW_COLORS[s])
    out = end + 0.2
    ax.text(out, 0.0, f"{'z_H' if hrm else 'y'} -> output head: answer\n"
            f"{'z_H' if hrm else 'y'} -> Q head: halt?" + (" (and q_continue:\n   one more pass)" if hrm else ""),
            ha="left", va="center", fontsize=8)
    ax.text(out, 1.0, "(y, z) detached:\nthe carry into the\nnext supervision step" if not hrm else
            "(z_H, z_L) detached:\nthe carry into the\nnext supervision step", ha="left", va="center", fontsize=8)
    calls, grads = len(boxes), sum(b.grad for b in boxes)
    ax.set_title(f"{'HRM' if hrm else 'TRM'}, one supervision step (n={n}, T={T}): {calls} network calls, "
                 f"{grads} back-propagated" + (" (two networks, L and H)" if hrm else " (one network)"), fontsize=10)
    ax.set_xlim(-2.6, end + 3.2)
    ax.set_ylim(-1.2, 2.5)
    ax.axis("off")
    ax.flow_boxes = drawn  # what was drawn, for tests and for readers of the figure
    return ax


class Table(NamedTuple):
    columns: list
    rows: list  # one list of cells per row, the first cell the row's name


def comparison_table() -> Table:
    """HRM against TRM as published: networks, depth, gradients, halting, EMA, parameters (counted
    by building the published presets) and the TRM paper's results."""
    from .models import build_model

    hrm, mlp, att = (build_model(name) for name in ("hrm-sudoku", "trm-mlp-sudoku", "trm-att-sudoku"))
    h, t = hrm.config, mlp.config
    h_calls, t_calls = h.T * (h.n + 1), t.T * (t.n + 1)
    rows = [
        ["networks", "2 (L and H)", "1"],
        ["layers per network", f"{h.layers} (L) and {h.h_layers} (H)", f"{t.layers}"],
        ["parameters (Sudoku)", f"{hrm.num_parameters():,}", f"{mlp.num_parameters():,} (MLP), "
                                                             f"{att.num_parameters():,} (attention)"],
        ["updates per supervision step", f"T={h.T} cycles of n={h.n} L + 1 H", f"T={t.T} cycles of n={t.n} z + 1 y"],
        ["effective depth per step", f"{h.effective_depth} layers", f"{t.effective_depth} layers"],
        ["network calls back-propagated", f"2 of {h_calls} (one-step gradient)",
         f"{t.n + 1} of {t_calls} (last cycle)"],
        ["ACT passes per training step", "2 (Q-learning continue target)", "1 (halt only)"],
        ["EMA of weights", "no", f"yes ({0.999})"],
        ["Sudoku-Extreme (exact)", "55.0%", "87.4% (MLP), 74.7% (attention)"],
        ["Maze-Hard (exact)", "74.5%", "85.3% (attention)"],
        ["ARC-AGI-1 / ARC-AGI-2 (pass@2)", "40.3% / 5.0%", "44.6% / 7.8% (attention)"],
    ]
    return Table(["", "HRM", "TRM"], rows)


def comparison_markdown(table: Table | None = None) -> str:
    """The comparison as a Markdown table (for a notebook's Markdown output or a slide)."""
    table = table or comparison_table()
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def draw_comparison_table(table: Table | None = None, ax=None):
    """The comparison drawn with matplotlib's table, for a slide. Returns the ax."""
    table = table or comparison_table()
    ax = _ax(ax, figsize=(11, 0.38 * (len(table.rows) + 1) + 0.3))
    ax.axis("off")
    drawn = ax.table(cellText=[row for row in table.rows], colLabels=table.columns, loc="center", cellLoc="left",
                     colWidths=[0.3, 0.3, 0.4])
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(9)
    drawn.scale(1, 1.35)
    for (r, c), cell in drawn.get_celld().items():
        if r == 0 or c == 0:
            cell.set_text_props(fontweight="bold")
    ax.set_title("HRM and TRM as published (TRM paper, arXiv 2510.04871)", fontsize=10)
    return ax


def animate_solve(trace_or_logits, puzzle=None, index: int = 0, solution=None, interval: int = 700,
                  probs: str = "stablemax"):
    """A matplotlib animation of the answer after each supervision step, one frame per step:
    the grid coloured by confidence, givens bold, wrong cells framed when ``solution`` is given.
    Show it with :func:`animation_html`; ``anim.frame_texts`` holds each frame's title."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    dec = decode_sudoku_steps(trace_or_logits, index, probs=probs)
    steps = len(dec.digits)
    answer = None if solution is None else _sudoku_grid(solution)
    fig, ax = plt.subplots(figsize=(4, 4.3))
    titles = []
    for k in range(steps):
        wrong = None if answer is None else dec.digits[k] != answer
        titles.append(f"step {k + 1} / {steps}" + ("" if wrong is None else f": {int(wrong.sum())} cells wrong"))

    def frame(k):
        ax.clear()
        wrong = None if answer is None else dec.digits[k] != answer
        draw_sudoku(dec.digits[k], ax=ax, givens=puzzle, confidence=dec.confidence[k], wrong=wrong, title=titles[k])
        return list(ax.texts)

    anim = FuncAnimation(fig, frame, frames=steps, interval=interval, repeat=True, blit=False)
    anim.frame_texts, anim.decoded = titles, dec
    frame(0)
    return anim


def animation_html(anim):
    """An object that plays ``anim`` in JupyterLab, Colab and a static book (JavaScript, no ffmpeg);
    the figure is closed so that it is not shown a second time as a still."""
    import matplotlib.pyplot as plt
    from IPython.display import HTML

    html = anim.to_jshtml(default_mode="loop")
    plt.close(anim._fig)
    return HTML(html)
