"""Learning-curve PNGs (matplotlib, headless Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

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
