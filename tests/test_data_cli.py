"""``trm data generate`` and ``trm data check``."""

import pytest

from conftest import SHARED
from trm_core.cli import main
from trm_core.data import maze, sudoku


def test_generate_and_check_sudoku(tmp_path, capsys):
    out = tmp_path / "s6.csv"
    assert main(["data", "generate", "sudoku", "--size", "6", "--count", "30", "--seed", "0", "--out", str(out)]) == 0
    assert "wrote 30 6x6 Sudoku puzzles" in capsys.readouterr().out
    data = sudoku.read_csv(out)
    assert len(data) == 30 and data.size == 6
    assert main(["data", "check", str(out), "--task", "sudoku", "--unique"]) == 0
    assert capsys.readouterr().out.strip() == f"{out}: 30 rows, 0 invalid"


def test_generate_and_check_maze(tmp_path, capsys):
    out = tmp_path / "m.csv"
    assert main(["data", "generate", "maze", "--size", "11", "--count", "12", "--min-path", "15",
                 "--out", str(out)]) == 0
    assert "wrote 12 11x11 mazes" in capsys.readouterr().out
    assert maze.read_csv(out).ratings.min() >= 15
    assert main(["data", "check", str(out), "--task", "maze"]) == 0


def test_check_reports_each_invalid_row(tmp_path, capsys):
    src = tmp_path / "s.csv"
    sudoku.write_csv(src, sudoku.generate(4, 6, seed=1))
    lines = src.read_text().splitlines()
    s, q, a, r = lines[2].split(",")
    lines[2] = ",".join([s, q, a[::-1], r])  # row 2: wrong answer
    lines[4] = "x,y"  # row 4: malformed
    s, q, a, r = lines[5].split(",")
    lines[5] = ",".join([s, "." * 16, a, r])  # row 5: valid answer, but many solutions
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    assert main(["data", "check", str(bad), "--task", "sudoku"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{bad}: 6 rows, 2 invalid"
    assert (out[1].startswith("row 2: answer")
            and out[2] == "row 4: expected 4 fields (source,question,answer,rating), got 2")
    assert main(["data", "check", str(bad), "--task", "sudoku", "--unique"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("3 invalid") and out[3] == "row 5: puzzle has more than one solution"


def test_check_maze_rows(tmp_path, capsys):
    src = tmp_path / "m.csv"
    maze.write_csv(src, maze.generate(7, 3, seed=0))
    lines = src.read_text().splitlines()
    s, q, a, r = lines[3].split(",")
    lines[3] = ",".join([s, q, a.replace("o", " ", 1), r])
    src.write_text("\n".join(lines) + "\n")
    assert main(["data", "check", str(src), "--task", "maze"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("3 rows, 1 invalid") and out[1].startswith("row 3: path has")


@pytest.mark.parametrize("argv, message", [
    (["data", "check", "/nonexistent/x.csv", "--task", "sudoku"], "no such file: /nonexistent/x.csv"),
    (["data", "generate", "sudoku", "--size", "5", "--out", "x.csv"], "--size must be 4, 6 or 9"),
    (["data", "generate", "maze", "--min-guesses", "3", "--out", "x.csv"], "--min-guesses applies to sudoku"),
    (["data", "check", "x.csv", "--task", "chess"], "invalid choice"),
])
def test_unusable_input_exits_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) if "chess" in argv else _nothing():
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_wrong_columns_exit_2(tmp_path, capsys):
    f = tmp_path / "w.csv"
    f.write_text("source,puzzle\nx,y\n")
    assert main(["data", "check", str(f), "--task", "maze"]) == 2
    assert "expected source,question,answer,rating" in capsys.readouterr().err


@pytest.mark.skipif(not (SHARED / "maze-30x30-hard-1k-train.csv").is_file(), reason="shared data not present")
def test_check_real_files(capsys):
    assert main(["data", "check", str(SHARED / "maze-30x30-hard-1k-train.csv"), "--task", "maze"]) == 0
    assert main(["data", "check", str(SHARED / "sudoku-extreme-train-1k.csv"), "--task", "sudoku"]) == 0
    assert capsys.readouterr().out.count("1000 rows, 0 invalid") == 2


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
