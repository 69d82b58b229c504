"""The environment catalog: stable names -> PettingZoo ParallelEnv factories.

Registries are plain dicts filled at import time with lazy loaders: importing this module
imports no environment package. Options are checked against the factory's own signature, so
an unknown option is an error that lists the valid ones. Building envs: ``env_wrappers.make``.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pettingzoo.utils.env import ParallelEnv

from env_wrappers.pettingzoo import STATE_SOURCES
from env_wrappers.preprocess import check_wrappers

#: Options of our own, valid for every env (see env_wrappers.make).
WRAPPER_KWARGS: dict[str, Any] = {
    "global_state": "auto",
    "agent_id": False,
    "pad": False,
    "wrappers": [],
    "step_error_rate": 0.0,
}
#: Options of the team view only (joint algorithms).
TEAM_KWARGS: dict[str, Any] = {
    "teams": None,
    "team_reward": "auto",
    "sub_policies": 1,  # policy ensembles: each member's sub-policy index drawn per episode
    "sub_policy": None,  # a fixed sub-policy index for every member instead of the draw
}


def did_you_mean(word: str, choices: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class EnvError(ValueError):
    """An unknown environment name or option; the message lists what is valid."""


@dataclass(frozen=True)
class EnvEntry:
    """One catalog entry.

    Attributes:
        name: Stable name used in specs and on the command line.
        module: Python module holding the PettingZoo factory.
        attr: Name of the ``parallel_env``-style factory in that module.
        description: One line for ``marl envs``.
        signature_attr: Attribute whose ``__init__`` declares the options (when the factory
            only takes ``**kwargs``, as PettingZoo's ``parallel_env`` does).
        defaults: Options we set differently from the package's defaults.
        reward: How rewards are shared: ``shared``, ``individual`` or ``mixed``.
        fresh_observations: Every ``reset``/``step`` returns new observation arrays and never
            changes arrays it returned before (checked by ``tests/contract``), so RLlib's
            vector env need not deep-copy them (``MarlEnvRunner``'s lean mode).

    """

    name: str
    module: str
    attr: str
    description: str
    signature_attr: str | None = None
    reward: str = "individual"
    defaults: dict[str, Any] = field(default_factory=dict)
    fresh_observations: bool = False

    def factory(self) -> Callable[..., ParallelEnv]:
        """Imports and returns the ParallelEnv factory."""
        return getattr(importlib.import_module(self.module), self.attr)

    def options(self) -> dict[str, Any]:
        """The env's own options with their defaults (ours where we override them)."""
        module = importlib.import_module(self.module)
        target = getattr(module, self.signature_attr or self.attr)
        params = inspect.signature(target.__init__ if inspect.isclass(target) else target)
        options = {
            name: p.default
            for name, p in params.parameters.items()
            if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        }
        options.update(self.defaults)
        return options


def _mpe(name: str, version: int, description: str, reward: str) -> EnvEntry:
    return EnvEntry(
        name=name,
        module=f"mpe2.{name}_v{version}",
        attr="parallel_env",
        signature_attr="raw_env",
        description=description,
        reward=reward,
        fresh_observations=True,  # scenario.observation() concatenates new arrays
    )


def _ours(name: str, module: str, description: str, reward: str, fresh: bool = False) -> EnvEntry:
    """An env whose factory ``name`` (explicit keyword options) is in ``env_wrappers.envs``."""
    return EnvEntry(
        name=name,
        module=f"env_wrappers.envs.{module}",
        attr=name,
        description=description,
        reward=reward,
        fresh_observations=fresh,
    )


ENVS: dict[str, EnvEntry] = {
    entry.name: entry
    for entry in [
        _mpe("simple_spread", 3, "MPE: N agents cover N landmarks", "mixed"),
        _mpe("simple_speaker_listener", 4, "MPE: a speaker guides a listener", "shared"),
        _mpe("simple_reference", 3, "MPE: agents guide each other to landmarks", "mixed"),
        _mpe("simple_adversary", 3, "MPE: agents mislead an adversary (competitive)", "individual"),
        _mpe("simple_tag", 3, "MPE: predators chase prey (competitive)", "individual"),
        _mpe("simple_push", 3, "MPE: keep-away, an adversary pushes an agent off", "individual"),
        _mpe("simple_crypto", 3, "MPE: covert communication, Alice and Bob vs Eve", "individual"),
        _ours("linear_game", "matrix", "matrix game [[1,5],[5,9]], one step", "shared"),
        _ours("monotonic_game", "matrix", "matrix game [[0,0],[0,10]], one step", "shared"),
        _ours("climbing_game", "matrix", "climbing matrix game (optimum 11), one step", "shared"),
        _ours("penalty_game", "matrix", "penalty matrix game (optimum 10, penalty k)", "shared"),
        _ours(
            "climbing_game_3p",
            "matrix",
            "3-agent climbing game (optimum 11 at (0,0,0); 7, 6, 5), one step",
            "shared",
        ),
        _ours(
            "stag_hunt",
            "matrix",
            "stag hunt, general-sum: Pareto optimum (0,0) = 4,4; dominated (1,1) = 2,2",
            "individual",
        ),
        _ours("two_step_game", "two_step", "QMIX paper's two-step game (optimum 8)", "shared"),
        _ours("lbf", "lbf", "Level-Based Foraging (lbforaging), action masks", "individual", True),
        _ours("rware", "rware", "Multi-Robot Warehouse (rware)", "individual"),
        _ours("multiwalker", "sisl", "SISL: walkers carry a package (continuous)", "shared"),
        _ours("pursuit", "sisl", "SISL: pursuers surround evaders on a grid", "shared"),
        EnvEntry(
            name="pistonball",
            module="pettingzoo.butterfly.pistonball_v6",
            attr="parallel_env",
            signature_attr="raw_env",
            description="Butterfly: pistons move a ball left (image observations)",
            reward="shared",
        ),
    ]
}


def get_entry(name: str) -> EnvEntry:
    """Returns the catalog entry, or raises EnvError listing the valid names."""
    if name not in ENVS:
        raise EnvError(
            f"unknown env {name!r}{did_you_mean(name, list(ENVS))}; valid envs: {', '.join(ENVS)}"
        )
    return ENVS[name]


def returns_fresh_observations(env_config: dict[str, Any]) -> bool:
    """Whether the env of an RLlib ``env_config`` returns new observation arrays every step.

    True for a catalog env marked ``fresh_observations`` (``env_config`` is
    ``{"name": ..., **options}``) without supersuit ``wrappers`` or ``pad``, whose buffers
    are not checked.
    """
    entry = ENVS.get(env_config.get("name", ""))
    plain = not env_config.get("wrappers") and not env_config.get("pad", False)
    return bool(entry and entry.fresh_observations and plain)


def check_env_kwargs(name: str, kwargs: dict[str, Any], team: bool = False) -> list[str]:
    """One message per invalid option of env ``name`` (empty when all are valid).

    Args:
        name: A catalog name.
        kwargs: The env's own options plus ours (``WRAPPER_KWARGS``, and ``TEAM_KWARGS``
            when ``team``).
        team: Whether the options are for the team view.

    """
    ours = {**WRAPPER_KWARGS, **(TEAM_KWARGS if team else {})}
    valid = sorted({**get_entry(name).options(), **ours})
    problems = []
    for key in kwargs:
        if key in TEAM_KWARGS and not team:
            problems.append(f"option {key!r} is only for joint algorithms (the team view)")
        elif key not in valid:
            problems.append(
                f"unknown option {key!r} for env {name!r}{did_you_mean(key, valid)}; "
                f"valid options: {', '.join(valid)}"
            )
    return problems + _check_own_values(kwargs)


def _check_own_values(kwargs: dict[str, Any]) -> list[str]:
    problems = []
    state = kwargs.get("global_state", "auto")
    if state not in STATE_SOURCES:
        problems.append(f"global_state must be one of {', '.join(STATE_SOURCES)}, got {state!r}")
    if not isinstance(kwargs.get("agent_id", False), bool):
        problems.append(f"agent_id must be true or false, got {kwargs['agent_id']!r}")
    if not isinstance(kwargs.get("pad", False), bool) and kwargs.get("pad") != "auto":
        problems.append(f"pad must be true, false or auto, got {kwargs['pad']!r}")
    if kwargs.get("team_reward", "auto") not in ("auto", "sum", "mean"):
        problems.append(f"team_reward must be auto, sum or mean, got {kwargs['team_reward']!r}")
    problems += check_wrappers(kwargs.get("wrappers", []))
    rate = kwargs.get("step_error_rate", 0.0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        problems.append(f"step_error_rate must be a number in [0, 1), got {rate!r}")
    return problems
