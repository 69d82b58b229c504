"""MAPPOConfig and MAPPO: PPO's algorithm with a centralized critic and MAPPO's defaults.

Defaults follow the MAPPO paper's findings (REFERENCE.md): value normalization on, value
loss clipped at 0.2 with a Huber loss (delta 10), no KL penalty, clip 0.2, few epochs on
large batches, gradient norm clipped at 10.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.algorithms.ppo import PPO, PPOConfig
from ray.rllib.utils.annotations import override

from policies.common.contract import AlgorithmContract, EnvFacts
from policies.common.module_specs import per_agent_module_specs
from policies.common.overlapped_ppo import SampleWhileLearning
from policies.common.sample_while_learning import SampleWhileLearningConfig
from policies.common.sharing import PolicyMapping
from policies.mappo.module import CRITIC_INPUTS, MODEL_CONFIG_KEYS, ActorCriticModule

#: ``training.critic`` values: what the critic reads.
CRITICS = (*CRITIC_INPUTS, "concat_obs")


class MAPPOConfig(AlgorithmContract, SampleWhileLearningConfig, PPOConfig):
    """PPOConfig plus MAPPO's critic options; the algorithm contract's hooks."""

    MODEL_CONFIG_KEYS = MODEL_CONFIG_KEYS
    SMOKE_TEST = {
        "training": {"train_batch_size_per_learner": 128, "minibatch_size": 64, "num_epochs": 1},
        "rl_module": {"model_config": {"fcnet_hiddens": [16]}},
    }

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or MAPPO)
        self.critic = "state"
        self.value_normalization = True
        self.value_clip: float | None = 0.2
        self.huber_delta: float | None = 10.0
        self.use_kl_loss = False
        self.lr = 5e-4
        self.num_epochs = 10
        self.entropy_coeff = 0.01
        self.grad_clip = 10.0

    @override(PPOConfig)
    def training(
        self,
        *,
        critic: str = NotProvided,
        value_normalization: bool = NotProvided,
        value_clip: float | None = NotProvided,
        huber_delta: float | None = NotProvided,
        **kwargs: Any,
    ) -> MAPPOConfig:
        """MAPPO's options; the rest are PPO's.

        Args:
            critic: ``state`` (the env's global state), ``concat_obs`` (all agents'
                observations), ``agent_specific`` (state + own obs + id) or ``local`` (IPPO).
            value_normalization: Keep running value statistics (PopArt-style).
            value_clip: Clip range of the value loss around the old values (None: off).
            huber_delta: Huber loss threshold for the value loss (None: squared error).
            **kwargs: PPOConfig.training's options.

        """
        super().training(**kwargs)
        for name, value in (
            ("critic", critic),
            ("value_normalization", value_normalization),
            ("value_clip", value_clip),
            ("huber_delta", huber_delta),
        ):
            if value is not NotProvided:
                setattr(self, name, value)
        return self

    @override(PPOConfig)
    def validate(self) -> None:
        super().validate()
        if self.critic not in CRITICS:
            raise ValueError(f"training.critic must be one of {', '.join(CRITICS)}")
        if self.use_kl_loss:
            raise ValueError("MAPPO/IPPO use no KL penalty: remove training.use_kl_loss")
        if self.vf_clip_param != PPOConfig().vf_clip_param:
            raise ValueError(
                "training.vf_clip_param is PPO's; MAPPO/IPPO clip the value loss with "
                "training.value_clip"
            )

    @override(PPOConfig)
    def get_default_learner_class(self) -> type:
        from policies.mappo.learner import MAPPOTorchLearner

        return MAPPOTorchLearner

    @override(AlgorithmContract)
    def env_options(self, sharing: str) -> dict[str, Any]:
        """The state source for ``critic: concat_obs``; agent ids for shared actors.

        One network acting for several agents must know which agent it acts for.
        """
        options: dict[str, Any] = {}
        if self.critic == "concat_obs":
            options["global_state"] = "concat"
        if sharing in ("shared", "groups"):
            options["agent_id"] = True
        return options

    @property
    def critic_input(self) -> str:
        """What the critic module reads (``concat_obs`` is a state made by the env)."""
        return "state" if self.critic == "concat_obs" else self.critic

    def critic_module(self) -> tuple[type, dict[str, Any]]:
        """The RLModule class and the extra ``model_config`` of this config's critic."""
        return ActorCriticModule, {}

    @override(AlgorithmContract)
    def configure_modules(
        self, facts: EnvFacts, mapping: PolicyMapping, model_config: dict[str, Any]
    ) -> None:
        module_class, critic_options = self.critic_module()
        options = {
            **MODEL_CONFIG_KEYS,  # complete: RLlib's connectors read max_seq_len from here
            **model_config,
            "critic_input": self.critic_input,
            "value_normalization": self.value_normalization,
            **critic_options,
        }
        per_agent_module_specs(self, facts, mapping, module_class, options)

    @override(AlgorithmContract)
    def export_actors(
        self, modules: Any, facts: EnvFacts, mapping: PolicyMapping, out_dir: Path
    ) -> list[Path]:
        from policies.mappo.export import export_actor_modules

        return export_actor_modules(self, modules, facts, mapping, out_dir)


class MAPPO(SampleWhileLearning):
    """PPO's training loop with MAPPO's config, modules and learner."""

    @classmethod
    @override(PPO)
    def get_default_config(cls) -> MAPPOConfig:
        return MAPPOConfig()


class IPPOConfig(MAPPOConfig):
    """IPPO is MAPPO's code with ``critic: local``: each critic sees only its agent's obs."""

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or IPPO)
        self.critic = "local"


class IPPO(MAPPO):
    """MAPPO's loop, learner and modules with local critics (independent learners)."""

    @classmethod
    @override(MAPPO)
    def get_default_config(cls) -> IPPOConfig:
        return IPPOConfig()
