"""Validation of the spec sections that map onto RLlib's AlgorithmConfig builder methods.

Each section is passed as keyword arguments to the builder method of the same name, so the
set of valid keys is read from that method's signature (and its parents'), for whichever
AlgorithmConfig the algorithm uses: a key RLlib does not know is an error here, with a
suggestion, before Ray starts. Keys with known ranges are checked by the pydantic rules below;
other keys are checked against the type of RLlib's default value. Keys that would need Python
code (mapping functions, module classes) or that the spec sets elsewhere are rejected.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ray._common.deprecation import DEPRECATED_VALUE

from env_wrappers.registry import did_you_mean

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]


class _Rules(BaseModel):
    model_config = ConfigDict(extra="allow", strict=False)


class EnvironmentRules(_Rules):
    """`environment:` keys with known types."""

    clip_rewards: bool | float | None = None
    normalize_actions: bool | None = None
    clip_actions: bool | None = None
    disable_env_checking: bool | None = None


class EnvRunnersRules(_Rules):
    """`env_runners:` counts and sizes."""

    num_env_runners: NonNegInt | None = None
    num_envs_per_env_runner: PosInt | None = None
    num_cpus_per_env_runner: NonNegFloat | None = None
    num_gpus_per_env_runner: NonNegFloat | None = None
    rollout_fragment_length: PosInt | Literal["auto"] | None = None
    batch_mode: Literal["truncate_episodes", "complete_episodes"] | None = None
    sample_timeout_s: PosFloat | None = None
    explore: bool | None = None
    lean: bool | None = None  # ours: lean per-step bookkeeping (rl_apps.env_runner), default on


class LearnersRules(_Rules):
    """`learners:` counts and resources."""

    num_learners: NonNegInt | None = None
    num_cpus_per_learner: PosFloat | Literal["auto"] | None = None
    num_gpus_per_learner: NonNegFloat | None = None


class TrainingRules(_Rules):
    """`training:` hyperparameters with their valid ranges."""

    lr: PosFloat | None = None
    gamma: Unit | None = None
    lambda_: Unit | None = None
    train_batch_size_per_learner: PosInt | None = None
    train_batch_size: PosInt | None = None
    minibatch_size: PosInt | None = None
    num_epochs: PosInt | None = None
    clip_param: PosFloat | None = None
    vf_clip_param: PosFloat | None = None
    entropy_coeff: NonNegFloat | None = None
    vf_loss_coeff: NonNegFloat | None = None
    kl_coeff: NonNegFloat | None = None
    kl_target: PosFloat | None = None
    grad_clip: PosFloat | None = None
    # Algorithm-specific keys are checked by the algorithm config's validate().


class MultiAgentRules(_Rules):
    """`multi_agent:`; `sharing` and `groups` are ours (which module each agent uses)."""

    sharing: str = "shared"
    groups: dict[str, list[str]] | None = None
    count_steps_by: Literal["env_steps", "agent_steps"] | None = None


class RLModuleRules(_Rules):
    """`rl_module:`; `model_config` keys are checked against the algorithm's module."""

    # pydantic reserves the name `model_config`, hence the alias.
    module_config: dict[str, Any] = Field(default_factory=dict, alias="model_config")


class EvaluationRules(_Rules):
    """`evaluation:` schedule and size."""

    evaluation_interval: NonNegInt | None = None
    evaluation_duration: PosInt | Literal["auto"] | None = None
    evaluation_duration_unit: Literal["episodes", "timesteps"] | None = None
    evaluation_num_env_runners: NonNegInt | None = None
    evaluation_parallel_to_training: bool | None = None


class FaultToleranceRules(_Rules):
    """`fault_tolerance:` restart behaviour."""

    restart_failed_env_runners: bool | None = None
    ignore_env_runner_failures: bool | None = None
    max_num_env_runner_restarts: NonNegInt | None = None
    delay_between_env_runner_restarts_s: NonNegFloat | None = None
    restart_failed_sub_environments: bool | None = None


class DebuggingRules(_Rules):
    """`debugging:` (the seed is top-level)."""

    log_level: Literal["DEBUG", "INFO", "WARN", "ERROR"] | None = None
    deterministic: bool | None = None  # ours: same seed, same run (rl_apps.determinism)


class ReportingRules(_Rules):
    """`reporting:` how much work one training iteration does.

    Replay-based algorithms (QMIX) sample in small rounds until an iteration has
    ``min_sample_timesteps_per_iteration`` env steps.
    """

    min_sample_timesteps_per_iteration: NonNegInt | None = None
    min_train_timesteps_per_iteration: NonNegInt | None = None
    min_time_s_per_iteration: NonNegFloat | None = None
    metrics_num_episodes_for_smoothing: PosInt | None = None
    tensorboard: bool | None = None  # ours: TensorBoard event files (default on)


RULES: dict[str, type[_Rules]] = {
    "environment": EnvironmentRules,
    "env_runners": EnvRunnersRules,
    "learners": LearnersRules,
    "training": TrainingRules,
    "multi_agent": MultiAgentRules,
    "rl_module": RLModuleRules,
    "evaluation": EvaluationRules,
    "fault_tolerance": FaultToleranceRules,
    "debugging": DebuggingRules,
    "reporting": ReportingRules,
}
SECTIONS = tuple(RULES)

#: Keys of ours (not RLlib kwargs), removed before the builder call.
OWN_KEYS = {
    "env_runners": {"lean"},
    "multi_agent": {"sharing", "groups"},
    "reporting": {"tensorboard"},
    "debugging": {"deterministic"},
}

_PYTHON = "needs Python code, which specs never hold; the algorithm sets it"
BLOCKED: dict[str, dict[str, str]] = {
    "environment": {
        "env": "is set by the top-level `env.name`",
        "env_config": "is set by the top-level `env` options",
        "env_task_fn": _PYTHON,
    },
    "env_runners": {
        k: _PYTHON for k in ("env_runner_cls", "env_to_module_connector", "module_to_env_connector")
    },
    "learners": {k: _PYTHON for k in ("learner_class", "learner_connector")},
    "multi_agent": {
        "policies": "is derived from `multi_agent.sharing`",
        "policy_mapping_fn": "is derived from `multi_agent.sharing`",
        "observation_fn": _PYTHON,
        "algorithm_config_overrides_per_module": _PYTHON,
    },
    "rl_module": {
        "rl_module_spec": "is set by the algorithm; use `rl_module.model_config`",
        "algorithm_config_overrides_per_module": _PYTHON,
        "model_config_dict": "is deprecated; use `rl_module.model_config`",
    },
    "evaluation": {"custom_evaluation_function": _PYTHON},
    "debugging": {"seed": "is set by the top-level `seed`"},
}


def builder_params(config: Any, method: str) -> dict[str, Any]:
    """Keyword parameters of ``config.<method>`` and of the same method in its parents."""
    params: dict[str, Any] = {}
    for cls in reversed(type(config).__mro__):
        fn = cls.__dict__.get(method)
        if fn is None:
            continue
        for name, p in inspect.signature(fn).parameters.items():
            if name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
                params[name] = p.default
    return params


def _is_deprecated(default: Any) -> bool:
    return type(default) is int and default == DEPRECATED_VALUE


def _rule_keys(section: str) -> set[str]:
    fields = RULES[section].model_fields
    return {f.alias or name for name, f in fields.items()}


def _type_problem(value: Any, default: Any) -> str | None:
    """A message when ``value`` cannot stand where RLlib's default is ``default``."""
    if default is None or value is None:
        return None
    if isinstance(default, bool):
        return (
            None if isinstance(value, bool) else f"must be true or false (got {short_repr(value)})"
        )
    if isinstance(default, (int, float)):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"must be a number (got {short_repr(value)})"
    for kind, name in ((str, "a string"), (list, "a list"), (dict, "a mapping")):
        if isinstance(default, kind) and not isinstance(value, kind):
            return f"must be {name} (got {short_repr(value)})"
    return None


def _coerce_number(value: Any, default: Any) -> Any:
    """YAML 1.1 reads ``1e-4`` as a string; turn such strings into numbers."""
    numeric = isinstance(default, (int, float)) and not isinstance(default, bool)
    if isinstance(value, str) and numeric:
        try:
            return float(value)
        except ValueError:
            return value
    return value


def validate_section(
    section: str, values: dict[str, Any], config: Any
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Validates one section; returns (cleaned values, [(dotted path, problem)])."""
    problems: list[tuple[str, str]] = []
    params = builder_params(config, section)
    own = OWN_KEYS.get(section, set())
    blocked = BLOCKED.get(section, {})
    valid = {k for k, d in params.items() if not _is_deprecated(d)}
    valid = (valid | own) - set(blocked)  # rules only constrain keys the algorithm has
    for key in values:
        path = f"{section}.{key}"
        if key in blocked:
            problems.append((path, f"not allowed in a spec: it {blocked[key]}"))
        elif key in params and _is_deprecated(params[key]):
            problems.append((path, "is deprecated in RLlib; see RLlib's docs for its new name"))
        elif key not in valid:
            problems.append((path, f"unknown key{did_you_mean(key, sorted(valid))}"))
    if problems:
        return {}, problems
    try:
        rules = RULES[section].model_validate(values)
        checked = rules.model_dump(exclude_unset=True, by_alias=True)
    except ValidationError as err:
        return {}, [(_join(section, e["loc"]), _pydantic_msg(e)) for e in err.errors()]
    for key, value in list(checked.items()):
        if key in _rule_keys(section) or key in own:
            continue
        default = getattr(config, key, None)
        checked[key] = value = _coerce_number(value, default)
        problem = _type_problem(value, default)
        if problem:
            problems.append((f"{section}.{key}", problem))
    return checked, problems


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters (a message never quotes a huge input)."""
    if isinstance(value, list | dict | tuple) and len(value) > 20:
        return f"a {type(value).__name__} of {len(value)} items"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _join(section: str, loc: tuple) -> str:
    parts = [str(p) for p in loc if not str(p).startswith(("function-", "literal["))]
    return ".".join([section, *parts[:1]])


def _pydantic_msg(error: dict) -> str:
    return f"{error['msg']} (got {short_repr(error.get('input'))})"
