"""Pictures: training curves, accuracy per supervision step, grids, latent trajectories, halting."""
from __future__ import annotations

import numpy as np


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 3.5))
    return ax


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
