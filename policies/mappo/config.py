"""MAPPOConfig and MAPPO: PPO's algorithm with a centralized critic and MAPPO's defaults.

Defaults follow the MAPPO paper's findings (REFERENCE.md): value normalization on, value
loss clipped at 0.2 with a Huber loss (delta 10), no KL penalty, clip 0.2, few epochs on
large batches, gradient norm clipped at 10.
"""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.algorithms.ppo import PPO, PPOConfig
from ray.rllib.utils.annotations import override

from policies.common.actor_critic import CRITIC_INPUTS
from policies.common.configure import configure_actor_critic

#: ``training.critic`` values: what the critic reads.
CRITICS = (*CRITIC_INPUTS, "concat_obs")
#: ``training.value_head`` values: a scalar value (MAPPO) or GMAC's Gaussian mixture.
VALUE_HEADS = ("scalar", "gmac")


class MAPPOConfig(PPOConfig):
    """PPOConfig plus MAPPO's critic options and GMAC's distributional value head."""

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or MAPPO)
        self.critic = "state"
        self.value_normalization = True
        self.value_clip: float | None = 0.2
        self.huber_delta: float | None = 10.0
        self.value_head = "scalar"
        self.gmac: dict[str, Any] = {}
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
        value_head: str = NotProvided,
        gmac: dict[str, Any] = NotProvided,
        **kwargs: Any,
    ) -> MAPPOConfig:
        """MAPPO's options; the rest are PPO's.

        Args:
            critic: ``state`` (the env's global state), ``concat_obs`` (all agents'
                observations), ``agent_specific`` (state + own obs + id) or ``local`` (IPPO).
            value_normalization: Keep running value statistics (PopArt-style).
            value_clip: Clip range of the value loss around the old values (None: off).
            huber_delta: Huber loss threshold for the value loss (None: squared error).
            value_head: ``scalar`` or ``gmac`` (a Gaussian-mixture distributional critic
                trained with the energy distance; see policies/gmac/README.md).
            gmac: GMAC's options: ``components``, ``init_scale``, ``min_std``, ``horizon``.
            **kwargs: PPOConfig.training's options.

        """
        super().training(**kwargs)
        for name, value in (
            ("critic", critic),
            ("value_normalization", value_normalization),
            ("value_clip", value_clip),
            ("huber_delta", huber_delta),
            ("value_head", value_head),
            ("gmac", gmac),
        ):
            if value is not NotProvided:
                setattr(self, name, value)
        return self

    @override(PPOConfig)
    def validate(self) -> None:
        super().validate()
        if self.critic not in CRITICS:
            raise ValueError(f"training.critic must be one of {', '.join(CRITICS)}")
        if self.value_head not in VALUE_HEADS:
            raise ValueError(f"training.value_head must be one of {', '.join(VALUE_HEADS)}")
        self._validate_gmac()
        if self.use_kl_loss:
            raise ValueError("MAPPO/IPPO use no KL penalty: remove training.use_kl_loss")
        if self.vf_clip_param != PPOConfig().vf_clip_param:
            raise ValueError(
                "training.vf_clip_param is PPO's; MAPPO/IPPO clip the value loss with "
                "training.value_clip"
            )

    def _validate_gmac(self) -> None:
        from policies.gmac.config import validate_gmac_options

        validate_gmac_options(self.gmac, self.value_head)

    @property
    def gmac_options(self) -> dict[str, Any]:
        """``training.gmac`` with its defaults filled in."""
        from policies.gmac.module import GMAC_DEFAULTS

        return {**GMAC_DEFAULTS, **self.gmac}

    @override(PPOConfig)
    def get_default_learner_class(self) -> type:
        if self.value_head == "gmac":
            from policies.gmac.learner import GMACTorchLearner

            return GMACTorchLearner
        from policies.mappo.learner import MAPPOTorchLearner

        return MAPPOTorchLearner


class MAPPO(PPO):
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


def configure_mappo(config: MAPPOConfig, **kwargs: Any) -> MAPPOConfig:
    """Sets MAPPO's policies: actors on local observations, critics as ``config.critic``."""
    critic = "state" if config.critic == "concat_obs" else config.critic
    if config.value_head == "gmac":
        from policies.gmac.config import gmac_module_options

        kwargs.update(gmac_module_options(config.gmac_options))
    return configure_actor_critic(
        config, critic_input=critic, value_normalization=config.value_normalization, **kwargs
    )


def mappo_env_options(training: dict[str, Any], sharing: str) -> dict[str, Any]:
    """Env options MAPPO sets unless the spec sets them.

    The state source for ``critic: concat_obs``, and agent ids for shared actors (one network
    must know which agent it acts for).
    """
    options: dict[str, Any] = {}
    if training.get("critic") == "concat_obs":
        options["global_state"] = "concat"
    if sharing in ("shared", "groups"):
        options["agent_id"] = True
    return options
