"""Experiment specs: YAML loading (``yaml.safe_load`` only), ``--set`` overrides, validation.

A spec is validated completely before Ray starts. Every problem is reported at once, each
naming the file, the dotted path and what is wrong; ``SpecError`` makes the CLI exit with 2.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from env_wrappers.registry import ENVS, EnvError, check_env_kwargs, did_you_mean
from policies.registry import ALGORITHMS, apply_legacy_spellings
from rl_apps.errors import SpecError
from rl_apps.resources import ResourcesSpec, expand_resources
from rl_apps.spec.sections import SECTIONS, validate_section
from rl_apps.tune.spec import SchedulerSpec, TuneSpec

Problems = list[tuple[str, str]]
QUICKSTART = Path(__file__).parents[1] / "specs" / "quickstart.yaml"


class EnvSpec(BaseModel):
    """``env:`` — the catalog name plus the env's own options."""

    model_config = ConfigDict(extra="allow")
    name: str

    @property
    def kwargs(self) -> dict[str, Any]:
        """The env options (everything but ``name``)."""
        return dict(self.model_extra or {})


class StopSpec(BaseModel):
    """``stop:`` — the run ends when any criterion is met."""

    model_config = ConfigDict(extra="forbid")
    training_iteration: Annotated[int, Field(gt=0)] | None = None
    num_env_steps_sampled_lifetime: Annotated[int, Field(gt=0)] | None = None
    team_return: float | None = None
    time_total_s: Annotated[float, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _one_criterion(self) -> StopSpec:
        if not self.model_dump(exclude_none=True):
            raise ValueError(
                "give at least one stop criterion: " + ", ".join(type(self).model_fields)
            )
        return self


class CheckpointSpec(BaseModel):
    """``checkpoint:`` — by iterations and by wall time; the ``keep`` newest kept.

    Every ``frequency`` iterations (0: only at the end) and at least every ``every_s`` seconds
    of wall time (null: never by time), so a killed run loses at most that much.
    """

    model_config = ConfigDict(extra="forbid")
    frequency: Annotated[int, Field(ge=0)] = 10
    every_s: Annotated[float, Field(gt=0)] | None = 600.0
    keep: Annotated[int, Field(gt=0)] = 3


class BenchmarkSpec(BaseModel):
    """``benchmark:`` — how ``marl bench`` runs and judges this spec (REFERENCE.md targets)."""

    model_config = ConfigDict(extra="forbid")
    seeds: list[Annotated[int, Field(ge=0)]] = Field(default_factory=lambda: [0, 1, 2])
    target_team_return: float | None = None
    random_team_return: float | None = None
    eval_episodes: Annotated[int, Field(gt=0)] = 100
    #: How the final checkpoint is evaluated (None: the algorithm's default).
    eval_actions: Literal["greedy", "stochastic"] | None = None
    source: str = ""


class WandbSpec(BaseModel):
    """``wandb:`` — log to Weights & Biases (see rl_apps.wandb_logging); no credentials here."""

    model_config = ConfigDict(extra="forbid")
    project: Annotated[str, Field(min_length=1)] = "marl"
    entity: str | None = None
    group: str | None = None
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list)
    notes: str | None = None
    mode: Literal["online", "offline", "disabled"] | None = None  # None: see resolve_mode


class ExperimentSpec(BaseModel):
    """A whole experiment; the sections are RLlib builder-method keyword arguments."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    algo: str
    env: EnvSpec
    seed: Annotated[int, Field(ge=0)] = 0
    stop: StopSpec
    checkpoint: CheckpointSpec = Field(default_factory=CheckpointSpec)
    benchmark: BenchmarkSpec | None = None
    wandb: WandbSpec | None = None
    resources: ResourcesSpec | None = None
    tune: TuneSpec | None = None
    environment: dict[str, Any] = Field(default_factory=dict)
    env_runners: dict[str, Any] = Field(default_factory=dict)
    learners: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict)
    multi_agent: dict[str, Any] = Field(default_factory=dict)
    rl_module: dict[str, Any] = Field(default_factory=dict)
    evaluation: dict[str, Any] = Field(default_factory=dict)
    fault_tolerance: dict[str, Any] = Field(default_factory=dict)
    debugging: dict[str, Any] = Field(default_factory=dict)
    reporting: dict[str, Any] = Field(default_factory=dict)
    _source: str = PrivateAttr(default="<spec>")

    @property
    def source(self) -> str:
        """The file the spec was read from (for error messages)."""
        return self._source

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec as plain data (what ``spec.yaml`` in a run directory holds)."""
        return self.model_dump(mode="json", exclude_none=True)


_NESTED = {
    (): ExperimentSpec,
    ("stop",): StopSpec,
    ("checkpoint",): CheckpointSpec,
    ("benchmark",): BenchmarkSpec,
    ("wandb",): WandbSpec,
    ("resources",): ResourcesSpec,
    ("tune",): TuneSpec,
    ("tune", "scheduler"): SchedulerSpec,
}
#: Credential-like key names and values (wandb API keys: 40 hex digits, or ``local-...``).
_SECRET_KEY = re.compile(r"api[_-]?key|token|secret|password|passwd|credential", re.IGNORECASE)
_SECRET_VALUE = re.compile(r"\s*([0-9a-fA-F]{40}|local-\S+)\s*")


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Reads a YAML mapping with ``yaml.safe_load``; SpecError names the line of a syntax error."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(str(path), [("", "no such spec file")])
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise SpecError(str(path), [("", f"invalid YAML: {where}{problem}")]) from None
    if not isinstance(data, dict):
        raise SpecError(str(path), [("", "a spec must be a YAML mapping of sections")])
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """``training.lr=1e-4`` -> (["training", "lr"], value parsed as YAML)."""
    path, sep, raw = text.partition("=")
    keys = path.strip().split(".")
    if not sep or not all(keys):
        raise SpecError("--set", [(text, "expected DOTTED.PATH=VALUE, e.g. training.lr=1e-4")])
    try:
        return keys, yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise SpecError("--set", [(path, f"value is not valid YAML: {err}")]) from None


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Returns a copy of ``raw`` with each ``--set`` override applied at its dotted path."""
    data = yaml.safe_load(yaml.safe_dump(raw))
    for text in overrides:
        keys, value = parse_override(text)
        node = data
        for depth, key in enumerate(keys[:-1]):
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                where = ".".join(keys[: depth + 1])
                raise SpecError("--set", [(text, f"{where} is not a mapping")])
        node[keys[-1]] = value
    return data


def find_secrets(node: Any, path: str = "", known: tuple[str, ...] = ()) -> Problems:
    """Paths whose key or value looks like a credential, or contains one of ``known``."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    problems: Problems = []
    for key, value in items:
        where = f"{path}.{key}" if path else str(key)
        if _SECRET_KEY.search(str(key)):
            problems.append((where, "looks like a credential: never put keys or tokens in a spec"))
        elif isinstance(value, str) and (
            _SECRET_VALUE.fullmatch(value) or any(len(k) >= 16 and k in value for k in known)
        ):
            problems.append((where, "value looks like an API key: use WANDB_API_KEY instead"))
        elif isinstance(value, dict | list):
            problems += find_secrets(value, where, known)
    return problems


def _pydantic_problems(err: ValidationError) -> Problems:
    problems = []
    for e in err.errors():
        loc = tuple(str(p) for p in e["loc"])
        path = ".".join(loc)
        if e["type"] == "extra_forbidden":
            model = _NESTED.get(loc[:-1])
            fields = list(model.model_fields) if model else []
            problems.append((path, f"unknown key{did_you_mean(loc[-1], fields)}"))
        elif e["type"] == "missing":
            problems.append((path, "required key is missing"))
        else:
            problems.append((path, f"{e['msg']} (got {e.get('input')!r})"))
    return problems


def _check_names(raw: dict[str, Any]) -> Problems:
    problems: Problems = []
    algo, env = raw.get("algo"), raw.get("env")
    if isinstance(algo, str) and algo not in ALGORITHMS:
        msg = f"unknown algorithm {algo!r}{did_you_mean(algo, list(ALGORITHMS))}"
        problems.append(("algo", f"{msg}; valid algorithms: {', '.join(ALGORITHMS)}"))
    name = env.get("name") if isinstance(env, dict) else None
    if not isinstance(name, str):
        return problems
    if name not in ENVS:
        msg = f"unknown env {name!r}{did_you_mean(name, list(ENVS))}"
        problems.append(("env.name", f"{msg}; valid envs: {', '.join(ENVS)}"))
        return problems
    options = {k: v for k, v in env.items() if k != "name"}
    teams = isinstance(algo, str) and algo in ALGORITHMS and ALGORITHMS[algo].view == "teams"
    try:
        problems += [("env", p) for p in check_env_kwargs(name, options, team=teams)]
    except EnvError as err:
        problems.append(("env", str(err)))
    return problems


def _check_sections(raw: dict[str, Any]) -> tuple[dict[str, dict], Problems]:
    """Validates every section against the algorithm's config (when the algo is known)."""
    if raw.get("algo") not in ALGORITHMS:
        return {}, []
    entry = ALGORITHMS[raw["algo"]]
    config = entry.new_config()
    cleaned: dict[str, dict] = {}
    problems: Problems = []
    for section in SECTIONS:
        values = raw.get(section) or {}
        if not isinstance(values, dict):
            continue  # reported by the schema
        cleaned[section], found = validate_section(section, values, config)
        problems += found
    if not problems:
        problems += _check_algo_options(entry, cleaned)
    return cleaned, problems


def _check_algo_options(entry: Any, sections: dict[str, dict]) -> Problems:
    problems: Problems = []
    multi_agent = sections["multi_agent"]
    sharing = multi_agent.get("sharing", "shared")
    if sharing not in entry.sharing_modes:
        modes = ", ".join(entry.sharing_modes)
        msg = f"{sharing!r} is not one of {modes} for {entry.name}"
        problems.append(("multi_agent.sharing", msg))
    elif (sharing == "groups") != bool(multi_agent.get("groups")):
        msg = "give groups ({group: [agents]}) with sharing: groups, and only then"
        problems.append(("multi_agent.groups", msg))
    defaults = entry.config_type().model_config_defaults()
    for key, value in sections["rl_module"].get("model_config", {}).items():
        path = f"rl_module.model_config.{key}"
        if key not in defaults:
            hint = did_you_mean(key, list(defaults))
            problems.append((path, f"unknown key{hint}; {entry.name} reads: {', '.join(defaults)}"))
        elif type(value) is not type(defaults[key]):
            problems.append((path, f"must be like {defaults[key]!r} (got {value!r})"))
    return problems


def validate_spec(raw: dict[str, Any], source: str) -> ExperimentSpec:
    """Validates a raw spec mapping completely; raises SpecError listing every problem."""
    secrets_found = find_secrets(raw, known=(os.environ.get("WANDB_API_KEY", "").strip(),))
    if secrets_found:  # alone: other messages may quote the offending value
        raise SpecError(source, secrets_found)
    raw, notes = apply_legacy_spellings(raw)
    raw, problems, resource_notes = expand_resources(raw)
    for note in notes + resource_notes:
        print(f"note: {source}: {note}", file=sys.stderr)
    spec = None
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as err:
        problems += _pydantic_problems(err)
    problems += _check_names(raw)
    cleaned, found = _check_sections(raw)
    problems += found
    if problems or spec is None:
        raise SpecError(source, problems)
    for section, values in cleaned.items():
        setattr(spec, section, values)
    spec._source = source
    return spec


def load_spec(path: str | Path | None, overrides: list[str] | None = None) -> ExperimentSpec:
    """Reads, overrides and validates a spec file (the packaged quickstart when ``None``)."""
    path = Path(path) if path is not None else QUICKSTART
    raw = apply_overrides(read_yaml(path), overrides or [])
    return validate_spec(raw, str(path))
