"""Valid values of each catalog env's options, and the impossible combinations (no env built).

``RANGES[env][option]`` is a ``Range``: a kind (number, integer, bool, one of some choices)
and, for numbers, an inclusive low and high end of the env's own meaning (``N >= 1``,
``local_ratio`` in [0, 1]). ``CHECKS[env]`` finds combinations the env cannot honour: an LBF
grid too small for its food and players (lbforaging then silently spawns fewer, or leaves a
player without a position), more pursuers needed for a catch than there are.

Sizes also have an upper bound for untrusted specs (``rl_apps.spec.limits``); the application
shows the two together. Everything here is plain data and arithmetic: nothing imports an env.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Range:
    """The valid values of one option."""

    kind: str = "number"  # number, integer, bool, choice
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    none_ok: bool = False  # null is valid (the env's own meaning)

    def text(self, high: float | None = None) -> str:
        """``integer >= 1``, ``number in [0, 1]``, ``true or false``, ``one of a, b``.

        Args:
            high: A tighter upper end than ``self.high`` (a spec limit), if any.

        """
        top = high if self.high is None else self.high if high is None else min(self.high, high)
        if self.kind == "bool":
            text = "true or false"
        elif self.kind == "choice":
            text = "one of " + ", ".join(str(c) for c in self.choices)
        elif self.low is not None and top is not None:
            text = f"{self.kind} in [{_num(self.low)}, {_num(top)}]"
        elif self.low is not None:
            text = f"{self.kind} >= {_num(self.low)}"
        else:
            text = self.kind if top is None else f"{self.kind} <= {_num(top)}"
        return text + (" or null" if self.none_ok else "")

    def problem(self, value: Any, high: float | None = None) -> str | None:
        """Why ``value`` is not valid (None when it is); ``high`` as in ``text``."""
        if value is None and self.none_ok:
            return None
        if self.kind == "bool":
            ok = isinstance(value, bool)
        elif self.kind == "choice":
            ok = value in self.choices
        else:
            ok = _is_number(value, integer=self.kind == "integer") and _inside(
                float(value), self.low, _min(self.high, high)
            )
        article = "an " if self.kind == "integer" else "a " if self.kind == "number" else ""
        return None if ok else f"must be {article}{self.text(high)} (got {value!r})"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _is_number(value: Any, integer: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and (not integer or float(value).is_integer())


def _inside(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


@dataclass(frozen=True)
class OptionProblem:
    """An impossible combination: the options involved (the first named) and why."""

    options: tuple[str, ...]
    message: str


COUNT = Range("integer", 1)  # agents, steps: at least one
SOME = Range("integer", 0)  # obstacles: none is fine
SHARE = Range("number", 0, 1)
BOOL = Range("bool")
NEIGHBORS = Range("integer", 0, none_ok=True)
_MPE = {"max_cycles": COUNT, "continuous_actions": BOOL, "dynamic_rescaling": BOOL}
_MPE |= {"benchmark_data": BOOL}
_MPE_EXTRA = {"curriculum": BOOL, "terminate_on_success": BOOL}
_NEIGHBORS = {"num_agent_neighbors": NEIGHBORS, "num_landmark_neighbors": NEIGHBORS}

RANGES: dict[str, dict[str, Range]] = {
    "simple_spread": {"N": COUNT, "local_ratio": SHARE, **_MPE, **_MPE_EXTRA, **_NEIGHBORS},
    "simple_speaker_listener": dict(_MPE),
    "simple_reference": {"local_ratio": SHARE, **_MPE},
    "simple_adversary": {"N": COUNT, **_MPE, **_NEIGHBORS},
    "simple_tag": {
        "num_good": COUNT,
        "num_adversaries": COUNT,
        "num_obstacles": SOME,
        **_MPE,
        **_MPE_EXTRA,
        **_NEIGHBORS,
    },
    "penalty_game": {"k": Range("number")},
    "lbf": {
        "size": COUNT,
        "players": COUNT,
        "food": COUNT,
        "coop": BOOL,
        "sight": Range("integer", 1, none_ok=True),
        "max_episode_steps": COUNT,
        "max_player_level": COUNT,
        "penalty": Range("number", 0),
        "normalize_reward": BOOL,
    },
    "rware": {
        "size": Range("choice", choices=("tiny", "small", "medium", "large")),
        "agents": COUNT,
        "difficulty": Range("choice", choices=("easy", "medium", "hard")),
        "max_steps": COUNT,
    },
    "multiwalker": {
        "n_walkers": COUNT,
        "position_noise": Range("number", 0),
        "angle_noise": Range("number", 0),
        "shared_reward": BOOL,
        "terminate_on_fall": BOOL,
        "remove_on_fall": BOOL,
        "terrain_length": COUNT,
        "max_cycles": COUNT,
    },
    "pursuit": {
        "x_size": Range("integer", 2),
        "y_size": Range("integer", 2),
        "max_cycles": COUNT,
        "shared_reward": BOOL,
        "n_evaders": COUNT,
        "n_pursuers": COUNT,
        "obs_range": COUNT,
        "n_catch": COUNT,
        "freeze_evaders": BOOL,
        "surround": BOOL,
        "constraint_window": SHARE,
    },
    "pistonball": {
        "n_pistons": Range("integer", 2),
        "continuous": BOOL,
        "random_drop": BOOL,
        "random_rotate": BOOL,
        "ball_mass": Range("number", 0.01),
        "ball_friction": Range("number", 0),
        "ball_elasticity": Range("number", 0),
        "max_cycles": COUNT,
    },
}


def lbf_food_capacity(size: int) -> int:
    """An upper bound on the food lbforaging can place on a ``size`` x ``size`` grid.

    Food goes on inner cells only (rows and columns 1 .. size - 2, an ``m`` x ``m`` square),
    with no other food in its 3 x 3 neighbourhood (so at most ``ceil(m / 2) ** 2``) and none
    within 2 cells in its row (so at most ``ceil(m / 3)`` per row). More food than this can
    never be placed; lbforaging's 1,000 random tries may place fewer even below it.
    """
    inner = max(size - 2, 0)
    return min(math.ceil(inner / 2) ** 2, inner * math.ceil(inner / 3))


def lbf_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """Food that cannot be placed and players that find no free cell."""
    size, players, food = options["size"], options["players"], options["food"]
    problems = []
    capacity = lbf_food_capacity(size)
    if food > capacity:
        problems.append(
            OptionProblem(
                ("food", "size"),
                f"{food} food items do not fit on a {size}x{size} grid: food goes on inner "
                f"cells apart from other food, so at most {capacity} fit (raise size or lower "
                "food)",
            )
        )
    elif players + food > size * size:
        problems.append(
            OptionProblem(
                ("players", "food", "size"),
                f"{players} players and {food} food items need {players + food} cells; a "
                f"{size}x{size} grid has {size * size}",
            )
        )
    return problems


def pursuit_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """A catch that needs more pursuers than there are; more agents than grid cells."""
    problems = []
    if options["n_catch"] > options["n_pursuers"]:
        problems.append(
            OptionProblem(
                ("n_catch", "n_pursuers"),
                f"a catch needs {options['n_catch']} pursuers but there are "
                f"{options['n_pursuers']}: no evader could ever be caught",
            )
        )
    agents = options["n_pursuers"] + options["n_evaders"]
    cells = options["x_size"] * options["y_size"]
    if agents > cells:
        problems.append(
            OptionProblem(
                ("n_pursuers", "n_evaders", "x_size", "y_size"),
                f"{agents} pursuers and evaders do not fit on {cells} cells",
            )
        )
    return problems


CHECKS: dict[str, Callable[[Mapping[str, Any]], list[OptionProblem]]] = {
    "lbf": lbf_problems,
    "pursuit": pursuit_problems,
}
