"""QMIX's learner: the mixed TD loss (plumbing; the math is in policies/common/targets.py).

RLlib's DQN machinery does the rest: the replay buffer samples (n-step) transitions of the
team agent, the learner connector adds ``NEXT_OBS``, and ``DQNLearner`` updates the target
networks every ``target_network_update_freq`` env steps (hard copy with ``tau: 1``).

Loss: ``Q_tot(s, a) = mixer([Q_a(o_a, a_a)], s)`` against ``r + gamma^n (1 - terminal)
Q_tot'(s', a')``, where ``a'`` is each member's masked greedy action under the online network
and ``Q_tot'`` uses the target agent network and target mixer (double Q-learning). With
``mixer: none`` (IQL) each member's ``Q_a`` is regressed on its own target from the shared
team reward.

With episode replay (``policies.common.episode_training``) the batch is padded rows ``[B, T]``
(``policies.common.episode_replay``): utilities come from unrolling the agent network along
each row, bootstrap values from the target network at every next step, and the targets are
``n_step`` returns or TD(lambda) returns along the row (``policies.common.targets``); the
loss covers the real steps after the burn-in.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.dqn.torch.dqn_torch_learner import DQNTorchLearner
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.target_network_api import TargetNetworkAPI
from ray.rllib.utils.annotations import override
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

from env_wrappers.keys import MASK_KEY
from policies.common.episode_replay import FILLED, LOSS_MASK
from policies.common.masking import masked_max
from policies.common.targets import (
    double_q_greedy_values,
    n_step_targets,
    td_lambda_targets,
    td_loss,
    transition_targets,
)
from policies.qmix.module import Q_NEXT, Q_TARGET_NEXT, Q_TARGET_SEQ, Q_VALUES


def mix_sequence(mixer: Any, agent_qs: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """A mixer on ``[B, T, n]`` utilities and ``[B, T, S]`` states: ``[B, T]``."""
    batch, steps = agent_qs.shape[:2]
    mixed = mixer(agent_qs.reshape(batch * steps, -1), states.reshape(batch * steps, -1))
    return mixed.reshape(batch, steps, *mixed.shape[1:])


class QMIXTorchLearner(DQNTorchLearner):
    """DQN's learner with QMIX's team loss."""

    @classmethod
    @override(DQNTorchLearner)
    def rl_module_required_apis(cls) -> list[type]:
        return [TargetNetworkAPI]

    @override(DQNTorchLearner)
    def after_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        """Target updates (DQN's), then logs the exploration epsilon at these env steps."""
        super().after_gradient_based_update(timesteps=timesteps)
        env_steps = int(timesteps.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, 0) or 0)
        for module_id in self.module.keys():
            schedule = getattr(self.module[module_id].unwrapped(), "epsilon_schedule", None)
            if schedule is not None:  # the env runners' schedule, at the same step count
                epsilon = float(schedule.update(env_steps))
                self.metrics.log_value((module_id, "epsilon"), epsilon, window=1)

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
        if FILLED in batch:
            return self._episode_loss(module_id, config, batch, fwd_out)
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
        self._log(module_id, loss, q_tot.mean(), targets.mean(), td_error.abs().mean())
        return loss

    def _episode_loss(
        self, module_id: str, config: Any, batch: dict[str, Any], fwd_out: dict[str, Any]
    ) -> torch.Tensor:
        """TD loss along replayed rows (``[B, T]``) for ``Q_tot`` (or each Q_a for IQL)."""
        module = self.module[module_id].unwrapped()
        obs = batch[Columns.OBS]  # dict of [B, T + 1, ...]
        actions = batch[Columns.ACTIONS].long()  # [B, T, n]
        steps = actions.shape[1]
        q = fwd_out[Q_VALUES]  # [B, T + 1, n, A]
        states = module.state_sequence(obs)  # [B, T + 1, S]
        q_taken = q[:, :steps].gather(-1, actions.unsqueeze(-1)).squeeze(-1)  # [B, T, n]
        q_tot = mix_sequence(module.mixer, q_taken, states[:, :steps])  # [B, T] ([B, T, n])
        with torch.no_grad():
            mask = obs.get(MASK_KEY)
            next_mask = None if mask is None else mask[:, 1:]  # [B, T, n, A]
            target_q = fwd_out[Q_TARGET_SEQ][:, 1:]  # [B, T, n, A]
            if config.double_q:
                next_q = double_q_greedy_values(q[:, 1:].detach(), target_q, next_mask)
            else:
                next_q = masked_max(target_q, next_mask)  # [B, T, n]
            values = mix_sequence(module._target_mixer, next_q, states[:, 1:])
            args = (batch[Columns.REWARDS], batch[Columns.TERMINATEDS], values, batch[FILLED])
            if config.td_lambda is not None:
                targets = td_lambda_targets(*args, config.gamma, config.td_lambda)
            else:
                targets = n_step_targets(*args, config.gamma, config.n_step)
        loss_mask = batch[LOSS_MASK]
        loss = td_loss(q_tot, targets, loss_mask)
        real = loss_mask.reshape(*loss_mask.shape, *[1] * (q_tot.dim() - 2)).expand_as(q_tot)
        count = real.sum().clamp(min=1)
        self._log(
            module_id,
            loss,
            (q_tot * real).sum() / count,
            (targets * real).sum() / count,
            ((q_tot - targets).abs() * real).sum() / count,
        )
        return loss

    def _log(self, module_id: str, loss: Any, q_tot: Any, target: Any, td_abs: Any) -> None:
        self.metrics.log_dict(
            {
                "qf_loss": loss,
                "q_tot_mean": q_tot,
                "target_mean": target,
                "td_error_abs_mean": td_abs,
            },
            key=module_id,
            window=1,
        )
