"""Throughput ceilings: the best whole-iteration rate a spec's per-step costs allow (no Ray).

``marl bench throughput`` measures, in one process on one core, the spec's envs sampled by a
local env runner alone (``sampling``, env steps/s) and whole sequential training iterations
with that same local runner (``iterations``). Per env step that gives two CPU costs:

- ``s = 1 / sampling``: stepping the env plus RLlib's per-step sampling path (connectors,
  module forward, episode bookkeeping);
- ``l = 1 / iterations - s``: everything else an iteration does per env step, the learner's
  update above all.

Neither cost shrinks with more cores: envs sampled on several cores still cost ``s`` each,
and the learner is one process. With ``cores`` cores, sampling spread over all of them and
learning overlapped perfectly with sampling, no schedule beats ``min(cores / (s + l), 1 / l)``
env steps/s: the CPU work, or the learner alone on one core. Strictly sequential iterations
with ``samplers`` env runners in parallel reach at most ``1 / (s / samplers + l)``. Both ignore
what remote env runners add (moving episodes and weights between processes), so the real
rates are lower: these bounds are what no scheduling within the measured costs can beat.
If torch's learner uses more than one thread, ``l`` is its wall time, not its CPU time, and
both bounds are only more optimistic.
"""

from __future__ import annotations

import math


def per_step_costs(sampling: float, iterations: float) -> tuple[float, float]:
    """``(s, l)``: seconds of one core per env step to sample, and to do the rest.

    Args:
        sampling: env steps/s of one local env runner sampling alone.
        iterations: env steps/s of whole sequential iterations with that runner.

    """
    if sampling <= 0 or iterations <= 0:
        raise ValueError(f"rates must be positive, got {sampling} and {iterations}")
    sample_cost = 1.0 / sampling
    return sample_cost, max(1.0 / iterations - sample_cost, 0.0)


def overlapped_ceiling(sampling: float, iterations: float, cores: int) -> float:
    """Env steps/s no schedule on ``cores`` cores beats: ``min(cores / (s + l), 1 / l)``."""
    sample_cost, rest_cost = per_step_costs(sampling, iterations)
    work_bound = cores / (sample_cost + rest_cost)
    learner_bound = math.inf if rest_cost == 0 else 1.0 / rest_cost
    return min(work_bound, learner_bound)


def sequential_ceiling(sampling: float, iterations: float, samplers: int) -> float:
    """Env steps/s of strictly sequential iterations at best: ``1 / (s / samplers + l)``."""
    sample_cost, rest_cost = per_step_costs(sampling, iterations)
    return 1.0 / (sample_cost / max(samplers, 1) + rest_cost)
