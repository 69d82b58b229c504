"""Learning-curve PNGs (matplotlib, headless Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

SMOOTHING = 5


def rolling_mean(values: list[float], window: int) -> list[float]:
    """Mean of each value and up to ``window - 1`` values before it."""
    out = []
    for index in range(len(values)):
        chunk = values[max(0, index - window + 1) : index + 1]
        out.append(sum(chunk) / len(chunk))
    return out


def plot_learning_curve(rows: list[dict[str, str]], out: Path, title: str) -> Path | None:
    """Plots mean team return against env steps from progress.csv rows; None if no data."""
    points = [
        (float(r["env_steps"]), float(r["team_return_mean"]))
        for r in rows
        if r.get("team_return_mean") not in (None, "")
    ]
    if not points:
        return None
    steps, returns = zip(*points)
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    sides = [k for k in rows[0] if k.startswith("team_return_") and k != "team_return_mean"]
    if sides:  # a competitive or mixed game: each side's return, not their sum
        for key in sides:
            side = [
                (float(r["env_steps"]), float(r[key])) for r in rows if r.get(key) not in (None, "")
            ]
            if side:
                xs, ys = zip(*side)
                ax.plot(
                    xs, rolling_mean(list(ys), SMOOTHING), lw=2.0, label=key[len("team_return_") :]
                )
    else:
        ax.plot(steps, returns, lw=1.0, alpha=0.35, label="per iteration")
        ax.plot(steps, rolling_mean(list(returns), SMOOTHING), lw=2.0, label=f"mean of {SMOOTHING}")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("env steps")
    ax.set_ylabel("mean team return")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = out.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(out)
    return out


def plot_seed_curves(
    curves: dict[int, list[tuple[int, float]]],
    out: Path,
    title: str,
    target: float | None = None,
    random: float | None = None,
    ylabel: str = "mean team return (training)",
) -> Path:
    """One thin line per seed, their mean on a shared step grid, and reference lines."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8), dpi=100)
    grids = [np.asarray(c, dtype=float) for c in curves.values() if c]
    for seed, curve in zip(curves, grids):
        ax.plot(
            curve[:, 0],
            rolling_mean(list(curve[:, 1]), SMOOTHING),
            lw=1,
            alpha=0.5,
            label=f"seed {seed}",
        )
    if grids:
        end = min(c[-1, 0] for c in grids)
        steps = np.linspace(max(c[0, 0] for c in grids), end, 100)
        mean = np.mean([np.interp(steps, c[:, 0], c[:, 1]) for c in grids], axis=0)
        ax.plot(steps, rolling_mean(list(mean), SMOOTHING), lw=2.2, color="black", label="mean")
    for value, name, style in ((target, "target", "--"), (random, "random policy", ":")):
        if value is not None:
            ax.axhline(value, ls=style, color="gray", lw=1)
            ax.annotate(name, (0, value), fontsize=7, color="gray", va="bottom")
    ax.set_xlabel("env steps")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def plot_crossplay(matrix: dict, sides: list[str], out: Path, title: str) -> Path:
    """One heatmap per side of a two-sided cross-play matrix, annotated.

    Each shows that side's mean return in every matchup (rows: the first side's
    checkpoints, columns: the second's).
    """
    rows, cols = matrix["row_labels"], matrix["column_labels"]
    width = 1.2 + 0.9 * len(cols)
    fig, axes = plt.subplots(1, len(sides), figsize=(width * len(sides), 1.8 + 0.55 * len(rows)))
    for ax, side in zip(np.atleast_1d(axes), sides):
        values = np.asarray(matrix[side], dtype=float)
        image = ax.imshow(values, cmap="viridis", aspect="auto")
        for (i, j), value in np.ndenumerate(values):
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=7, color="white")
        ax.set_xticks(range(len(cols)), cols, rotation=40, ha="right", fontsize=7)
        ax.set_yticks(range(len(rows)), rows, fontsize=7)
        ax.set_xlabel(f"{sides[1]} checkpoint", fontsize=8)
        ax.set_ylabel(f"{sides[0]} checkpoint", fontsize=8)
        ax.set_title(f"{side} return", fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
