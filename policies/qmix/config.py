"""QMIXConfig and QMIX: RLlib's new-stack DQN loop with a team module and QMIX's loss.

QMIX (Rashid et al. 2018), VDN (Sunehag et al. 2018) and IQL are one algorithm with another
mixer: ``training.mixer: qmix | vdn | none``. They run on the team view (one RLlib agent per
team, ``env_wrappers.team``), so RLlib's DQN machinery (episode replay with n-step
sampling, target networks, epsilon schedule, training intensity) works unchanged.

Two replay modes (``training.replay``):

- ``transitions``: RLlib's multi-agent episode buffer samples (n-step) transitions; the
  agent network is an MLP.
- ``episodes``: our episode replay (``policies.common.episode_replay``, PyMARL's layout):
  whole episodes, or ``sequence_length`` windows with ``burn_in``, so GRU agents (DRQN,
  ``rl_module.model_config.use_gru``) are unrolled over time and TD(lambda) targets
  (``training.td_lambda``) run along each episode. ``replay: auto`` (the default) picks
  ``episodes`` when either is set.

Defaults follow EPyMARL's QMIX where they apply: lr 5e-4, gamma 0.99, double Q-learning,
hard target updates, epsilon 1 -> 0.05, gradient norm clipped at 10, squared TD error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.algorithms.dqn import DQN, DQNConfig
from ray.rllib.utils.annotations import override

from policies.common.contract import AlgorithmContract, EnvFacts, Inspector
from policies.common.module_specs import per_agent_module_specs
from policies.common.sample_while_learning import SampleWhileLearningConfig
from policies.common.sharing import PolicyMapping
from policies.qmix.mixers import MIXERS
from policies.qmix.module import MODEL_CONFIG_KEYS, TeamQModule


class QMIXConfig(AlgorithmContract, SampleWhileLearningConfig, DQNConfig):
    """DQNConfig plus ``mixer`` and the QMIX mixer's sizes; the algorithm contract's hooks.

    Runs on the team view: one RLlib agent (and one team module) per team.
    """

    env_view = "teams"
    MODEL_CONFIG_KEYS = MODEL_CONFIG_KEYS
    SMOKE_TEST = {
        "env_runners": {"num_envs_per_env_runner": 2, "rollout_fragment_length": 4},
        "training": {
            "num_steps_sampled_before_learning_starts": 16,
            "train_batch_size_per_learner": 16,
        },
        "reporting": {"min_sample_timesteps_per_iteration": 32},
        "rl_module": {"model_config": {"fcnet_hiddens": [16]}},
    }

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or QMIX)
        self.mixer = "qmix"
        self.mixing_embed_dim = 32
        self.hypernet_layers = 2
        self.hypernet_embed = 64
        self.lr = 5e-4
        self.gamma = 0.99
        self.double_q = True
        self.dueling = False
        self.n_step = 1
        self.tau = 1.0
        self.target_network_update_freq = 2000
        self.epsilon = [(0, 1.0), (50_000, 0.05)]
        self.grad_clip = 10.0
        self.grad_clip_by = "global_norm"
        self.train_batch_size_per_learner = 128
        self.num_steps_sampled_before_learning_starts = 1000
        self.rollout_fragment_length = 8
        self.replay_buffer_config = {"type": "MultiAgentEpisodeReplayBuffer", "capacity": 100_000}
        self.replay = "auto"
        self.td_lambda: float | None = None
        self.episode_batch_size = 32
        self.episode_buffer_size = 5000
        self.sequence_length: int | None = None
        self.burn_in = 0
        self.updates_per_episode = 0.5
        self.recurrent_agents = False  # set by configure_modules from model_config.use_gru

    @override(DQNConfig)
    def training(
        self,
        *,
        mixer: str = NotProvided,
        mixing_embed_dim: int = NotProvided,
        hypernet_layers: int = NotProvided,
        hypernet_embed: int = NotProvided,
        replay: str = NotProvided,
        td_lambda: float | None = NotProvided,
        episode_batch_size: int = NotProvided,
        episode_buffer_size: int = NotProvided,
        sequence_length: int | None = NotProvided,
        burn_in: int = NotProvided,
        updates_per_episode: float = NotProvided,
        **kwargs: Any,
    ) -> QMIXConfig:
        """QMIX's options; the rest are DQN's.

        Args:
            mixer: ``qmix`` (monotonic mixing network on the state), ``vdn`` (sum) or
                ``none`` (IQL: independent Q-learners).
            mixing_embed_dim: Width of QMIX's mixing layer.
            hypernet_layers: 1 or 2 layers in the hypernetworks that make the mixing weights.
            hypernet_embed: Hidden width of 2-layer hypernetworks.
            replay: ``transitions``, ``episodes`` or ``auto`` (episodes when the agents are
                recurrent or ``td_lambda`` is set).
            td_lambda: TD(lambda) targets along each replayed episode (episode replay);
                None: ``n_step`` targets.
            episode_batch_size: Rows (episodes or windows) per update (episode replay).
            episode_buffer_size: Episodes the episode replay keeps.
            sequence_length: Steps per replayed window; None: whole episodes.
            burn_in: Steps before each window that only warm up the GRU state (no loss).
            updates_per_episode: Gradient updates per finished episode collected
                (PyMARL: 1 with 32-episode batches).
            **kwargs: DQNConfig.training's options.

        """
        super().training(**kwargs)
        options = {
            "mixer": mixer,
            "mixing_embed_dim": mixing_embed_dim,
            "hypernet_layers": hypernet_layers,
            "hypernet_embed": hypernet_embed,
            "replay": replay,
            "td_lambda": td_lambda,
            "episode_batch_size": episode_batch_size,
            "episode_buffer_size": episode_buffer_size,
            "sequence_length": sequence_length,
            "burn_in": burn_in,
            "updates_per_episode": updates_per_episode,
        }
        for name, value in options.items():
            if value is not NotProvided:
                setattr(self, name, value)
        return self

    @property
    def uses_episode_replay(self) -> bool:
        """Whether training replays episodes (GRU agents, TD(lambda)) instead of transitions."""
        if self.replay == "auto":
            return self.recurrent_agents or self.td_lambda is not None
        return self.replay == "episodes"

    @override(DQNConfig)
    def validate(self) -> None:
        super().validate()
        if self.mixer not in MIXERS:
            raise ValueError(f"training.mixer must be one of {', '.join(MIXERS)}")
        if self.num_atoms != 1 or self.noisy or self.dueling:
            raise ValueError("QMIX does not use num_atoms, noisy or dueling (DQN options)")
        self._validate_replay()

    def _validate_replay(self) -> None:
        if self.replay not in ("auto", "transitions", "episodes"):
            raise ValueError("training.replay must be one of auto, transitions, episodes")
        self._validate_replay_sizes()
        if self.replay == "transitions" and (self.recurrent_agents or self.td_lambda is not None):
            raise ValueError(
                "GRU agents (use_gru) and training.td_lambda need training.replay: episodes"
            )
        if self.uses_episode_replay and (not isinstance(self.n_step, int) or self.n_step < 1):
            raise ValueError("training.n_step must be an integer >= 1 with episode replay")
        if self.burn_in and self.sequence_length is None:
            raise ValueError("training.burn_in needs training.sequence_length (windows)")
        if self.sample_while_learning and not self.uses_episode_replay:
            raise ValueError("training.sample_while_learning needs training.replay: episodes")

    def _validate_replay_sizes(self) -> None:
        """The episode replay's numbers: each a ValueError naming its key."""
        checks = {
            "td_lambda": self.td_lambda is None or _number(self.td_lambda, 0.0, 1.0),
            "episode_batch_size": _integer(self.episode_batch_size, 1),
            "episode_buffer_size": _integer(self.episode_buffer_size, 1),
            "sequence_length": self.sequence_length is None or _integer(self.sequence_length, 1),
            "burn_in": _integer(self.burn_in, 0),
            "updates_per_episode": _number(self.updates_per_episode, 0.0, None, open_low=True),
        }
        rules = {
            "td_lambda": "a number in [0, 1] (or null)",
            "episode_batch_size": "an integer >= 1",
            "episode_buffer_size": "an integer >= 1",
            "sequence_length": "an integer >= 1 (or null: whole episodes)",
            "burn_in": "an integer >= 0",
            "updates_per_episode": "a number > 0",
        }
        for key, ok in checks.items():
            if not ok:
                raise ValueError(f"training.{key} must be {rules[key]}, got {getattr(self, key)!r}")

    def mixer_options(self) -> dict[str, Any]:
        """Keyword arguments of ``make_mixer`` for ``self.mixer``."""
        if self.mixer != "qmix":
            return {}
        return {
            "embed_dim": self.mixing_embed_dim,
            "hypernet_layers": self.hypernet_layers,
            "hypernet_embed": self.hypernet_embed,
        }

    @override(DQNConfig)
    def get_default_learner_class(self) -> type:
        from policies.qmix.learner import QMIXTorchLearner

        return QMIXTorchLearner

    @override(AlgorithmContract)
    def configure_modules(
        self, facts: EnvFacts, mapping: PolicyMapping, model_config: dict[str, Any]
    ) -> None:
        """One team module per team (the team view's agents), each with its own mixer."""
        options = {
            **MODEL_CONFIG_KEYS,
            **model_config,
            "mixer": self.mixer,
            "mixer_options": self.mixer_options(),
            "epsilon": self.epsilon,
        }
        self.recurrent_agents = bool(options.get("use_gru"))
        per_agent_module_specs(self, facts, mapping, TeamQModule, options)

    @override(AlgorithmContract)
    def export_actors(
        self, modules: Any, facts: EnvFacts, mapping: PolicyMapping, out_dir: Path
    ) -> list[Path]:
        from policies.qmix.export import export_teams

        return export_teams(modules, facts, out_dir)

    @classmethod
    @override(AlgorithmContract)
    def inspectors(cls) -> dict[str, Inspector]:
        from policies.qmix.q_table import Q_TABLE

        return {Q_TABLE.name: Q_TABLE}


class QMIX(DQN):
    """DQN's replay loop with QMIX's config, team module and learner.

    With episode replay, ``training_step`` is ``EpisodeTrainer``'s instead of DQN's.
    """

    @classmethod
    @override(DQN)
    def get_default_config(cls) -> QMIXConfig:
        return QMIXConfig()

    @override(DQN)
    def setup(self, config: Any) -> None:
        super().setup(config)
        self.episode_trainer = None
        if self.config.uses_episode_replay:
            from policies.common.episode_training import EpisodeTrainer

            self.episode_trainer = EpisodeTrainer(self.config)

    @override(DQN)
    def training_step(self) -> None:
        if self.episode_trainer is None:
            return super().training_step()
        return self.episode_trainer.training_step(self)


class VDNConfig(QMIXConfig):
    """QMIX with the VDN mixer (the sum of utilities)."""

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class)
        self.mixer = "vdn"


class IQLConfig(QMIXConfig):
    """QMIX with no mixer: independent Q-learners on the shared team reward."""

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class)
        self.mixer = "none"


def _integer(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _number(value: Any, low: float, high: float | None, open_low: bool = False) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    above = value > low if open_low else value >= low
    return above and (high is None or value <= high)
