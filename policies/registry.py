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
        eval_actions: ``greedy`` or ``stochastic``: how ``marl eval`` acts by default.
        env_options: ``module:function`` giving env options the algorithm sets.
        team_view: Whether it trains on the team view (one RLlib agent per team,
            ``env_wrappers.team``) instead of one RLlib agent per agent.

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
    team_view: bool = False

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


def _value_decomposition(name: str, description: str, config_class: str) -> AlgoEntry:
    """QMIX, VDN or IQL (policies/qmix): one algorithm, three mixers, on the team view."""
    return AlgoEntry(
        name=name,
        description=description,
        config_class=f"policies.qmix.config:{config_class}",
        configure="policies.qmix.config:configure_qmix",
        module_options="policies.qmix.module:MODEL_CONFIG_KEYS",
        action_spaces=("discrete",),
        sharing_modes=("shared",),
        uses_state=name == "qmix",
        eval_actions="greedy",
        team_view=True,
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
    "qmix": _value_decomposition(
        "qmix",
        "QMIX: per-agent utilities mixed monotonically by a state hypernetwork",
        "QMIXConfig",
    ),
    "vdn": _value_decomposition("vdn", "VDN: QMIX's code, the team value is the sum", "VDNConfig"),
    "iql": _value_decomposition("iql", "IQL: QMIX's code without a mixer", "IQLConfig"),
}
