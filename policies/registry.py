"""ALGORITHMS: algorithm name -> how to configure it, and what it can do.

A plain dict, filled with lazy references: importing this module imports no Ray code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class AlgoEntry:
    """One algorithm.

    Attributes:
        name: Name used in specs (``algo:``) and on the command line.
        description: One line for ``marl algos``.
        config_class: ``module:Class`` of its RLlib AlgorithmConfig.
        configure: ``module:function`` that sets its multi-agent policies and modules.
        module_options: ``module:CONSTANT``, the ``rl_module.model_config`` keys it reads.
        action_spaces: Kinds of action spaces it supports.
        sharing_modes: Values ``multi_agent.sharing`` may take.
        uses_state: Whether training reads the env's global state (CTDE).

    """

    name: str
    description: str
    config_class: str
    configure: str
    module_options: str
    action_spaces: tuple[str, ...]
    sharing_modes: tuple[str, ...]
    uses_state: bool
    eval_actions: str = "stochastic"
    env_options: str | None = None

    def new_config(self) -> Any:
        """A fresh AlgorithmConfig of this algorithm."""
        return _load(self.config_class)()

    def configure_fn(self) -> Callable[..., Any]:
        """The function that sets this algorithm's policies and modules."""
        return _load(self.configure)

    def default_env_options(self, training: dict[str, Any], sharing: str) -> dict[str, Any]:
        """Env options this algorithm adds (a spec's own env options take precedence)."""
        return dict(_load(self.env_options)(training, sharing)) if self.env_options else {}

    def model_config_defaults(self) -> dict[str, Any]:
        """The ``rl_module.model_config`` keys this algorithm reads, with defaults."""
        return dict(_load(self.module_options))


def _actor_critic(name: str, description: str, config_class: str, uses_state: bool) -> AlgoEntry:
    """An algorithm built on MAPPO's code (policies/mappo): only the critic's input differs."""
    return AlgoEntry(
        name=name,
        description=description,
        config_class=f"policies.mappo.config:{config_class}",
        configure="policies.mappo.config:configure_mappo",
        module_options="policies.common.actor_critic:MODEL_CONFIG_KEYS",
        action_spaces=("discrete", "continuous"),
        sharing_modes=("shared", "individual", "groups"),
        uses_state=uses_state,
        env_options="policies.mappo.config:mappo_env_options",
    )


ALGORITHMS: dict[str, AlgoEntry] = {
    "ippo": _actor_critic(
        "ippo",
        "IPPO: MAPPO's code with critics on each agent's local observation",
        "IPPOConfig",
        uses_state=False,
    ),
    "mappo": _actor_critic(
        "mappo",
        "MAPPO: actors on local observations, centralized critic on the state",
        "MAPPOConfig",
        uses_state=True,
    ),
}
