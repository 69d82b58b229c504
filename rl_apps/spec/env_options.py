"""Env option values checked before anything is built: ranges and impossible combinations.

Each option the spec sets is checked against its env's ``env_wrappers.ranges.RANGES`` entry,
whose upper end is tightened by the spec limit of ``env.<option>`` (``rl_apps.spec.limits``),
so ``marl envs NAME`` and the error show one range. Then the env's combination check
(``CHECKS``) runs on the options the env would be built with: the spec's, marl's defaults for
the env and the env's own defaults. A problem is reported at ``env.<option>`` of an option the
spec set, and an option the spec did not set is named with where its value came from, so no
message talks about a value the user never wrote without saying so.
"""

from __future__ import annotations

from typing import Any

from env_wrappers.ranges import CHECKS, RANGES, OptionProblem, Range
from env_wrappers.registry import get_entry
from rl_apps.spec.limits import bound_for, number_problem

Problems = list[tuple[str, str]]


def spec_high(option: str) -> float:
    """The spec limit's upper end for ``env.<option>``."""
    return bound_for(f"env.{option}").high


def option_range(env: str, option: str) -> Range | None:
    """The declared range of ``env``'s ``option`` (None: not declared)."""
    return RANGES.get(env, {}).get(option)


def range_text(env: str, option: str) -> str:
    """``integer in [1, 100]`` for ``marl envs``: the env's range within the spec limit."""
    declared = option_range(env, option)
    if declared is None:
        return "-"
    return declared.text(spec_high(option))


def _origin(env: str, option: str) -> str:
    if option in get_entry(env).defaults:
        return f"marl's default for {env}"
    return "the env's default"


def _combination_problem(env: str, problem: OptionProblem, given: dict[str, Any]) -> tuple:
    """``(dotted path, message)``: at the first option the spec set; defaults named."""
    own = [o for o in problem.options if o in given]
    path = f"env.{own[0] if own else problem.options[0]}"
    values = get_entry(env).options()
    unset = [o for o in problem.options if o not in given]
    if unset:
        origins = ", ".join(f"{o}={values[o]!r} is {_origin(env, o)}" for o in unset)
        return path, f"{problem.message} ({origins})"
    return path, problem.message


def env_option_problems(env: str, given: dict[str, Any]) -> Problems:
    """Out-of-range values of the options ``given`` and impossible combinations.

    Args:
        env: A catalog name (known to be valid).
        given: The env options the spec sets (``env`` without ``name``).

    """
    problems: Problems = []
    for option, value in given.items():
        if number_problem(f"env.{option}", value):
            continue  # the spec limit's message (check_numbers) names it
        declared = option_range(env, option)
        problem = declared.problem(value, spec_high(option)) if declared else None
        if problem:
            problems.append((f"env.{option}", problem))
    check = CHECKS.get(env)
    if problems or check is None:
        return problems
    options = {**get_entry(env).options(), **given}
    return [_combination_problem(env, p, given) for p in check(options)]
