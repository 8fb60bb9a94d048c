"""Interactive explorers for notebooks: a pure ``render(...)`` plus thin ipywidgets wiring.

Each explorer is a small class. ``render(...)`` takes plain values (which puzzle, which step, n, T),
runs the model if it has to (traces are cached), draws a matplotlib Figure (not registered with
pyplot, so nothing leaks) and keeps it in ``last_figure``, with a one-paragraph summary in
``last_text`` and the numbers in ``last_info``. It needs no browser, so the tests call it directly.
``widget()`` builds sliders and an Output that call ``render`` whenever a value changes; the
figure is shown as a PNG, so it works with ``%matplotlib inline`` on Colab and JupyterLab alike.

    ex = SudokuStepExplorer(model, task.test)   # or a list of puzzle strings / grids
    ex                                          # shows the widget, open on a puzzle whose answer changes
    ex.render(puzzle_index=0, step=3, n=8)      # the same picture, without widgets

ipywidgets is imported only inside ``widget()``: ``import trm_core.widgets`` works without it.
"""
from __future__ import annotations

import io
from collections import OrderedDict

import numpy as np
import torch

from . import viz
from .data import sudoku
from .recursive import recursion_settings


def _read_puzzles(puzzles, solutions) -> tuple[list[np.ndarray], list | None]:
    """Questions and (maybe) answers as lists of (size, size) digit grids, from any of: a Split
    (token ids), a SudokuSet, a list of ``sudoku.Puzzle``, a list of strings or grids, an array."""
    if hasattr(puzzles, "inputs") and hasattr(puzzles, "labels"):  # a data Split: tokens
        questions = [sudoku.from_tokens(row) for row in np.asarray(puzzles.inputs)]
        if solutions is None:
            solutions = [sudoku.from_tokens(row) for row in np.asarray(puzzles.labels)]
    elif hasattr(puzzles, "questions") and hasattr(puzzles, "answers"):  # a SudokuSet
        questions = list(np.asarray(puzzles.questions))
        if solutions is None:
            solutions = list(np.asarray(puzzles.answers))
    else:
        items = list(puzzles)
        if items and all(hasattr(p, "question") and hasattr(p, "answer") for p in items):  # sudoku.Puzzle
            questions = [p.question for p in items]
            if solutions is None:
                solutions = [p.answer for p in items]
        else:
            questions = items
    if not questions:
        raise ValueError("no puzzles to explore")
    grids = []
    for i, q in enumerate(questions):
        try:
            grids.append(sudoku.parse(q).astype(np.int64))
        except sudoku.SudokuError as e:
            raise sudoku.SudokuError(f"puzzle {i}: {e}") from None
    sols = None
    if solutions is not None:
        sols = [sudoku.parse(s, len(g)).astype(np.int64) for s, g in zip(solutions, grids)]
        if len(sols) != len(grids):
            raise ValueError(f"{len(grids)} puzzles but {len(sols)} solutions")
    return grids, sols


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


class _Explorer:
    """What the explorers share: puzzles, cached traces under chosen n and T, and the wiring."""

    max_cached = 64

    def __init__(self, model, puzzles, solutions=None, steps: int | None = None, start="changing"):
        self.model = model
        self.questions, self._solutions = _read_puzzles(puzzles, solutions)
        cells = model.config.seq_len
        for i, q in enumerate(self.questions):
            if q.size != cells:
                raise ValueError(f"puzzle {i} is {len(q)}x{len(q)} ({q.size} cells) but the model reads {cells} cells")
        self.steps = int(steps or model.config.N_sup)
        self._traces: OrderedDict = OrderedDict()
        self._solved: dict[int, np.ndarray | None] = {}
        self.controls: dict = {}
        self.output = None
        self._box = None
        self.last_figure = None
        self.last_text = ""
        self.last_info: dict = {}
        self._changing: list[int] | None = None
        if start != "changing":
            self._index(start)
        self._start = start

    @property
    def start_index(self) -> int:
        """The puzzle the widget opens on: by default the first whose answer changes over the steps
        (a trained model solves most puzzles at step 1, and then there is nothing to watch)."""
        if self._start != "changing":
            return int(self._start)
        return (self.changing_puzzles() or [0])[0]

    def changing_puzzles(self) -> list[int]:
        """Puzzles whose decoded answer changes from one supervision step to another (model's n and T)."""
        if self._changing is None:
            pred = self._reason(list(range(len(self))), *self._settings(None, None), keep_states=False).predictions
            self._changing = np.flatnonzero((pred[1:] != pred[:-1]).any(-1).any(0).cpu().numpy()).tolist()
        return self._changing

    def __len__(self) -> int:
        return len(self.questions)

    def solution(self, i: int) -> np.ndarray | None:
        """The answer of puzzle ``i``: the one given, else found by the solver (None if none)."""
        if self._solutions is not None:
            return self._solutions[i]
        if i not in self._solved:
            self._solved[i] = sudoku.solve(self.questions[i]).grid
        return self._solved[i]

    def _settings(self, n, T) -> tuple[int, int]:
        cfg = self.model.config
        return int(cfg.n if n is None else n), int(cfg.T if T is None else T)

    def _index(self, i) -> int:
        i = int(i)
        if not 0 <= i < len(self):
            raise IndexError(f"puzzle_index {i} out of range: there are {len(self)} puzzles (0 to {len(self) - 1})")
        return i

    def _reason(self, rows: list[int], n: int, T: int, keep_states: bool):
        key = (tuple(rows), n, T, keep_states)
        if key not in self._traces:
            tokens = torch.as_tensor(sudoku.to_tokens(np.stack([self.questions[i].reshape(-1) for i in rows])))
            with recursion_settings(self.model, n=n, T=T):
                self._traces[key] = self.model.reason(tokens, steps=self.steps, keep_states=keep_states)
            while len(self._traces) > self.max_cached:
                self._traces.popitem(last=False)
        self._traces.move_to_end(key)
        return self._traces[key]

    # Wiring ---------------------------------------------------------------------------------
    def _puzzle_options(self) -> list[tuple[str, int]]:
        changing = set(self.changing_puzzles())
        return [(f"puzzle {i} ({int((q == 0).sum())} blanks{', answer changes' if i in changing else ''})", i)
                for i, q in enumerate(self.questions)]

    def _recursion_sliders(self, W) -> dict:
        cfg = self.model.config
        style = {"description_width": "initial"}
        return {
            "n": W.IntSlider(value=cfg.n, min=1, max=max(8, 2 * cfg.n), description="n (z updates)",
                             continuous_update=False, style=style),
            "T": W.IntSlider(value=cfg.T, min=1, max=max(4, 2 * cfg.T), description="T (cycles)",
                             continuous_update=False, style=style),
        }

    def _controls(self, W) -> dict:
        raise NotImplementedError

    def _layout(self, W):
        c = list(self.controls.values())
        return W.VBox([W.HBox(c[:2]), W.HBox(c[2:]), self.output])

    def widget(self):
        """The ipywidgets box: controls and an Output that re-renders on every change (built once)."""
        if self._box is None:
            try:
                import ipywidgets as W
            except ImportError:
                raise ImportError("the explorers' widgets need ipywidgets: pip install 'trm_core[notebooks]' "
                                  "(render(...) works without it)") from None

            self.controls = self._controls(W)
            self.output = W.Output()
            for control in self.controls.values():
                control.observe(self._on_change, names="value")
            self._box = self._layout(W)
            self._on_change()
        return self._box

    def _on_change(self, change=None) -> None:
        values = {name: control.value for name, control in self.controls.items()}
        try:
            fig = self.render(**values)
        except Exception as e:  # show the error where the picture was, keep the widget alive
            fig, self.last_figure, self.last_text = None, None, f"error: {e}"
        self._show(fig, self.last_text)

    def _show(self, fig, text: str) -> None:
        """Put the figure (as a PNG, whatever the matplotlib backend) and the text in the Output."""
        from IPython import get_ipython
        from IPython.display import Image, clear_output, display

        if get_ipython() is None:  # no notebook or console to show it in (a script, a test)
            return
        with self.output:
            clear_output(wait=True)
            if fig is not None:
                display(Image(data=_png(fig), format="png"))
            print(text)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget()._repr_mimebundle_(**kwargs)


class SudokuStepExplorer(_Explorer):
    """Slide through the supervision steps of a Sudoku being solved; change n and T at inference.

    puzzles: a data Split (``task.test``), a SudokuSet, a list of ``sudoku.Puzzle``, of puzzle
    strings or of grids. ``solutions`` (optional; taken from the Split/SudokuSet/Puzzles, else found
    by the solver) mark the wrong cells. ``steps``: supervision steps to run (default ``N_sup``).
    """

    def trace(self, puzzle_index: int = 0, n: int | None = None, T: int | None = None):
        """The Trace of one puzzle under n and T (cached)."""
        n, T = self._settings(n, T)
        return self._reason([self._index(puzzle_index)], n, T, keep_states=False)

    def render(self, puzzle_index: int = 0, step: int | None = None, n: int | None = None, T: int | None = None):
        """The answer after supervision ``step`` (from 1) as a grid, beside the per-step curves."""
        i = self._index(puzzle_index)
        n, T = self._settings(n, T)
        step = self.steps if step is None else int(step)
        if not 1 <= step <= self.steps:
            raise ValueError(f"step {step} out of range: this explorer runs supervision steps 1 to {self.steps}")
        dec = viz.decode_sudoku_steps(self.trace(i, n, T), 0)
        question, answer = self.questions[i], self.solution(i)
        blanks = question == 0
        digits = dec.digits[step - 1]
        wrong = None if answer is None else digits != answer

        fig = _figure(9.0, 3.8)
        ax_grid, ax_curve = fig.subplots(1, 2, width_ratios=[1, 1.25])
        viz.draw_sudoku(digits, ax=ax_grid, givens=question, confidence=dec.confidence[step - 1], wrong=wrong,
                        title=f"puzzle {i}: step {step} of {self.steps}  (n={n}, T={T})")
        ax_grid.title.set_fontsize(10)
        x = np.arange(1, self.steps + 1)
        conf = [float(c[blanks].mean()) if blanks.any() else 1.0 for c in dec.confidence]
        ax_curve.plot(x, conf, "o-", color="tab:green", label="mean confidence (blanks)")
        if answer is not None:
            right = [float((d == answer)[blanks].mean()) if blanks.any() else 1.0 for d in dec.digits]
            ax_curve.plot(x, right, "o-", color="tab:blue", label="blanks filled correctly")
        ax_curve.plot(x, dec.halt_probability, "s--", color="tab:red", label="P(halt)")
        ax_curve.axvline(step, color="gray", lw=6, alpha=0.25)
        ax_curve.set_xticks(x)
        ax_curve.set_ylim(-0.03, 1.03)
        ax_curve.set_xlabel("supervision step")
        ax_curve.set_title(f"depth per step: T(n+1) x layers = {T * (n + 1) * self.model.config.layers}", fontsize=10)
        ax_curve.legend(fontsize=8, loc="best")

        prev = dec.digits[step - 2] if step > 1 else None
        keeps_givens = ((question == 0) | (question == digits)).all()
        info = dict(puzzle_index=i, step=step, n=n, T=T, halt_probability=float(dec.halt_probability[step - 1]),
                    changed=None if prev is None else int((digits != prev).sum()),
                    wrong=None if wrong is None else int(wrong.sum()),
                    valid=bool((digits > 0).all() and keeps_givens and not sudoku.conflicts(digits)))
        text = (f"puzzle {i}, step {step} of {self.steps} with n={n}, T={T}: P(halt)={info['halt_probability']:.2f}"
                + ("" if prev is None else f", {info['changed']} cells changed since step {step - 1}")
                + ("" if wrong is None else f", {info['wrong']} cells wrong")
                + (", a valid solution" if info["valid"] else ", not a valid solution yet") + ".")
        self.last_figure, self.last_text, self.last_info = fig, text, info
        return fig

    def _controls(self, W) -> dict:
        return {
            "puzzle_index": W.Dropdown(options=self._puzzle_options(), value=self.start_index, description="puzzle"),
            "step": W.IntSlider(value=self.steps, min=1, max=self.steps, description="step"),
            **self._recursion_sliders(W),
        }


class LatentExplorer(_Explorer):
    """Where y and z travel across supervision steps (PCA of the pooled states) and how far they move
    per step, for one puzzle among the first ``max_puzzles`` (drawn faint for comparison).

    The PCA is fitted on every puzzle's states at once, so the axes stay put when you change puzzle.
    """

    def __init__(self, model, puzzles, solutions=None, steps: int | None = None, max_puzzles: int = 16,
                 start="changing"):
        super().__init__(model, puzzles, solutions, steps, start)
        self.questions = self.questions[:max_puzzles]
        if self._solutions is not None:
            self._solutions = self._solutions[:max_puzzles]
        self._index(self.start_index)

    def trace(self, n: int | None = None, T: int | None = None):
        """The Trace (with states) of all the explorer's puzzles under n and T (cached)."""
        n, T = self._settings(n, T)
        return self._reason(list(range(len(self))), n, T, keep_states=True)

    def render(self, puzzle_index: int = 0, n: int | None = None, T: int | None = None):
        """PCA trajectories (the chosen puzzle bold) and the state distances per step."""
        i = self._index(puzzle_index)
        n, T = self._settings(n, T)
        tr = self.trace(n, T)
        fig = _figure(10.0, 4.0)
        ax_pca, ax_dist = fig.subplots(1, 2)
        viz.plot_latent_trajectories(tr.y, tr.z, ax=ax_pca, puzzles=range(len(self)), highlight=i,
                                     max_puzzles=len(self))
        ax_pca.set_title(f"puzzle {i}: latent trajectories (n={n}, T={T})", fontsize=10)
        viz.plot_state_distances(tr.y[:, i], tr.z[:, i], ax=ax_dist, label=f"puzzle {i}")
        if len(self) > 1:
            viz.plot_state_distances(tr.y, tr.z, ax=ax_dist, label="mean of all", ls=":", alpha=0.5)
        dy, dz = viz.state_distances(tr.y[:, i]), viz.state_distances(tr.z[:, i])
        info = dict(puzzle_index=i, n=n, T=T, y_distances=dy, z_distances=dz)
        if len(dy):
            text = (f"puzzle {i} with n={n}, T={T}: "
                    f"y moves {dy[0]:.3g} at step 2 and {dy[-1]:.3g} at step {self.steps}; "
                    f"z moves {dz[0]:.3g} then {dz[-1]:.3g}.")
        else:
            text = f"puzzle {i} with n={n}, T={T}: one supervision step, nothing to compare."
        self.last_figure, self.last_text, self.last_info = fig, text, info
        return fig

    def _controls(self, W) -> dict:
        return {
            "puzzle_index": W.Dropdown(options=self._puzzle_options(), value=self.start_index, description="puzzle"),
            **self._recursion_sliders(W),
        }

    def _layout(self, W):
        c = self.controls
        return W.VBox([W.HBox([c["puzzle_index"]]), W.HBox([c["n"], c["T"]]), self.output])


def step_explorer(model, puzzles, solutions=None, steps: int | None = None, start="changing") -> SudokuStepExplorer:
    """A :class:`SudokuStepExplorer`; as the last line of a cell it shows its widget."""
    return SudokuStepExplorer(model, puzzles, solutions, steps, start)


def latent_explorer(model, puzzles, solutions=None, steps: int | None = None, max_puzzles: int = 16,
                    start="changing") -> LatentExplorer:
    """A :class:`LatentExplorer`; as the last line of a cell it shows its widget."""
    return LatentExplorer(model, puzzles, solutions, steps, max_puzzles, start)


class ComputeExplorer(_Explorer):
    """Trade compute for accuracy at inference: choose the halting threshold, the number of noisy
    samples, their noise and how the answer is chosen, and watch accuracy, steps and time move.

    ``render(threshold, samples, noise, select)`` solves the whole set with
    :func:`trm_core.solve.solve` (``threshold=None`` or ``"model"``: the model's own halting rule), up to
    ``max_steps`` steps (default 2 N_sup), and draws where the puzzles stopped and where this
    setting lands against running every puzzle for 1, 2, ... steps.
    """

    THRESHOLDS = (None, 0.5, 0.8, 0.9, 0.95, 0.97, 0.99, 0.999)

    def __init__(self, model, inputs, labels, max_steps: int | None = None, seed: int = 0):
        self.model = model
        self.inputs = torch.as_tensor(np.asarray(inputs), dtype=torch.long)
        self.labels = np.asarray(labels)
        if self.labels.shape != tuple(self.inputs.shape):
            raise ValueError(f"labels {self.labels.shape} do not match inputs {tuple(self.inputs.shape)}")
        self.max_steps = int(max_steps or 2 * model.config.N_sup)
        self.seed = seed
        self._cache: OrderedDict = OrderedDict()
        self._per_step = None
        self.controls, self.output, self._box = {}, None, None
        self.last_figure, self.last_text, self.last_info = None, "", {}

    def per_step_accuracy(self) -> np.ndarray:
        """(max_steps,) exact accuracy when every puzzle runs 1, 2, ... steps (one ``reason`` call)."""
        if self._per_step is None:
            pred = self.model.reason(self.inputs, steps=self.max_steps).predictions.cpu().numpy()
            self._per_step = (pred == self.labels[None]).all(-1).mean(-1)
        return self._per_step

    def solve(self, threshold=None, samples: int = 1, noise: float = 0.0, select: str = "q"):
        key = (threshold, int(samples), float(noise), select)
        if key not in self._cache:
            self._cache[key] = self.model.solve(self.inputs, max_steps=self.max_steps, halt_threshold=threshold,
                                                samples=samples, noise=noise, select=select, seed=self.seed)
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        return self._cache[key]

    def render(self, threshold=None, samples: int = 1, noise: float = 1.0, select: str = "q"):
        N = self.model.config.N_sup
        threshold = None if threshold in (None, "model") else float(threshold)  # "model": the widget's label
        sol = self.solve(threshold, samples, noise if samples > 1 else 0.0, select)
        right = (sol.answers.cpu().numpy() == self.labels).all(-1)
        per_step = self.per_step_accuracy()
        acc, steps = float(right.mean()), sol.mean_steps
        fig = _figure(10, 3.4)
        ax1, ax2 = fig.subplots(1, 2)
        counts = np.bincount(sol.steps.cpu().numpy(), minlength=self.max_steps + 1)[1:]
        wrong = np.bincount(sol.steps.cpu().numpy()[~right], minlength=self.max_steps + 1)[1:]
        xs = np.arange(1, self.max_steps + 1)
        ax1.bar(xs, counts - wrong, color="tab:green", label="right")
        ax1.bar(xs, wrong, bottom=counts - wrong, color="tab:red", label="wrong")
        ax1.set(xlabel="step at which the answer was given", ylabel="puzzles", title="where the puzzles stopped")
        ax1.legend(fontsize=8)
        ax2.plot(xs, 100 * per_step, "o-", color="gray", label="every puzzle runs S steps")
        ax2.plot([steps], [100 * acc], "*", color="tab:orange", markersize=16, label="this setting")
        ax2.axvline(N, color="k", lw=0.8, ls=":")
        ax2.set(xlabel="supervision steps per puzzle (compute)", ylabel="exact accuracy (%)",
                title="accuracy against compute")
        ax2.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        rule = "the model's own halting rule" if threshold is None else f"P(halt) >= {threshold:g}"
        self.last_info = dict(exact_accuracy=acc, mean_steps=steps, compute_fraction=steps / N, seconds=sol.seconds,
                              all_steps_accuracy=float(per_step[N - 1]))
        self.last_text = (f"{rule}, {samples} sample{'s' if samples > 1 else ''}"
                          + (f" (noise {noise:g}, select {select})" if samples > 1 else "")
                          + f": {100 * acc:.1f}% exact with {steps:.2f} steps per puzzle = "
                          f"{100 * steps / N:.0f}% of running all {N} steps "
                          f"({100 * per_step[N - 1]:.1f}% exact); {sol.seconds:.2f} s")
        self.last_figure = fig
        return fig

    def _controls(self, W) -> dict:
        style = {"description_width": "initial"}
        return {
            "threshold": W.SelectionSlider(options=[("model's rule", "model")] + [(f"{t:g}", t) for t in
                                                                                   self.THRESHOLDS if t is not None],
                                           value="model", description="halt when P(halt) >=", continuous_update=False,
                                           style=style),
            "samples": W.IntSlider(value=1, min=1, max=8, description="samples K", continuous_update=False,
                                   style=style),
            "noise": W.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.25, description="noise on z",
                                   continuous_update=False, style=style),
            "select": W.ToggleButtons(options=[("highest P(halt)", "q"), ("first to halt", "first")], value="q",
                                      description="answer of", style=style),
        }


def compute_explorer(model, inputs, labels, max_steps: int | None = None) -> ComputeExplorer:
    """A :class:`ComputeExplorer`; as the last line of a cell it shows its widget."""
    return ComputeExplorer(model, inputs, labels, max_steps)
