"""Bounds on spec inputs: size, shape and every number, checked before anything is built.

A spec is untrusted input: it can come from a shared folder, a pull request or a Tune
search. Everything here runs before the env is built or Ray starts, so every bound is cheap
to check and every problem is answered in well under a second with exit code 2:

- size: a spec file holds at most ``MAX_SPEC_BYTES``, each ``--set`` at most
  ``MAX_OVERRIDE_BYTES`` (and at most ``MAX_OVERRIDES`` of them);
- shape (``check_structure``): nesting depth, node count, list length, string length, and
  mapping keys that are strings; the YAML loader (``rl_apps.spec.yamlio``) also refuses
  aliases and duplicate keys and stops at the same depth and node count while composing;
- numbers (``check_numbers``): every number, and every numeric-looking string that RLlib's
  sections or pydantic would turn into one, is finite and inside the first matching range
  of ``BOUNDS`` (dotted-path patterns, ``*`` matches any part), else of ``FALLBACK``. Env
  options have upper bounds only here: their lower ends, kinds and impossible combinations
  are the env's (``env_wrappers.ranges``, checked by ``rl_apps.spec.env_options``, which
  tightens its ranges by these bounds).

docs/spec-limits.md lists every bound (a unit test keeps it in step with this module).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

Problems = list[tuple[str, str]]

MAX_SPEC_BYTES = 256 * 1024
MAX_OVERRIDE_BYTES = 16 * 1024
MAX_OVERRIDES = 256
MAX_DEPTH = 24
MAX_NODES = 20_000
MAX_LIST = 10_000
MAX_STRING = 10_000
MAX_KEY = 200
DOC = "docs/spec-limits.md"


@dataclass(frozen=True)
class Bound:
    """An inclusive range of valid values, and why it is there."""

    low: float | None  # None: left to the schema or the env (cheap to check when built)
    high: float
    why: str = ""

    def text(self) -> str:
        """``[low, high]`` (or ``at most high``) with readable numbers."""
        if self.low is None:
            return f"at most {_num(self.high)}"
        return f"[{_num(self.low)}, {_num(self.high)}]"

    def holds(self, number: float) -> bool:
        """Whether ``number`` is in the range."""
        return (self.low is None or self.low <= number) and number <= self.high


SEED = Bound(0, 2**31 - 1, "NumPy and torch seeds; a Tune search adds the trial index")
AGENTS = Bound(None, 100, "agents of an env: the world is built before training")
COUNT = Bound(None, 100, "objects of an env (landmarks, food, evaders)")
GRID = Bound(None, 1_000, "grid and image sides")
STEPS = Bound(None, 1_000_000, "steps of one episode")
ACTORS = Bound(0, 1_024, "Ray actors of one kind")
BATCH = Bound(1, 10_000_000, "timesteps of one batch")
#: First match wins; list items are ``path.0``, ``path.1``, ...
BOUNDS: dict[str, Bound] = {
    "seed": SEED,
    "benchmark.seeds.*": SEED,
    "benchmark.eval_episodes": Bound(1, 1_000_000, "episodes"),
    "stop.training_iteration": Bound(1, 100_000_000, "iterations"),
    "stop.num_env_steps_sampled_lifetime": Bound(1, 100_000_000_000, "env steps"),
    "stop.time_total_s": Bound(0, 100_000_000, "about 3 years"),
    "checkpoint.keep": Bound(1, 10_000, "checkpoints on disk"),
    "env_runners.num_env_runners": ACTORS,
    "evaluation.evaluation_num_env_runners": ACTORS,
    "learners.num_learners": ACTORS,
    "env_runners.num_envs_per_env_runner": Bound(1, 1_024, "sub-envs built in each runner"),
    "env_runners.rollout_fragment_length": Bound(1, 1_000_000, "timesteps"),
    "*.num_cpus_per_*": Bound(0, 1_024, "CPUs"),
    "*.num_gpus_per_*": Bound(0, 64, "GPUs"),
    "training.lr": Bound(0, 10, "a learning rate"),
    "training.train_batch_size*": BATCH,
    "training.minibatch_size": BATCH,
    "training.num_epochs": Bound(1, 10_000, "passes over each batch"),
    "training.*buffer_size": Bound(1, 10_000_000, "items held in memory"),
    "rl_module.model_config.*_hiddens.*": Bound(1, 8_192, "units of one layer"),
    "rl_module.model_config.*_cell_size": Bound(1, 8_192, "units of a recurrent cell"),
    "rl_module.model_config.*": Bound(0, 100_000, "module sizes"),
    "env.N": AGENTS,
    "env.num_good": AGENTS,
    "env.num_adversaries": AGENTS,
    "env.players": AGENTS,
    "env.agents": AGENTS,
    "env.n_walkers": AGENTS,
    "env.n_pursuers": AGENTS,
    "env.n_pistons": AGENTS,
    "env.num_obstacles": COUNT,
    "env.food": COUNT,
    "env.n_evaders": COUNT,
    "env.n_catch": COUNT,
    "env.num_*_neighbors": COUNT,
    "env.size": GRID,
    "env.*x_size": GRID,
    "env.*y_size": GRID,
    "env.obs_range": GRID,
    "env.sight": GRID,
    "env.max_player_level": GRID,
    "env.terrain_length": Bound(None, 10_000, "terrain cells"),
    "env.max_cycles": STEPS,
    "env.max_steps": STEPS,
    "env.max_episode_steps": STEPS,
    "env.wrappers.*.stack_size": Bound(None, 1_000, "frames kept per observation"),
    "env.*": Bound(-1_000_000, 1_000_000, "any other env option"),
    "resources.env_runners": ACTORS,
    "resources.learners": ACTORS,
    "resources.envs_per_env_runner": Bound(1, 1_024, "sub-envs built in each runner"),
    "resources.*cpus*": Bound(0, 1_024, "CPUs"),
    "resources.*gpus*": Bound(0, 64, "GPUs"),
    "tune.num_samples": Bound(1, 10_000, "trials"),
    "tune.max_concurrent_trials": ACTORS,
}
#: Any number no pattern of BOUNDS matches.
FALLBACK = Bound(-1_000_000_000, 1_000_000_000, "any other number")
#: Lists with a tighter length bound than ``MAX_LIST``.
LIST_BOUNDS: dict[str, int] = {
    "rl_module.model_config.*_hiddens": 64,
    "wandb.tags": 64,
    "benchmark.seeds": 1_000,
    "benchmark.curves": 16,
    "tune.search_space.*.grid": 1_000,
    "tune.search_space.*.choice": 1_000,
}
#: Subtrees whose strings stay strings (free text): not read as numbers.
TEXT_PATHS = (
    "name",
    "algo",
    "wandb.*",
    "benchmark.source",
    "benchmark.curves",
    "tune.metric",
    "env.name",
)
_NUMERIC = re.compile(
    r"\s*[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?\s*|\s*[-+]?\.?(inf|infinity|nan)\s*",
    re.IGNORECASE,
)


def _num(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e16:
        return f"{int(value):,}".replace(",", "_")
    return f"{value:g}"


def bound_for(path: str) -> Bound:
    """The range a number at dotted ``path`` must lie in."""
    return next((b for pattern, b in BOUNDS.items() if fnmatchcase(path, pattern)), FALLBACK)


def _list_bound(path: str) -> int:
    found = (n for pattern, n in LIST_BOUNDS.items() if fnmatchcase(path, pattern))
    return next(found, MAX_LIST)


def _children(node: Any, path: str) -> list[tuple[str, Any]]:
    items = node.items() if isinstance(node, dict) else enumerate(node)
    return [(f"{path}.{key}" if path else str(key), value) for key, value in items]


def _key_problems(node: dict, path: str) -> Problems:
    problems: Problems = []
    for key in node:
        if not isinstance(key, str):
            where = f"{path}.{key}" if path else str(key)
            problems.append((where[:100], f"keys must be strings (got {type(key).__name__})"))
        elif len(key) > MAX_KEY:
            problems.append((path, f"a key is longer than {MAX_KEY} characters"))
    return problems


def _value_problem(path: str, value: Any, depth: int) -> str | None:
    if isinstance(value, str) and len(value) > MAX_STRING:
        return f"string longer than {MAX_STRING:_} characters"
    if not isinstance(value, dict | list):
        return None
    if depth > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    if isinstance(value, list) and len(value) > _list_bound(path):
        return f"list longer than {_list_bound(path):_} items"
    return None


def check_structure(raw: dict[str, Any]) -> Problems:
    """Depth, value count, list and string lengths, key types; iterative, stops early."""
    problems = _key_problems(raw, "")
    stack = [(where, value, 1) for where, value in _children(raw, "")]
    seen = 0
    while stack and len(problems) < 20:
        where, value, depth = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            return [("", f"more than {MAX_NODES:_} values in one spec")]
        problem = _value_problem(where, value, depth)
        if problem:
            problems.append((where, problem))
        elif isinstance(value, dict | list):
            problems += _key_problems(value, where) if isinstance(value, dict) else []
            stack += [(w, v, depth + 1) for w, v in _children(value, where)]
    return sorted(problems)


def _is_text(path: str) -> bool:
    return any(fnmatchcase(path, p) or fnmatchcase(path, p + ".*") for p in TEXT_PATHS)


def _as_number(path: str, value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMERIC.fullmatch(value) and not _is_text(path):
        try:
            return float(value.replace("_", ""))
        except ValueError:
            return None
    return None


def number_problem(path: str, value: Any) -> str | None:
    """Why ``value`` cannot stand at ``path`` (None: it is not a number, or it is fine)."""
    number = _as_number(path, value)
    if number is None:
        return None
    if isinstance(number, float) and not math.isfinite(number):
        return f"must be a finite number (got {number})"
    bound = bound_for(path)
    if not bound.holds(number):
        shown = _num(number) if abs(number) < 1e30 else f"{float(number):.3g}"
        return f"{shown} is outside {bound.text()} ({bound.why}; see {DOC})"
    return None


def check_numbers(node: Any, path: str = "") -> Problems:
    """Every number (and numeric string) in ``node`` is finite and within its bound."""
    problems: Problems = []
    stack = _children(node, path)
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict | list):
            stack += _children(value, where)
            continue
        problem = number_problem(where, value)
        if problem:
            problems.append((where, problem))
    return sorted(problems)


def check_overrides(overrides: list[str]) -> Problems:
    """``--set`` count and sizes (the value is never shown)."""
    if len(overrides) > MAX_OVERRIDES:
        return [("", f"more than {MAX_OVERRIDES} --set overrides")]
    return [
        (text.partition("=")[0][:80], f"value longer than {MAX_OVERRIDE_BYTES:_} bytes")
        for text in overrides
        if len(text.encode("utf-8", "replace")) > MAX_OVERRIDE_BYTES
    ]


def limits_table() -> str:
    """The Markdown tables of docs/spec-limits.md (kept in step by a unit test)."""
    rows = ["| dotted path | valid range | why |", "|---|---|---|"]
    rows += [f"| `{p}` | {b.text()} | {b.why} |" for p, b in BOUNDS.items()]
    rows.append(f"| any other number | {FALLBACK.text()} | {FALLBACK.why} |")
    lists = ["| list | items at most |", "|---|---|"]
    lists += [f"| `{p}` | {_num(n)} |" for p, n in LIST_BOUNDS.items()]
    lists.append(f"| any other list | {_num(MAX_LIST)} |")
    return "\n".join(rows) + "\n\n" + "\n".join(lists) + "\n"
