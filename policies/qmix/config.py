"""QMIXConfig and QMIX: RLlib's new-stack DQN loop with a team module and QMIX's loss.

QMIX (Rashid et al. 2018), VDN (Sunehag et al. 2018) and IQL are one algorithm with another
mixer: ``training.mixer: qmix | vdn | none``. They run on the team view (one RLlib agent per
team, ``env_wrappers.team``), so RLlib's DQN machinery (episode replay with n-step
sampling, target networks, epsilon schedule, training intensity) works unchanged.

Two replay modes (``training.replay``):

- ``transitions``: RLlib's multi-agent episode buffer samples (n-step) transitions; the
  agent network is an MLP.
- ``episodes``: our episode replay (``policies.qmix.episode_buffer``, PyMARL's layout):
  whole episodes, or ``sequence_length`` windows with ``burn_in``, so GRU agents (DRQN,
  ``rl_module.model_config.use_gru``) are unrolled over time and TD(lambda) targets
  (``training.td_lambda``) run along each episode. ``replay: auto`` (the default) picks
  ``episodes`` when either is set.

Defaults follow EPyMARL's QMIX where they apply: lr 5e-4, gamma 0.99, double Q-learning,
hard target updates, epsilon 1 -> 0.05, gradient norm clipped at 10, squared TD error.
"""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.algorithms.dqn import DQN, DQNConfig
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.utils.annotations import override

from policies.qmix.mixers import MIXERS
from policies.qmix.module import MODEL_CONFIG_KEYS, TeamQModule


class QMIXConfig(DQNConfig):
    """DQNConfig plus ``mixer`` and the QMIX mixer's sizes."""

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
        self.recurrent_agents = False  # set by configure_qmix from model_config.use_gru

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
        if self.replay == "transitions" and (self.recurrent_agents or self.td_lambda is not None):
            raise ValueError(
                "GRU agents (use_gru) and training.td_lambda need training.replay: episodes"
            )
        if not self.uses_episode_replay:
            return
        if self.td_lambda is not None and not 0.0 <= self.td_lambda <= 1.0:
            raise ValueError(f"training.td_lambda must be in [0, 1], got {self.td_lambda}")
        if not isinstance(self.n_step, int) or self.n_step < 1:
            raise ValueError("episode replay needs an integer training.n_step >= 1")
        if self.sequence_length is not None and self.sequence_length < 1:
            raise ValueError("training.sequence_length must be at least 1 (or null)")
        if self.burn_in < 0 or (self.burn_in and self.sequence_length is None):
            raise ValueError("training.burn_in needs training.sequence_length (windows)")
        if self.episode_batch_size < 1 or self.episode_buffer_size < 1:
            raise ValueError("training.episode_batch_size and episode_buffer_size must be >= 1")
        if self.updates_per_episode <= 0:
            raise ValueError("training.updates_per_episode must be positive")

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


def configure_qmix(
    config: QMIXConfig,
    *,
    observation_spaces: dict[str, Any],
    action_spaces: dict[str, Any],
    model_config: dict[str, Any],
    **_: Any,
) -> QMIXConfig:
    """One team module per team (the team view's agents), each with its own mixer."""
    options = {
        **MODEL_CONFIG_KEYS,
        **model_config,
        "mixer": config.mixer,
        "mixer_options": config.mixer_options(),
        "epsilon": config.epsilon,
    }
    specs = {
        team: RLModuleSpec(
            module_class=TeamQModule,
            observation_space=observation_spaces[team],
            action_space=action_spaces[team],
            model_config=dict(options),
        )
        for team in observation_spaces
    }
    config.recurrent_agents = bool(options.get("use_gru"))
    config.multi_agent(policies=set(specs), policy_mapping_fn=team_mapping)
    config.rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs))
    return config


def team_mapping(agent_id: str, *args: Any, **kwargs: Any) -> str:
    """Team view: every team (the RLlib agent) has its own module."""
    return agent_id
