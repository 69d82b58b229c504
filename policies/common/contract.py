"""The algorithm contract: what every algorithm's config class gives the application.

An algorithm is one package under ``policies/``. Its config class (an RLlib
``AlgorithmConfig`` subclass) mixes in ``AlgorithmContract`` and overrides the hooks below;
the application (``rl_apps``) calls only these hooks and never asks which algorithm runs.
RLlib's own hooks (``get_default_learner_class``, ``get_default_rl_module_spec``,
``validate``) stay where RLlib puts them.

Hooks, in the order ``rl_apps.build.plan`` calls them:

1. ``model_config_defaults()`` (class method): the ``rl_module.model_config`` keys the
   algorithm reads, with defaults (spec validation rejects other keys).
2. ``env_options(sharing)``: env options the algorithm sets unless the spec sets them (agent
   ids for shared actors, the state source, ...). The spec's training section is applied,
   then ``apply_budget(stop)`` shows the algorithm the run's stop criteria (for schedules
   over the training budget, as PAC's entropy annealing).
3. ``env_view``: ``agents`` (one RLlib agent per agent) or ``teams`` (one per team,
   ``env_wrappers.team``): picks ``env_class`` and ``make_env``.
4. ``module_mapping(multi_agent)``: ``agent_id -> module_id`` for RLlib and for acting.
5. ``configure_modules(facts, mapping, model_config)``: sets ``multi_agent`` and
   ``rl_module`` from the env's spaces.
6. ``validate()``: RLlib's hook; a ``ValueError`` whose message starts with a dotted spec
   path (``training.mixer must ...``) becomes a spec error at that path.

``sub_policy_count()``: how many sub-policies each agent has (policy ensembles; 1 by
default). An algorithm with an ensemble sets the team env's ``sub_policies`` option in
``env_options`` (``policies.common.ensemble``); the env then draws each agent's sub-policy
per episode and puts it into the observation, and ``marl eval --sub-policy k`` fixes it
with the env option ``sub_policy: k``: the application never asks how the ensemble works.

After training: ``export_actors`` writes per-agent actors in the one schema of
``policies.common.export``; ``inspectors()`` names the training-time views the algorithm
offers (``marl inspect NAME CHECKPOINT``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym

from env_wrappers.make import CatalogEnv, CatalogTeamEnv, make_rllib_env, make_team_env
from policies.common.sharing import PolicyMapping, policy_mapping

#: ``env_view`` values.
ENV_VIEWS = ("agents", "teams")


class UnsupportedError(ValueError):
    """A request the algorithm cannot serve (an inspector it lacks, an export it cannot do).

    Attributes:
        path: The dotted spec path or option that is the cause (``""`` when none).

    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class EnvFacts:
    """What an algorithm needs to know about an env, as its view shows it.

    Attributes:
        agents: The RLlib agents (the env's agents, or the teams on the team view).
        observation_spaces: Per RLlib agent (wrapped, Dict spaces).
        action_spaces: Per RLlib agent.
        teams: ``team -> members`` on the team view (empty on the agents view).
        agent_ids: The env's agents, in ``possible_agents`` order (one-hot id order).
        env_appends_id: Whether the env appends the one-hot id to each local ``obs``.

    """

    agents: list[str]
    observation_spaces: dict[str, gym.Space]
    action_spaces: dict[str, gym.Space]
    teams: dict[str, list[str]] = field(default_factory=dict)
    agent_ids: list[str] = field(default_factory=list)
    env_appends_id: bool = False


def check_team_export(facts: EnvFacts) -> None:
    """Team modules export member actors that add their ids themselves: refuse env-added ids."""
    if facts.env_appends_id:
        raise UnsupportedError(
            "env.agent_id", "team modules add member ids themselves; export needs agent_id off"
        )


def env_facts(env: Any) -> EnvFacts:
    """Reads the facts of a built env (either view)."""
    teams = {t: list(m) for t, m in getattr(env, "teams", {}).items()}
    per_agent = getattr(env, "env", env) if teams else env  # the team view wraps the adapter
    return EnvFacts(
        agents=list(env.possible_agents),
        observation_spaces=dict(env.observation_spaces),
        action_spaces=dict(env.action_spaces),
        teams=teams,
        agent_ids=list(per_agent.possible_agents),
        env_appends_id=bool(getattr(per_agent, "appends_agent_id", False)),
    )


@dataclass(frozen=True)
class Inspector:
    """A training-time view of a checkpoint (``marl inspect NAME CHECKPOINT [OUT]``).

    Attributes:
        name: Used on the command line (``q-table``).
        help: One line for ``--help``.
        run: ``run(modules, env, context, out) -> JSON-ready dict``; ``context`` is an
            ``InspectContext``; ``out`` is the output path (None when ``needs_out`` is False).
        needs_out: Whether the inspector writes a file (``OUT.png``).
        text: Optional ``text(report) -> str`` for the console.

    """

    name: str
    help: str
    run: Callable[..., dict[str, Any]]
    needs_out: bool = False
    text: Callable[[dict[str, Any]], str] | None = None


@dataclass(frozen=True)
class InspectContext:
    """What an inspector may read besides the modules and the env."""

    config: Any
    mapping: PolicyMapping
    model_config: dict[str, Any]
    seed: int


class AlgorithmContract:
    """Mixin for an algorithm's config class: the hooks the application calls."""

    #: ``agents`` or ``teams`` (see module docstring).
    env_view: ClassVar[str] = "agents"
    #: ``rl_module.model_config`` keys and defaults.
    MODEL_CONFIG_KEYS: ClassVar[dict[str, Any]] = {}
    #: Spec sections of a run of a few seconds on any compatible env, with ``num_env_runners:
    #: 0`` (the registry-driven test trains every algorithm on every env with these).
    SMOKE_TEST: ClassVar[dict[str, Any]] = {}

    @classmethod
    def model_config_defaults(cls) -> dict[str, Any]:
        """The ``rl_module.model_config`` keys this algorithm reads, with defaults."""
        return dict(cls.MODEL_CONFIG_KEYS)

    def apply_budget(self, stop: dict[str, Any]) -> None:
        """The spec's ``stop`` criteria, before ``validate()`` (default: not needed)."""
        return None

    def env_options(self, sharing: str) -> dict[str, Any]:
        """Env options this algorithm sets (the spec's own env options take precedence)."""
        return {}

    def sub_policy_count(self) -> int:
        """Sub-policies per agent (policy ensembles); 1 when the algorithm has none."""
        return 1

    @property
    def env_class(self) -> type:
        """RLlib's env entry point for this algorithm's view."""
        return CatalogTeamEnv if self.env_view == "teams" else CatalogEnv

    def make_env(self, name: str, **kwargs: Any) -> Any:
        """The env as this algorithm sees it (for probing, evaluation and inspection)."""
        make = make_team_env if self.env_view == "teams" else make_rllib_env
        return make(name, **kwargs)

    def module_mapping(self, multi_agent: dict[str, Any]) -> PolicyMapping:
        """``agent_id -> module_id``: the spec's sharing mode; one module per team on teams."""
        if self.env_view == "teams":
            return PolicyMapping("individual")  # the team view's agents are the teams
        return policy_mapping(multi_agent)

    def configure_modules(
        self, facts: EnvFacts, mapping: PolicyMapping, model_config: dict[str, Any]
    ) -> None:
        """Sets this config's policies and RLModule specs from the env's spaces."""
        raise NotImplementedError(f"{type(self).__name__} must implement configure_modules")

    def export_actors(
        self, modules: Any, facts: EnvFacts, mapping: PolicyMapping, out_dir: Path
    ) -> list[Path]:
        """Writes per-agent actors (``policies.common.export``); returns the ``.pt`` paths."""
        raise UnsupportedError("", f"{type(self).__name__} cannot export actors")

    @classmethod
    def inspectors(cls) -> dict[str, Inspector]:
        """The training-time views of a checkpoint this algorithm offers."""
        return {}
