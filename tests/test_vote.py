"""Voting over symmetric views (``trm_core.solve.vote``): augmenters map answers back exactly, the
majority rule, views of a puzzle solved as separate rows and counted, and clear errors."""
import numpy as np
import pytest
import torch

from trm_core import pretrained
from trm_core.data import make_task
from trm_core.data.dataset import DihedralAugmenter, SudokuAugmenter
from trm_core.errors import UserError
from trm_core.evaluate import evaluate, evaluate_voted
from trm_core.solve import majority, solve, vote


@pytest.mark.parametrize("size", [4, 6, 9])
def test_sudoku_undo_maps_every_version_back(size):
    task = make_task("sudoku", size=size, n_train=0, n_test=24, seed=3, num_aug=0)
    x, y = task.test.inputs, task.test.labels
    aug = SudokuAugmenter(size, None, seed=5)
    groups, versions = np.arange(len(x)), np.arange(len(x)) % 7
    ax, ay = aug(x, y, groups, versions)
    assert (ay[versions > 0] != y[versions > 0]).any(axis=1).all()  # the views really differ...
    np.testing.assert_array_equal(aug.undo(ay, groups, versions), y)  # ...and come back exactly
    np.testing.assert_array_equal(aug.undo(ax, groups, versions), x)


def test_maze_undo_maps_every_symmetry_back():
    rng = np.random.default_rng(0)
    grids = rng.integers(1, 6, (16, 25))
    aug, versions = DihedralAugmenter(5), np.arange(16) % 8
    moved, _ = aug(grids, grids, np.arange(16), versions)
    np.testing.assert_array_equal(aug.undo(moved, np.arange(16), versions), grids)


def test_majority_counts_whole_answers_and_breaks_ties_by_confidence():
    a, b, c = [1, 2, 3], [1, 2, 4], [5, 5, 5]
    answers = torch.tensor([[a, b, a, c],  # a twice: a wins over the more confident b
                            [a, b, c, b],  # b twice
                            [a, b, c, c]])  # c twice
    p = torch.tensor([[0.5, 0.9, 0.6, 0.1], [0.9, 0.2, 0.9, 0.4], [0.3, 0.3, 0.2, 0.2]])
    best, votes, mean_p = majority(answers, p)
    assert [answers[i, best[i]].tolist() for i in range(3)] == [a, b, c]
    assert votes.tolist() == [2, 2, 2]
    np.testing.assert_allclose(mean_p.numpy(), [0.55, 0.3, 0.2])
    tie = majority(torch.tensor([[a, b]]), torch.tensor([[0.4, 0.7]]))  # one vote each: the surer one
    assert tie[0].tolist() == [1] and tie[1].tolist() == [1]


@pytest.fixture(scope="module")
def sudoku6():
    model, _ = pretrained.load("trm-sudoku6")
    task = make_task("sudoku", size=6, n_train=0, n_test=200, seed=11, num_aug=0)
    return model, task.test


def test_a_vote_solves_each_view_and_counts_the_views_that_agree(sudoku6):
    model, test = sudoku6
    aug, V, x = SudokuAugmenter(6, None, seed=2), 4, test.inputs[:20]
    v = vote(model, x, aug, views=V, max_steps=6, adaptive=False)
    B = len(x)
    # view 0 is the puzzle as given: its rows are what solve gives on the puzzles themselves
    alone = solve(model, x, max_steps=6, adaptive=False)
    torch.testing.assert_close(v.solution.answers[:B], alone.answers)
    # every view's answer, mapped back, is counted: as many views agree with the winner as it has votes
    back = aug.undo(v.solution.answers.numpy(), np.tile(np.arange(B), V), np.repeat(np.arange(V), B))
    agree = (back.reshape(V, B, -1) == v.answers.numpy()[None]).all(-1).sum(0)
    np.testing.assert_array_equal(agree, v.votes.numpy())
    assert (v.votes >= 1).all() and (v.votes <= V).all() and 1 / V <= v.agreement <= 1
    assert v.solution.row_steps.sum().item() == V * B * 6


def test_one_view_scores_what_evaluate_scores(sudoku6):
    model, test = sudoku6
    one = evaluate_voted(model, test, augmenter=SudokuAugmenter(6), views=1, max_steps=5, adaptive=False,
                         batch_size=16)
    plain = evaluate(model, test, steps=5)
    assert one["voted_exact_accuracy"] == pytest.approx(plain["exact_accuracy"])
    assert one["n"] == 200 and one["agreement"] == 1.0 and one["voted_steps_used"] == 5


def test_voting_beats_one_view_on_a_trained_model(sudoku6):
    model, test = sudoku6
    single = evaluate(model, test, steps=2)["exact_accuracy"]  # 96% here (8 of 200 wrong)
    voted = evaluate_voted(model, test, augmenter=SudokuAugmenter(6), views=8, max_steps=2, adaptive=False)
    assert single < 0.99, "the check needs puzzles the model gets wrong after 2 steps"
    assert voted["voted_exact_accuracy"] >= single + 0.015  # 100% here


def test_bad_views_are_clear_errors(sudoku6):
    model, test = sudoku6
    with pytest.raises(UserError, match="at least 1"):
        vote(model, test.inputs[:2], SudokuAugmenter(6), views=0)
    with pytest.raises(UserError, match="4 versions"):
        vote(model, test.inputs[:2], SudokuAugmenter(6, num_aug=3), views=5)
    with pytest.raises(UserError, match="needs an augmenter"):
        evaluate_voted(model, test, views=2)
