"""Building catalog envs: the PettingZoo env, the RLlib per-agent env and the team view.

Our own options, valid for every env:

- ``global_state``: ``auto`` (the env's ``state()``), ``concat`` (all observations), or
  ``none`` (no state in the observations: for image envs, where copying a screen-sized state
  into every agent's observation would dwarf everything else; CTDE algorithms refuse it);
- ``agent_id``: append a one-hot agent index to each local observation;
- ``pad``: pad heterogeneous observation and action spaces (padded actions are masked);
  ``auto`` pads only when the agents' spaces differ;
- ``wrappers``: supersuit wrappers applied in order (see ``env_wrappers.preprocess``);
- ``step_error_rate``: fault injection, a fraction of ``step`` calls raise (``env_wrappers.chaos``;
  never the first step after a reset);
- team view only: ``teams`` (``{team: [agents]}``, default by name prefix) and
  ``team_reward`` (``auto``: mean for envs with one shared reward, else sum).
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils.env import ParallelEnv

from env_wrappers.chaos import FlakyParallelEnv
from env_wrappers.pettingzoo import PettingZooEnv
from env_wrappers.preprocess import apply_wrappers, pad_agents
from env_wrappers.registry import (
    TEAM_KWARGS,
    WRAPPER_KWARGS,
    EnvError,
    check_env_kwargs,
    get_entry,
)
from env_wrappers.team import TeamEnv


def _split(name: str, kwargs: dict[str, Any], team: bool = False) -> tuple[dict, dict, dict]:
    """(env options, our per-agent options, team options), after validation."""
    problems = check_env_kwargs(name, kwargs, team=team)
    if problems:
        raise EnvError("; ".join(problems))
    env_kwargs = dict(get_entry(name).defaults)
    ours, team_kwargs = dict(WRAPPER_KWARGS), dict(TEAM_KWARGS)
    for key, value in kwargs.items():
        target = (
            ours if key in WRAPPER_KWARGS else team_kwargs if key in TEAM_KWARGS else env_kwargs
        )
        target[key] = value
    return env_kwargs, ours, team_kwargs


def _parallel(name: str, env_kwargs: dict, ours: dict) -> tuple[ParallelEnv, Any]:
    env = apply_wrappers(get_entry(name).factory()(**env_kwargs), ours["wrappers"])
    if ours["step_error_rate"]:
        env = FlakyParallelEnv(env, ours["step_error_rate"])
    if ours["pad"] is True or (ours["pad"] == "auto" and _heterogeneous(env)):
        return pad_agents(env)
    return env, None


def _heterogeneous(env: ParallelEnv) -> bool:
    """Whether the agents' observation or action spaces differ (``pad: auto`` pads then)."""
    agents = env.possible_agents
    spaces = [(env.observation_space(a), env.action_space(a)) for a in agents]
    return any(pair != spaces[0] for pair in spaces[1:])


def make_env(name: str, **kwargs: Any) -> ParallelEnv:
    """The PettingZoo ParallelEnv ``name`` with its options (wrappers and padding applied)."""
    env_kwargs, ours, _ = _split(name, kwargs)
    return _parallel(name, env_kwargs, ours)[0]


def _adapter_args(name: str, env_kwargs: dict, ours: dict) -> tuple[ParallelEnv, dict]:
    """The ParallelEnv and the keyword arguments of its PettingZooEnv adapter."""
    env, mask_fn = _parallel(name, env_kwargs, ours)
    return env, {
        "global_state": ours["global_state"],
        "mask_fn": mask_fn,
        "agent_id": ours["agent_id"],
    }


def _adapter(name: str, env_kwargs: dict, ours: dict) -> PettingZooEnv:
    env, kwargs = _adapter_args(name, env_kwargs, ours)
    return PettingZooEnv(env, **kwargs)


def make_rllib_env(name: str, **kwargs: Any) -> PettingZooEnv:
    """The RLlib MultiAgentEnv for env ``name``: one agent per PettingZoo agent."""
    env_kwargs, ours, _ = _split(name, kwargs)
    return _adapter(name, env_kwargs, ours)


def _team_reward(name: str, choice: str) -> str:
    if choice != "auto":
        return choice
    return "mean" if get_entry(name).reward == "shared" else "sum"


def make_team_env(name: str, **kwargs: Any) -> TeamEnv:
    """The team view of env ``name``: one RLlib agent per team (for joint algorithms)."""
    env_kwargs, ours, team = _split(name, kwargs, team=True)
    base = _adapter(name, env_kwargs, ours)
    return TeamEnv(base, team["teams"], _team_reward(name, team["team_reward"]), **_ensemble(team))


def _ensemble(team: dict[str, Any]) -> dict[str, Any]:
    return {"sub_policies": team["sub_policies"], "sub_policy": team["sub_policy"]}


class CatalogEnv(PettingZooEnv):
    """RLlib's entry point: ``config.environment(env=CatalogEnv, env_config={...})``.

    Passing this class (not a registered string) means env runners and fresh processes
    that restore a checkpoint need no ``register_env`` call. ``env_config`` holds ``name``
    and the env's options.
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        options = dict(config or {})
        name = options.pop("name")
        env_kwargs, ours, _ = _split(name, options)
        env, kwargs = _adapter_args(name, env_kwargs, ours)
        super().__init__(env, **kwargs)


class CatalogTeamEnv(TeamEnv):
    """RLlib's entry point for the team view (joint algorithms), like ``CatalogEnv``."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        options = dict(config or {})
        name = options.pop("name")
        env_kwargs, ours, team = _split(name, options, team=True)
        base = _adapter(name, env_kwargs, ours)
        reward = _team_reward(name, team["team_reward"])
        super().__init__(base, team["teams"], reward, **_ensemble(team))
