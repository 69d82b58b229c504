"""The connector-state merge waits on a runner no longer than its samples do (no Ray)."""

from __future__ import annotations

from rl_apps.build import plan
from rl_apps.spec import load_spec

from ..conftest import QUICKSTART


def test_a_short_sample_timeout_bounds_the_state_sync_wait():
    planned = plan(load_spec(QUICKSTART, ["env_runners.sample_timeout_s=2"]))
    assert planned.config.sync_filters_on_rollout_workers_timeout_s == 2


def test_the_default_sample_timeout_keeps_rllibs_wait():
    planned = plan(load_spec(QUICKSTART))
    assert planned.config.sample_timeout_s >= 10
    assert planned.config.sync_filters_on_rollout_workers_timeout_s == 10
