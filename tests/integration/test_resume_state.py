"""A restored algorithm continues exactly: iteration, lifetime env steps, weights, optimizer
state, and env runners acting with the restored weights from the first step."""

from __future__ import annotations

import numpy as np
import pytest

from rl_apps import checkpoints as ckpt
from rl_apps.actor_weights import algorithm_writer
from rl_apps.build import build_algo_config
from rl_apps.spec import load_spec
from rl_apps.train import restore_checkpoint
from rl_apps.weights import runner_weight_mismatches

from ..conftest import QUICKSTART, TINY

pytestmark = pytest.mark.usefixtures("ray_session")


def flat(tree, prefix=""):
    if isinstance(tree, dict):
        out = {}
        for key, value in tree.items():
            out.update(flat(value, f"{prefix}{key}/"))
        return out
    value = tree.detach().cpu().numpy() if hasattr(tree, "detach") else np.asarray(tree)
    return {prefix: value}


def learner_state(algo):
    state = algo.learner_group.get_state()["learner"]
    return flat(state["rl_module"]), flat(state["optimizer"])


def perturb_runner(algo):
    def shift(runner):
        module = runner.module["shared"]
        state = module.get_state()
        module.set_state({k: v + 1.0 for k, v in state.items()})

    algo.env_runner_group.foreach_env_runner(shift, local_env_runner=False)


def test_restore_continues_exactly(tmp_path):
    spec = load_spec(QUICKSTART, TINY + ["env_runners.num_env_runners=1"])
    config = build_algo_config(spec)
    algo = config.build_algo()
    try:
        algo.train()
        result = algo.train()
        steps = result["env_runners"]["num_env_steps_sampled_lifetime"]
        path = ckpt.save_checkpoint(
            tmp_path,
            ckpt.Counters(2, int(steps), 1.0),
            algorithm_writer(algo),
            "x",
            keep=1,
        )
        weights, optimizer = learner_state(algo)
    finally:
        algo.stop()

    fresh = config.build_algo()
    try:
        before, _ = learner_state(fresh)
        assert any(not np.array_equal(v, before[k]) for k, v in weights.items())
        counters = restore_checkpoint(fresh, path, echo=lambda _: None)
        assert counters.iteration == 2 and fresh.iteration == 2
        assert runner_weight_mismatches(fresh) == []
        new_weights, new_optimizer = learner_state(fresh)
        for key, value in weights.items():
            assert np.array_equal(value, new_weights[key]), key
        for key, value in optimizer.items():
            assert np.array_equal(value, new_optimizer[key]), key
        perturb_runner(fresh)
        assert runner_weight_mismatches(fresh), "the check must see a stale env runner"
        restore_checkpoint(fresh, path, echo=lambda _: None)
        nxt = fresh.train()
        assert nxt["training_iteration"] == 3
        sampled = nxt["env_runners"]["num_env_steps_sampled"]
        assert nxt["env_runners"]["num_env_steps_sampled_lifetime"] == steps + sampled
    finally:
        fresh.stop()
