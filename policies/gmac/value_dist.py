"""``marl inspect value-dist CHECKPOINT OUT.png``: what a GMAC critic predicts along an episode.

Plays one episode with the checkpoint's actors (sampling, seeded), then plots, at a few evenly
spaced steps, the density of the return that each agent's critic predicts (a Gaussian mixture,
reward units), with the discounted return that actually followed as a dashed line. The critic
reads the global state, so this is a training-time view (acting never uses it).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ray.rllib.core.columns import Columns

from policies.common.acting import DecentralizedActors, stack_observations
from policies.common.contract import InspectContext, Inspector, UnsupportedError
from policies.gmac.distribution import Mixture, mixture_mean

#: Steps of the episode whose predicted distributions are drawn.
N_STATES = 4


def record_episode(env: Any, act: Any, seed: int) -> tuple[list[dict], list[dict]]:
    """(observations, rewards) of every step of one episode."""
    obs, _ = env.reset(seed=seed)
    observations, rewards = [], []
    done = False
    while not done:
        observations.append(obs)
        obs, reward, terms, truncs, _ = env.step(act(obs))
        rewards.append(reward)
        done = terms["__all__"] or truncs["__all__"]
    return observations, rewards


def returns_to_go(rewards: list[dict], agent: str, gamma: float) -> list[float]:
    """The discounted return that followed each step, for one agent."""
    out, running = [], 0.0
    for step in reversed(rewards):
        running = step.get(agent, 0.0) + gamma * running
        out.append(running)
    return out[::-1]


@torch.no_grad()
def predicted_mixtures(modules: Any, module_for: Any, observations: list[dict]) -> dict:
    """``{step: {agent: Mixture}}`` at ``N_STATES`` evenly spaced steps."""
    steps = sorted({int(s) for s in np.linspace(0, len(observations) - 1, N_STATES)})
    out: dict[int, dict[str, Mixture]] = {}
    for step in steps:
        out[step] = {}
        for agent, obs in observations[step].items():
            module = modules[module_for(agent)]
            mixture = module.compute_mixture({Columns.OBS: stack_observations([obs])}, raw=True)
            out[step][agent] = Mixture(*(x[0].double() for x in mixture))
    return out


def _density(mixture: Mixture, grid: np.ndarray) -> np.ndarray:
    w, mu, sd = (x.numpy()[:, None] for x in mixture)  # [K, 1]
    pdf = np.exp(-0.5 * ((grid[None] - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
    return (w * pdf).sum(axis=0)  # [G]


def plot_value_distributions(mixtures: dict, realized: dict[str, list[float]], out: Path) -> None:
    """One panel per step: each agent's predicted density and its realized return."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(mixtures), figsize=(4 * len(mixtures), 3), squeeze=False)
    for ax, (step, per_agent) in zip(axes[0], mixtures.items()):
        for index, (agent, mixture) in enumerate(per_agent.items()):
            lo = float((mixture.means - 4 * mixture.stds).min())
            hi = float((mixture.means + 4 * mixture.stds).max())
            grid = np.linspace(lo, hi, 400)
            color = f"C{index}"
            ax.plot(grid, _density(mixture, grid), color=color, label=agent)
            ax.axvline(realized[agent][step], color=color, linestyle="--", linewidth=1)
        ax.set_title(f"step {step}")
        ax.set_xlabel("return")
    axes[0][0].set_ylabel("predicted density")
    axes[0][-1].legend(fontsize="small")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def value_dist_report(mixtures: dict, realized: dict[str, list[float]]) -> list[dict]:
    """JSON-ready summary: mean, spread and weights per step and agent."""
    rows = []
    for step, per_agent in mixtures.items():
        for agent, m in per_agent.items():
            rows.append(
                {
                    "step": step,
                    "agent": agent,
                    "predicted_mean": float(mixture_mean(m)),
                    "weights": [round(float(w), 4) for w in m.weights],
                    "means": [round(float(x), 4) for x in m.means],
                    "stds": [round(float(x), 4) for x in m.stds],
                    "realized_return": realized[agent][step],
                }
            )
    return rows


def inspect_value_dist(
    modules: Any, env: Any, context: InspectContext, out: Path | None
) -> dict[str, Any]:
    """Plays one episode, plots the critics' predictions into ``out``; returns the summary."""
    if context.model_config.get("use_gru"):
        raise UnsupportedError(
            "rl_module.model_config.use_gru", "value-dist does not support GRU critics yet"
        )
    if out is None:
        raise UnsupportedError("OUT", "value-dist writes a PNG: give its path")
    config = context.config
    torch.manual_seed(context.seed)
    actors = DecentralizedActors(
        modules,
        context.mapping,
        dict(env.action_spaces),
        greedy=False,
        normalize_actions=config.normalize_actions,
        clip_actions=config.clip_actions,
    )
    observations, rewards = record_episode(env, actors.act, context.seed)
    realized = {a: returns_to_go(rewards, a, config.gamma) for a in env.possible_agents}
    mixtures = predicted_mixtures(modules, context.mapping, observations)
    plot_value_distributions(mixtures, realized, out)
    return {"png": str(out), "states": value_dist_report(mixtures, realized)}


VALUE_DIST = Inspector(
    name="value-dist",
    help="plot the critics' predicted return distributions at a few states of an episode",
    run=inspect_value_dist,
    needs_out=True,
)
