"""COMA's learner: the critic's TD loss and the counterfactual policy gradient, one step a batch.

Plumbing around ``policies.coma.math``. The training forward pass gives the actors' logits
and the critic's ``Q [B, n, A]`` at the batch's actions; the advantages use those Q-values,
detached, so the actor's gradient sees the critic from before this update (EPyMARL trains
the critic and then the actor with the Q-values computed before the critic's step; one joint
loss and one optimizer step here give the actor exactly those pre-update Q-values). The
target critic is copied every ``target_update_interval`` updates (hard, COMA's and EPyMARL's
default) or moved by Polyak averaging with ``target_tau``.

With GRU actors the batch is RLlib's zero-padded ``[B, T, ...]`` chunks: the logits and the
Q-values of the one training forward pass (the actors unrolled from each chunk's stored
state), the actions, the action masks, the targets and the loss mask are flattened to rows
``[B * T, ...]`` here, and the loss mask (False on padding and on the extra rows) keeps the
padding out of every mean. The baseline and the advantages use those same logits.

Logged per team module: ``vf_loss`` (the critic's), ``policy_loss``, ``entropy``,
``q_taken_mean``, ``baseline_mean``, ``advantage_mean``, ``advantage_std`` and
``expected_advantage_abs_max`` (``max_i |sum_a pi_i(a) A_i(a)|``: 0 unless a mask is broken).
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.connectors.learner import GeneralAdvantageEstimation
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.learner import ENTROPY_KEY, POLICY_LOSS_KEY, VF_LOSS_KEY
from ray.rllib.core.learner.utils import update_target_network
from ray.rllib.utils.annotations import override

from env_wrappers.keys import MASK_KEY
from policies.coma.connectors import CRITIC_TARGETS, COMATargets
from policies.coma.math import coma_advantages, coma_policy_loss, critic_loss, expected_advantage
from policies.coma.module import Q_VALUES
from policies.common.masking import gather_actions
from policies.common.module_columns import swap_learner_connector


class COMATorchLearner(PPOTorchLearner):
    """PPO's learner plumbing (sampling loop, optimizer) with COMA's targets and losses."""

    @classmethod
    @override(PPOTorchLearner)
    def rl_module_required_apis(cls) -> list[type]:
        return []  # no state-value function: COMA's critic values actions

    @override(PPOTorchLearner)
    def build(self) -> None:
        super().build()
        self._updates = 0
        swap_learner_connector(self, GeneralAdvantageEstimation, self.targets_connector())

    def targets_connector(self) -> COMATargets:
        """The learner connector that adds the critic's targets to every batch."""
        config = self.config
        return COMATargets(gamma=config.gamma, td_lambda=config.td_lambda, n_step=config.n_step)

    @override(PPOTorchLearner)
    def compute_loss_for_module(
        self, *, module_id: str, config: Any, batch: dict[str, Any], fwd_out: dict[str, Any]
    ) -> torch.Tensor:
        module = self.module[module_id].unwrapped()
        mask, log_probs, probs, actions = policy_terms(module, batch, fwd_out)
        action_mask = as_rows(module, batch[Columns.OBS].get(MASK_KEY))  # [B, n, A] or None
        q = as_rows(module, fwd_out[Q_VALUES])  # [B, n, A]
        advantages, q_taken, baseline = coma_advantages(q, probs, actions, action_mask)
        policy_loss = coma_policy_loss(gather_actions(log_probs, actions), advantages, mask)
        targets = batch[CRITIC_TARGETS].reshape(-1, module.n_agents)  # [B, n]
        value_loss = critic_loss(q_taken, targets, mask)
        entropy = masked_entropy(probs, log_probs, mask)
        coeff = self.entropy_coeff_schedulers_per_module[module_id].get_current_value()
        valid = advantages if mask is None else advantages[mask.bool()]
        self.metrics.log_dict(
            {
                POLICY_LOSS_KEY: policy_loss,
                VF_LOSS_KEY: value_loss,
                ENTROPY_KEY: entropy,
                "q_taken_mean": q_taken.detach().mean(),
                "baseline_mean": baseline.mean(),
                "advantage_mean": valid.mean(),
                "advantage_std": valid.std(unbiased=False),
                "expected_advantage_abs_max": expected_advantage(q, probs, action_mask).abs().max(),
            },
            key=module_id,
            window=1,
        )
        return policy_loss - coeff * entropy + config.critic_coeff * value_loss

    @override(PPOTorchLearner)
    def after_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        super().after_gradient_based_update(timesteps=timesteps)
        self._updates += 1
        tau = self.config.target_tau
        if tau is None and self._updates % self.config.target_update_interval:
            return
        for module_id in self.module.keys():
            module = self.module[module_id].unwrapped()
            for main, target in module.get_target_network_pairs():
                update_target_network(main_net=main, target_net=target, tau=tau or 1.0)


def policy_terms(module: Any, batch: dict, fwd_out: dict) -> tuple[Any, torch.Tensor, ...]:
    """``(loss mask [B] or None, log-probs [B, n, A], probs [B, n, A], actions [B, n])``.

    A recurrent batch's ``[B, T, ...]`` columns come as rows ``[B * T, ...]``.
    """
    log_probs = torch.log_softmax(as_rows(module, fwd_out[Columns.ACTION_DIST_INPUTS]), dim=-1)
    actions = batch[Columns.ACTIONS].long().reshape(-1, module.n_agents)
    mask = batch.get(Columns.LOSS_MASK)
    return None if mask is None else mask.reshape(-1), log_probs, log_probs.exp(), actions


def as_rows(module: Any, x: torch.Tensor | None) -> torch.Tensor | None:
    """Per-member action columns (logits, Q, masks) as rows ``[B (* T), n, A]``."""
    return None if x is None else x.reshape(-1, module.n_agents, module.n_actions)


def masked_entropy(probs: torch.Tensor, log_probs: torch.Tensor, mask: Any) -> torch.Tensor:
    """Mean entropy of the members' policies over the valid rows (masked logits give 0)."""
    entropy = -(probs * log_probs.clamp_min(-1e9)).sum(-1).mean(-1)  # [B]
    return entropy.mean() if mask is None else entropy[mask.bool()].mean()
