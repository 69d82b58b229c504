"""``debugging.deterministic: true``: the same seed gives the same run, fresh or resumed.

What made two runs with the same seed differ (measured on the MPE quickstart, RLlib 2.60):

- **Python's string hashing** is randomized per process, and RLlib orders the agents of an
  env step by iterating a ``set`` of agent ids (``MultiAgentEpisode.get_agents_to_act``,
  ``get_agents_that_stepped``): the same random draws went to different agents, so runs
  differed already at iteration 1, also with sampling in the driver. Two builds in one
  process agreed. The fix: ``PYTHONHASHSEED=0``, which ``marl train`` sets by restarting
  itself (``os.execve``) before anything has started.
- **Ray's scheduling**: remote env runners finish in any order and a slow one can miss
  ``sample_timeout_s``, so which episodes make a batch depends on timing. Deterministic
  mode samples and learns in the driver (``num_env_runners: 0``, ``num_learners: 0``).
- **Threads**: torch runs with one thread and ``torch.use_deterministic_algorithms``
  (``warn_only``: an op without a deterministic kernel warns instead of failing).
- **State a checkpoint does not hold**: the episodes in progress, the envs' random
  generators, and the global RNGs (action sampling, minibatch shuffling). Before
  iteration ``k``, ``seed_iteration`` seeds ``random``, ``numpy`` and ``torch`` from
  (seed, k) and makes the env runner reset every sub-env with seeds from (seed, k): an
  iteration depends only on the seed, its number and what the checkpoint holds (weights,
  optimizer, counters), so a run resumed from checkpoint k repeats the original's
  iterations after k. Episodes still running at the end of an iteration are cut there
  (their steps are trained on, as with any fragment; they are not continued).
- **Time and unseeded draws**: ``reporting.min_time_s_per_iteration`` (an iteration's size
  set by the clock) and ``env.step_error_rate`` (failures drawn unseeded on purpose) are
  refused in deterministic mode. ``stop.time_total_s`` and ``checkpoint.every_s`` decide
  only when a run stops or saves, not what it computes.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from env_wrappers.recovering import derived_seed

#: The hash seed deterministic runs use.
HASH_SEED = "0"


def is_deterministic(spec: Any) -> bool:
    """Whether the spec asks for ``debugging.deterministic``."""
    return bool(spec.debugging.get("deterministic", False))


def problems(spec: Any) -> list[tuple[str, str]]:
    """Spec settings that deterministic mode cannot reproduce, as (dotted path, message)."""
    found = []
    if spec.env.kwargs.get("step_error_rate"):
        found.append(("env.step_error_rate", "fault injection is unseeded on purpose"))
    if spec.reporting.get("min_time_s_per_iteration"):
        found.append(
            ("reporting.min_time_s_per_iteration", "makes an iteration's size depend on time")
        )
    return [(path, f"{why}: not reproducible under debugging.deterministic") for path, why in found]


def configure(config: Any) -> None:
    """Deterministic mode's config: sampling and learning in the driver."""
    config.env_runners(num_env_runners=0)
    config.learners(num_learners=0)
    config.evaluation(evaluation_num_env_runners=0)


def hash_seed_fixed() -> bool:
    """Whether this interpreter runs with the fixed string-hash seed."""
    return os.environ.get("PYTHONHASHSEED") == HASH_SEED


def prepare_process(spec: Any, may_restart: bool, echo: Callable[[str], None]) -> None:
    """Deterministic mode: fixed string hashing (restarting the CLI if allowed), torch fixed."""
    if not is_deterministic(spec):
        return
    if not hash_seed_fixed():
        if may_restart:
            restart_with_hash_seed(echo)  # does not return
        echo(
            "warning: debugging.deterministic without PYTHONHASHSEED=0 in the environment: "
            "runs in different processes may differ (marl train sets it itself)"
        )
    fix_torch()


def restart_with_hash_seed(echo: Callable[[str], None]) -> None:
    """Replaces this process by the same command with ``PYTHONHASHSEED`` fixed."""
    echo(f"deterministic mode: restarting with PYTHONHASHSEED={HASH_SEED}")
    sys.stdout.flush()
    sys.stderr.flush()
    env = {**os.environ, "PYTHONHASHSEED": HASH_SEED}
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)


def fix_torch() -> None:
    """One torch thread, deterministic kernels where torch has them."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)


def seed_iteration(algo: Any, seed: int, iteration: int) -> None:
    """Seeds the global RNGs and the env runner's resets for ``iteration`` (1-based)."""
    value = derived_seed(seed, iteration)
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)
    runner = getattr(algo, "env_runner", None)
    if runner is not None and hasattr(runner, "reseed"):
        runner.reseed(value)
