"""The exercise checkers: every right answer passes, the usual wrong answers get their own reason,
and every notebook asks its exercises."""
import re

import numpy as np
import pytest

from conftest import REPO
from trm_core import exercises, numpy_ref
from trm_core.data import arc, maze, sudoku
from trm_core.data.grids import inverse_dihedral

NOTEBOOKS = REPO / "notebooks"


def verdict(id, answer, **context):
    return exercises.check(id, answer, quiet=True, **context)


def reason(id, answer, **context) -> str:
    result = verdict(id, answer, **context)
    assert not result.ok, f"{id} accepted the wrong answer {answer!r}"
    return result.message


def rms_norm(x):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + 1e-5)


def latent_recursion(net, x, y, z, n):
    for _ in range(n):
        z = net(z, y + x)
    return net(y, z), z


def stablemax(x):
    s = np.where(x >= 0, x + 1, 1 / (1 - np.minimum(x, 0)))
    return s / s.sum(-1, keepdims=True)


def undo(grid, aug):
    return inverse_dihedral(np.argsort(np.asarray(aug.colours))[grid], aug.k)


RIGHT = {
    "00.1": 21, "01.1": 24, "01.2": 7, "01.3": {"hrm": 2, "trm": 1}, "02.1": (4, 36, 64), "02.2": rms_norm,
    "02.3": latent_recursion, "03.1": 1536, "03.2": stablemax, "03.3": 916, "04.1": 5e-5, "04.2": 693,
    "04.3": 76_800, "06.1": {(4, 2, 1): 16, (2, 2, 3): 16, (1, 2, 7): 16}, "06.2": (1, 4, 5), "07.2": 2_903_040,
    "07.3": undo,
}


@pytest.mark.parametrize("id", sorted(RIGHT))
def test_a_right_answer_is_right(id):
    assert verdict(id, RIGHT[id]).ok


def test_a_puzzle_and_a_maze_of_ones_own():
    puzzle = sudoku.to_string(sudoku.generate(6, 1, seed=5)[0].question)
    assert verdict("00.2", puzzle).ok
    question = maze.parse(exercises.maze_question())
    assert verdict("07.1", maze.to_string(maze.solve(question))).ok


WRONG = [  # (exercise, wrong answer, words the reason must contain)
    ("00.1", 18, "z updates only"), ("00.1", 7, "one cycle"), ("00.1", 42, "layers"), ("00.1", "21", "whole number"),
    ("01.1", 16, "high-level update"), ("01.1", 6, "network calls"), ("01.2", 21, "without gradient"),
    ("01.2", 2, "HRM"), ("01.3", {"hrm": 1, "trm": 1}, "second pass"), ("01.3", {"hrm": 2, "trm": 2}, "no continue"),
    ("01.3", [2, 1], "dict"), ("02.1", (36, 64), "batch comes first"), ("02.1", (4, 36), "token ids"),
    ("02.2", lambda x: x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True)), "eps"),
    ("02.2", lambda x: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5), "LayerNorm"),
    ("02.2", lambda x: x[..., 0], "shape"), ("02.2", lambda x: 1 / 0, "ZeroDivisionError"),
    ("02.2", rms_norm(np.ones((2, 2))), "function itself"),
    ("02.3", lambda net, x, y, z, n: latent_recursion(net, x, y, z, n)[::-1], "(z, y)"),
    ("02.3", lambda net, x, y, z, n: latent_recursion(net, x, y, z, n + 1)[:1] + (None,), "z has shape"),
    ("02.3", lambda net, x, y, z, n: latent_recursion(net, x, y, z, n - 1), "n - 1 times"),
    ("02.3", lambda net, x, y, z, n: latent_recursion(net, 0 * x, y, z, n), "leaves x out"),
    ("03.1", 1365, "before rounding"), ("03.1", 2048, "plain MLP"), ("03.1", 1280, "rounds down"),
    ("03.2", lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True), "softmax"),
    ("03.2", lambda x: np.where(x >= 0, x + 1, 1 / (1 - np.minimum(x, 0))), "sum to 1"),
    ("03.3", 900, "canvas alone"), ("04.1", 1e-4 * 999 / 2000, "off by one"), ("04.1", 1e-4, "warm-up"),
    ("04.2", 692, "below 0.5"), ("04.2", 1000, "time constant"), ("04.3", 768 * 1600, "new puzzle at every step"),
    ("04.3", 100, "refilled"), ("06.1", {(4, 2, 1): 8, (2, 2, 3): 16, (1, 2, 7): 16}, "y update"),
    ("06.1", {(4, 2, 1): 16}, "keys"), ("06.2", (2, 3, 3), "1"), ("06.2", (1, 3, 6), "21 deep"),
    ("07.2", 8 * 3628800, "black"), ("07.2", 362880, "symmetries"),
    ("07.3", lambda g, aug: aug.apply(g), "instead of undoing"),
    ("07.3", lambda g, aug: np.argsort(np.asarray(aug.colours))[g], "not the transform"),
]


@pytest.mark.parametrize("id, answer, words", WRONG, ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)])
def test_a_usual_mistake_gets_its_reason(id, answer, words):
    assert words in reason(id, answer)


def test_a_wrong_puzzle_or_path_says_what_is_wrong():
    assert "more than one solution" in reason("00.2", "." * 36)
    full = sudoku.to_string(sudoku.generate(6, 1, seed=5)[0].answer)
    assert "givens" in reason("00.2", full)
    question = exercises.maze_question()
    assert "path" in reason("07.1", question)  # no path marked at all
    assert "cells" in reason("07.1", question[:-1])


def test_an_unanswered_exercise_and_an_unknown_one(capsys):
    result = exercises.check("04.2", None)
    assert not result.ok and "not answered yet" in capsys.readouterr().out
    assert "hint" in exercises.hint("04.2") and "0.999" in exercises.hint("04.2")
    with pytest.raises(KeyError, match="no exercise"):
        exercises.check("99.9", 1)


def test_the_checkers_compare_with_the_workbooks_own_code():
    """The right answers are computed, not stored: the reference functions pass 02.2 and 02.3."""
    assert verdict("02.2", numpy_ref.rms_norm).ok
    assert verdict("02.3", numpy_ref.latent_recursion).ok
    assert verdict("07.3", lambda g, aug: aug.invert(g)).ok
    assert not verdict("07.3", lambda g, aug: arc.Aug(aug.k, aug.colours).apply(g)).ok


@pytest.fixture(scope="module")
def shipped_model_and_puzzles():
    import torch

    from trm_core import pretrained

    model, _ = pretrained.load("trm-sudoku6")
    data = sudoku.generate(6, 60, seed=11)
    inputs = torch.as_tensor(sudoku.to_tokens(np.stack([p.question for p in data])).reshape(60, -1))
    labels = torch.as_tensor(sudoku.to_tokens(np.stack([p.answer for p in data])).reshape(60, -1))
    return model, inputs, labels


def test_model_exercises(shipped_model_and_puzzles):
    model, inputs, labels = shipped_model_and_puzzles
    out = model.reason(inputs)
    right = (out.predictions.numpy() == labels.numpy()[None]).all(-1)
    fixed = np.flatnonzero(~right[0] & right[-1])
    first = np.flatnonzero(right[0])
    context = dict(model=model, puzzles=inputs, solutions=labels)
    if len(fixed):
        assert verdict("05.1", int(fixed[0]), **context).ok
    if len(first):
        assert "already right" in reason("05.1", int(first[0]), **context)
    assert "call check" in reason("05.1", 0)
    halted = (out.q_halt[0] > 0).numpy()
    if halted.any():
        assert verdict("05.2", float(right[0][halted].mean()), **context).ok
        if right[0].mean() != right[0][halted].mean():
            assert "all puzzles" in reason("05.2", float(right[0].mean()), **context)


def test_thinking_longer_exercises(shipped_model_and_puzzles):
    from trm_core.evaluate import THRESHOLDS, calibrate_threshold

    model, inputs, labels = shipped_model_and_puzzles
    steps = model.solve(inputs).mean_steps
    assert verdict("08.1", steps, model=model, puzzles=inputs).ok
    assert "what reason spends" in reason("08.1", model.config.N_sup, model=model, puzzles=inputs)
    assert "count from 1" in reason("08.1", steps - 1, model=model, puzzles=inputs)
    context = dict(model=model, puzzles=inputs, solutions=labels.numpy())
    c = calibrate_threshold(model, inputs.numpy(), labels.numpy(), tolerance=0.01)
    assert verdict("08.2", c["threshold"], **context).ok
    rows = {r["threshold"]: r for r in c["table"] if r["threshold"] is not None}
    costly = [t for t in THRESHOLDS if rows[t]["mean_steps"] > rows[c["threshold"]]["mean_steps"]
              and rows[t]["exact_accuracy"] >= c["all_steps_accuracy"] - 0.01]
    assert costly and "spends" in reason("08.2", costly[-1], **context)
    assert "not one of" in reason("08.2", 0.42, **context)


def test_every_notebook_asks_two_or_three_exercises_and_the_solutions_answer_them():
    asked = {}
    for script in sorted(NOTEBOOKS.glob("0*.py")):
        ids = re.findall(r'exercises\.check\("(\d\d\.\d)"', script.read_text())
        assert 2 <= len(ids) <= 3, f"{script.name} asks {len(ids)} exercises"
        assert all(i.startswith(script.stem[:2] + ".") for i in ids), f"{script.name} asks another's exercise"
        asked.update(dict.fromkeys(ids))
    assert sorted(asked) == sorted(exercises.EXERCISES), "an exercise is never asked, or asked but not defined"
    solutions = (NOTEBOOKS / "solutions.py").read_text()
    answered = set(re.findall(r'exercises\.check\("(\d\d\.\d)"', solutions))
    assert answered == set(exercises.EXERCISES), f"solutions.py misses {set(exercises.EXERCISES) - answered}"
