"""``marl inspect q-table CHECKPOINT``: what a QMIX/VDN/IQL team module has learned.

At the first state of an evaluation episode it lists every member's utilities ``Q_a`` and
the mixer's ``Q_tot`` for every joint action (on the single-step matrix games that is the
whole learned payoff table); along the episode it lists the greedy actions, their utilities
and ``Q_tot`` at each step. Returned as JSON-ready data; ``format_q_table`` renders text.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ray.rllib.core.columns import Columns

from policies.common.acting import stack_observations
from policies.common.contract import InspectContext, Inspector

#: Joint action tables larger than this are not enumerated.
MAX_JOINT_ACTIONS = 4096


@torch.no_grad()
def joint_table(module: Any, team_obs: dict[str, np.ndarray]) -> dict[str, Any]:
    """Utilities of every member and ``Q_tot`` of every joint action at one state."""
    obs = stack_observations([team_obs])  # [1, ...]
    utilities = module.agent_q(obs)[0]  # [n, A]
    n, n_actions = utilities.shape
    table: dict[str, Any] = {"utilities": utilities.tolist()}
    if n_actions**n > MAX_JOINT_ACTIONS:
        return table
    joint = torch.tensor(list(itertools.product(range(n_actions), repeat=n)))  # [J, n]
    taken = utilities.gather(1, joint.T).T  # [J, n]
    state = module.state(obs).expand(len(joint), -1)  # [J, state_dim]
    q_tot = module.mixer(taken, state)  # [J] ([J, n] without a mixer)
    if q_tot.dim() > 1:
        q_tot = q_tot.sum(-1)  # IQL: report the sum of the utilities
    table["joint_actions"] = joint.tolist()
    table["q_tot"] = q_tot.tolist()
    return table


@torch.no_grad()
def episode_trace(module: Any, env: Any, team: str, seed: int) -> list[dict[str, Any]]:
    """Greedy actions, their utilities and ``Q_tot`` at every step of one episode."""
    obs, _ = env.reset(seed=seed)
    steps, done = [], False
    hidden = torch.as_tensor(module.get_initial_state().get("h", np.zeros(0)))[None]
    while not done and team in obs:
        batch = stack_observations([obs[team]])
        out = greedy_step(module, batch, hidden)
        hidden = out.get(Columns.STATE_OUT, {}).get("h", hidden)
        actions = out[Columns.ACTIONS]  # [1, n]
        taken = out["q_values"].gather(-1, actions.unsqueeze(-1)).squeeze(-1)  # [1, n]
        q_tot = module.mixer(taken, module.state(batch))
        steps.append(
            {
                "actions": actions[0].tolist(),
                "utilities": [round(float(x), 4) for x in taken[0]],
                "q_tot": round(float(q_tot.sum()), 4),
            }
        )
        joint = {t: out[Columns.ACTIONS][0].numpy() for t in obs if t == team}
        joint.update({t: env.action_spaces[t].sample() for t in obs if t != team})
        obs, _, terms, truncs, _ = env.step(joint)
        done = terms["__all__"] or truncs["__all__"]
    return steps


def format_q_table(table: dict[str, Any]) -> str:
    """Human-readable utilities and joint ``Q_tot`` table."""
    lines = ["utilities Q_a (rows: members, columns: actions)"]
    lines += [
        f"  member {i}: " + "  ".join(f"{q:8.3f}" for q in row)
        for i, row in enumerate(table["utilities"])
    ]
    if "q_tot" in table:
        lines.append("Q_tot by joint action")
        lines += [f"  {tuple(a)}: {q:8.3f}" for a, q in zip(table["joint_actions"], table["q_tot"])]
    return "\n".join(lines)


def greedy_step(module: Any, batch: dict[str, Any], hidden: torch.Tensor) -> dict[str, Any]:
    """The module's greedy output for one step, carrying a GRU agent's state ``[1, n, cell]``."""
    if not module.is_stateful():
        return module.forward_inference({Columns.OBS: batch})
    obs = {k: v.unsqueeze(1) for k, v in batch.items()}  # add the time axis
    out = module.forward_inference({Columns.OBS: obs, Columns.STATE_IN: {"h": hidden}})
    return {
        Columns.ACTIONS: out[Columns.ACTIONS][:, 0],
        "q_values": out["q_values"][:, 0],
        Columns.STATE_OUT: out[Columns.STATE_OUT],
    }


def inspect_q_table(
    modules: Any, env: Any, context: InspectContext, out: Path | None = None
) -> dict[str, Any]:
    """Per team: the joint Q table at the first state and the greedy episode's trace."""
    obs, _ = env.reset(seed=context.seed)
    return {
        team: {
            "first_state": joint_table(modules[team], obs[team]),
            "episode": episode_trace(modules[team], env, team, context.seed),
        }
        for team in obs
    }


def format_q_tables(report: dict[str, Any]) -> str:
    """Every team's first-state table as text."""
    return "\n".join(
        f"team {team}:\n{format_q_table(tables['first_state'])}" for team, tables in report.items()
    )


Q_TABLE = Inspector(
    name="q-table",
    help="utilities and Q_tot for every joint action (first state) and along a greedy episode",
    run=inspect_q_table,
    text=format_q_tables,
)
