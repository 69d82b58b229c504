"""The environment catalog: stable names -> PettingZoo ParallelEnv factories.

Registries are plain dicts filled at import time with lazy loaders: importing this module
imports no environment package. ``make_env`` checks keyword arguments against the factory's
own signature, so an unknown option is an error that lists the valid ones.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pettingzoo.utils.env import ParallelEnv

from env_wrappers.pettingzoo import STATE_SOURCES, PettingZooEnv

#: Keyword arguments the adapter itself takes, valid for every env.
WRAPPER_KWARGS = {"global_state": "auto", "agent_id": False}


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

    """

    name: str
    module: str
    attr: str
    description: str
    signature_attr: str | None = None
    reward: str = "individual"
    defaults: dict[str, Any] = field(default_factory=dict)

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
    )


ENVS: dict[str, EnvEntry] = {
    entry.name: entry
    for entry in [
        _mpe("simple_spread", 3, "MPE: N agents cover N landmarks", "mixed"),
    ]
}


def get_entry(name: str) -> EnvEntry:
    """Returns the catalog entry, or raises EnvError listing the valid names."""
    if name not in ENVS:
        raise EnvError(
            f"unknown env {name!r}{did_you_mean(name, list(ENVS))}; valid envs: {', '.join(ENVS)}"
        )
    return ENVS[name]


def check_env_kwargs(name: str, kwargs: dict[str, Any]) -> list[str]:
    """Returns one message per unknown option of env ``name`` (empty when all are valid)."""
    valid = sorted({**get_entry(name).options(), **WRAPPER_KWARGS})
    problems = []
    for key in kwargs:
        if key not in valid:
            problems.append(
                f"unknown option {key!r} for env {name!r}{did_you_mean(key, valid)}; "
                f"valid options: {', '.join(valid)}"
            )
    state = kwargs.get("global_state", "auto")
    if state not in STATE_SOURCES:
        problems.append(f"global_state must be one of {', '.join(STATE_SOURCES)}, got {state!r}")
    return problems


def _split_kwargs(name: str, kwargs: dict[str, Any]) -> tuple[dict, dict]:
    problems = check_env_kwargs(name, kwargs)
    if problems:
        raise EnvError("; ".join(problems))
    env_kwargs = {**get_entry(name).defaults}
    wrapper_kwargs = dict(WRAPPER_KWARGS)
    for key, value in kwargs.items():
        (wrapper_kwargs if key in WRAPPER_KWARGS else env_kwargs)[key] = value
    return env_kwargs, wrapper_kwargs


def make_env(name: str, **kwargs: Any) -> ParallelEnv:
    """Builds the PettingZoo ParallelEnv registered as ``name`` with its options."""
    env_kwargs, _ = _split_kwargs(name, kwargs)
    return get_entry(name).factory()(**env_kwargs)


def make_rllib_env(name: str, **kwargs: Any) -> PettingZooEnv:
    """Builds the RLlib MultiAgentEnv (CTDE observation dicts) for env ``name``."""
    env_kwargs, wrapper_kwargs = _split_kwargs(name, kwargs)
    return PettingZooEnv(get_entry(name).factory()(**env_kwargs), **wrapper_kwargs)


class CatalogEnv(PettingZooEnv):
    """RLlib's entry point: ``config.environment(env=CatalogEnv, env_config={...})``.

    Passing this class (not a registered string) means env runners and fresh processes
    that restore a checkpoint need no ``register_env`` call. ``env_config`` holds ``name``
    and the env's options.
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        options = dict(config or {})
        name = options.pop("name")
        env_kwargs, wrapper_kwargs = _split_kwargs(name, options)
        super().__init__(get_entry(name).factory()(**env_kwargs), **wrapper_kwargs)
