"""A2C's learner connector: n-step returns from the target critic, or GAE; no standardization.

MAPPO's ``CentralizedGAE`` with another estimator: for ``n_step`` the value target of row
``t`` is ``r_t + ... + gamma^(m-1) r_(t+m-1) + gamma^m V'(s_(t+m))`` (``m = min(n, T - t)``,
``policies.common.trajectories.trajectory_n_step``) with ``V'`` the target critic (or the
critic when there is none), and the advantage is that return minus the critic's ``V(s_t)``;
with ``n_step: null`` it is MAPPO's GAE. Advantages are not standardized (EPyMARL's A2C does
not standardize them either); rewards are, with ``standardize_rewards`` (EPyMARL's
``standardise_rewards``, on by default), by running statistics the module keeps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from ray.rllib.utils.numpy import convert_to_numpy

from policies.common.reward_norm import standardized_rewards
from policies.common.trajectories import Trajectories, trajectory_n_step
from policies.mappo.connectors import CentralizedGAE


class A2CReturns(CentralizedGAE):
    """Advantages and value targets for A2C (see the module docstring)."""

    standardize = False

    def __init__(
        self,
        input_observation_space=None,
        input_action_space=None,
        *,
        gamma: float,
        lambda_: float,
        n_step: int | None,
    ) -> None:
        super().__init__(input_observation_space, input_action_space, gamma=gamma, lambda_=lambda_)
        self.n_step = n_step

    def _returns(
        self, module: Any, batch: dict, layout: Trajectories, values: np.ndarray, rewards: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        ends = np.cumsum(layout.lengths) - 1  # the bootstrap rows
        rewards = standardized_rewards(getattr(module, "reward_norm", None), rewards, ends)
        if self.n_step is None:
            return super()._returns(module, batch, layout, values, rewards)
        with torch.no_grad():
            bootstrap = layout.unpad(convert_to_numpy(module.compute_target_values(batch)))
        targets = trajectory_n_step(
            bootstrap, rewards, layout.lengths, layout.terminated, self.gamma, self.n_step
        )
        advantages = targets - values.astype(np.float64)  # [N]
        advantages[ends] = 0.0  # the bootstrap rows carry no loss weight
        return advantages, targets
