"""Pictures: grids put the right things in the right cells, PCA and distances compute what they say,
the halting plots show the numbers of trm_core.evaluate."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from trm_core import Trace, build_model, viz  # noqa: E402
from trm_core.data import maze, sudoku  # noqa: E402
from trm_core.evaluate import metrics_from_predictions  # noqa: E402

SOLVED_4 = "1234341221434321"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def trace():
    torch.manual_seed(0)
    model = build_model("trm-mlp-tiny", vocab_size=8, seq_len=36, hidden_size=32, mlp_multiple=32, n=2, T=1, N_sup=3)
    puzzles = sudoku.generate(6, count=3, seed=0)
    tokens = torch.as_tensor(sudoku.to_tokens(np.stack([p.question.reshape(-1) for p in puzzles])))
    return model.reason(tokens, keep_states=True), puzzles


def _cell_texts(ax):
    """{(row, col): Text} of the digits drawn in a grid."""
    return {(int(t.get_position()[1] - 0.5), int(t.get_position()[0] - 0.5)): t for t in ax.texts}


def _thick_lines(ax):
    rows, cols = set(), set()
    for line in ax.lines:
        if line.get_linewidth() != 2.0:
            continue
        x, y = line.get_xdata(), line.get_ydata()
        if y[0] == y[1] and x[0] != x[1]:
            rows.add(float(y[0]))
        elif x[0] == x[1]:
            cols.add(float(x[0]))
    return rows, cols


# Sudoku -------------------------------------------------------------------------------------------
def test_draw_sudoku_puts_each_digit_in_its_cell_with_givens_bold():
    puzzle = "1.3.3.1.2.4.4.2."
    ax = viz.draw_sudoku(SOLVED_4, givens=puzzle, title="t")
    texts = _cell_texts(ax)
    grid = sudoku.parse(SOLVED_4)
    assert len(texts) == 16
    for (r, c), t in texts.items():
        assert t.get_text() == str(grid[r, c])
        given = puzzle[4 * r + c] != "."
        assert (t.get_fontweight() == "bold") == given
    assert ax.get_title() == "t"


def test_draw_sudoku_leaves_blanks_empty_and_draws_box_lines():
    ax = viz.draw_sudoku("1.3.3.1.2.4.4.2.")
    assert len(ax.texts) == 8
    assert (0, 1) not in _cell_texts(ax)
    assert _thick_lines(ax) == ({0.0, 2.0, 4.0}, {0.0, 2.0, 4.0})
    six = sudoku.generate(6, count=1, seed=1)[0].answer
    ax6 = viz.draw_sudoku(six)  # boxes of 2 rows x 3 columns
    assert _thick_lines(ax6) == ({0.0, 2.0, 4.0, 6.0}, {0.0, 3.0, 6.0})
    ax9 = viz.draw_sudoku(np.zeros((9, 9), int))
    assert _thick_lines(ax9) == ({0.0, 3.0, 6.0, 9.0}, {0.0, 3.0, 6.0, 9.0}) and not ax9.texts


def test_draw_sudoku_colours_confidence_and_marks_wrong_cells():
    conf = np.full((4, 4), 0.5)
    conf[1, 1], conf[2, 2] = 0.0, 1.0
    givens = np.zeros((4, 4), bool)
    givens[0, 0] = True
    wrong = np.zeros((4, 4), bool)
    wrong[3, 1] = True
    ax = viz.draw_sudoku(SOLVED_4, givens=givens, confidence=conf, wrong=wrong)
    rgba = np.asarray(ax.images[0].get_array())
    assert np.allclose(rgba[0, 0, :3], 1.0)  # a given stays white
    assert rgba[1, 1, 0] > rgba[1, 1, 1]  # unsure: red
    assert rgba[2, 2, 1] > rgba[2, 2, 0]  # sure: green
    frames = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(frames) == 1 and frames[0].get_xy() == pytest.approx((1.06, 3.06))
    assert to_rgba(_cell_texts(ax)[(3, 1)].get_color()) != to_rgba(_cell_texts(ax)[(3, 2)].get_color())


def test_draw_sudoku_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="36 cells, expected 16"):
        viz.draw_sudoku(SOLVED_4, confidence=np.ones(36))
    with pytest.raises(ValueError, match="80 cells"):
        viz.draw_sudoku(np.zeros(80, int))


# Mazes and ARC ------------------------------------------------------------------------------------
def test_draw_maze_shows_the_grid_and_the_path():
    q = maze.parse("#####" "#S  #" "# # #" "#  G#" "#####")
    ax = viz.draw_maze(q, path=[(1, 1), (1, 2), (1, 3), (2, 3), (3, 3)], title="m")
    assert np.array_equal(np.asarray(ax.images[0].get_array()), q)
    im = ax.images[0]
    assert im.cmap(im.norm(maze.START)) == to_rgba(viz.MAZE_COLORS[maze.START])
    dots = [ln for ln in ax.lines if ln.get_marker() == "o"]
    assert len(dots) == 1 and list(dots[0].get_xdata()) == [1.5, 2.5, 3.5, 3.5, 3.5]
    assert any(ln.get_linestyle() == "-" for ln in ax.lines)  # ordered cells are joined
    answer = maze.parse("#####" "#So #" "# #o#" "#  G#" "#####")
    ax2 = viz.draw_maze(maze.to_string(q), path=answer)  # a grid's 'o' cells: dots only
    dots = [ln for ln in ax2.lines if ln.get_marker() == "o"]
    assert sorted(zip(dots[0].get_ydata(), dots[0].get_xdata())) == [(1.5, 2.5), (2.5, 3.5)]
    assert not [ln for ln in ax2.lines if ln.get_linestyle() == "-"]


def test_draw_arc_uses_the_ten_arc_colours():
    g = np.arange(10).reshape(2, 5)
    ax = viz.draw_arc(g)
    im = ax.images[0]
    for v in range(10):
        assert im.cmap(im.norm(v)) == to_rgba(viz.ARC_COLORS[v])
    assert ax.get_xlim() == (0, 5) and ax.get_ylim() == (2, 0)
    with pytest.raises(ValueError, match="0-9"):
        viz.draw_arc(np.array([[0, 11]]))


# The answer after every step ----------------------------------------------------------------------
def test_decode_sudoku_steps_uses_stablemax_or_softmax_and_tokens():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 16, 6, generator=g) * 3
    q_halt = torch.randn(2, 3, generator=g)
    dec = viz.decode_sudoku_steps(logits, index=1, q_halt=q_halt)  # stablemax: what the models train with
    x = logits[:, 1].double()
    s = torch.where(x >= 0, x + 1, 1 / (1 - x))
    p = s / s.sum(-1, keepdim=True)
    tokens = p.argmax(-1).numpy()
    assert np.array_equal(dec.digits.reshape(2, 16), np.where(tokens <= 1, 0, tokens - 1))
    assert np.allclose(dec.confidence.reshape(2, 16), p.max(-1).values.numpy(), atol=1e-6)
    soft = viz.decode_sudoku_steps(logits, index=1, probs="softmax")
    assert np.allclose(soft.confidence.reshape(2, 16), torch.softmax(x, -1).max(-1).values.numpy(), atol=1e-6)
    assert np.array_equal(soft.digits, dec.digits)  # the same argmax, another confidence
    with pytest.raises(ValueError, match="probs"):
        viz.decode_sudoku_steps(logits, probs="sigmoid")
    assert np.allclose(dec.halt_probability, torch.sigmoid(q_halt[:, 1]).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="square"):
        viz.decode_sudoku_steps(torch.zeros(1, 15, 6))


def test_plot_steps_grid_one_grid_per_step_wrong_cells_against_the_solution(trace):
    tr, puzzles = trace
    dec = viz.decode_sudoku_steps(tr, index=1)
    fig = viz.plot_steps_grid(tr, puzzle=puzzles[1].question, index=1, solution=dec.digits[2])
    grids = [ax for ax in fig.axes if ax.get_title().startswith("step")]
    assert [ax.get_title().split()[1] for ax in grids] == ["1", "2", "3"]
    assert "P(halt)=" in grids[0].get_title()
    frames = [sum(isinstance(p, Rectangle) for p in ax.patches) for ax in grids]
    assert frames[2] == 0 and frames[0] == int((dec.digits[0] != dec.digits[2]).sum())
    texts = _cell_texts(grids[2])
    for (r, c), t in texts.items():
        assert t.get_text() == str(dec.digits[2][r, c])
    fig2 = viz.plot_steps_grid(tr.logits, steps=[3])
    assert [ax.get_title() for ax in fig2.axes if ax.get_title().startswith("step")] == ["step 3"]
    with pytest.raises(ValueError, match="steps 1 to 3"):
        viz.plot_steps_grid(tr, steps=[4])


# Latent states ------------------------------------------------------------------------------------
def test_pca_recovers_a_rank_two_set():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(6, 2)))[0].T  # (2, 6) orthonormal
    coef = rng.normal(size=(200, 2)) * [3.0, 1.0]
    x = coef @ basis + rng.normal(size=6)
    fit = viz.pca(x, k=2)
    assert fit.coords.shape == (200, 2) and fit.components.shape == (2, 6)
    assert np.allclose(fit.components @ fit.components.T, np.eye(2), atol=1e-10)
    assert np.allclose(fit.coords @ fit.components + fit.mean, x, atol=1e-10)  # nothing lost
    assert fit.explained_variance_ratio.sum() == pytest.approx(1.0)
    assert fit.explained_variance_ratio[0] > fit.explained_variance_ratio[1]
    overlap = fit.components @ basis.T  # the same plane
    assert abs(np.linalg.det(overlap)) == pytest.approx(1.0)
    assert np.allclose(fit.transform(x[:5]), fit.coords[:5])
    fit3 = viz.pca(x, k=3)
    assert fit3.explained_variance_ratio[2] < 1e-20


def test_pca_of_too_few_points_pads_with_zeros_and_checks_k():
    fit = viz.pca(np.ones((1, 4)), k=2)
    assert np.all(fit.coords == 0) and np.all(np.isfinite(fit.components))
    with pytest.raises(ValueError, match="k must lie"):
        viz.pca(np.ones((3, 2)), k=3)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        viz.pca(np.ones(3))


def test_state_distances_known_values():
    t = np.arange(1, 5, dtype=float)[:, None, None, None]  # 4 steps
    s = np.concatenate([t * np.ones((4, 1, 3, 5)), 2 * t * np.ones((4, 1, 3, 5))], axis=1)  # 2 puzzles
    d = viz.state_distances(s)
    assert d.shape == (3,) and (d >= 0).all()
    assert np.allclose(d, 1.5 * np.sqrt(15))
    assert np.allclose(viz.state_distances(s, relative=True), [1, 1 / 2, 1 / 3])
    assert np.allclose(viz.state_distances(s[:, 0]), np.sqrt(15))  # (steps, L, D): one puzzle


def test_plot_state_distances_plots_y_and_z_from_step_2(trace):
    tr, _ = trace
    ax = viz.plot_state_distances(tr.y, tr.z)
    assert len(ax.lines) == 2
    for line, s in zip(ax.lines, (tr.y, tr.z)):
        assert list(line.get_xdata()) == [2, 3]
        assert np.allclose(line.get_ydata(), viz.state_distances(s))
        assert (np.asarray(line.get_ydata()) > 0).all()
    assert len(viz.plot_state_distances(tr).lines) == 2  # a Trace works too
    assert ax.get_ylim()[0] == 0


def test_plot_latent_trajectories_draws_the_pca_of_pooled_states(trace):
    tr, _ = trace
    ax = viz.plot_latent_trajectories(tr.y, tr.z)
    assert len(ax.lines) == 6  # y and z for 3 puzzles
    ys, zs, fit = viz.latent_pca(tr.y, tr.z)
    # (steps, B, D), pooled in float64 as latent_pca does: a float32 mean is off by ~5e-8, which used
    # 0.01-0.18 of np.allclose's atol=1e-8 depending on NumPy's SIMD and BLAS paths (measured)
    pooled = tr.y.numpy().astype(np.float64).mean(2)
    assert np.allclose(ys, fit.transform(pooled.reshape(-1, pooled.shape[-1])).reshape(3, 3, 2))
    assert np.allclose(ax.lines[0].get_xdata(), ys[:, 0, 0]) and np.allclose(ax.lines[1].get_ydata(), zs[:, 0, 1])
    assert "PC 1" in ax.get_xlabel()
    faint = viz.plot_latent_trajectories(tr, highlight=2)
    assert [ln.get_alpha() for ln in faint.lines] == [0.25, 0.25, 0.25, 0.25, 1.0, 1.0]
    with pytest.raises(ValueError, match="keep_states"):
        viz.plot_latent_trajectories(Trace(tr.logits, tr.q_halt, tr.q_continue))  # no states kept
    with pytest.raises(ValueError, match="keep_states"):
        viz.plot_latent_trajectories(np.zeros((3, 4)), np.zeros((3, 4)))


# Halting ------------------------------------------------------------------------------------------
def test_halting_histogram_bars_and_never_bucket():
    ax = viz.plot_halting_histogram([5, 0, 3, 2])
    assert [p.get_height() for p in ax.patches] == [5, 0, 3, 2]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "never"]
    with pytest.raises(ValueError, match="never"):
        viz.plot_halting_histogram([4])


def test_halting_plots_read_evaluate_metrics(trace):
    tr, puzzles = trace
    labels = sudoku.to_tokens(np.stack([p.answer.reshape(-1) for p in puzzles]))
    q_halt = np.array([[-1.0, 2.0, -3.0], [1.0, 2.0, -3.0], [1.0, 2.0, -3.0]])  # halts at step 2, 1, never
    m = metrics_from_predictions(tr.predictions.numpy(), q_halt, labels)
    ax = viz.plot_halting_histogram(m)
    assert [p.get_height() for p in ax.patches] == [1, 1, 0, 1]
    assert "mean step" in ax.get_title()
    ax = viz.plot_calibration(m)
    diag = [ln for ln in ax.lines if list(ln.get_xdata()) == [0, 1] and list(ln.get_ydata()) == [0, 1]]
    assert len(diag) == 1
    pts = ax.collections[0].get_offsets()
    expected = [(b["mean_confidence"], b["fraction_correct"]) for b in m["q_halt_calibration"]]
    assert np.allclose(pts, expected)


def test_calibration_of_given_bins_and_of_none():
    bins = [dict(mean_confidence=0.2, fraction_correct=0.1, count=5),
            dict(mean_confidence=0.9, fraction_correct=0.8, count=50)]
    ax = viz.plot_calibration(bins)
    assert np.allclose(ax.collections[0].get_offsets(), [(0.2, 0.1), (0.9, 0.8)])
    sizes = ax.collections[0].get_sizes()
    assert sizes[1] > sizes[0]
    empty = viz.plot_calibration([])
    assert len(empty.lines) == 1 and not empty.collections  # the diagonal alone


# The two plots trm demo uses ----------------------------------------------------------------------
def test_training_curve_and_per_step_accuracy():
    history = ([dict(kind="train", step=s, loss=1 / s) for s in (1, 2, 3)]
               + [dict(kind="eval", step=3, exact_accuracy=0.5)])
    ax = viz.plot_training_curve(history)
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3]
    ax = viz.plot_per_step_accuracy([0.1, 0.5])
    assert np.allclose(ax.lines[0].get_ydata(), [10, 50])


def test_state_distance_curves_drawn_on_one_axes_all_fit():
    """The latent explorer draws one puzzle, then the mean of all, on the same axes: nothing is cut off."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    small = rng.normal(size=(5, 1, 4, 8)) * np.arange(1, 6)[:, None, None, None] * 0.01
    large = rng.normal(size=(5, 3, 4, 8)) * 10
    fig, ax = plt.subplots()
    viz.plot_state_distances(small, small, ax=ax)
    viz.plot_state_distances(large, large, ax=ax, ls=":")
    low, high = ax.get_ylim()
    assert low == 0 and all(np.nanmax(line.get_ydata()) <= high for line in ax.get_lines())
    plt.close(fig)


def test_flow_boxes_follow_the_algorithms():
    trm = viz.flow_boxes("trm", n=6, T=3)
    assert len(trm) == 21 and [b.grad for b in trm] == [False] * 14 + [True] * 7
    assert [b.state for b in trm[:7]] == ["z"] * 6 + ["y"]
    hrm = viz.flow_boxes("hrm", n=2, T=2)
    assert len(hrm) == 6 and [(b.state, b.update) for b in hrm if b.grad] == [("z", 2), ("y", 1)]
    assert "z_L" in hrm[0].text and "z_H" in hrm[-1].text
    with pytest.raises(ValueError, match="arch"):
        viz.flow_boxes("gpt")


def test_draw_flow_draws_every_call_or_says_how_many():
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(2, 1)
    viz.draw_flow("trm", n=3, T=2, ax=a)
    assert len(a.flow_boxes) == 8 and "8 network calls, 4 back-propagated" in a.get_title()
    viz.draw_flow("trm", n=6, T=3, ax=b)  # 6 z updates per cycle: 3 drawn, "...", the last
    assert len(b.flow_boxes) == 3 * (4 + 1) and "21 network calls, 7 back-propagated" in b.get_title()
    texts = [t.get_text() for t in b.texts]
    assert texts.count("...") == 3 and any("n = 6 times" in t for t in texts)
    assert any("cycle 3 of 3: gradients" == t for t in texts) and any("detached" in t for t in texts)
    plt.close(fig)


def test_the_comparison_table_counts_the_published_models():
    from trm_core.models import build_model

    table = viz.comparison_table()
    rows = {r[0]: r[1:] for r in table.rows}
    assert rows["parameters (Sudoku)"][0] == f"{build_model('hrm-sudoku').num_parameters():,}" == "27,275,266"
    assert rows["parameters (Sudoku)"][1].startswith("5,028,866")
    assert rows["effective depth per step"] == ["24 layers", "42 layers"]
    assert rows["network calls back-propagated"][1].startswith("7 of 21")
    md = viz.comparison_markdown(table)
    assert md.count("\n") == len(table.rows) + 1 and "| EMA of weights | no |" in md
    ax = viz.draw_comparison_table(table)
    assert len(ax.tables) == 1
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_the_animated_solve_has_a_frame_per_step():
    import matplotlib.pyplot as plt

    torch.manual_seed(0)
    logits = torch.randn(4, 36, 8)  # (steps, L, V) of a 6x6 Sudoku
    anim = viz.animate_solve(logits, solution=np.ones((6, 6), int))
    dec = viz.decode_sudoku_steps(logits)
    assert len(anim.frame_texts) == 4 and anim.frame_texts[2].startswith("step 3 / 4")
    anim._func(2)  # draw frame 3: its digits are step 3's
    ax = anim._fig.axes[0]
    drawn = sorted(t.get_text() for t in ax.texts if t.get_text().isdigit())
    assert drawn == sorted(str(d) for d in dec.digits[2].reshape(-1) if d)
    assert ax.get_title() == anim.frame_texts[2]
    html = viz.animation_html(anim)
    assert "<script" in html.data and not plt.fignum_exists(anim._fig.number)
