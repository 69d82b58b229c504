"""Generalized advantage estimation (Schulman et al. 2016) over one agent's trajectory (no Ray).

Convention: a trajectory of ``T`` steps has ``T`` rewards and ``T + 1`` values. ``values[t]`` is
the (denormalized) value of the observation the agent acted on at step ``t``; ``values[T]`` is
the value of the observation *after* the last step, and one flag says how the trajectory ends:

- ``terminated=True``: the episode ended in a terminal state, nothing to bootstrap from;
  ``values[T]`` is ignored (it may be anything, even NaN).
- ``terminated=False``, truncated at the episode's end (time limit): ``values[T]`` is the value
  of the final observation returned by the env.
- ``terminated=False``, the rollout was cut in the middle of an episode: ``values[T]`` is the
  value of the next observation, the one the episode continues from.

The last two cases are the same computation: only termination stops the bootstrap. A
trajectory never holds an episode boundary in its middle: split it at each boundary first.

With ``delta_t = r_t + gamma * V_{t+1} - V_t`` (``V_T = 0`` if terminated), the advantages obey
``A_{T-1} = delta_{T-1}`` and ``A_t = delta_t + gamma * lambda * A_{t+1}``; the value targets
are ``A_t + V_t`` (the TD(lambda) returns).
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

Array = TypeVar("Array", np.ndarray, torch.Tensor)


def gae(
    rewards: Array,
    values: Array,
    terminated: bool,
    gamma: float,
    lambda_: float,
) -> tuple[Array, Array]:
    """Advantages and value targets of one agent's trajectory.

    Computed in float64 numpy and returned in the type (and for tensors the dtype and device)
    of ``rewards``; tensors are detached, no gradient flows through GAE.

    Args:
        rewards: ``[T]`` rewards ``r_0 .. r_{T-1}``.
        values: ``[T + 1]`` values ``V_0 .. V_T``; ``V_T`` is the bootstrap value (see the
            module docstring), ignored when ``terminated``.
        terminated: Whether the last step ended the episode in a terminal state.
        gamma: Discount factor.
        lambda_: GAE lambda (1: Monte-Carlo returns minus values, 0: one-step TD errors).

    Returns:
        ``(advantages, value_targets)``, both ``[T]``.

    Raises:
        ValueError: If the shapes do not follow the convention.

    """
    r = _as_float64(rewards)  # [T]
    v = _as_float64(values)  # [T + 1]
    if r.ndim != 1 or v.shape != (r.shape[0] + 1,):
        raise ValueError(
            f"expected rewards [T] and values [T + 1], got {tuple(r.shape)} and {tuple(v.shape)}"
        )
    next_v = v[1:].copy()  # [T] value of the observation after each step
    if terminated and len(r) > 0:
        next_v[-1] = 0.0
    deltas = r + gamma * next_v - v[:-1]  # [T]
    advantages = _discounted_cumsum(deltas, gamma * lambda_)  # [T]
    targets = advantages + v[:-1]  # [T]
    return _like(advantages, rewards), _like(targets, rewards)


def _discounted_cumsum(x: np.ndarray, discount: float) -> np.ndarray:
    """``y_t = x_t + discount * y_{t+1}``, ``y_{T-1} = x_{T-1}``."""
    y = np.zeros_like(x)
    running = 0.0
    for t in reversed(range(len(x))):
        running = x[t] + discount * running
        y[t] = running
    return y


def _as_float64(x: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _like(x: np.ndarray, reference: Array) -> Array:
    if isinstance(reference, torch.Tensor):
        dtype = reference.dtype if reference.is_floating_point() else torch.float32
        return torch.as_tensor(x, dtype=dtype, device=reference.device)
    return x
