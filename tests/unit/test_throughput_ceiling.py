"""The throughput ceilings of ``marl bench throughput`` from measured one-core rates."""

from __future__ import annotations

import math

import pytest

from rl_apps.bench.ceiling import overlapped_ceiling, per_step_costs, sequential_ceiling


def test_per_step_costs_split_an_iteration_into_sampling_and_the_rest():
    # 1,000 steps/s sampling alone (1 ms a step), 400 steps/s whole iterations (2.5 ms)
    sample_cost, rest_cost = per_step_costs(1000.0, 400.0)
    assert sample_cost == pytest.approx(1e-3)
    assert rest_cost == pytest.approx(1.5e-3)


def test_iterations_faster_than_sampling_leave_no_negative_learner_cost():
    assert per_step_costs(1000.0, 1100.0) == (pytest.approx(1e-3), 0.0)


@pytest.mark.parametrize("sampling, iterations", [(0.0, 10.0), (10.0, 0.0), (-1.0, 5.0)])
def test_rates_must_be_positive(sampling, iterations):
    with pytest.raises(ValueError, match="rates must be positive"):
        per_step_costs(sampling, iterations)


def test_overlapped_ceiling_is_the_cpu_work_when_the_learner_is_cheap():
    # s = 1 ms, l = 0.25 ms: two cores do 2 / 1.25 ms = 1,600 steps/s; the learner allows 4,000
    assert overlapped_ceiling(1000.0, 800.0, cores=2) == pytest.approx(1600.0)


def test_overlapped_ceiling_is_the_learner_when_it_needs_more_than_a_core():
    # s = 1 ms, l = 4 ms: the work bound 2 / 5 ms = 400 steps/s, the learner's 250 steps/s
    assert overlapped_ceiling(1000.0, 200.0, cores=2) == pytest.approx(250.0)


def test_overlapped_ceiling_without_learner_cost_is_every_core_sampling():
    assert overlapped_ceiling(1000.0, 1000.0, cores=2) == pytest.approx(2000.0)
    assert not math.isinf(overlapped_ceiling(1000.0, 1000.0, cores=2))


def test_sequential_ceiling_samples_in_parallel_then_learns():
    # s = 1 ms over 2 samplers = 0.5 ms, then l = 1.5 ms: 1 / 2 ms = 500 steps/s
    assert sequential_ceiling(1000.0, 400.0, samplers=2) == pytest.approx(500.0)
    assert sequential_ceiling(1000.0, 400.0, samplers=0) == pytest.approx(400.0)
    assert sequential_ceiling(1000.0, 400.0, samplers=2) <= overlapped_ceiling(1000.0, 400.0, 2)


def test_ceiling_table_shows_costs_and_ceilings_as_ratios_to_the_raw_env():
    from rl_apps.bench.throughput import ceiling_table, ratios

    rates = {
        "one_core_sampling": 1000.0,
        "one_core_iterations": 400.0,
        "ceiling_sequential": sequential_ceiling(1000.0, 400.0, samplers=2),
        "ceiling_overlapped": overlapped_ceiling(1000.0, 400.0, cores=2),
    }
    row = {"spec": "s.yaml", "raw": 4000.0, "cores": 2, "rates": rates}
    row["ratios"] = ratios(rates, 4000.0)
    line = ceiling_table([row]).splitlines()[-1]
    assert line == (
        "| s.yaml | 250 | 1,000 (0.25x) | 400 (0.10x) | 1,000 | 1,500 | 500 (0.12x) "
        "| 667 (0.17x) | 2 |"
    )
