"""MADDPG's learner: each agent's critic steps first, then each agent's actor, on one batch.

Plumbing around ``policies.maddpg.math``. Batches are replayed rows of joint transitions
(``policies.common.episode_training``: every row holds all agents of the same env steps,
``obs [B, T + 1, ...]``, ``actions [B, T, n(, d)]``, each member's own ``member_rewards [B,
T, n]``, ``terminateds``, ``filled``). One update is two phases (``_uncompiled_update``):

1. **Critics**: ``y_i = r_i + gamma (1 - terminated) Q'_i(x', mu'_1(o'_1), ..., mu'_n(o'_n))``
   (no bootstrap either after member ``i`` has left: ``alive`` is 0 at ``x'``) with the target
   actors' actions (discrete: their one-hot argmax; continuous: their
   ``tanh`` actions) and the target critics; MSE on the real steps of members alive at
   that step; the critic optimizer steps.
2. **Actors**, with the critics just updated: ``-Q_i(x, a_1, ..., mu_i(o_i), ..., a_n)``, the
   other agents' actions from the replay (``others_actions: replay``, the paper) or from
   their current policies (``current``, EPyMARL), member ``i``'s action differentiable
   (Gumbel straight-through, gapped straight-through, or ``tanh``), plus
   ``logits_penalty * mean(logits^2)`` (discrete; the pre-``tanh`` outputs for continuous).
   The critics' parameters are held fixed in this phase (``torch.func.functional_call`` on
   detached copies), so the actor loss moves the actors only.

With ``policy_inference``, phase 1 also fits each agent's approximations of the others'
policies (``policies.maddpg.inference``: log-likelihood of the replayed actions plus
``inference_entropy`` times the entropy, their own optimizer, ``inference_lr``), and agent
``i``'s target uses its approximations' target copies for the others' next actions (their
most likely actions) instead of the others' target actors.

Then the target actors and critics (and approximations) move by Polyak averaging
(``target_tau``), and the module's exploration noise follows ``noise_schedule``. Each phase's
optimizer clips its own gradient norm (``grad_clip``).

Logged per module: ``critic_loss``, ``actor_loss``, ``q_mean`` (all agents) and
``q_mean_<agent>`` per agent, ``target_mean``, ``noise_scale`` (continuous) or
``gumbel_temperature`` (discrete); with ``policy_inference``: ``policy_inference_loss``,
``policy_inference_entropy`` and ``policy_inference_kl`` (discrete: ``KL(pi_j || mu-hat_i^j)``
to the current policies, averaged over pairs, and ``policy_inference_kl_<i>`` per observer
``i``) or ``policy_inference_mse`` (continuous: the squared error of the approximations' means
to the current deterministic actions, and ``policy_inference_mse_<i>``).
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.torch.torch_learner import TorchLearner
from ray.rllib.utils.annotations import override
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

from env_wrappers.keys import ALIVE_KEY
from policies.common.episode_replay import FILLED, MEMBER_REWARDS, TERMINATEDS
from policies.maddpg.inference import (
    categorical_kl,
    categorical_log_prob_entropy,
    gaussian_log_prob_entropy,
    gaussian_params,
    inference_loss,
    joint_with_approximations,
    masked_mean,
    mean_squared_error,
    others,
)
from policies.maddpg.math import (
    actor_loss,
    critic_loss,
    critic_targets,
    logits_penalty,
    polyak,
    with_own_action,
)

ACTOR, CRITIC, INFERENCE = "actor", "critic", "inference"


class MADDPGTorchLearner(TorchLearner):
    """Two optimizers per module (actors, critics) and a two-phase update."""

    @override(TorchLearner)
    def build(self) -> None:
        super().build()
        self._phase = CRITIC

    @override(TorchLearner)
    def configure_optimizers_for_module(self, module_id: str, config: Any = None) -> None:
        module = self._module[module_id].unwrapped()
        groups = {
            ACTOR: (list(module.agent_nets.parameters()), config.actor_lr),
            CRITIC: (list(module.critics.parameters()), config.critic_lr),
        }
        if module.policy_inference:
            groups[INFERENCE] = (list(module.approximations.parameters()), config.inference_lr)
        for name, (params, lr) in groups.items():
            self.register_optimizer(
                module_id=module_id,
                optimizer_name=name,
                optimizer=torch.optim.Adam(params),
                params=params,
                lr_or_lr_schedule=lr,
            )

    @override(TorchLearner)
    def _uncompiled_update(self, batch: dict, **kwargs: Any):
        losses, fwd_out = {}, {module_id: {} for module_id in batch.keys()}
        for phase in (CRITIC, ACTOR):
            self._phase = phase
            phase_losses = self.compute_losses(fwd_out=fwd_out, batch=batch)
            grads = self.compute_gradients(phase_losses)
            grads = {ref: g for ref, g in grads.items() if g is not None}
            self.apply_gradients(self.postprocess_gradients(grads))
            losses = {m: losses.get(m, 0.0) + loss for m, loss in phase_losses.items()}
        return fwd_out, losses, {}

    @override(TorchLearner)
    def compute_loss_for_module(
        self, *, module_id: str, config: Any, batch: dict[str, Any], fwd_out: dict[str, Any]
    ) -> torch.Tensor:
        module = self.module[module_id].unwrapped()
        if self._phase == CRITIC:
            return self._critic_loss(module_id, module, config, batch)
        return self._actor_loss(module_id, module, config, batch)

    def _steps(self, batch: dict) -> tuple[dict, dict, torch.Tensor]:
        """(obs before each step, obs after it, valid ``[B, T, n]``: real step, member alive)."""
        obs = batch[Columns.OBS]
        steps = batch[FILLED].shape[1]
        now = {k: v[:, :steps] for k, v in obs.items()}
        after = {k: v[:, 1 : steps + 1] for k, v in obs.items()}
        valid = batch[FILLED].unsqueeze(-1) * now[ALIVE_KEY].float()  # [B, T, n]
        return now, after, valid

    def _critic_loss(self, module_id: str, module: Any, config: Any, batch: dict) -> torch.Tensor:
        now, after, valid = self._steps(batch)
        with torch.no_grad():
            next_out = module.actor_outputs(after, module._target_actors)  # [B, T, n, A]
            next_actions = _greedy_actions(module, next_out)
            if module.policy_inference:
                next_q = _inferred_next_q(module, after, next_actions)
            else:
                next_q = module.q_values(after, next_actions, module._target_critics)
            next_q = next_q * after[ALIVE_KEY].float()  # a member that left has no future
            targets = critic_targets(
                batch[MEMBER_REWARDS], batch[TERMINATEDS], next_q, config.gamma
            )
        q = module.q_values(now, module.action_inputs(batch[Columns.ACTIONS]))  # [B, T, n]
        loss = critic_loss(q, targets, valid)
        real = valid.bool()
        stats = {"critic_loss": loss, "q_mean": q.detach()[real].mean()}
        stats["target_mean"] = targets[real].mean()
        for i in range(module.n_agents):
            stats[f"q_mean_{i}"] = q.detach()[..., i][real[..., i]].mean()
        self.metrics.log_dict(stats, key=module_id, window=1)
        if module.policy_inference:
            return config.critic_coeff * loss + self._inference_loss(
                module_id, module, config, batch
            )
        return config.critic_coeff * loss

    def _inference_loss(
        self, module_id: str, module: Any, config: Any, batch: dict
    ) -> torch.Tensor:
        """Fits every agent's approximations of the others to their replayed actions."""
        now, _, valid = self._steps(batch)
        n = module.n_agents
        index = torch.tensor([others(n, i) for i in range(n)], device=valid.device)  # [n, n-1]
        heads = module.approximation_outputs(now)  # [B, T, n, n - 1, A or 2d]
        valid_pairs = valid[..., index]  # [B, T, n, n - 1]: agent j alive at that step
        with torch.no_grad():
            true = module.actor_outputs(now)[..., index, :]  # [B, T, n, n - 1, A]
        if module.discrete:
            taken = batch[Columns.ACTIONS].long()[..., index]  # [B, T, n, n - 1]
            log_prob, entropy = categorical_log_prob_entropy(heads, taken)
            gap, name = categorical_kl(true, heads.detach()), "policy_inference_kl"
        else:
            taken = module.action_inputs(batch[Columns.ACTIONS])[..., index, :]
            mean, log_std = gaussian_params(heads)
            log_prob, entropy = gaussian_log_prob_entropy(mean, log_std, taken)
            gap = mean_squared_error(mean.detach(), torch.tanh(true))
            name = "policy_inference_mse"
        loss = inference_loss(log_prob, entropy, valid_pairs, config.inference_entropy)
        stats = {
            "policy_inference_loss": loss,
            "policy_inference_entropy": masked_mean(entropy.detach(), valid_pairs),
            name: masked_mean(gap, valid_pairs),
        }
        for i in range(n):
            stats[f"{name}_{i}"] = masked_mean(gap[..., i, :], valid_pairs[..., i, :])
        self.metrics.log_dict(stats, key=module_id, window=1)
        return loss

    def _actor_loss(self, module_id: str, module: Any, config: Any, batch: dict) -> torch.Tensor:
        now, _, valid = self._steps(batch)
        outputs = module.actor_outputs(now)  # [B, T, n, A]
        own = module.policy_actions(outputs, config.gumbel_estimator, config.temperature)
        if config.others_actions == "current":
            others = _greedy_actions(module, outputs.detach())
        else:
            others = module.action_inputs(batch[Columns.ACTIONS])
        frozen = {k: v.detach() for k, v in module.critics.named_parameters()}
        q_per_member = []
        for i in range(module.n_agents):
            joint = with_own_action(others, own[..., i, :], i)  # only member i's block moves
            q = module.q_values(now, joint, _Frozen(module.critics, frozen))  # [B, T, n]
            q_per_member.append(q[..., i])
        q_own = torch.stack(q_per_member, dim=-1)  # [B, T, n]
        allowed = now.get("action_mask") if module.discrete else None
        penalty = logits_penalty(outputs, valid, allowed)
        loss = actor_loss(q_own, valid) + config.logits_penalty * penalty
        stats = {"actor_loss": loss, "logits_penalty": penalty}
        if module.discrete:
            stats["gumbel_temperature"] = torch.tensor(config.temperature)
        else:
            stats["noise_scale"] = module.noise_scale.detach().clone()
        self.metrics.log_dict(stats, key=module_id, window=1)
        return loss

    @override(TorchLearner)
    def after_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        super().after_gradient_based_update(timesteps=timesteps)
        env_steps = int(timesteps.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, 0) or 0)
        for module_id in self.module.keys():
            module = self.module[module_id].unwrapped()
            for online, target in module.get_target_network_pairs():
                polyak(online, target, self.config.target_tau)
            module.noise_scale.fill_(self.config.noise_at(env_steps))


def _inferred_next_q(module: Any, after: dict, own: torch.Tensor) -> torch.Tensor:
    """``Q'_i(x', mu'_i(o'_i), mu-hat'_i^j(o'_j) for j != i)`` for every agent ``i``: ``[B, T, n]``.

    ``own [B, T, n, A]``: the target actors' actions; the others' come from agent ``i``'s
    target approximations (their most likely actions).
    """
    approx = module.approximation_actions(
        module.approximation_outputs(after, module._target_approx)
    )  # [B, T, n, n - 1, A]
    joint = joint_with_approximations(own, approx)  # [B, T, n, n, A]
    rows = [
        module.q_values(after, joint[..., i, :, :], module._target_critics)[..., i]
        for i in range(module.n_agents)
    ]
    return torch.stack(rows, dim=-1)


def _greedy_actions(module: Any, outputs: torch.Tensor) -> torch.Tensor:
    """Deterministic actions from actor outputs: one-hot argmax or ``tanh``: ``[..., n, A]``."""
    if module.discrete:
        return torch.nn.functional.one_hot(outputs.argmax(-1), module.action_size).float()
    return torch.tanh(outputs)


class _Frozen(torch.nn.Module):
    """Runs ``net`` with the given (detached) parameters: gradients reach its inputs only."""

    def __init__(self, net: torch.nn.Module, params: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.net, self.params = net, params

    def forward(self, *args: Any) -> Any:
        return torch.func.functional_call(self.net, self.params, args)
