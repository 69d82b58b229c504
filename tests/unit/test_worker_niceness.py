"""Local Ray instances start their workers at niceness 0 unless the user says otherwise."""

from __future__ import annotations

from rl_apps.local_ray import worker_niceness_config


def test_workers_start_at_the_drivers_niceness_by_default(monkeypatch):
    monkeypatch.delenv("RAY_worker_niceness", raising=False)
    assert worker_niceness_config(None) == {"worker_niceness": 0}
    assert worker_niceness_config({"object_timeout_milliseconds": 5}) == {
        "object_timeout_milliseconds": 5,
        "worker_niceness": 0,
    }


def test_the_users_niceness_wins(monkeypatch):
    monkeypatch.delenv("RAY_worker_niceness", raising=False)
    assert worker_niceness_config({"worker_niceness": 10}) == {"worker_niceness": 10}
    monkeypatch.setenv("RAY_worker_niceness", "5")
    assert worker_niceness_config(None) == {}  # Ray reads the variable itself
