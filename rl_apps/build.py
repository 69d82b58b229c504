"""``plan(spec)``: a validated spec -> the RLlib AlgorithmConfig and the env's facts, once.

One build order for train, tune, validate, eval, export, inspect and bench:

1. the algorithm's config (``policies.registry``), every spec section applied through RLlib's
   typed builder methods, marl's fault-tolerance defaults first;
2. the env options: the algorithm's (``config.env_options``), then the spec's own;
3. the env built once, on the algorithm's view (``config.make_env``), to read its facts;
4. capability checks (action spaces, reward structure) and the module mapping;
5. the algorithm's modules (``config.configure_modules``), then RLlib's ``validate()``.

The application never asks which algorithm it runs: everything algorithm-specific is a hook
of the config class (``policies.common.contract``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from env_wrappers.registry import ENVS
from policies.common.contract import EnvFacts, env_facts
from policies.common.sharing import PolicyMapping
from policies.registry import ALGORITHMS, AlgoEntry
from rl_apps import determinism
from rl_apps.env_runner import MarlEnvRunner, StockSamplingEnvRunner
from rl_apps.errors import SpecError
from rl_apps.spec import ExperimentSpec
from rl_apps.spec.sections import OWN_KEYS, SECTIONS

#: marl's fault-tolerance defaults: restart crashed env runners (after 5 s, not RLlib's 60)
#: and rebuild a sub-environment whose step raised instead of losing the whole env runner.
FAULT_TOLERANCE_DEFAULTS: dict[str, Any] = {
    "restart_failed_env_runners": True,
    "restart_failed_sub_environments": True,
    "delay_between_env_runner_restarts_s": 5.0,
}
#: A config ``validate()`` message that starts with a dotted spec path names that path.
_LEADING_PATH = re.compile(r"^((?:training|rl_module|multi_agent|env_runners)\.[\w.]+)[: ]")


@dataclass(frozen=True)
class Plan:
    """What a run needs: the validated config and what the env looks like.

    Attributes:
        spec: The validated spec.
        entry: The algorithm's registry entry (capability data).
        config: The algorithm's AlgorithmConfig, validated (modules set).
        facts: The env's agents and spaces, as the algorithm's view shows them.
        env_options: The env's options (the algorithm's defaults, then the spec's).
        mapping: ``agent_id -> module_id`` (for RLlib and for acting).

    """

    spec: ExperimentSpec
    entry: AlgoEntry
    config: Any
    facts: EnvFacts
    env_options: dict[str, Any]
    mapping: PolicyMapping

    @property
    def agents(self) -> list[str]:
        """The RLlib agents (the env's agents, or its teams on the team view)."""
        return self.facts.agents

    def make_env(self, **extra: Any) -> Any:
        """A new env as the algorithm sees it (``extra``: e.g. ``render_mode``)."""
        return self.config.make_env(self.spec.env.name, **self.env_options, **extra)


def plan(spec: ExperimentSpec) -> Plan:
    """Builds and validates the spec's AlgorithmConfig; reads the env's facts once.

    Raises:
        SpecError: At the dotted path of the problem, when the env cannot be built with the
            spec's options, the algorithm cannot run on the env, or RLlib or the algorithm's
            ``validate()`` rejects the configuration.

    """
    entry = ALGORITHMS[spec.algo]
    if determinism.is_deterministic(spec) and determinism.problems(spec):
        raise SpecError(spec.source, determinism.problems(spec))
    config = _configured(entry, spec)
    config.apply_budget(spec.stop.model_dump(exclude_none=True))
    sharing = spec.multi_agent.get("sharing", "shared")
    options = {**config.env_options(sharing), **spec.env.kwargs}
    facts = _probe(config, spec, options)
    _check_capabilities(entry, spec, facts)
    config.environment(env=config.env_class, env_config={"name": spec.env.name, **options})
    mapping = config.module_mapping(spec.multi_agent)
    problems = mapping.problems(facts.agents)
    if problems:
        raise SpecError(spec.source, [("multi_agent.groups", p) for p in problems])
    config.configure_modules(facts, mapping, spec.rl_module.get("model_config", {}))
    _validate(config, spec)
    return Plan(spec, entry, config, facts, options, mapping)


def _configured(entry: AlgoEntry, spec: ExperimentSpec) -> Any:
    """The algorithm's config with every spec section applied."""
    config = entry.new_config()
    config.fault_tolerance(**FAULT_TOLERANCE_DEFAULTS)  # the spec's section overrides
    config.env_runners(env_runner_cls=env_runner_class(spec))
    for section in SECTIONS:
        own = OWN_KEYS.get(section, set())
        kwargs = {k: v for k, v in getattr(spec, section).items() if k not in own}
        if section == "rl_module":
            kwargs.pop("model_config", None)
        if kwargs:
            getattr(config, section)(**kwargs)
    config.debugging(seed=spec.seed)
    _bound_state_sync(config)
    if determinism.is_deterministic(spec):
        determinism.configure(config)  # sampling and learning in the driver
    return config


def _bound_state_sync(config: Any) -> None:
    """Waits for the env runners' connector states no longer than for their samples.

    RLlib merges the runners' connector states after every iteration and waits up to
    ``sync_filters_on_rollout_workers_timeout_s`` (10 s) on a runner that does not answer,
    such as one that failed and sits in its restart delay: with ``sample_timeout_s=2`` each
    iteration of such a run took 12 s, 10 of them on that wait.
    """
    if config.sample_timeout_s:
        config.sync_filters_on_rollout_workers_timeout_s = min(
            config.sync_filters_on_rollout_workers_timeout_s, config.sample_timeout_s
        )


def env_runner_class(spec: ExperimentSpec) -> type:
    """``MarlEnvRunner``, or ``StockSamplingEnvRunner`` for ``env_runners.lean: false``.

    Both recover sub-envs one by one and seed them distinctly; only the first samples lean.
    """
    return MarlEnvRunner if spec.env_runners.get("lean", True) else StockSamplingEnvRunner


def _probe(config: Any, spec: ExperimentSpec, options: dict[str, Any]) -> EnvFacts:
    """Builds the env once to read its agents and spaces."""
    try:
        env = config.make_env(spec.env.name, **options)
    except Exception as err:  # noqa: BLE001 - any failure here comes from the options
        problem = f"{_options_text(spec, options)}: {type(err).__name__}: {err}"
        raise SpecError(spec.source, [("env", problem)]) from err
    try:
        return env_facts(env)
    finally:
        env.close()


def _options_text(spec: ExperimentSpec, options: dict[str, Any]) -> str:
    """The spec's options, then the ones the algorithm set (named as the algorithm's)."""
    own = {k: v for k, v in options.items() if k in spec.env.kwargs}
    added = {k: v for k, v in options.items() if k not in spec.env.kwargs}
    text = f"{spec.env.name} cannot be built with "
    text += ", ".join(f"{k}={v!r}" for k, v in own.items()) or "its defaults"
    if added:
        text += f" (and {spec.algo}'s " + ", ".join(f"{k}={v!r}" for k, v in added.items()) + ")"
    return text


def _check_capabilities(entry: AlgoEntry, spec: ExperimentSpec, facts: EnvFacts) -> None:
    kinds = {
        "continuous" if isinstance(space, gym.spaces.Box) else "discrete"
        for space in _member_action_spaces(facts)
    }
    unsupported = sorted(kinds - set(entry.action_spaces))
    problems = []
    if unsupported:
        problems.append(
            f"{spec.algo} supports {'/'.join(entry.action_spaces)} actions; "
            f"{spec.env.name} has {unsupported[0]} actions"
        )
    reward = ENVS[spec.env.name].reward
    if spec.env.kwargs.get("team_reward", "auto") in ("sum", "mean"):
        reward = "shared"  # the team view's reward: every member gets the team's
    if reward not in entry.rewards:
        problems.append(
            f"{spec.algo} needs {' or '.join(entry.rewards)} rewards; "
            f"{spec.env.name}'s rewards are {reward} (env.team_reward: sum or mean makes a "
            "team's reward shared)"
        )
    if problems:
        raise SpecError(spec.source, [("algo", p) for p in problems])


def _member_action_spaces(facts: EnvFacts) -> list[gym.Space]:
    """Every agent's action space (a team's Tuple/MultiDiscrete counts as its members')."""
    spaces = []
    for space in facts.action_spaces.values():
        if isinstance(space, gym.spaces.Tuple):
            spaces += list(space.spaces)
        elif isinstance(space, gym.spaces.MultiDiscrete):
            spaces.append(gym.spaces.Discrete(int(space.nvec.flat[0])))
        else:
            spaces.append(space)
    return spaces


def _validate(config: Any, spec: ExperimentSpec) -> None:
    """RLlib's and the algorithm's checks, as a spec error at the path the message names."""
    try:
        config.validate()
    except (ValueError, TypeError) as err:
        message = str(err).split("\nTo suppress all validation errors")[0]
        match = _LEADING_PATH.match(message)
        if match:
            raise SpecError(spec.source, [(match.group(1), message)]) from None
        raise SpecError(
            spec.source, [("", f"RLlib rejects the configuration: {message}")]
        ) from None


def build_algo_config(spec: ExperimentSpec) -> Any:
    """The validated AlgorithmConfig of ``spec`` (``plan(spec).config``)."""
    return plan(spec).config
