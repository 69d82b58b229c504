"""``marl plot`` and ``marl report``: several runs' learning curves and final returns, compared.

Inputs are run directories (``progress.csv`` and ``spec.yaml``; a folder of run directories
such as ``runs/`` counts as all of them) and ``marl bench`` result JSONs (one group of seeds
each). Runs of the same spec name, algorithm and env with different seeds form one group:
``plot`` draws its mean learning curve on a common env-step grid with a 95% bootstrap band,
``report`` prints each group's final and best team return as the interquartile mean (IQM)
over seeds with a 95% stratified bootstrap confidence interval (Agarwal et al. 2021,
"Deep RL at the Edge of the Statistical Precipice"). The two statistics are a few lines of
numpy here rather than the rliable package, whose dependencies (arch, pandas, seaborn) outweigh
them; ``iqm`` and ``bootstrap_ci`` are unit-tested against hand-computed values.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from rl_apps.errors import SpecError


@dataclass(frozen=True)
class Curve:
    """One seed's learning curve: team return (training episodes) against env steps."""

    group: tuple[str, str, str]  # (spec name, algo, env)
    seed: int | None
    steps: np.ndarray
    returns: np.ndarray


def iqm(values: np.ndarray) -> float:
    """The interquartile mean: the mean of the middle 50% (25% trimmed from each end)."""
    x = np.sort(np.asarray(values, float))
    cut = int(np.floor(0.25 * len(x)))
    return float(x[cut : len(x) - cut].mean())


def bootstrap_ci(
    values: np.ndarray,
    stat: Callable[[np.ndarray], float] = iqm,
    reps: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """95% percentile bootstrap interval of ``stat`` over seeds (resampled with replacement).

    One task per group, so the stratified bootstrap of Agarwal et al. resamples the seeds of
    that task; with one seed the interval is the value itself.
    """
    x = np.asarray(values, float)
    rng = np.random.default_rng(seed)
    stats = [stat(x[rng.integers(len(x), size=len(x))]) for _ in range(reps)]
    low, high = np.percentile(stats, [2.5, 97.5])
    return float(low), float(high)


def load_curves(paths: list[Path]) -> list[Curve]:
    """Every curve in the given run directories, folders of them, and bench result JSONs."""
    curves: list[Curve] = []
    for path in paths:
        if path.suffix == ".json" and path.is_file():
            curves += _bench_curves(path)
        elif (path / "progress.csv").is_file():
            curves.append(_run_curve(path))
        elif path.is_dir() and any(path.glob("*/progress.csv")):
            curves += [_run_curve(p.parent) for p in sorted(path.glob("*/progress.csv"))]
        else:
            raise SpecError(
                str(path), [("", "not a run directory, a folder of them or a bench JSON")]
            )
    return [c for c in curves if len(c.steps)]


def _run_curve(run_dir: Path) -> Curve:
    spec = yaml.safe_load((run_dir / "spec.yaml").read_text()) or {}
    steps, returns = [], []
    with (run_dir / "progress.csv").open() as handle:
        for row in csv.DictReader(handle):
            if row.get("team_return_mean") not in ("", None):
                steps.append(float(row["env_steps"]))
                returns.append(float(row["team_return_mean"]))
    env = (spec.get("env") or {}).get("name", "?")
    group = (str(spec.get("name", run_dir.name)), str(spec.get("algo", "?")), str(env))
    return Curve(group, spec.get("seed"), np.array(steps), np.array(returns))


def _bench_curves(path: Path) -> list[Curve]:
    report = json.loads(path.read_text())
    if "seeds" not in report:
        raise SpecError(str(path), [("", "not a marl bench result (no seeds)")])
    env = report["env"]
    env = env.get("name", "?") if isinstance(env, dict) else env
    group = (str(report["name"]), str(report["algo"]), str(env))
    curves = []
    for seed in report["seeds"]:
        points = np.asarray(seed.get("curve") or [], float).reshape(-1, 2)
        curves.append(Curve(group, seed.get("seed"), points[:, 0], points[:, 1]))
    return curves


def grouped(curves: list[Curve]) -> dict[tuple[str, str, str], list[Curve]]:
    groups: dict[tuple[str, str, str], list[Curve]] = {}
    for curve in curves:
        groups.setdefault(curve.group, []).append(curve)
    return groups


def mean_curve(curves: list[Curve], points: int = 100) -> tuple[np.ndarray, ...]:
    """(grid, mean, band low, band high) over the env steps every seed reached."""
    end = min(c.steps[-1] for c in curves)
    start = max(c.steps[0] for c in curves)
    grid = np.linspace(start, end, points) if end > start else np.array([end])
    values = np.stack([np.interp(grid, c.steps, c.returns) for c in curves])  # [seeds, G]
    mean = values.mean(0)
    if len(curves) == 1:
        return grid, mean, mean, mean
    bands = np.array([bootstrap_ci(values[:, g], np.mean, reps=500) for g in range(len(grid))])
    return grid, mean, bands[:, 0], bands[:, 1]


def plot(paths: list[Path], out: Path) -> Path:
    """One figure: each group's mean curve and band; returns ``out``."""
    from rl_apps.plots import plt

    groups = grouped(load_curves(paths))
    if not groups:
        raise SpecError("marl plot", [("", "no learning curves in the given runs")])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (name, algo, env), curves in groups.items():
        grid, mean, low, high = mean_curve(curves)
        ax.plot(grid, mean, label=f"{name} ({algo}, {env}, {len(curves)} seeds)")
        ax.fill_between(grid, low, high, alpha=0.2)
    ax.set_xlabel("env steps")
    ax.set_ylabel("team return (training episodes)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def _cell(values: np.ndarray) -> str:
    low, high = bootstrap_ci(values)
    return f"{iqm(values):.3f} [{low:.3f}, {high:.3f}]"


def report(paths: list[Path]) -> str:
    """A Markdown table: final and best team return per group, IQM [95% CI] over seeds."""
    lines = [
        "| run | algo | env | seeds | final return IQM [95% CI] | best return IQM [95% CI] |",
        "|---|---|---|---:|---|---|",
    ]
    for (name, algo, env), curves in grouped(load_curves(paths)).items():
        final = np.array([c.returns[-1] for c in curves])
        best = np.array([c.returns.max() for c in curves])
        cells = [_cell(x) for x in (final, best)]
        lines.append(f"| {name} | {algo} | {env} | {len(curves)} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)
