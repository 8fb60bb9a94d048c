"""Mazes: parsing, generation, BFS, the shortest-path checker, dihedral augmentation and CSV."""

import numpy as np
import pytest

from conftest import HARD, needs_hard
from trm_core.data import csvio, maze
from trm_core.data.grids import DIHEDRAL_INVERSE, dihedral, dihedral_perms, inverse_dihedral
from trm_core.data.maze import MazeError

ROOM = ["S  ",
        "   ",
        "  G"]  # an open room: six shortest paths of 4 moves


def grid(rows):
    return maze.parse("".join(rows))


@pytest.fixture(scope="module")
def hard():
    return maze.read_csv(HARD)


def test_parse_roundtrip_and_tokens():
    g = grid(["S #", " o ", "##G"])
    assert g.shape == (3, 3) and g[0, 0] == maze.START and g[0, 2] == maze.WALL and g[1, 1] == maze.PATH
    assert maze.to_string(g) == "S # o ##G"
    t = maze.to_tokens(g)
    assert t[0, 2] == 1 and t[0, 1] == 2 and t[0, 0] == 3 and t[2, 2] == 4 and t[1, 1] == 5  # "# SGo" index + 1
    assert (maze.from_tokens(t) == g).all() and maze.VOCAB_SIZE == 6


def test_parse_errors():
    with pytest.raises(MazeError, match="bad character 'x' at row 1, column 2"):
        maze.parse("Sx  G    ")
    with pytest.raises(MazeError, match="8 cells, not a square number"):
        maze.parse("S      G")
    with pytest.raises(MazeError, match="expected 9"):
        maze.parse("S  G", size=3)
    for text, msg in (("S  S  G  ", "2 start"), ("S        ", "0 goal"), ("S o    G ", "already has path")):
        with pytest.raises(MazeError, match=msg):
            maze.validate_question(text)
    with pytest.raises(MazeError, match="cannot be reached"):
        maze.validate_question("S# ## ##G")


def test_bfs_distances():
    g = grid(["S #", "  #", "# G"])
    d = maze.bfs((g != maze.WALL)[None], np.array([0]))[0]
    assert d[0, 0] == 0 and d[1, 1] == 2 and d[2, 2] == 4 and d[0, 2] == -1
    assert maze.shortest_path_length(g) == 4
    assert list(maze.distances((g != maze.WALL)[None].repeat(2, 0), np.array([0, 8]), np.array([8, 2]))) == [4, -1]


def test_checker_accepts_every_shortest_path_and_only_those():
    q = grid(ROOM)
    answers = {maze.to_string(maze.solve(q, __import__("random").Random(s))) for s in range(40)}
    assert len(answers) == 6  # solve draws among all shortest paths
    assert all(maze.check_answer(q, a) is None for a in answers)
    detour = grid(["Soo", "  o", " oG"])  # connected but one move too long
    assert "a shortest path from S to G has 3" in maze.check_answer(q, detour)
    gap = grid(["So ", "  o", "o G"])  # right number of cells, not connected
    assert maze.check_answer(q, gap) == "path cells do not connect S to G"
    moved = grid(["oSo", "  o", "  G"])
    assert "changes row 1, column 1 from 'S' to 'o'" in maze.check_answer(q, moved)
    walled = grid(["S##", "   ", "  G"])
    assert "from ' ' to '#'" in maze.check_answer(q, walled)
    assert "answer is 2x2" in maze.check_answer(q, grid(["S ", " G"]))


@pytest.mark.parametrize("size, min_path", [(7, None), (12, 20), (15, 40)])
def test_generator(size, min_path):
    data = maze.generate(size, 12, seed=3, min_path=min_path)
    assert data.questions.shape == (12, size * size) and data.size == size
    assert all(r is None for r in maze.check_answers(data.questions, data.answers))
    if min_path:
        assert data.ratings.min() >= min_path
    for q, a, d in zip(data.questions, data.answers, data.ratings):
        assert maze.shortest_path_length(q.reshape(size, size)) == d
        assert (a == maze.PATH).sum() == d - 1  # S and G stay, the cells between them become 'o'
        assert (a == maze.START).sum() == 1 and (a == maze.GOAL).sum() == 1
    again = maze.generate(size, 12, seed=3, min_path=min_path)
    assert (again.questions == data.questions).all()
    assert (maze.generate(size, 12, seed=4, min_path=min_path).questions != data.questions).any()
    assert len({q.tobytes() for q in data.questions}) == 12


def test_loops_give_several_shortest_paths():
    data = maze.generate(15, 30, seed=0, loops=0.3)
    several = 0
    for q in data.questions:
        g = q.reshape(15, 15)
        s, t = np.flatnonzero(q == maze.START)[0], np.flatnonzero(q == maze.GOAL)[0]
        ds = maze.bfs((g != maze.WALL)[None], np.array([s]))[0]
        dt = maze.bfs((g != maze.WALL)[None], np.array([t]))[0]
        on_some_path = ((ds >= 0) & (ds + dt == ds.reshape(-1)[t])).sum()
        several += on_some_path > ds.reshape(-1)[t] + 1
    assert several > 10


def test_impossible_min_path_raises():
    with pytest.raises(MazeError, match="lower min_path"):
        maze.generate_one(5, __import__("random").Random(0), min_path=100, max_tries=5)


def test_dihedral_group():
    g = np.arange(20).reshape(4, 5)
    images = [dihedral(g, k) for k in range(8)]
    assert len({(x.shape, x.tobytes()) for x in map(np.ascontiguousarray, images)}) == 8
    for k in range(8):
        assert (inverse_dihedral(dihedral(g, k), k) == g).all()
        assert (dihedral(dihedral(g, k), DIHEDRAL_INVERSE[k]) == g).all()
    sq = np.arange(9).reshape(3, 3)
    perms = dihedral_perms(3)
    assert all((dihedral(sq, k).reshape(-1) == sq.reshape(-1)[perms[k]]).all() for k in range(8))
    assert (dihedral(np.stack([sq, sq + 9]), 1)[1] == dihedral(sq + 9, 1)).all()  # batched
    with pytest.raises(ValueError):
        dihedral(sq, 8)


def test_augment_keeps_answers_valid():
    data = maze.generate(9, 3, seed=1)
    for q, a in zip(data.questions, data.answers):
        for k in range(8):
            qa, aa = maze.augment(q.reshape(9, 9), a.reshape(9, 9), k)
            assert maze.check_answer(qa, aa) is None


def test_csv_roundtrip_and_errors(tmp_path):
    data = maze.generate(9, 4, seed=0)
    path = tmp_path / "m.csv"
    maze.write_csv(path, data)
    back = maze.read_csv(path)
    assert (back.questions == data.questions).all() and (back.answers == data.answers).all()
    assert (back.ratings == data.ratings).all()
    lines = path.read_text().splitlines()
    src, q, a, r = lines[3].split(",")
    lines[3] = ",".join([src, q, a.replace("o", " ", 1), r])  # row 3: a broken path
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(MazeError, match="row 3: path has"):
        maze.read_csv(tmp_path / "bad.csv")
    assert maze.check_rows([q, q, "x"], [a, a.replace("o", " ", 1), "x"])[0] is None


def test_hub_without_network_names_the_local_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TRM_DATA_DIR", str(tmp_path))
    monkeypatch.setitem(__import__("sys").modules, "huggingface_hub", None)
    with pytest.raises(csvio.DataFileError, match="maze-30x30-hard-1k.train.csv"):
        maze.load_hub("train")


@needs_hard
def test_every_real_maze_label_is_a_valid_shortest_path(hard):
    assert len(hard) == 1000 and hard.size == 30
    assert all(r is None for r in maze.check_answers(hard.questions, hard.answers))
    assert ((hard.answers == maze.START).sum(1) == 1).all() and ((hard.answers == maze.GOAL).sum(1) == 1).all()
    marked = (hard.answers == maze.PATH).sum(1)
    assert marked.min() >= 108  # shortest paths of 109+ moves ("over 110" cells with S and G)


@needs_hard
def test_dihedral_augmentation_keeps_real_mazes_valid(hard):
    k = np.arange(len(hard)) % 8  # every transform on 125 mazes each
    perms = dihedral_perms(30)[k]
    q = np.take_along_axis(hard.questions, perms, axis=1)
    a = np.take_along_axis(hard.answers, perms, axis=1)
    assert all(r is None for r in maze.check_answers(q, a))
    assert (q[k == 1] != hard.questions[k == 1]).any(axis=1).all()
