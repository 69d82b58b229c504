"""Experiment specs: YAML loading (bounded safe loading), ``--set`` overrides, validation.

A spec is validated completely before Ray starts. Every problem is reported at once, each
naming the file, the dotted path and what is wrong; ``SpecError`` makes the CLI exit with 2.
Untrusted input is checked in stages: the shape (``limits.check_structure``: sizes, depth)
and then credentials (``secrets.find_secrets``, never echoed) are each reported alone,
because later messages quote values; then the schema, names, env options and RLlib's
sections, together with every number's bound (``limits.check_numbers``: finite, in range;
where the schema already names a path, its message is kept). Nothing here builds an env.
"""

from __future__ import annotations

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
from rl_apps.spec import yamlio
from rl_apps.spec.env_options import env_option_problems
from rl_apps.spec.limits import check_numbers, check_overrides, check_structure
from rl_apps.spec.secrets import find_secrets, secret_env_values, value_kind
from rl_apps.spec.sections import SECTIONS, short_repr, validate_section
from rl_apps.tune.spec import SchedulerSpec, TuneSpec

Problems = list[tuple[str, str]]
QUICKSTART = Path(__file__).parents[1] / "specs" / "quickstart.yaml"
#: The budget of a spec without ``stop``: small enough for a try on a laptop (a few minutes
#: for the starters in experiments/starters/ on 2 cores), big enough to see learning begin.
DEFAULT_STOP: dict[str, Any] = {"num_env_steps_sampled_lifetime": 100_000}


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
    #: Logged metrics (``result.jsonl`` keys) whose curves are recorded and drawn per seed.
    curves: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list)
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
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]  # default: see default_name
    algo: str
    env: EnvSpec
    seed: Annotated[int, Field(ge=0)] = 0
    stop: StopSpec  # default: DEFAULT_STOP (see with_defaults)
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


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Reads a YAML mapping with the bounded loader; SpecError names the line of an error."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(str(path), [("", "no such spec file")])
    try:
        data = yamlio.loads(yamlio.read_text(path))
    except yaml.YAMLError as err:
        raise SpecError(str(path), [yamlio.describe(err)]) from None
    except (OSError, ValueError) as err:
        raise SpecError(str(path), [("", str(err))]) from None
    if not isinstance(data, dict):
        raise SpecError(str(path), [("", "a spec must be a YAML mapping of sections")])
    return data


def _override_path(text: str) -> str:
    """The dotted path of an override, safe to show (never its value)."""
    path = text.partition("=")[0].strip()
    return path[:80] if path and not value_kind(path) else "<override>"


def parse_override(text: str) -> tuple[list[str], Any]:
    """``training.lr=1e-4`` -> (["training", "lr"], value parsed as YAML)."""
    path, sep, raw = text.partition("=")
    keys = path.strip().split(".")
    if not sep or not all(keys):
        where = _override_path(text) if sep else "<override>"
        raise SpecError("--set", [(where, "expected DOTTED.PATH=VALUE, e.g. training.lr=1e-4")])
    try:
        return keys, yamlio.loads(raw)
    except yaml.YAMLError as err:
        inner, msg = yamlio.describe(err)
        where = ".".join(p for p in (_override_path(text), inner) if p)
        raise SpecError(
            "--set", [(where, msg.replace("invalid YAML", "value is not valid YAML"))]
        ) from None


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Returns a copy of ``raw`` with each ``--set`` override applied at its dotted path."""
    problems = check_overrides(overrides)
    if problems:
        raise SpecError("--set", problems)
    data = yaml.safe_load(yaml.safe_dump(raw))  # a copy with sorted keys (as spec.yaml)
    for text in overrides:
        keys, value = parse_override(text)
        node = data
        for depth, key in enumerate(keys[:-1]):
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                where = ".".join(keys[: depth + 1])
                raise SpecError("--set", [(_override_path(text), f"{where} is not a mapping")])
        node[keys[-1]] = value
    return data


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
            problems.append((path, f"{e['msg']} (got {short_repr(e.get('input'))})"))
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
        found = [("env", p) for p in check_env_kwargs(name, options, team=teams)]
    except EnvError as err:
        found = [("env", str(err))]
    return problems + (found or env_option_problems(name, options))


def _check_sections(raw: dict[str, Any]) -> tuple[dict[str, dict], Problems]:
    """Validates every section against the algorithm's config (when the algo is known)."""
    if not isinstance(raw.get("algo"), str) or raw["algo"] not in ALGORITHMS:
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
            problems.append((path, f"must be like {defaults[key]!r} (got {short_repr(value)})"))
    return problems


def _shape_and_secret_problems(raw: dict[str, Any]) -> Problems:
    """Shape first, then credentials: the first stage with problems (reported alone)."""
    return check_structure(raw) or find_secrets(raw, known=secret_env_values())


def _merge_number_problems(numbers: Problems, others: Problems) -> Problems:
    """All problems, once per path: the schema's message wins over the numeric bound's."""
    covered = {path for path, _ in others}

    def said(path: str) -> bool:
        parts = path.split(".")
        return any(".".join(parts[:n]) in covered for n in range(1, len(parts) + 1))

    return others + [(path, msg) for path, msg in numbers if not said(path)]


def default_name(raw: dict[str, Any], source: str) -> str:
    """A spec without ``name``: its file's name (``qmix.yaml`` -> ``qmix``), else algo_env.

    Characters a run directory name cannot hold become ``_``.
    """
    stem = Path(source).stem if source.endswith((".yaml", ".yml")) else ""
    if not stem:
        env = raw.get("env")
        env_name = env.get("name") if isinstance(env, dict) else None
        stem = "_".join(str(p) for p in (raw.get("algo"), env_name) if isinstance(p, str))
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem) or "experiment"


def with_defaults(raw: dict[str, Any], source: str) -> tuple[dict[str, Any], list[str]]:
    """``raw`` with ``name`` and ``stop`` filled in when missing, and a note for each."""
    raw, notes = dict(raw), []
    if "name" not in raw:
        raw["name"] = default_name(raw, source)
    if "stop" not in raw:
        raw["stop"] = dict(DEFAULT_STOP)
        budget = ", ".join(f"{k}: {v:_}" for k, v in DEFAULT_STOP.items())
        notes.append(f"no stop given: the default budget ({budget}); set stop: to change it")
    return raw, notes


def validate_spec(raw: dict[str, Any], source: str) -> ExperimentSpec:
    """Validates a raw spec mapping completely; raises SpecError listing every problem."""
    early = _shape_and_secret_problems(raw)
    if early:  # alone: other messages may quote the offending value
        raise SpecError(source, early)
    raw, default_notes = with_defaults(raw, source)
    raw, notes = apply_legacy_spellings(raw)
    notes = default_notes + notes
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
    problems = _merge_number_problems(check_numbers(raw), problems + found)
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
