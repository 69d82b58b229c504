"""PAC's learner: both critics regress on each member's targets; the actor on ``Qmax - V``.

Plumbing around ``policies.pac.math`` and COMA's losses (``policies.coma.math``). The
training forward pass gives the actors' logits, ``Q_i(s, a_-i)`` at the batch's actions,
``V_i(s)`` and the online critic's ``Qmax_i(s, .)`` (no gradient). One loss:

    -mean(A_i log pi_i(a_i)) - beta_t H(pi) + critic_coeff * (MSE(Q_i(s, a), y) + MSE(V_i, y))

with ``A_i = Qmax_i(s, a_i) - V_i(s)`` detached, so the actor sees the critics from before
this update (as EPyMARL's PAC learner, which computes the advantages before the critic's
step). Actors and critics have their own Adam optimizers, so the gradient-norm clip
(``grad_clip``) applies to each separately, as EPyMARL's two optimizers do: with the large
early entropy coefficient one global clip would shrink the critics' steps with the actors'.
``beta_t`` is RLlib's ``entropy_coeff`` schedule (PACConfig sets it from the budget).

Logged per team module: ``vf_loss`` (the action-value critic's), ``state_value_loss``,
``policy_loss``, ``entropy``, ``entropy_coeff``, ``q_taken_mean``, ``pareto_q_mean``,
``state_value_mean``, ``advantage_mean``, ``advantage_std`` and ``pi_max_mean`` (the mean
probability of each member's most likely action: near 1/A while the entropy term is large).
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.core.learner.learner import ENTROPY_KEY, POLICY_LOSS_KEY, VF_LOSS_KEY
from ray.rllib.utils.annotations import override

from policies.coma.connectors import CRITIC_TARGETS
from policies.coma.learner import COMATorchLearner, masked_entropy, policy_terms
from policies.coma.math import coma_policy_loss, critic_loss
from policies.coma.module import Q_VALUES
from policies.common.masking import gather_actions
from policies.pac.connectors import PACTargets
from policies.pac.math import pac_advantages
from policies.pac.module import PARETO_Q, STATE_VALUES


class PACTorchLearner(COMATorchLearner):
    """COMA's learner plumbing with PAC's targets, losses and two optimizers."""

    @override(COMATorchLearner)
    def targets_connector(self) -> PACTargets:
        config = self.config
        return PACTargets(gamma=config.gamma, td_lambda=config.td_lambda, n_step=config.n_step)

    @override(COMATorchLearner)
    def configure_optimizers_for_module(self, module_id: str, config: Any = None) -> None:
        module = self._module[module_id].unwrapped()
        groups = {
            "actor": list(module.agent_nets.parameters()),
            "critic": [*module.critic.parameters(), *module.value_net.parameters()],
        }
        for name, params in groups.items():
            self.register_optimizer(
                module_id=module_id,
                optimizer_name=name,
                optimizer=torch.optim.Adam(params),
                params=params,
                lr_or_lr_schedule=config.lr,
            )

    @override(COMATorchLearner)
    def compute_loss_for_module(
        self, *, module_id: str, config: Any, batch: dict[str, Any], fwd_out: dict[str, Any]
    ) -> torch.Tensor:
        module = self.module[module_id].unwrapped()
        mask, log_probs, probs, actions = policy_terms(module, batch, fwd_out)
        targets = batch[CRITIC_TARGETS]  # [B, n]
        q_taken = gather_actions(fwd_out[Q_VALUES], actions)  # [B, n]
        values = fwd_out[STATE_VALUES]  # [B, n]
        advantages, optimistic = pac_advantages(fwd_out[PARETO_Q], actions, values)
        policy_loss = coma_policy_loss(gather_actions(log_probs, actions), advantages, mask)
        q_loss = critic_loss(q_taken, targets, mask)
        value_loss = critic_loss(values, targets, mask)
        entropy = masked_entropy(probs, log_probs, mask)
        coeff = self.entropy_coeff_schedulers_per_module[module_id].get_current_value()
        valid = advantages if mask is None else advantages[mask.bool()]
        self.metrics.log_dict(
            {
                POLICY_LOSS_KEY: policy_loss,
                VF_LOSS_KEY: q_loss,
                "state_value_loss": value_loss,
                ENTROPY_KEY: entropy,
                "entropy_coeff": torch.as_tensor(coeff),
                "q_taken_mean": q_taken.detach().mean(),
                "pareto_q_mean": optimistic.mean(),
                "state_value_mean": values.detach().mean(),
                "advantage_mean": valid.mean(),
                "advantage_std": valid.std(unbiased=False),
                "pi_max_mean": probs.detach().max(-1).values.mean(),
            },
            key=module_id,
            window=1,
        )
        return policy_loss - coeff * entropy + config.critic_coeff * (q_loss + value_loss)
