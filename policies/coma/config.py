"""COMAConfig and COMA: counterfactual multi-agent policy gradients on the team view.

The sampling loop is PPO's (synchronous rollouts, then the learner), with one gradient step
per rollout batch (``num_epochs: 1``, no minibatches, no ratio clipping): COMA's update.
Critic targets are TD(lambda) (``td_lambda``, 0.8 as Foerster et al.) or n-step returns
(``n_step``; EPyMARL uses 10) from a target critic that is copied every
``target_update_interval`` updates (200, EPyMARL) or moved by Polyak averaging
(``target_tau``). Defaults otherwise follow EPyMARL's ``coma.yaml``: lr 3e-4, entropy 0.001,
gamma 0.99, gradient norm 10. Common rewards only: the team view's reward (``env.team_reward``)
is what the critic learns.

GRU actors (``rl_module.model_config.use_gru``, with ``gru_cell_size`` and ``max_seq_len``)
are checked in ``validate()``: both sizes integers >= 1, and neither given without
``use_gru: true``. Their checkpoints evaluate but do not export (the exported actor's
schema is stateless): ``export_actors`` refuses them naming ``use_gru``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.algorithms.ppo import PPO, PPOConfig
from ray.rllib.utils.annotations import override

from env_wrappers.keys import MASK_KEY
from policies.coma.module import MODEL_CONFIG_KEYS, COMAModule
from policies.common.contract import (
    AlgorithmContract,
    EnvFacts,
    UnsupportedError,
    check_team_export,
)
from policies.common.export import export_member_networks
from policies.common.module_specs import per_agent_module_specs
from policies.common.overlapped_ppo import SampleWhileLearning
from policies.common.sample_while_learning import SampleWhileLearningConfig
from policies.common.sharing import PolicyMapping

_OPTIONS = (
    "td_lambda",
    "n_step",
    "target_update_interval",
    "target_tau",
    "critic_coeff",
    "standardize_rewards",
)
#: ``model_config`` keys only GRU actors read.
GRU_KEYS = ("gru_cell_size", "max_seq_len")


class COMAConfig(AlgorithmContract, SampleWhileLearningConfig, PPOConfig):
    """PPOConfig's sampling with COMA's module, targets and learner; the contract's hooks."""

    env_view = "teams"
    MODEL_CONFIG_KEYS = MODEL_CONFIG_KEYS
    SMOKE_TEST = {
        "training": {"train_batch_size_per_learner": 64},
        "rl_module": {"model_config": {"fcnet_hiddens": [16], "critic_hiddens": [16]}},
    }

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or COMA)
        self.td_lambda: float | None = 0.8
        self.n_step: int | None = None
        self.target_update_interval = 200
        self.target_tau: float | None = None
        self.critic_coeff = 1.0
        self.standardize_rewards = True
        self.lr = 3e-4
        self.entropy_coeff = 0.001
        self.gamma = 0.99
        self.grad_clip = 10.0
        self.num_epochs = 1
        self.minibatch_size = None
        self.train_batch_size_per_learner = 500
        self.use_kl_loss = False
        self.actor_options: dict[str, Any] = {}  # the spec's model_config (configure_modules)

    @override(PPOConfig)
    def training(
        self,
        *,
        td_lambda: float | None = NotProvided,
        n_step: int | None = NotProvided,
        target_update_interval: int = NotProvided,
        target_tau: float | None = NotProvided,
        critic_coeff: float = NotProvided,
        standardize_rewards: bool = NotProvided,
        **kwargs: Any,
    ) -> COMAConfig:
        """COMA's options; the rest are PPO's sampling and optimizer options.

        Args:
            td_lambda: TD(lambda) critic targets (null with ``n_step``).
            n_step: n-step critic targets instead (setting it turns ``td_lambda`` off).
            target_update_interval: Updates between hard copies of the target critic.
            target_tau: Polyak rate of the target critic instead of hard copies.
            critic_coeff: Weight of the critic's loss in the one loss.
            standardize_rewards: Standardize rewards by their running mean and std (EPyMARL's
                ``standardise_rewards``).
            **kwargs: PPOConfig.training's options.

        """
        super().training(**kwargs)
        if n_step not in (NotProvided, None) and td_lambda is NotProvided:
            td_lambda = None
        given = (
            td_lambda,
            n_step,
            target_update_interval,
            target_tau,
            critic_coeff,
            standardize_rewards,
        )
        for name, value in zip(_OPTIONS, given, strict=True):
            if value is not NotProvided:
                setattr(self, name, value)
        return self

    @override(PPOConfig)
    def validate(self) -> None:
        super().validate()
        if (self.td_lambda is None) == (self.n_step is None):
            raise ValueError("training.td_lambda: give td_lambda or n_step (and not both)")
        if self.td_lambda is not None and not 0.0 <= self.td_lambda <= 1.0:
            raise ValueError(f"training.td_lambda must be in [0, 1], got {self.td_lambda}")
        if self.n_step is not None and (not isinstance(self.n_step, int) or self.n_step < 1):
            raise ValueError(f"training.n_step must be an integer >= 1, got {self.n_step}")
        if not isinstance(self.target_update_interval, int) or self.target_update_interval < 1:
            raise ValueError("training.target_update_interval must be an integer >= 1")
        tau = self.target_tau
        if tau is not None and not (isinstance(tau, int | float) and 0 < tau <= 1):
            raise ValueError(f"training.target_tau must be in (0, 1] or null, got {tau}")
        if self.num_epochs != 1 or self.minibatch_size is not None:
            raise ValueError(
                "training.num_epochs: COMA takes one gradient step per rollout batch "
                "(num_epochs 1, no minibatch_size)"
            )
        if self.use_kl_loss or self.clip_param != PPOConfig().clip_param:
            raise ValueError("training.clip_param: COMA uses no ratio clipping or KL penalty")
        self._validate_actor_options()

    @property
    def recurrent_actors(self) -> bool:
        """Whether the spec asks for GRU actors (``rl_module.model_config.use_gru``)."""
        return bool(self.actor_options.get("use_gru", False))

    def _validate_actor_options(self) -> None:
        """GRU sizes: integers >= 1, and only given with ``use_gru: true``."""
        for key in GRU_KEYS:
            if key not in self.actor_options:
                continue
            value = self.actor_options[key]
            if not self.recurrent_actors:
                raise ValueError(
                    f"rl_module.model_config.{key} is read only with use_gru: true "
                    "(the actors are MLPs otherwise)"
                )
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"rl_module.model_config.{key} must be an integer >= 1, got {value!r}"
                )

    @override(PPOConfig)
    def get_default_learner_class(self) -> type:
        from policies.coma.learner import COMATorchLearner

        return COMATorchLearner

    @override(AlgorithmContract)
    def configure_modules(
        self, facts: EnvFacts, mapping: PolicyMapping, model_config: dict[str, Any]
    ) -> None:
        """One COMA module per team: its members' actors and its central critic."""
        self.actor_options = dict(model_config)
        options = {
            **MODEL_CONFIG_KEYS,
            **model_config,
            "standardize_rewards": bool(self.standardize_rewards),
        }
        per_agent_module_specs(self, facts, mapping, COMAModule, options)

    @override(AlgorithmContract)
    def export_actors(
        self, modules: Any, facts: EnvFacts, mapping: PolicyMapping, out_dir: Path
    ) -> list[Path]:
        """Each team's member actors (logits); the critic is never exported."""
        check_team_export(facts)
        written: list[Path] = []
        for team, members in facts.teams.items():
            module = modules[team]
            if module.is_stateful():
                raise UnsupportedError(
                    "rl_module.model_config.use_gru",
                    "recurrent (GRU) actors cannot be exported yet: the exported actor "
                    "(marl-actor/1) is stateless",
                )
            written += export_member_networks(
                module.agent_nets,
                team=team,
                members=members,
                obs_size=module.obs_size,
                n_actions=module.n_actions,
                uses_mask=MASK_KEY in module.observation_space.spaces,
                output="logits",
                out_dir=out_dir,
            )
        return written


class COMA(SampleWhileLearning):
    """PPO's sampling loop with COMA's config, team module and learner."""

    @classmethod
    @override(PPO)
    def get_default_config(cls) -> COMAConfig:
        return COMAConfig()
