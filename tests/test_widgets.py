"""Explorers: render() draws what was asked, the widgets re-render on every change, n and T are used
for real and the model's config comes back afterwards."""
import importlib
import sys

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import trm_core  # noqa: E402
from trm_core import build_model, widgets  # noqa: E402
from trm_core.data import sudoku  # noqa: E402
from trm_core.data.dataset import Split  # noqa: E402

pytest.importorskip("ipywidgets")


@pytest.fixture(scope="module")
def puzzles():
    return sudoku.generate(6, count=3, seed=0)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model("trm-mlp-tiny", vocab_size=8, seq_len=36, hidden_size=32, mlp_multiple=32, n=2, T=1, N_sup=3)


class NetCalls:
    """Counts the applications of the TRM's one network (T (n + 1) per supervision step)."""

    def __init__(self, model):
        self.count = 0
        model.net.register_forward_hook(self._hook)

    def _hook(self, *args):
        self.count += 1


def _grid_title(fig):
    return fig.axes[0].get_title()


def test_recursion_settings_apply_and_restore_even_after_an_error(model):
    original = model.config
    with widgets.recursion_settings(model, n=5, T=3) as cfg:
        assert (model.config.n, model.config.T) == (5, 3) and cfg is model.config
    assert model.config is original and (original.n, original.T) == (2, 1)
    with pytest.raises(RuntimeError):
        with widgets.recursion_settings(model, n=7):
            raise RuntimeError("boom")
    assert model.config is original
    with pytest.raises(ValueError, match="n must be at least 1"):
        with widgets.recursion_settings(model, n=0):
            pass
    assert model.config is original


def test_render_is_pure_and_uses_the_asked_n_and_T(model, puzzles):
    calls = NetCalls(model)
    ex = widgets.SudokuStepExplorer(model, puzzles)
    fig = ex.render(puzzle_index=1, step=2, n=3, T=2)
    assert calls.count == 3 * 2 * (3 + 1)  # 3 steps x T (n + 1) applications
    assert _grid_title(fig) == "puzzle 1: step 2 of 3  (n=3, T=2)"
    assert ex.last_figure is fig and "step 2 of 3 with n=3, T=2" in ex.last_text
    assert (model.config.n, model.config.T) == (2, 1)
    ex.render(puzzle_index=1, step=3, n=3, T=2)  # another step of the same trace: cached
    assert calls.count == 24
    with widgets.recursion_settings(model, n=3, T=2):
        direct = model.reason(torch.as_tensor(sudoku.to_tokens(puzzles[1].question.reshape(1, -1))))
    assert torch.allclose(ex.trace(1, n=3, T=2).logits, direct.logits)
    assert not torch.allclose(ex.trace(1).logits, direct.logits)  # the model's own n=2, T=1 differs
    digits = viz_digits(direct, step=3)
    texts = {(int(t.get_position()[1]), int(t.get_position()[0])): t.get_text() for t in ex.last_figure.axes[0].texts}
    assert all(texts[rc] == str(d) for rc, d in np.ndenumerate(digits) if d)  # step 3 of the last render
    with pytest.raises(ValueError, match="steps 1 to 3"):
        ex.render(step=4)
    with pytest.raises(IndexError, match="3 puzzles"):
        ex.render(puzzle_index=3)


def viz_digits(trace, step):
    from trm_core.viz import decode_sudoku_steps

    return decode_sudoku_steps(trace).digits[step - 1]


def test_hrm_explorer_sets_its_n_and_T_too(puzzles):
    hrm = build_model("hrm-tiny", vocab_size=8, seq_len=36, hidden_size=32, mlp_multiple=32, n=1, T=1, N_sup=2)
    ex = widgets.SudokuStepExplorer(hrm, puzzles)
    ex.render(0, step=2, n=3, T=2)
    assert "(n=3, T=2)" in _grid_title(ex.last_figure) and (hrm.config.n, hrm.config.T) == (1, 1)
    assert not torch.allclose(ex.trace(0, n=3, T=2).logits, ex.trace(0).logits)


def test_render_counts_wrong_cells_against_the_solution(model, puzzles):
    ex = widgets.step_explorer(model, puzzles)
    ex.render(0, step=1)
    digits = viz_digits(ex.trace(0), 1)
    assert ex.last_info["wrong"] == int((digits != puzzles[0].answer).sum())
    assert ex.last_info["changed"] is None
    ex.render(0, step=2)
    assert ex.last_info["changed"] == int((viz_digits(ex.trace(0), 2) != digits).sum())
    strings = widgets.SudokuStepExplorer(model, [sudoku.to_string(p.question) for p in puzzles])
    assert np.array_equal(strings.solution(2), puzzles[2].answer)  # found by the solver


def test_step_widget_rerenders_on_each_control(model, puzzles):
    calls = NetCalls(model)
    ex = widgets.SudokuStepExplorer(model, puzzles, start=0)
    box = ex.widget()
    assert ex.widget() is box and ex.output in box.children
    assert ex.last_info == dict(ex.last_info, puzzle_index=0, step=3, n=2, T=1)
    c = ex.controls
    c["step"].value = 1
    assert ex.last_info["step"] == 1 and "step 1 of 3" in _grid_title(ex.last_figure)
    c["puzzle_index"].value = 2
    assert ex.last_info["puzzle_index"] == 2 and _grid_title(ex.last_figure).startswith("puzzle 2")
    before = calls.count
    c["n"].value = 4
    assert (ex.last_info["n"], ex.last_info["T"]) == (4, 1) and calls.count - before == 3 * (4 + 1)
    c["T"].value = 2
    assert "(n=4, T=2)" in _grid_title(ex.last_figure)
    assert (model.config.n, model.config.T) == (2, 1)  # restored after every render
    assert c["n"].max >= 8 and c["step"].max == 3


def test_widget_shows_an_error_instead_of_breaking(model, puzzles):
    ex = widgets.SudokuStepExplorer(model, puzzles)
    ex.widget()

    def broken(**values):
        raise ValueError("no picture")

    ex.render = broken
    ex.controls["step"].value = 2
    assert ex.last_text == "error: no picture" and ex.last_figure is None


def test_figures_are_shown_as_png():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1))
    fig.subplots().plot([0, 1])
    assert widgets._png(fig).startswith(b"\x89PNG")


def test_explorer_reads_a_split_and_checks_sizes(model, puzzles):
    q = sudoku.to_tokens(np.stack([p.question.reshape(-1) for p in puzzles]))
    a = sudoku.to_tokens(np.stack([p.answer.reshape(-1) for p in puzzles]))
    ex = widgets.SudokuStepExplorer(model, Split.one_per_group(q, a))
    assert len(ex) == 3 and np.array_equal(ex.questions[1], puzzles[1].question)
    assert np.array_equal(ex.solution(1), puzzles[1].answer)
    with pytest.raises(ValueError, match="4x4 \\(16 cells\\) but the model reads 36"):
        widgets.SudokuStepExplorer(model, ["1.3.3.1.2.4.4.2."])
    with pytest.raises(sudoku.SudokuError, match="puzzle 1: puzzle has 5 cells"):
        widgets.SudokuStepExplorer(model, [puzzles[0].question, "12345"])


def test_latent_explorer_follows_the_chosen_puzzle(model, puzzles):
    ex = widgets.latent_explorer(model, puzzles, start=0)
    ex.widget()
    assert ex.last_info["puzzle_index"] == 0
    tr = ex.trace()
    assert tr.y.shape[:2] == (3, 3)
    ex.controls["puzzle_index"].value = 2
    info = ex.last_info
    assert info["puzzle_index"] == 2 and "puzzle 2" in ex.last_figure.axes[0].get_title()
    assert len(info["y_distances"]) == 2 and (info["y_distances"] >= 0).all() and (info["z_distances"] >= 0).all()
    assert np.allclose(info["y_distances"], widgets.viz.state_distances(tr.y[:, 2]))
    bold = [ln for ln in ex.last_figure.axes[0].lines if ln.get_alpha() == 1.0]
    assert [ln.get_label() for ln in bold] == ["y puzzle 2", "z puzzle 2"]
    ex.controls["n"].value = 5
    assert ex.last_info["n"] == 5 and model.config.n == 2
    assert not np.allclose(ex.last_info["y_distances"], info["y_distances"])


def test_import_without_ipywidgets(monkeypatch, model, puzzles):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "trm_core.widgets")
    monkeypatch.setattr(trm_core, "widgets", widgets)  # put the package attribute back afterwards too
    fresh = importlib.import_module("trm_core.widgets")
    ex = fresh.SudokuStepExplorer(model, puzzles)
    assert ex.render(0, step=1) is ex.last_figure  # rendering needs no ipywidgets
    with pytest.raises(ImportError, match="pip install"):
        ex.widget()


def test_explorers_open_on_a_puzzle_whose_answer_changes(model, puzzles):
    ex = widgets.SudokuStepExplorer(model, puzzles)
    changes = []
    for i in range(len(ex)):
        pred = ex.trace(i).predictions[:, 0]  # (steps, cells) of puzzle i alone
        changes.append(bool((pred[1:] != pred[:-1]).any()))
    assert ex.changing_puzzles() == [i for i, c in enumerate(changes) if c]
    assert ex.start_index == (ex.changing_puzzles() or [0])[0]
    ex.widget()
    assert ex.last_info["puzzle_index"] == ex.start_index
    labels = [label for label, _ in ex.controls["puzzle_index"].options]
    assert [i for i, label in enumerate(labels) if "answer changes" in label] == ex.changing_puzzles()

    pinned = widgets.latent_explorer(model, puzzles, start=2)
    pinned.widget()
    assert pinned.start_index == 2 and pinned.last_info["puzzle_index"] == 2
    with pytest.raises(IndexError, match="out of range"):
        widgets.SudokuStepExplorer(model, puzzles, start=7)


def test_an_explorer_of_solved_puzzles_opens_on_the_first(model, puzzles, monkeypatch):
    ex = widgets.SudokuStepExplorer(model, puzzles)
    monkeypatch.setattr(ex, "changing_puzzles", lambda: [])  # a model that never changes its mind
    assert ex.start_index == 0


def test_compute_explorer_solves_with_each_setting(model, puzzles):
    tokens = sudoku.to_tokens(np.stack([p.question.reshape(-1) for p in puzzles]))
    answers = sudoku.to_tokens(np.stack([p.answer.reshape(-1) for p in puzzles]))
    with torch.no_grad():
        model.q_head.bias.fill_(0.0)
        model.q_head.weight.normal_(0.0, 1.0)
    ex = widgets.ComputeExplorer(model, tokens, answers, max_steps=5)
    box = ex.widget()
    assert ex.output in box.children and "the model's own halting rule" in ex.last_text
    expected = model.solve(torch.as_tensor(tokens), max_steps=5)
    assert ex.last_info["mean_steps"] == pytest.approx(expected.mean_steps)
    c = ex.controls
    c["threshold"].value = 0.5
    assert "P(halt) >= 0.5" in ex.last_text
    c["samples"].value = 3
    assert "3 samples (noise 1, select q)" in ex.last_text
    c["select"].value = "first"
    assert "select first" in ex.last_text
    assert len(ex.last_figure.axes) == 2 and ex.per_step_accuracy().shape == (5,)
    with pytest.raises(ValueError, match="labels"):
        widgets.ComputeExplorer(model, tokens, answers[:2])
