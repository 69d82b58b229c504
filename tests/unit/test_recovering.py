"""A sub-env whose step raises is rebuilt alone; its episode ends as a truncation."""

from __future__ import annotations

from env_wrappers.make import make_rllib_env
from env_wrappers.recovering import RecoveringSubEnv, derived_seed
from rl_apps.env_runner import EnvFailureCount


class Breaks:
    """Makes the wrapped env's next ``step`` raise once."""

    def __init__(self, env) -> None:
        self.env = env

    def now(self) -> None:
        def fail(_actions):
            raise RuntimeError("simulator crashed")

        self.env.step = fail


def _env():
    return make_rllib_env("simple_spread", N=2, max_cycles=25)


def test_a_failed_step_truncates_at_the_last_observation_and_rebuilds():
    failures = []
    first = _env()
    env = RecoveringSubEnv(first, _env, on_failure=lambda: failures.append(1), base_seed=7)
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step({agent: 0 for agent in obs})
    Breaks(first).now()
    after, rewards, terminated, truncated, _ = env.step({agent: 0 for agent in obs})
    assert failures == [1] and env.failures == 1
    assert env.env is not first  # rebuilt
    assert set(after) == set(obs) and all((after[a]["obs"] == obs[a]["obs"]).all() for a in obs)
    assert rewards == {agent: 0.0 for agent in obs}
    assert truncated["__all__"] and not terminated["__all__"]
    fresh, _ = env.reset()  # what the vector env's auto-reset does next
    assert set(fresh) == set(obs)
    env.step({agent: 0 for agent in fresh})  # the new env steps


def test_a_rebuilt_env_resets_with_a_derived_seed():
    env = RecoveringSubEnv(_env(), _env, base_seed=7)
    env.reset(seed=0)
    Breaks(env.env).now()
    env.step({})
    reseeded, _ = env.reset()
    again = _env()
    expected, _ = again.reset(seed=derived_seed(7, 1))
    assert all((reseeded[a]["obs"] == expected[a]["obs"]).all() for a in expected)


def test_the_console_line_counts_this_iteration_s_failures_only():
    count = EnvFailureCount(seen=5)  # a resumed run: 5 failures before the checkpoint
    assert count.note({"env_runners": {"num_env_step_failures": 5}}) is None
    line = count.note({"env_runners": {"num_env_step_failures": 12}})
    assert line == "  env step failures: 7 (sub-envs rebuilt; 12 so far)"
