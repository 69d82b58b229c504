"""A2CConfig (MAA2C) and IA2CConfig: MAPPO's code as synchronous advantage actor-critic.

What separates A2C from PPO here: one gradient step per rollout batch (``num_epochs: 1``, no
minibatches), the plain policy-gradient loss (no ratio clipping, no value clipping) and
n-step returns (``n_step``, 5 by default, EPyMARL's ``q_nstep``) bootstrapped from a target
critic moved by Polyak averaging (``target_critic_tau``, 0.01; null: no target critic, the
critic's own values). ``n_step: null`` uses GAE with ``lambda_`` instead. ``training.critic``
takes MAPPO's choices: ``state`` (MAA2C, the default), ``concat_obs``, ``agent_specific``,
``local`` (IA2C).
"""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.utils.annotations import override

from policies.a2c.module import A2CModule
from policies.mappo.config import MAPPO, MAPPOConfig


class A2CConfig(MAPPOConfig):
    """MAPPOConfig with A2C's update and defaults (EPyMARL's where they apply)."""

    SMOKE_TEST = {
        "training": {"train_batch_size_per_learner": 128},
        "rl_module": {"model_config": {"fcnet_hiddens": [16]}},
    }

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or A2C)
        self.n_step: int | None = 5
        self.target_critic_tau: float | None = 0.01
        self.standardize_rewards = True
        self.value_normalization = False
        self.value_clip = None
        self.huber_delta = None
        self.num_epochs = 1
        self.minibatch_size = None
        self.train_batch_size_per_learner = 500
        self.lr = 5e-4
        self.entropy_coeff = 0.01
        self.vf_loss_coeff = 1.0  # EPyMARL: a separate Adam for the critic, no coefficient
        self.grad_clip = 10.0

    @override(MAPPOConfig)
    def training(
        self,
        *,
        n_step: int | None = NotProvided,
        target_critic_tau: float | None = NotProvided,
        standardize_rewards: bool = NotProvided,
        **kwargs: Any,
    ) -> A2CConfig:
        """A2C's options; the rest are MAPPO's (and PPO's).

        Args:
            n_step: Steps of the n-step returns (null: GAE with ``lambda_``).
            target_critic_tau: Polyak rate of the target critic that the n-step returns
                bootstrap from (null: bootstrap from the critic itself).
            standardize_rewards: Standardize rewards by their running mean and std (EPyMARL's
                ``standardise_rewards``).
            **kwargs: MAPPOConfig.training's options.

        """
        super().training(**kwargs)
        if n_step is not NotProvided:
            self.n_step = n_step
        if target_critic_tau is not NotProvided:
            self.target_critic_tau = target_critic_tau
        if standardize_rewards is not NotProvided:
            self.standardize_rewards = standardize_rewards
        return self

    @override(MAPPOConfig)
    def validate(self) -> None:
        super().validate()
        if self.num_epochs != 1 or self.minibatch_size is not None:
            raise ValueError(
                "training.num_epochs: A2C takes one gradient step per rollout batch "
                "(num_epochs 1, no minibatch_size); several epochs on minibatches are PPO's "
                "(algo: ippo or mappo)"
            )
        if self.clip_param != PPOConfig().clip_param or self.value_clip is not None:
            raise ValueError("training.clip_param: A2C clips no ratios and no values")
        if self.n_step is not None and (not isinstance(self.n_step, int) or self.n_step < 1):
            raise ValueError(f"training.n_step must be an integer >= 1 or null, got {self.n_step}")
        tau = self.target_critic_tau
        if tau is not None and not (isinstance(tau, int | float) and 0 < tau <= 1):
            raise ValueError(f"training.target_critic_tau must be in (0, 1] or null, got {tau}")

    @property
    def uses_target_critic(self) -> bool:
        """Whether a target critic exists (it only feeds the n-step bootstraps)."""
        return self.n_step is not None and self.target_critic_tau is not None

    @override(MAPPOConfig)
    def get_default_learner_class(self) -> type:
        from policies.a2c.learner import A2CTorchLearner

        return A2CTorchLearner

    @override(MAPPOConfig)
    def critic_module(self) -> tuple[type, dict[str, Any]]:
        return A2CModule, {
            "target_critic": self.uses_target_critic,
            "standardize_rewards": bool(self.standardize_rewards),
        }


class A2C(MAPPO):
    """PPO's sampling loop; with one epoch and no minibatches it is one A2C step per batch."""

    @classmethod
    @override(MAPPO)
    def get_default_config(cls) -> A2CConfig:
        return A2CConfig()


class IA2CConfig(A2CConfig):
    """IA2C is A2C's code with ``critic: local``: each critic sees only its agent's obs."""

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or IA2C)
        self.critic = "local"
        self.entropy_coeff = 0.001  # EPyMARL's ia2c.yaml (maa2c.yaml: 0.01)


class IA2C(A2C):
    """A2C's loop with local critics (independent learners)."""

    @classmethod
    @override(A2C)
    def get_default_config(cls) -> IA2CConfig:
        return IA2CConfig()
