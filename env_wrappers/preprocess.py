"""Supersuit preprocessing named in a spec, and padding of heterogeneous agents.

A spec lists wrappers under ``env.wrappers``, each a one-key mapping of a supersuit wrapper
name to its arguments, applied in order::

    env:
      name: pistonball
      wrappers:
        - color_reduction_v0: {mode: B}
        - resize_v1: {x_size: 84, y_size: 84}
        - frame_stack_v1: {stack_size: 4}

Only wrappers that keep a ParallelEnv a ParallelEnv and take plain data arguments are allowed
(no lambdas: specs never hold code). Arguments are checked against supersuit's signatures.

``pad=True`` pads observation and action spaces to the largest agent's (supersuit), so one
network can be shared; the padded actions are masked out, so no agent ever takes an action
that does not exist in its own env.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any

import numpy as np
from pettingzoo.utils.env import ParallelEnv

ALLOWED_WRAPPERS = (
    "agent_indicator_v0",
    "clip_actions_v0",
    "clip_reward_v0",
    "color_reduction_v0",
    "dtype_v0",
    "flatten_v0",
    "frame_skip_v0",
    "frame_stack_v1",
    "max_observation_v0",
    "normalize_obs_v0",
    "reshape_v0",
    "resize_v1",
    "scale_actions_v0",
    "sticky_actions_v0",
)

#: Arguments of wrappers that take ``*args, **kwargs`` in supersuit.
_VARIADIC = {"frame_skip_v0": {"num_frames"}, "sticky_actions_v0": {"repeat_action_probability"}}


def _wrapper(name: str) -> Any:
    import supersuit

    return getattr(supersuit, name)


def _accepted(name: str) -> tuple[set[str], set[str]]:
    """(all argument names, required argument names) of a supersuit wrapper."""
    if name in _VARIADIC:
        return set(_VARIADIC[name]), set(_VARIADIC[name])
    params = list(inspect.signature(_wrapper(name)).parameters.values())[1:]  # drop env
    required = {p.name for p in params if p.default is inspect.Parameter.empty}
    return {p.name for p in params}, required


def check_wrappers(wrappers: Any) -> list[str]:
    """One message per problem in a spec's ``env.wrappers`` list (empty when valid)."""
    if not isinstance(wrappers, list):
        return ["wrappers must be a list of {wrapper_name: {arguments}} mappings"]
    problems = []
    for index, item in enumerate(wrappers):
        where = f"wrappers[{index}]"
        if not isinstance(item, dict) or len(item) != 1:
            problems.append(f"{where}: expected one {{wrapper_name: {{arguments}}}} mapping")
            continue
        ((name, args),) = item.items()
        if name not in ALLOWED_WRAPPERS:
            close = difflib.get_close_matches(str(name), ALLOWED_WRAPPERS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                f"{where}: unknown wrapper {name!r}{hint}; allowed: {', '.join(ALLOWED_WRAPPERS)}"
            )
            continue
        problems += _check_args(where, name, args or {})
    return problems


def _check_args(where: str, name: str, args: Any) -> list[str]:
    if not isinstance(args, dict):
        return [f"{where}.{name}: arguments must be a mapping"]
    accepted, required = _accepted(name)
    problems = [
        f"{where}.{name}: unknown argument {key!r}; valid: {', '.join(sorted(accepted)) or 'none'}"
        for key in args
        if key not in accepted
    ]
    problems += [f"{where}.{name}: missing argument {key!r}" for key in required - set(args)]
    return problems


def apply_wrappers(env: ParallelEnv, wrappers: list[dict[str, Any]]) -> ParallelEnv:
    """Applies validated supersuit wrappers in order."""
    for item in wrappers:
        ((name, args),) = item.items()
        if name in _VARIADIC:
            env = _wrapper(name)(env, *(args or {}).values())
        else:
            env = _wrapper(name)(env, **(args or {}))
    return env


def pad_agents(env: ParallelEnv) -> tuple[ParallelEnv, Any]:
    """Pads observation and action spaces; returns (env, mask_fn hiding padded actions).

    The mask function is None when no agent's action space was padded.
    """
    import supersuit

    counts = {a: getattr(env.action_space(a), "n", None) for a in env.possible_agents}
    padded = supersuit.pad_action_space_v0(supersuit.pad_observations_v0(env))
    largest = max((n for n in counts.values() if n is not None), default=None)
    if largest is None or all(n == largest for n in counts.values()):
        return padded, None

    def mask_fn(_: ParallelEnv, agent: str) -> np.ndarray:
        mask = np.zeros(largest, np.int8)
        mask[: counts[agent]] = 1
        return mask

    return padded, mask_fn
