"""The spec's ``tune`` section: search space, scheduler, search algorithm (no Ray import).

``search_space`` is keyed by the same dotted paths as ``--set`` (``training.lr``,
``rl_module.model_config.fcnet_hiddens``, ``env.N``, ``seed``); each value is a mapping
with one sampler::

    tune:
      metric: team_return_mean      # any progress.csv column
      mode: max
      num_samples: 4                # repeats of the space; trial k runs with seed + k
      max_concurrent_trials: 2
      search_space:
        training.lr: {loguniform: [1.0e-4, 1.0e-2]}
        training.entropy_coeff: {uniform: [0.0, 0.02]}
        training.num_epochs: {choice: [5, 10]}
        training.minibatch_size: {grid: [256, 512]}
        env_runners.num_envs_per_env_runner: {randint: [4, 9]}   # high is exclusive
      scheduler: {type: asha, grace_period: 2, max_t: 20}      # fifo | asha | pbt
      search_alg: optuna                                       # random | optuna
      max_failures: 1

Before any trial starts, every value a sampler can produce at its edges (each ``grid`` and
``choice`` value, the low and high ends of ranges) is applied to the spec and validated
like a spec of its own, so a bad path or an out-of-range value fails at once.
"""

from __future__ import annotations

import copy
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SAMPLERS = ("grid", "choice", "uniform", "loguniform", "randint")
#: Trials of one search at most (num_samples times the grid's points).
MAX_TRIALS = 10_000
#: Values validated before a search at most (every grid and choice value, both range ends).
MAX_EDGE_VALUES = 1_000
#: The metrics every trial reports (progress.csv's columns; per-agent ``return_<agent>`` and,
#: in competitive and mixed games, per-side ``team_return_<side>`` too).
METRICS = (
    "team_return_mean",
    "episode_len_mean",
    "env_steps",
    "steps_per_s",
    "elapsed_s",
    "iteration",
)


class Dimension(BaseModel):
    """One search dimension: exactly one of the samplers."""

    model_config = ConfigDict(extra="forbid")
    grid: list[Any] | None = None
    choice: list[Any] | None = None
    uniform: tuple[float, float] | None = None
    loguniform: tuple[float, float] | None = None
    randint: tuple[int, int] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Dimension:
        given = [name for name in SAMPLERS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(SAMPLERS)} (got {given or 'none'})")
        kind, value = given[0], getattr(self, given[0])
        if kind in ("grid", "choice") and not value:
            raise ValueError(f"{kind} needs at least one value")
        if kind in ("uniform", "loguniform", "randint") and not value[0] < value[1]:
            raise ValueError(f"{kind} needs [low, high] with low < high (got {list(value)})")
        if kind == "loguniform" and value[0] <= 0:
            raise ValueError(f"loguniform needs a positive low end (got {value[0]})")
        return self

    @property
    def kind(self) -> str:
        """The sampler's name."""
        return next(name for name in SAMPLERS if getattr(self, name) is not None)

    @property
    def args(self) -> Any:
        """The sampler's values (a list or a [low, high] pair)."""
        return getattr(self, self.kind)

    def edge_values(self) -> list[Any]:
        """Values worth validating before a search: every listed value, or both ends."""
        if self.kind in ("grid", "choice"):
            return list(self.args)
        low, high = self.args
        return [low, high - 1] if self.kind == "randint" else [low, high]


class SchedulerSpec(BaseModel):
    """``tune.scheduler``: FIFO (run every trial to its stop), ASHA or PBT."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["fifo", "asha", "pbt"] = "fifo"
    max_t: Annotated[int, Field(gt=0)] | None = None  # ASHA: iterations at most
    grace_period: Annotated[int, Field(gt=0)] = 1  # ASHA: iterations before stopping a trial
    reduction_factor: Annotated[float, Field(gt=1)] = 2.0  # ASHA
    perturbation_interval: Annotated[int, Field(gt=0)] = 4  # PBT: iterations between exploits
    quantile_fraction: Annotated[float, Field(gt=0, le=0.5)] = 0.25  # PBT
    synch: bool = False  # PBT: all trials pause at each perturbation (deterministic exploits)


class TuneSpec(BaseModel):
    """``tune:`` — what ``marl tune`` searches (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    metric: str = "team_return_mean"
    mode: Literal["max", "min"] = "max"
    num_samples: Annotated[int, Field(gt=0)] = 1
    max_concurrent_trials: Annotated[int, Field(gt=0)] | None = None
    search_space: dict[str, Dimension] = Field(default_factory=dict)
    scheduler: SchedulerSpec = Field(default_factory=SchedulerSpec)
    search_alg: Literal["random", "optuna"] = "random"
    max_failures: Annotated[int, Field(ge=0)] = 0

    def trial_count(self) -> int:
        """Trials the search will run: ``num_samples`` times the grid's size."""
        return self.num_samples * _grid_size(self)

    @model_validator(mode="after")
    def _consistent(self) -> TuneSpec:
        if not (self.metric in METRICS or self.metric.startswith(("return_", "team_return_"))):
            raise ValueError(
                f"metric {self.metric!r} is not reported; use one of {', '.join(METRICS)}, "
                "return_<agent> or team_return_<side>"
            )
        if self.trial_count() > MAX_TRIALS:
            raise ValueError(
                f"the search would run {self.trial_count():_} trials; at most {MAX_TRIALS:_}"
            )
        edges = sum(len(dim.edge_values()) for dim in self.search_space.values())
        if edges > MAX_EDGE_VALUES:
            raise ValueError(
                f"the space lists {edges:_} values to check; at most {MAX_EDGE_VALUES:_}"
            )
        grids = [path for path, dim in self.search_space.items() if dim.kind == "grid"]
        if grids and self.search_alg == "optuna":
            raise ValueError(f"optuna cannot search a grid ({', '.join(grids)}); use choice")
        if self.scheduler.type == "pbt" and not self.search_space:
            raise ValueError("pbt needs a search_space to perturb")
        for path in self.search_space:
            if path.split(".")[0] in ("tune", "name", "algo", "benchmark"):
                raise ValueError(f"search_space.{path}: {path.split('.')[0]} cannot be searched")
        return self


def _grid_size(tune: TuneSpec) -> int:
    size = 1
    for dim in tune.search_space.values():
        size *= len(dim.args) if dim.kind == "grid" else 1
    return size


def apply_values(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``raw`` with each dotted path set to its value (as ``--set`` does)."""
    out = copy.deepcopy(raw)
    for path, value in values.items():
        node = out
        keys = path.split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ValueError(f"search_space.{path}: {key} is not a mapping")
        node[keys[-1]] = value
    return out


def edge_assignments(tune: TuneSpec) -> list[tuple[str, dict[str, Any]]]:
    """One ``(label, {path: value})`` per edge value of each dimension, others unset."""
    return [
        (f"search_space.{path}={value!r}", {path: value})
        for path, dim in tune.search_space.items()
        for value in dim.edge_values()
    ]


def trial_index(trial_dir_name: str, trial_name: str) -> int:
    """The trial's position in the search, from Tune's ``<trial name>_<index>_<params>`` dir."""
    tag = trial_dir_name.removeprefix(trial_name).lstrip("_")
    digits = re.match(r"\d+", tag)
    return int(digits.group()) if digits else 0


def trial_seed(base_seed: int, index: int) -> int:
    """Trial number ``index`` runs with ``base_seed + index`` (num_samples repeats = seeds)."""
    return base_seed + index
