"""Spec-named supersuit wrappers are validated; padding masks the actions that do not exist."""

from __future__ import annotations

import numpy as np
from mpe2 import simple_speaker_listener_v4, simple_spread_v3

from env_wrappers.pettingzoo import PettingZooEnv
from env_wrappers.preprocess import apply_wrappers, check_wrappers, pad_agents


def test_valid_wrapper_list_passes():
    wrappers = [{"color_reduction_v0": {"mode": "B"}}, {"frame_stack_v1": {"stack_size": 4}}]
    assert check_wrappers(wrappers) == []


def test_wrapper_problems_are_named():
    problems = check_wrappers(
        [
            {"frame_stak_v1": {}},
            {"resize_v1": {"x_size": 84}},
            {"frame_stack_v1": {"size": 4}},
            "flatten_v0",
        ]
    )
    assert (
        "wrappers[0]: unknown wrapper 'frame_stak_v1' (did you mean 'frame_stack_v1'?)"
        in problems[0]
    )
    assert "wrappers[1].resize_v1: missing argument 'y_size'" in problems
    assert any("wrappers[2].frame_stack_v1: unknown argument 'size'" in p for p in problems)
    assert any(p.startswith("wrappers[3]: expected one") for p in problems)
    assert check_wrappers({"flatten_v0": {}}) == [
        "wrappers must be a list of {wrapper_name: {arguments}} mappings"
    ]


def test_wrappers_that_need_code_are_not_allowed():
    assert (
        "unknown wrapper 'observation_lambda_v0'"
        in check_wrappers([{"observation_lambda_v0": {}}])[0]
    )


def test_apply_wrappers_in_order():
    env = apply_wrappers(simple_spread_v3.parallel_env(), [{"frame_stack_v1": {"stack_size": 2}}])
    obs, _ = env.reset(seed=0)
    assert obs["agent_0"].shape == (36,)


def test_padding_masks_padded_actions():
    env, mask_fn = pad_agents(simple_speaker_listener_v4.parallel_env())
    wrapped = PettingZooEnv(env, mask_fn=mask_fn)
    obs, _ = wrapped.reset(seed=0)
    assert obs["speaker_0"]["obs"].shape == obs["listener_0"]["obs"].shape == (11,)
    assert obs["speaker_0"]["action_mask"].tolist() == [1, 1, 1, 0, 0]  # speaker has 3 actions
    assert obs["listener_0"]["action_mask"].tolist() == [1, 1, 1, 1, 1]
    assert wrapped.action_spaces["speaker_0"] == wrapped.action_spaces["listener_0"]
    assert np.all(wrapped.observation_spaces["speaker_0"]["obs"].shape == (11,))


def test_padding_same_spaces_needs_no_mask():
    _, mask_fn = pad_agents(simple_spread_v3.parallel_env())
    assert mask_fn is None
