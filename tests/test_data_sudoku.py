"""Sudoku: parsing, validation, solver, generator, augmentation, tokens and CSV."""

import numpy as np
import pytest

from conftest import EXTREME, needs_extreme
from trm_core.data import csvio, sudoku
from trm_core.data.sudoku import SudokuError
from trm_core.data.sudoku_batch import solve_batch
from trm_core.data.sudoku_solver import solve_cells

Q9 = "...7.2..5....95.8.19..8..67..4...6....79...2.26...1......5......39.....8....784.."
A9 = "846712935372695184195483267984237651517964823263851749728549316439126578651378492"


@pytest.fixture(scope="module")
def extreme():
    return sudoku.read_csv(EXTREME)


# Parsing -----------------------------------------------------------------------------------------


def test_parse_string_forms_and_roundtrip():
    g = sudoku.parse(Q9)
    assert g.shape == (9, 9) and g[0, 3] == 7 and g[0, 0] == 0
    assert sudoku.to_string(g) == Q9
    assert (sudoku.parse(Q9.replace(".", "0")) == g).all()
    assert (sudoku.parse(sudoku.pretty(g)) == g).all()  # the pretty printout parses back
    assert (sudoku.parse(g.tolist()) == g).all() and (sudoku.parse(g.reshape(-1)) == g).all()


@pytest.mark.parametrize("size, box", [(4, (2, 2)), (6, (2, 3)), (9, (3, 3))])
def test_sizes_infer_from_length(size, box):
    assert sudoku.parse("." * size * size).shape == (size, size)
    assert sudoku.box_shape(size) == box
    assert sudoku.vocab_size(size) == size + 2


@pytest.mark.parametrize("text, size, message", [
    ("1" * 80, 9, "puzzle has 80 cells, expected 81 (9x9)"),
    ("1" * 80, None, "puzzle has 80 cells, expected 16 (4x4), 36 (6x6) or 81 (9x9)"),
    ("..x" + "." * 78, None, "bad character 'x' at row 1, column 3"),
    ("7" + "." * 15, 4, "bad character '7' at row 1, column 1; use 1-4"),
])
def test_parse_errors(text, size, message):
    with pytest.raises(SudokuError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sudoku.parse(text, size)
    assert issubclass(SudokuError, ValueError)


def test_parse_rejects_bad_grids():
    with pytest.raises(SudokuError, match="bad value 10 at row 1, column 2"):
        sudoku.parse([[1, 10, 0, 0]] + [[0] * 4] * 3)
    with pytest.raises(SudokuError, match="shape"):
        sudoku.parse(np.zeros((8, 2), int))


def test_contradicting_givens_name_digit_and_unit():
    q = "55" + "." * 79
    with pytest.raises(SudokuError, match=r"digit 5 twice in row 1 \(columns 1 and 2\)"):
        sudoku.validate_puzzle(q)
    col = "5" + "." * 8 + "5" + "." * 71
    assert sudoku.conflicts(sudoku.parse(col)) == [
        "digit 5 twice in column 1 (rows 1 and 2)", "digit 5 twice in box 1 (cells r1c1 and r2c1)"]
    box6 = np.zeros((6, 6), int)
    box6[0, 0] = box6[1, 2] = 3  # same 2x3 box, different row and column
    assert sudoku.conflicts(box6) == ["digit 3 twice in box 1 (cells r1c1 and r2c3)"]


def test_answer_validation_messages():
    assert (sudoku.validate_answer(Q9, A9) == sudoku.parse(A9)).all()
    with pytest.raises(SudokuError, match="blank cell"):
        sudoku.validate_answer(Q9, Q9)
    swapped = A9[1] + A9[0] + A9[2:]  # row still fine, columns broken
    with pytest.raises(SudokuError, match="answer breaks the rules: digit"):
        sudoku.validate_answer(Q9, swapped)
    other = sudoku.parse(A9)
    other = other[:, [1, 0, 2, 3, 4, 5, 6, 7, 8]]  # still a valid grid, but not this puzzle's
    with pytest.raises(SudokuError, match="where the puzzle gives"):
        sudoku.validate_answer(Q9, other)
    with pytest.raises(SudokuError, match="answer: puzzle has 80 cells"):
        sudoku.validate_answer(Q9, A9[:80])


# Solving -----------------------------------------------------------------------------------------


def test_solve_unique_puzzle():
    s = sudoku.solve(Q9, limit=2)
    assert s.count == 1 and s.complete and sudoku.to_string(s.grid) == A9
    assert s.guesses == sudoku.rating(Q9) > 0
    assert (sudoku.unique_solution(Q9) == sudoku.parse(A9)).all()


def test_count_solutions_several_and_none():
    assert sudoku.count_solutions("." * 16, limit=1000) == 288  # all 4x4 grids
    assert sudoku.count_solutions("." * 36, limit=2) == 2
    no_solution = "12345678." + "........9" + "." * 63  # 9 is the only digit left for r1c9, but column 9 has it
    assert sudoku.conflicts(sudoku.parse(no_solution)) == []
    assert sudoku.count_solutions(no_solution) == 0
    with pytest.raises(SudokuError, match="no solution"):
        sudoku.unique_solution(no_solution)
    with pytest.raises(SudokuError, match="more than one solution"):
        sudoku.unique_solution("." * 81)
    with pytest.raises(SudokuError, match="no solution"):
        sudoku.validate_puzzle(no_solution, unique=True)
    assert (sudoku.validate_puzzle(Q9, unique=True) == sudoku.parse(Q9)).all()
    assert sudoku.check_row("." * 16, "1234341221434321", unique=True) == "puzzle has more than one solution"


def test_solutions_keep_the_rules_and_givens():
    rng = np.random.default_rng(0)
    for size in (4, 6, 9):
        grid = sudoku.generate(size, 1, seed=3)[0].answer
        q = np.where(rng.random(grid.shape) < 0.3, grid, 0)
        for s in solve_cells(q.reshape(-1).tolist(), size, limit=5).solutions:
            sudoku.validate_answer(q, np.array(s).reshape(size, size))


def test_batch_solver_matches_python_solver():
    rng = np.random.default_rng(1)
    puzzles = []
    for p in sudoku.generate(9, 6, seed=2):
        for k in range(5):  # remove extra givens: several solutions; or add a wrong one: none
            q = p.question.reshape(-1).copy()
            q[rng.choice(np.flatnonzero(q), size=k, replace=False)] = 0
            if k == 4:
                blank = rng.choice(np.flatnonzero(q == 0))
                q[blank] = 1 + (p.answer.reshape(-1)[blank] % 9)
            puzzles.append(q)
    puzzles = np.array(puzzles)
    for limit in (1, 2, 3):
        sols, counts, guesses = solve_batch(puzzles, 9, limit=limit, workers=8)
        for q, s, n, g in zip(puzzles, sols, counts, guesses):
            ref = solve_cells(q.tolist(), 9, limit=limit)
            assert n == ref.count
            if ref.complete:  # the whole tree searched: the same guesses
                assert g == ref.guesses
            if n:
                sudoku.validate_answer(q, s)
    assert set(solve_batch(puzzles, 9, limit=2)[1]) == {0, 1, 2}


@needs_extreme
def test_solvers_on_real_sudoku_extreme(extreme):
    sols, counts, guesses = solve_batch(extreme.questions[:150], 9, limit=2)
    assert (counts == 1).all() and (sols == extreme.answers[:150]).all()
    assert guesses.mean() > 20  # these are hard puzzles
    for i in range(0, 150, 15):  # the pure-Python search makes the same guesses
        r = solve_cells(extreme.questions[i].tolist(), 9, limit=2)
        assert r.solutions[0] == extreme.answers[i].tolist() and r.guesses == guesses[i]


# Generation --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size, count", [(4, 30), (6, 10), (9, 2)])
def test_generated_puzzles_are_unique_minimal_and_deterministic(size, count):
    puzzles = sudoku.generate(size, count, seed=7)
    assert len({p.question.tobytes() for p in puzzles}) == count
    for p in puzzles:
        sudoku.validate_answer(p.question, p.answer)
        assert sudoku.count_solutions(p.question) == 1
        assert p.rating == sudoku.rating(p.question)
        flat = p.question.reshape(-1)
        for c in np.flatnonzero(flat)[:12]:  # minimal: removing any given breaks uniqueness
            q = flat.copy()
            q[c] = 0
            assert sudoku.count_solutions(q) == 2
    again = sudoku.generate(size, count, seed=7)
    assert all((a.question == b.question).all() for a, b in zip(puzzles, again))
    assert any((a.question != b.question).any() for a, b in zip(puzzles, sudoku.generate(size, count, seed=8)))


def test_min_guesses_makes_harder_puzzles():
    easy = sudoku.generate(9, 3, seed=0)
    hard = sudoku.generate(9, 1, seed=0, min_guesses=12)[0]
    assert hard.rating >= 12 > min(p.rating for p in easy)
    assert sudoku.count_solutions(hard.question) == 1


# Augmentation ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [4, 6, 9])
def test_transforms_keep_puzzles_valid_and_invert(size):
    p = sudoku.generate(size, 1, seed=1)[0]
    u = np.random.default_rng(0).random((400, sudoku.num_transform_randoms(size)))
    t = sudoku.transforms_from_uniform(size, u)
    n2 = size * size
    q = t.apply(np.repeat(p.question.reshape(1, n2), 400, 0))
    a = t.apply(np.repeat(p.answer.reshape(1, n2), 400, 0))
    assert not sudoku.invalid_mask(q, a).any()
    # blanks move, stay blank
    assert ((q == 0) == (t.apply(np.repeat((p.question == 0).reshape(1, n2), 400, 0)) == 1)).all()
    assert (t.digit_map[:, 0] == 0).all()
    assert len({x.tobytes() for x in a}) > {4: 100, 6: 300, 9: 390}[size]  # many different versions (4x4 has 288 grids)
    inv = t.inverse()
    assert (inv.apply(q) == p.question.reshape(-1)).all() and (inv.apply(a) == p.answer.reshape(-1)).all()
    rows_of = t.cell_perm.reshape(400, size, size) // size
    transposed = ~(rows_of == rows_of[:, :, :1]).all(axis=(1, 2))  # a source row spread over a column
    assert transposed.any() == (size != 6)  # transpose only with square boxes


def test_augment_applies_the_same_transform_to_question_and_answer():
    rng = np.random.default_rng(5)
    for _ in range(20):
        q, a = sudoku.augment(sudoku.parse(Q9), sudoku.parse(A9), rng)
        sudoku.validate_answer(q, a)
        assert sudoku.count_solutions(q) == 1


@needs_extreme
def test_augmentation_keeps_real_rows_valid(extreme):
    n = len(extreme)
    for seed in range(3):
        t = sudoku.transforms_from_uniform(9, np.random.default_rng(seed).random((n, sudoku.num_transform_randoms(9))))
        q, a = t.apply(extreme.questions), t.apply(extreme.answers)
        assert not sudoku.invalid_mask(q, a).any()
    _, counts, _ = solve_batch(q[:100], 9, limit=2)
    assert (counts == 1).all()


# Tokens and CSV ----------------------------------------------------------------------------------


def test_tokens():
    g = sudoku.parse(Q9)
    t = sudoku.to_tokens(g.reshape(-1))
    assert t[0] == 1 and t[3] == 8 and t.min() >= 1 and t.max() <= 10
    assert (sudoku.from_tokens(t) == g.reshape(-1)).all()


def test_csv_roundtrip_and_row_numbers(tmp_path):
    puzzles = sudoku.generate(6, 5, seed=0)
    path = tmp_path / "s6.csv"
    sudoku.write_csv(path, puzzles, source="test")
    data = sudoku.read_csv(path)
    assert data.size == 6 and len(data) == 5 and data.sources == ["test"] * 5
    assert (data.questions[2] == puzzles[2].question.reshape(-1)).all()
    assert list(data.ratings) == [p.rating for p in puzzles]
    lines = path.read_text().splitlines()
    bad = list(lines)
    bad[3] = "test,only-two-fields"  # row 3
    (tmp_path / "bad.csv").write_text("\n".join(bad) + "\n")
    with pytest.raises(SudokuError, match="row 3: expected 4 fields"):
        sudoku.read_csv(tmp_path / "bad.csv")
    wrong = list(lines)
    src, q, a, r = wrong[2].split(",")
    wrong[2] = ",".join([src, q, a[::-1], r])  # row 2: an answer that does not fit
    (tmp_path / "wrong.csv").write_text("\n".join(wrong) + "\n")
    with pytest.raises(SudokuError, match="row 2: answer"):
        sudoku.read_csv(tmp_path / "wrong.csv")
    assert sudoku.check_rows([q, q], [a, a[::-1]]) [0] is None


def test_hub_without_network_names_the_local_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TRM_DATA_DIR", str(tmp_path))
    monkeypatch.setitem(__import__("sys").modules, "huggingface_hub", None)  # as if not installed
    with pytest.raises(csvio.DataFileError, match=str(tmp_path / "sudoku-extreme" / "test.csv").replace("\\", "\\\\")):
        sudoku.load_hub("test")
    local = tmp_path / "sudoku-extreme" / "test.csv"
    local.parent.mkdir()
    csvio.write_rows(local, [("sudoku-extreme-test", Q9, A9, 12)])
    data = sudoku.load_hub("test")
    assert len(data) == 1 and data.ratings[0] == 12


@needs_extreme
def test_every_real_row_parses_and_is_valid(extreme):
    assert len(extreme) == 1000 and extreme.size == 9
    assert not sudoku.invalid_mask(extreme.questions, extreme.answers).any()
    assert (extreme.ratings == -1).all()  # the rating column is blank in this file
    givens = (extreme.questions > 0).sum(1)
    assert givens.min() >= 17
