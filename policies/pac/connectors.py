"""PAC's learner connector: each member's n-step targets from the target critic's ``Qmax``.

COMA's targets connector (``policies.coma.connectors.COMATargets``) with two changes:

- the bootstrap value of a row is the target critic's optimistic ``Qmax_i(s, a_i)`` at the
  member's own action (the action taken; at the extra row after a trajectory, one sampled
  from the current policy), not ``Q_i`` at the taken joint action;
- each member learns its own reward (general-sum games are allowed): the team view puts the
  members' rewards in every step's info (``member_rewards``, ``env_wrappers.team``).

Truncation bootstraps, termination does not (``policies.common.targets``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.utils.annotations import override

from policies.coma.connectors import COMATargets
from policies.common.masking import gather_actions

#: The team view's info key with the members' rewards of a step (``env_wrappers.team``).
MEMBER_REWARDS = "member_rewards"


def member_rewards(episodes: list, n_members: int) -> np.ndarray:
    """Every member's own reward of every batch row: ``[N, n]`` (0 on the extra rows).

    Row ``t`` of an episode (``T + 1`` rows, the last one the bootstrap row) was paid with
    the info returned with observation ``t + 1``.
    """
    rows = []
    for episode in episodes:
        infos = episode.get_infos()  # [T + 2] after the bootstrap row was added
        steps = len(episode) - 1
        for t in range(steps):
            info = infos[t + 1]
            if MEMBER_REWARDS not in info:
                raise ValueError(
                    f"PAC needs each member's reward in the team view's info "
                    f"({MEMBER_REWARDS!r}); step {t} of an episode has {sorted(info)}"
                )
            rows.append(np.asarray(info[MEMBER_REWARDS], np.float32))
        rows.append(np.zeros(n_members, np.float32))
    return np.stack(rows) if rows else np.zeros((0, n_members), np.float32)


class PACTargets(COMATargets):
    """Adds ``CRITIC_TARGETS`` ``[N, n]``: n-step returns of each member's own reward."""

    @override(COMATargets)
    def bootstrap_values(self, module: Any, batch: dict, actions: torch.Tensor) -> torch.Tensor:
        pareto = module.pareto_q(batch[Columns.OBS], module._target_critic)  # [N, n, A]
        return gather_actions(pareto, actions)  # [N, n]

    @override(COMATargets)
    def rewards(self, module: Any, batch: dict, episodes: list) -> np.ndarray:
        return member_rewards(episodes, module.n_agents)
