"""Classification of py-spy collapsed stacks into time categories (rl_apps.bench.profile_stacks)."""

from __future__ import annotations

import pytest

from rl_apps.bench.profile_stacks import (
    DRIVER_RULES,
    RUNNER_RULES,
    env_step_owner,
    frame_package,
    parse_collapsed,
    time_shares,
)

SAMPLE = "MultiAgentEnvRunner.sample (ray/rllib/env/multi_agent_env_runner.py:268)"
STEP = "EnvRunner._try_env_step (ray/rllib/env/env_runner.py:261)"
VECTOR = "SyncVectorMultiAgentEnv.step (ray/rllib/env/vector/sync_vector_multi_agent_env.py:135)"
ADAPTER = "PettingZooEnv.step (env_wrappers/pettingzoo.py:191)"
SIMULATOR = "ForagingEnv.step (lbforaging/foraging/environment.py:715)"
NUMPY = "sum (numpy/_core/fromnumeric.py:2400)"


def line(thread: str, frames: list[str], count: int) -> str:
    return f"thread (7): {thread};" + ";".join(frames) + f" {count}"


def test_parse_keeps_only_the_main_thread_and_drops_the_thread_frame() -> None:
    lines = [
        line("MainThread", ["a (x/y.py:1)", "b (x/y.py:2)"], 3),
        line("PythonGCThread", ["gc (x/z.py:1)"], 9),
        "garbage without a count",
    ]
    assert parse_collapsed(lines) == [(["a (x/y.py:1)", "b (x/y.py:2)"], 3)]


def test_frame_package_is_the_top_level_directory() -> None:
    assert frame_package(SIMULATOR) == "lbforaging"
    assert frame_package(NUMPY) == "numpy"
    assert frame_package("<module> (marl:5)") == "marl"


@pytest.mark.parametrize(
    ("inner", "owner"),
    [
        ([ADAPTER, SIMULATOR, NUMPY], "simulator"),  # numpy is charged to its caller
        ([ADAPTER, NUMPY], "adapter"),
        ([], "vector"),
    ],
)
def test_env_step_owner_is_the_innermost_non_math_package(inner: list[str], owner: str) -> None:
    assert env_step_owner([SAMPLE, STEP, VECTOR, *inner]) == owner


def test_runner_shares_sum_to_one_and_follow_the_rules() -> None:
    stacks = [
        (["main_loop (ray/_private/worker.py:1)"], 2),  # outside sample: idle
        ([SAMPLE, STEP, VECTOR, ADAPTER, SIMULATOR], 3),
        ([SAMPLE, STEP, VECTOR, ADAPTER], 1),
        ([SAMPLE, "TorchRLModule.forward_exploration (ray/rllib/core/rl_module/t.py:9)"], 4),
    ]
    shares = time_shares(stacks, RUNNER_RULES)
    assert shares == pytest.approx(
        {
            "idle between sample calls": 0.2,
            "env step: simulator": 0.3,
            "env step: adapter (env_wrappers, PettingZoo wrappers)": 0.1,
            "module forward": 0.4,
        }
    )


def test_driver_rules_put_waiting_before_learning() -> None:
    wait = [
        "synchronous_parallel_sample (ray/rllib/execution/rollout_ops.py:1)",
        "wait (ray/x.py:2)",
    ]
    backward = ["Learner.update (ray/a.py:1)", "Tensor.backward (torch/_tensor.py:5)"]
    shares = time_shares([(wait, 3), (backward, 1)], DRIVER_RULES)
    assert shares == {"waiting for env runner samples": 0.75, "learner: backward pass": 0.25}


def test_empty_profile_gives_no_shares() -> None:
    assert time_shares([], DRIVER_RULES) == {}


@pytest.mark.parametrize(
    "cmdline, runner",
    [
        ("ray::MarlEnvRunner" + " " * 40, True),  # an idle actor (Ray pads its title)
        ("ray::MarlEnvRunner.sample" + " " * 40, True),  # in a call
        ("ray::StockSamplingEnvRunner", True),
        ("ray::MultiAgentEnvRunner.sample", True),
        ("ray::IDLE", False),
        ("ray::_QueueActor.get", False),
        ("python -m rl_apps.cli train spec.yaml --EnvRunner", False),
    ],
)
def test_the_profiler_finds_env_runner_actors_by_their_process_title(cmdline, runner) -> None:
    from rl_apps.bench.profile import is_env_runner

    assert is_env_runner(cmdline) is runner
