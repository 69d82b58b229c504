"""QMIX's learner: the mixed TD loss on replayed transitions (plumbing; math in targets.py).

RLlib's DQN machinery does the rest: the replay buffer samples (n-step) transitions of the
team agent, the learner connector adds ``NEXT_OBS``, and ``DQNLearner`` updates the target
networks every ``target_network_update_freq`` env steps (hard copy with ``tau: 1``).

Loss: ``Q_tot(s, a) = mixer([Q_a(o_a, a_a)], s)`` against ``r + gamma^n (1 - terminal)
Q_tot'(s', a')``, where ``a'`` is each member's masked greedy action under the online network
and ``Q_tot'`` uses the target agent network and target mixer (double Q-learning). With
``mixer: none`` (IQL) each member's ``Q_a`` is regressed on its own target from the shared
team reward.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.dqn.torch.dqn_torch_learner import DQNTorchLearner
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.target_network_api import TargetNetworkAPI
from ray.rllib.utils.annotations import override

from env_wrappers.keys import MASK_KEY
from policies.qmix.module import Q_NEXT, Q_TARGET_NEXT, Q_VALUES
from policies.qmix.targets import double_q_greedy_values, masked_max, transition_targets


class QMIXTorchLearner(DQNTorchLearner):
    """DQN's learner with QMIX's team loss."""

    @classmethod
    @override(DQNTorchLearner)
    def rl_module_required_apis(cls) -> list[type]:
        return [TargetNetworkAPI]

    def _next_values(self, config: Any, batch: dict, fwd_out: dict) -> torch.Tensor:
        """Each member's bootstrap utility at the next observation: ``[B, n]``."""
        mask = batch[Columns.NEXT_OBS].get(MASK_KEY)
        if config.double_q:
            return double_q_greedy_values(fwd_out[Q_NEXT], fwd_out[Q_TARGET_NEXT], mask)
        return masked_max(fwd_out[Q_TARGET_NEXT], mask)

    @override(DQNTorchLearner)
    def compute_loss_for_module(
        self, *, module_id: str, config: Any, batch: dict[str, Any], fwd_out: dict[str, Any]
    ) -> torch.Tensor:
        module = self.module[module_id].unwrapped()
        actions = batch[Columns.ACTIONS].long()  # [B, n]
        q_taken = fwd_out[Q_VALUES].gather(-1, actions.unsqueeze(-1)).squeeze(-1)  # [B, n]
        q_tot = module.mixer(q_taken, module.state(batch[Columns.OBS]))  # [B] ([B, n]: IQL)
        with torch.no_grad():
            next_tot = module.target_mixer(
                self._next_values(config, batch, fwd_out), module.state(batch[Columns.NEXT_OBS])
            )
            n_step = batch.get("n_step", torch.ones_like(batch[Columns.REWARDS]))
            targets = transition_targets(
                batch[Columns.REWARDS], batch[Columns.TERMINATEDS], next_tot, config.gamma**n_step
            )
        td_error = q_tot - targets
        loss = td_error.pow(2).mean()
        self.metrics.log_dict(
            {
                "qf_loss": loss,
                "q_tot_mean": q_tot.mean(),
                "target_mean": targets.mean(),
                "td_error_abs_mean": td_error.abs().mean(),
            },
            key=module_id,
            window=1,
        )
        return loss
