"""Spec -> RLlib AlgorithmConfig: one builder call per section, then the algorithm's setup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from env_wrappers.make import CatalogEnv, CatalogTeamEnv, make_rllib_env, make_team_env
from policies.common.sharing import PolicyMapping, policy_mapping
from policies.registry import ALGORITHMS
from rl_apps.errors import SpecError
from rl_apps.spec import ExperimentSpec
from rl_apps.spec.sections import OWN_KEYS, SECTIONS


@dataclass(frozen=True)
class EnvInfo:
    """What the builder needs to know about an env (read from one throwaway instance)."""

    agents: list[str]
    observation_spaces: dict[str, gym.Space]
    action_spaces: dict[str, gym.Space]


def env_kwargs(spec: ExperimentSpec) -> dict[str, Any]:
    """The env's options: the algorithm's defaults (e.g. MAPPO's agent ids), then the spec's."""
    sharing = spec.multi_agent.get("sharing", "shared")
    defaults = ALGORITHMS[spec.algo].default_env_options(spec.training, sharing)
    return {**defaults, **spec.env.kwargs}


def env_config(spec: ExperimentSpec) -> dict[str, Any]:
    """The ``env_config`` RLlib passes to ``CatalogEnv``."""
    return {"name": spec.env.name, **env_kwargs(spec)}


def module_mapping(spec: ExperimentSpec) -> Any:
    """``agent_id -> module_id``: the spec's sharing mode, or one module per team."""
    if ALGORITHMS[spec.algo].team_view:
        return PolicyMapping("individual")  # the team view's agents are the teams
    return policy_mapping(spec.multi_agent)


def make_spec_env(spec: ExperimentSpec, **extra: Any) -> Any:
    """The env as the algorithm sees it: per agent, or the team view."""
    make = make_team_env if ALGORITHMS[spec.algo].team_view else make_rllib_env
    return make(spec.env.name, **env_kwargs(spec), **extra)


def probe_env(spec: ExperimentSpec) -> EnvInfo:
    """Builds the env once to read its agents and spaces.

    Raises:
        SpecError: When the env cannot be built with the spec's options (a bad value).

    """
    kwargs = env_kwargs(spec)
    try:
        env = make_spec_env(spec)
    except Exception as err:  # noqa: BLE001 - any failure here comes from the options
        options = ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) or "defaults"
        problem = f"{spec.env.name} cannot be built with {options}: {type(err).__name__}: {err}"
        raise SpecError(spec.source, [("env", problem)]) from err
    try:
        return EnvInfo(
            agents=list(env.possible_agents),
            observation_spaces=dict(env.observation_spaces),
            action_spaces=dict(env.action_spaces),
        )
    finally:
        env.close()


#: marl's fault-tolerance defaults: restart crashed env runners (after 5 s, not RLlib's 60)
#: and rebuild a sub-environment whose step raised instead of losing the whole env runner.
FAULT_TOLERANCE_DEFAULTS: dict[str, Any] = {
    "restart_failed_env_runners": True,
    "restart_failed_sub_environments": True,
    "delay_between_env_runner_restarts_s": 5.0,
}


def _section_kwargs(spec: ExperimentSpec, section: str) -> dict[str, Any]:
    own = OWN_KEYS.get(section, set())
    return {k: v for k, v in getattr(spec, section).items() if k not in own}


def build_algo_config(spec: ExperimentSpec, info: EnvInfo | None = None) -> Any:
    """Turns a validated spec into the algorithm's AlgorithmConfig.

    Raises:
        SpecError: When RLlib rejects a combination the per-key checks cannot see.

    """
    entry = ALGORITHMS[spec.algo]
    info = info or probe_env(spec)
    config = entry.new_config()
    env_class = CatalogTeamEnv if entry.team_view else CatalogEnv
    config.environment(env=env_class, env_config=env_config(spec))
    _check_action_spaces(spec, info)
    config.fault_tolerance(**FAULT_TOLERANCE_DEFAULTS)  # the spec's section overrides
    for section in SECTIONS:
        kwargs = _section_kwargs(spec, section)
        if section == "rl_module":
            kwargs.pop("model_config", None)
        if kwargs:
            getattr(config, section)(**kwargs)
    config.debugging(seed=spec.seed)
    mapping = module_mapping(spec)
    problems = mapping.problems(info.agents)
    if problems:
        raise SpecError(spec.source, [("multi_agent.groups", p) for p in problems])
    entry.configure_fn()(
        config,
        observation_spaces=info.observation_spaces,
        action_spaces=info.action_spaces,
        mapping=mapping,
        model_config=spec.rl_module.get("model_config", {}),
    )
    try:
        config.validate()
    except (ValueError, TypeError) as err:
        message = str(err).split("\nTo suppress all validation errors")[0]
        raise SpecError(
            spec.source, [("", f"RLlib rejects the configuration: {message}")]
        ) from None
    return config


def _check_action_spaces(spec: ExperimentSpec, info: EnvInfo) -> None:
    entry = ALGORITHMS[spec.algo]
    kinds = {
        "continuous" if isinstance(space, gym.spaces.Box) else "discrete"
        for space in info.action_spaces.values()
    }
    unsupported = sorted(kinds - set(entry.action_spaces))
    if unsupported:
        raise SpecError(
            spec.source,
            [
                (
                    "algo",
                    f"{spec.algo} supports {'/'.join(entry.action_spaces)} actions; "
                    f"{spec.env.name} has {unsupported[0]} actions",
                )
            ],
        )
