"""MADDPGConfig and MADDPG: deterministic actors, centralized critics over joint actions.

The team view with one team of every agent (``env.teams: all``, padded spaces): one module
sees every agent's observation and action of an env step, so replayed rows are joint
transitions by construction. Sampling and replay are ``policies.common.episode_training``'s
(finished episodes into a FIFO buffer, rows of ``sequence_length`` 1: single transitions,
``episode_batch_size`` of them per update, ``updates_per_env_step`` updates per env step).

Defaults follow the paper's MPE setup (Lowe et al. 2017 and its code): Adam, lr 0.01 for actors
and critics, gamma 0.95, batch 1024, one update every 100 env steps, learning after 1024 * 25
env steps, Polyak tau 0.01, gradient norm 0.5, two 64-unit ReLU layers, ``1e-3 *
mean(logits^2)``, the critics on all agents' observations (``critic: concat_obs``), the others'
actions from the replay in the actor loss. The buffer holds 40,000 episodes (1M transitions of
25-step MPE episodes, the paper's). Discrete actions: Gumbel straight-through at temperature 1
(or the gapped estimator at 0.7); continuous: ``tanh`` actions with Gaussian noise
(``exploration_noise``: a number or an RLlib-style ``[[env_step, std], ...]`` schedule,
default 0.1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig, NotProvided
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.utils.annotations import override
from torch import nn

from env_wrappers.keys import MASK_KEY
from policies.common.contract import AlgorithmContract, EnvFacts, check_team_export
from policies.common.ensemble import ensemble_env_options
from policies.common.export import export_member_networks
from policies.common.module_specs import per_agent_module_specs
from policies.common.sample_while_learning import SampleWhileLearningConfig
from policies.common.sharing import PolicyMapping
from policies.maddpg.math import ESTIMATORS
from policies.maddpg.module import CRITIC_INPUTS, MODEL_CONFIG_KEYS, MADDPGModule

#: Exploration noise std of continuous actions (in [-1, 1] units) unless the spec sets one.
DEFAULT_NOISE = 0.1
_OPTIONS = {
    "critic": "concat_obs",
    "others_actions": "replay",
    "gumbel_estimator": "straight_through",
    "gumbel_temperature": None,  # 1.0, or 0.7 for the gapped estimator
    "exploration_noise": None,  # 0.1; None lets the spec give a number or a schedule
    "logits_penalty": 1e-3,
    "target_tau": 0.01,
    "actor_lr": 0.01,
    "critic_lr": 0.01,
    "critic_coeff": 1.0,
    "updates_per_env_step": 0.01,
    "episode_batch_size": 1024,
    "episode_buffer_size": 40_000,
    "num_steps_sampled_before_learning_starts": 1024 * 25,
    "policy_inference": False,
    "inference_entropy": 1e-3,
    "inference_lr": 0.01,
    "ensemble_size": 1,
}


class MADDPGConfig(AlgorithmContract, SampleWhileLearningConfig, AlgorithmConfig):
    """MADDPG's options and the contract's hooks."""

    env_view = "teams"
    MODEL_CONFIG_KEYS = MODEL_CONFIG_KEYS
    SMOKE_TEST = {
        "training": {
            "episode_batch_size": 32,
            "num_steps_sampled_before_learning_starts": 32,
            "updates_per_env_step": 0.05,
        },
        "rl_module": {"model_config": {"fcnet_hiddens": [16], "critic_hiddens": [16]}},
    }

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or MADDPG)
        for name, value in _OPTIONS.items():
            setattr(self, name, value)
        self.gamma = 0.95
        self.grad_clip = 0.5
        self.grad_clip_by = "global_norm"
        self.sequence_length = 1
        self.burn_in = 0
        self.updates_per_episode = 0.0

    @override(AlgorithmConfig)
    def training(
        self,
        *,
        critic: str = NotProvided,
        others_actions: str = NotProvided,
        gumbel_estimator: str = NotProvided,
        gumbel_temperature: float | None = NotProvided,
        exploration_noise: float | list = NotProvided,
        logits_penalty: float = NotProvided,
        target_tau: float = NotProvided,
        actor_lr: float = NotProvided,
        critic_lr: float = NotProvided,
        critic_coeff: float = NotProvided,
        updates_per_env_step: float = NotProvided,
        episode_batch_size: int = NotProvided,
        episode_buffer_size: int = NotProvided,
        num_steps_sampled_before_learning_starts: int = NotProvided,
        policy_inference: bool = NotProvided,
        inference_entropy: float = NotProvided,
        inference_lr: float = NotProvided,
        ensemble_size: int = NotProvided,
        **kwargs: Any,
    ) -> MADDPGConfig:
        """MADDPG's options (see the module docstring), then AlgorithmConfig's.

        Args:
            critic: The critics' input: ``concat_obs`` (all observations, the paper),
                ``state``, or ``local`` (the agent's own observation and action: DDPG).
            others_actions: The other agents' actions in an actor's loss: ``replay`` (the
                paper) or ``current`` (their current greedy policies, EPyMARL).
            gumbel_estimator: ``straight_through`` or ``gapped`` (discrete actions).
            gumbel_temperature: The relaxation's temperature (1.0; 0.7 for ``gapped``).
            exploration_noise: Gaussian noise std of continuous actions in [-1, 1] units, or
                a schedule ``[[env_step, std], ...]`` (linear in between).
            logits_penalty: Weight of ``mean(logits^2)`` (pre-``tanh`` outputs) in the actor loss.
            target_tau: Polyak rate of the target actors and critics.
            actor_lr: Adam learning rate of the actors.
            critic_lr: Adam learning rate of the critics.
            critic_coeff: Weight of the critics' loss.
            updates_per_env_step: Gradient updates per env step collected (0.01: one per 100).
            episode_batch_size: Transitions per update.
            episode_buffer_size: Episodes kept in the replay (FIFO).
            num_steps_sampled_before_learning_starts: Env steps before the first update.
            policy_inference: Each agent's critic target uses its approximations of the
                other agents' policies, fitted from the replay, instead of their target
                actors (the paper's section 4.2; learner-only, never exported).
            inference_entropy: The entropy bonus ``lambda`` of the approximations' loss.
            inference_lr: Adam learning rate of the approximations.
            ensemble_size: Sub-policies per agent (policy ensembles, the paper's section
                4.3): one drawn at random for each agent at every episode; the agent's
                critic is shared by its sub-policies.
            **kwargs: AlgorithmConfig.training's options (gamma, grad_clip, ...).

        """
        given = {name: value for name, value in locals().items() if name in _OPTIONS}
        for name, value in given.items():
            if value is not NotProvided:
                setattr(self, name, value)
        super().training(**kwargs)
        return self

    @property
    def temperature(self) -> float:
        """The Gumbel temperature: as set, or 1.0 (0.7 for the gapped estimator)."""
        if self.gumbel_temperature is not None:
            return float(self.gumbel_temperature)
        return 0.7 if self.gumbel_estimator == "gapped" else 1.0

    def noise_at(self, env_steps: int) -> float:
        """The exploration noise's std after ``env_steps`` (a number, or linear in a schedule)."""
        noise = DEFAULT_NOISE if self.exploration_noise is None else self.exploration_noise
        if isinstance(noise, int | float):
            return float(noise)
        steps, values = zip(*noise, strict=True)
        return float(np.interp(env_steps, steps, values))

    @override(AlgorithmConfig)
    def validate(self) -> None:
        super().validate()
        choices = {
            "critic": CRITIC_INPUTS,
            "others_actions": ("replay", "current"),
            "gumbel_estimator": ESTIMATORS,
        }
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                got = getattr(self, name)
                raise ValueError(f"training.{name} must be one of {', '.join(valid)}, got {got!r}")
        if not isinstance(self.policy_inference, bool):
            raise ValueError("training.policy_inference must be true or false")
        if not isinstance(self.inference_entropy, int | float) or self.inference_entropy < 0:
            raise ValueError("training.inference_entropy must be a number >= 0")
        size = self.ensemble_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"training.ensemble_size must be an integer >= 1, got {size!r}")
        for name in ("actor_lr", "critic_lr", "inference_lr"):
            if not _positive(getattr(self, name)):
                raise ValueError(f"training.{name} must be a number > 0")
        if not _positive(self.temperature):
            raise ValueError("training.gumbel_temperature must be a number > 0")
        if not (_positive(self.target_tau) and self.target_tau <= 1):
            raise ValueError(f"training.target_tau must be in (0, 1], got {self.target_tau}")
        if not _positive(self.updates_per_env_step):
            raise ValueError("training.updates_per_env_step must be a number > 0")
        if not isinstance(self.logits_penalty, int | float) or self.logits_penalty < 0:
            raise ValueError("training.logits_penalty must be a number >= 0")
        for name in ("episode_batch_size", "episode_buffer_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"training.{name} must be an integer >= 1")
        if self.exploration_noise is not None:
            _check_noise(self.exploration_noise)

    @override(AlgorithmConfig)
    def get_default_rl_module_spec(self) -> RLModuleSpec:
        return RLModuleSpec(module_class=MADDPGModule)

    @override(AlgorithmConfig)
    def get_default_learner_class(self) -> type:
        from policies.maddpg.learner import MADDPGTorchLearner

        return MADDPGTorchLearner

    @override(AlgorithmContract)
    def env_options(self, sharing: str) -> dict[str, Any]:
        """One team of every agent, spaces padded where they differ; an ensemble's draw."""
        return {"teams": "all", "pad": "auto", **ensemble_env_options(self.ensemble_size)}

    @override(AlgorithmContract)
    def sub_policy_count(self) -> int:
        return self.ensemble_size

    @override(AlgorithmContract)
    def configure_modules(
        self, facts: EnvFacts, mapping: PolicyMapping, model_config: dict[str, Any]
    ) -> None:
        options = {
            **MODEL_CONFIG_KEYS,
            **model_config,
            "critic": self.critic,
            "noise_scale": self.noise_at(0),
            "policy_inference": self.policy_inference,
            "ensemble_size": self.ensemble_size,
        }
        per_agent_module_specs(self, facts, mapping, MADDPGModule, options)

    @override(AlgorithmContract)
    def export_actors(
        self, modules: Any, facts: EnvFacts, mapping: PolicyMapping, out_dir: Path
    ) -> list[Path]:
        """Every agent's actor (logits, or ``tanh`` actions in [-1, 1]); critics never.

        An ensemble writes every sub-policy ``k`` as team ``<team>.sub<k>``
        (``all.sub0.agent_0.pt``, ...).
        """
        check_team_export(facts)
        written: list[Path] = []
        for team, members in facts.teams.items():
            module = modules[team]
            space = facts.action_spaces[team]
            member_space, head, log_std = None, None, None
            if not module.discrete:
                member_space = gym.spaces.Box(space.low[0], space.high[0], dtype=np.float32)
                head = _with_tanh
                log_std = [float(np.log(self.noise_at(0)))] * module.action_size
            ensemble = module.ensemble_size > 1
            for k, nets in enumerate(module.agent_nets if ensemble else [module.agent_nets]):
                written += export_member_networks(
                    nets,
                    team=f"{team}.sub{k}" if ensemble else team,
                    members=members,
                    obs_size=module.obs_size,
                    n_actions=module.action_size,
                    uses_mask=MASK_KEY in module.observation_space.spaces,
                    output="logits" if module.discrete else "gaussian_mean",
                    out_dir=out_dir,
                    action_space=member_space,
                    head=head,
                    log_std=log_std,
                )
        return written


class MADDPG(Algorithm):
    """Episode-replay sampling and MADDPG's two-phase learner."""

    @classmethod
    @override(Algorithm)
    def get_default_config(cls) -> MADDPGConfig:
        return MADDPGConfig()

    @override(Algorithm)
    def setup(self, config: Any) -> None:
        super().setup(config)
        from policies.common.episode_training import EpisodeTrainer

        self.episode_trainer = EpisodeTrainer(self.config)

    @override(Algorithm)
    def training_step(self) -> None:
        return self.episode_trainer.training_step(self)


def _with_tanh(net: nn.Module) -> nn.Module:
    return nn.Sequential(net, nn.Tanh())


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _check_noise(noise: Any) -> None:
    if _positive(noise) or noise == 0:
        return
    ok = (
        isinstance(noise, list | tuple)
        and noise
        and all(
            isinstance(p, list | tuple) and len(p) == 2 and all(_positive(x) or x == 0 for x in p)
            for p in noise
        )
    )
    if not ok or [p[0] for p in noise] != sorted(p[0] for p in noise):
        raise ValueError(
            "training.exploration_noise must be a std >= 0 or a schedule "
            f"[[env_step, std], ...] with increasing steps, got {noise!r}"
        )
