"""Per-member actors of a trained team module (QMIX, VDN, IQL), for torch-only execution.

Each member acts on the argmax of its own utilities ``Q_a`` from its own observation (the
IGM property makes that the team's greedy joint action), so the exported actor is the agent
network with masking, in the schema of every exported actor (``policies.common.export``):

- shared network (default): one ``<team>.pt`` for all members; ``input.agent_id`` lists the
  members in the order of their one-hot index (the team's member order);
- individual networks: one ``<team>.<member>.pt`` per member, observation only.

``output.kind`` is ``utilities``: masked Q-values, act on the argmax. GRU (DRQN) agents are
not exported yet: the exporter says so instead of writing a wrong actor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from env_wrappers.keys import MASK_KEY, OBS_KEY
from policies.common.contract import EnvFacts, UnsupportedError, check_team_export
from policies.common.export import export_member_networks


def export_team(module: Any, team: str, members: list[str], out_dir: Path) -> list[Path]:
    """Writes the actors of one team module; returns the ``.pt`` paths."""
    if module.is_stateful():
        raise UnsupportedError(
            "rl_module.model_config.use_gru", "recurrent (GRU) agents cannot be exported yet"
        )
    return export_member_networks(
        module.agent_nets,
        team=team,
        members=members,
        obs_size=gym.spaces.flatdim(module.observation_space[OBS_KEY]) // module.n_agents,
        n_actions=module.n_actions,
        uses_mask=MASK_KEY in module.observation_space.spaces,
        output="utilities",
        out_dir=out_dir,
    )


def export_teams(modules: Any, facts: EnvFacts, out_dir: Path) -> list[Path]:
    """Every team's actors."""
    check_team_export(facts)
    written: list[Path] = []
    for team, members in facts.teams.items():
        written += export_team(modules[team], team, members, out_dir)
    return written
