"""Spec -> RLlib AlgorithmConfig: one builder call per section, then the algorithm's setup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from env_wrappers.make import CatalogEnv, make_rllib_env
from policies.common.sharing import policy_mapping
from policies.registry import ALGORITHMS
from rl_apps.errors import SpecError
from rl_apps.spec import ExperimentSpec
from rl_apps.spec_sections import OWN_KEYS, SECTIONS


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


def probe_env(spec: ExperimentSpec) -> EnvInfo:
    """Builds the env once to read its agents and spaces.

    Raises:
        SpecError: When the env cannot be built with the spec's options (a bad value).

    """
    kwargs = env_kwargs(spec)
    try:
        env = make_rllib_env(spec.env.name, **kwargs)
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
    config.environment(env=CatalogEnv, env_config=env_config(spec))
    for section in SECTIONS:
        kwargs = _section_kwargs(spec, section)
        if section == "rl_module":
            kwargs.pop("model_config", None)
        if kwargs:
            getattr(config, section)(**kwargs)
    config.debugging(seed=spec.seed)
    mapping = policy_mapping(spec.multi_agent)
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
