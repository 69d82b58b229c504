"""Fault injection: ``step_error_rate`` is validated and makes about that share of steps fail."""

from __future__ import annotations

import pytest

from env_wrappers.chaos import InjectedEnvError
from env_wrappers.make import make_env
from env_wrappers.registry import check_env_kwargs


@pytest.mark.parametrize("rate", [-0.1, 1.0, "often", True])
def test_bad_rates_are_named(rate):
    (problem,) = check_env_kwargs("simple_spread", {"step_error_rate": rate})
    assert problem.startswith("step_error_rate must be a number in [0, 1)")


def test_about_rate_of_the_steps_raise():
    env = make_env("simple_spread", N=2, max_cycles=1000, step_error_rate=0.1)
    env.reset(seed=0)
    failures = 0
    for _ in range(2000):
        try:
            env.step({agent: 0 for agent in env.agents})
        except InjectedEnvError:
            failures += 1
    assert 100 < failures < 300  # 200 expected; binomial sd about 13
