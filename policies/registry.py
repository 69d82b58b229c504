"""ALGORITHMS: algorithm name -> its config class and what it can do.

A plain dict of data: importing this module imports no Ray code and no algorithm package.
Everything else an algorithm provides (env options, modules, exporter, inspectors) is a hook
on its config class (``policies.common.contract.AlgorithmContract``), imported lazily by
``AlgoEntry.new_config``. Adding an algorithm is one line here (see policies/README.md).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

#: Capability values.
ACTION_SPACES = ("discrete", "continuous")
VIEWS = ("agents", "teams")


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class AlgoEntry:
    """One algorithm: its config class and its capabilities (data, for listings and checks).

    Attributes:
        name: Name used in specs (``algo:``) and on the command line.
        description: One line for ``marl algos``.
        config_class: ``module:Class`` of its AlgorithmConfig (it implements the contract).
        action_spaces: Kinds of action spaces it supports (``ACTION_SPACES``).
        sharing_modes: Values ``multi_agent.sharing`` may take.
        uses_state: Whether training reads the env's global state (CTDE).
        view: ``agents`` (one RLlib agent per agent) or ``teams`` (one per team).
        eval_actions: ``greedy`` or ``stochastic``: how ``marl eval`` acts by default.
        inspectors: Names of its ``marl inspect`` views (the config class provides them).
        rewards: Reward structures it accepts (the env catalog's ``reward`` values).

    """

    name: str
    description: str
    config_class: str
    action_spaces: tuple[str, ...]
    sharing_modes: tuple[str, ...]
    uses_state: bool
    view: str = "agents"
    eval_actions: str = "stochastic"
    inspectors: tuple[str, ...] = ()
    rewards: tuple[str, ...] = ("shared", "individual", "mixed")

    def config_type(self) -> type:
        """The config class (imports the algorithm package)."""
        return _load(self.config_class)

    def new_config(self) -> Any:
        """A fresh AlgorithmConfig of this algorithm."""
        return self.config_type()()


_SHARING = ("shared", "individual", "groups")

ALGORITHMS: dict[str, AlgoEntry] = {
    entry.name: entry
    for entry in (
        AlgoEntry(
            "ippo",
            "IPPO: MAPPO's code with critics on each agent's local observation",
            "policies.mappo.config:IPPOConfig",
            ACTION_SPACES,
            _SHARING,
            uses_state=False,
        ),
        AlgoEntry(
            "mappo",
            "MAPPO: actors on local observations, centralized critic on the state",
            "policies.mappo.config:MAPPOConfig",
            ACTION_SPACES,
            _SHARING,
            uses_state=True,
        ),
        AlgoEntry(
            "gmac",
            "GMAC: MAPPO with a Gaussian-mixture critic (training.critic: local for IPPO)",
            "policies.gmac.config:GMACConfig",
            ACTION_SPACES,
            _SHARING,
            uses_state=True,
            inspectors=("value-dist",),
        ),
        AlgoEntry(
            "ia2c",
            "IA2C: advantage actor-critic per agent, n-step returns, local critics",
            "policies.a2c.config:IA2CConfig",
            ACTION_SPACES,
            _SHARING,
            uses_state=False,
        ),
        AlgoEntry(
            "maa2c",
            "MAA2C: advantage actor-critic with a centralized critic on the state",
            "policies.a2c.config:A2CConfig",
            ACTION_SPACES,
            _SHARING,
            uses_state=True,
        ),
        AlgoEntry(
            "coma",
            "COMA: decentralized actors, counterfactual baselines from a central Q critic",
            "policies.coma.config:COMAConfig",
            ("discrete",),
            ("shared",),
            uses_state=True,
            view="teams",
            rewards=("shared",),
        ),
        AlgoEntry(
            "maddpg",
            "MADDPG: deterministic actors, a centralized Q critic per agent (critic: local: DDPG)",
            "policies.maddpg.config:MADDPGConfig",
            ACTION_SPACES,
            ("shared",),
            uses_state=True,
            view="teams",
            eval_actions="greedy",
        ),
        AlgoEntry(
            "pac",
            "PAC: Pareto actor-critic, advantages against the others' best joint action",
            "policies.pac.config:PACConfig",
            ("discrete",),
            ("shared",),
            uses_state=True,
            view="teams",
        ),
        AlgoEntry(
            "qmix",
            "QMIX: per-agent utilities mixed monotonically by a state hypernetwork",
            "policies.qmix.config:QMIXConfig",
            ("discrete",),
            ("shared",),
            uses_state=True,
            view="teams",
            eval_actions="greedy",
            inspectors=("q-table",),
        ),
        AlgoEntry(
            "vdn",
            "VDN: QMIX's code, the team value is the sum",
            "policies.qmix.config:VDNConfig",
            ("discrete",),
            ("shared",),
            uses_state=False,
            view="teams",
            eval_actions="greedy",
            inspectors=("q-table",),
        ),
        AlgoEntry(
            "iql",
            "IQL: QMIX's code without a mixer",
            "policies.qmix.config:IQLConfig",
            ("discrete",),
            ("shared",),
            uses_state=False,
            view="teams",
            eval_actions="greedy",
            inspectors=("q-table",),
        ),
    )
}

#: Old spellings a spec may still use for one release: ``(algo, training key, value)`` ->
#: ``(new algo, training keys to default)``; the old key is dropped with a note.
LEGACY_SPELLINGS: dict[tuple[str, str, str], tuple[str, dict[str, Any]]] = {
    ("mappo", "value_head", "gmac"): ("gmac", {}),
    ("ippo", "value_head", "gmac"): ("gmac", {"critic": "local"}),
    ("mappo", "value_head", "scalar"): ("mappo", {}),
    ("ippo", "value_head", "scalar"): ("ippo", {}),
}


def inspector_names() -> list[str]:
    """Every ``marl inspect`` view some registered algorithm offers.

    Registry data only: the command line's help lists them without importing RLlib.
    """
    return sorted({name for entry in ALGORITHMS.values() for name in entry.inspectors})


def apply_legacy_spellings(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Rewrites old spellings of a raw spec; returns (the spec, notes naming the new one)."""
    training = raw.get("training")
    if not isinstance(training, dict) or not isinstance(raw.get("algo"), str):
        return raw, []
    for (algo, key, value), (new_algo, defaults) in LEGACY_SPELLINGS.items():
        if raw["algo"] == algo and training.get(key) == value:
            new_training = {**defaults, **{k: v for k, v in training.items() if k != key}}
            extra = "".join(f", training.{k}: {v}" for k, v in defaults.items())
            note = (
                f"`algo: {algo}` with `training.{key}: {value}` is an old spelling; "
                f"use `algo: {new_algo}`{extra}"
            )
            return {**raw, "algo": new_algo, "training": new_training}, [note]
    return raw, []
