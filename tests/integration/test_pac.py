"""PAC end to end on the team view: each member's own reward reaches the critic's targets, the
logged metrics, the entropy annealing from the budget, and the joint-table limit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ray.rllib.utils.postprocessing.episodes import add_one_ts_to_episodes_and_truncate

from env_wrappers.envs.matrix import STAG_HUNT
from policies.pac.connectors import member_rewards
from rl_apps.build import plan
from rl_apps.errors import SpecError
from rl_apps.spec import validate_spec

METRICS = (
    "vf_loss",
    "state_value_loss",
    "policy_loss",
    "entropy",
    "entropy_coeff",
    "pareto_q_mean",
    "state_value_mean",
    "advantage_mean",
    "advantage_std",
    "pi_max_mean",
)


def spec(env: dict, stop: dict | None = None, model: dict | None = None, **training):
    raw = {
        "name": "p",
        "algo": "pac",
        "env": env,
        "seed": 3,
        "stop": stop or {"num_env_steps_sampled_lifetime": 10_000},
        "env_runners": {"num_env_runners": 0, "num_envs_per_env_runner": 4},
        "training": {"train_batch_size_per_learner": 64, **training},
        "rl_module": {"model_config": {"fcnet_hiddens": [16], "critic_hiddens": [16]}},
    }
    raw["rl_module"]["model_config"].update(model or {})
    return validate_spec(raw, "<pac>")


@pytest.mark.usefixtures("ray_session")
def test_each_members_own_reward_reaches_the_targets_and_metrics_are_logged():
    algo = plan(spec({"name": "stag_hunt"})).config.build_algo()
    try:
        result = algo.train()
        stats = result["learners"]["agent"]
        for key in METRICS:
            assert math.isfinite(stats[key]), key
        assert stats["entropy_coeff"] == pytest.approx(20.0, rel=0.01)  # annealing just began
        episodes = algo.env_runner.sample(num_timesteps=16, random_actions=True)
        for episode in episodes:
            team = episode.agent_episodes["agent"]
            add_one_ts_to_episodes_and_truncate([team])
            rows = member_rewards([team], 2)  # [T + 1, n]: one step, then the extra row
            joint = tuple(int(a) for a in team.get_actions()[0])
            assert rows.tolist() == [list(STAG_HUNT[joint[0]][joint[1]]), [0.0, 0.0]]
    finally:
        algo.stop()


def test_the_entropy_coefficient_anneals_over_80_percent_of_the_budget():
    config = plan(spec({"name": "climbing_game"})).config
    assert config.entropy_coeff == [[0, 20.0], [8000, 0.01]]
    config = plan(spec({"name": "climbing_game"}, entropy_anneal_steps=500)).config
    assert config.entropy_coeff == [[0, 20.0], [500, 0.01]]
    assert plan(spec({"name": "climbing_game"}, entropy_coeff=0.5)).config.entropy_coeff == 0.5


def test_without_an_env_step_budget_the_annealing_needs_its_length():
    with pytest.raises(SpecError, match="training.entropy_anneal_steps"):
        plan(spec({"name": "climbing_game"}, stop={"training_iteration": 3}))


def test_a_joint_action_table_above_the_limit_is_refused_naming_env_agents_and_actions():
    lbf = {"name": "lbf", "size": 8, "players": 6, "food": 2, "team_reward": "sum"}
    with pytest.raises(SpecError) as err:
        plan(spec(lbf))
    text = str(err.value)
    assert "training.max_joint_rows" in text and "'lbf'" in text
    assert "6 agents, 6 actions" in text and "7,776" in text and "4,096" in text
    assert plan(spec(lbf, max_joint_rows=8000)).config.max_joint_rows == 8000


def test_member_rewards_needs_the_team_views_info():
    class Episode:
        def __len__(self) -> int:
            return 2

        def get_infos(self) -> list:
            return [{}, {"other": 1}, {"other": 1}]

    with pytest.raises(ValueError, match="member_rewards"):
        member_rewards([Episode()], 2)
    assert np.asarray(member_rewards([], 2)).shape == (0, 2)


def test_gru_actors_are_refused_naming_the_key():
    with pytest.raises(SpecError) as err:
        plan(spec({"name": "climbing_game"}, model={"use_gru": True}))
    text = str(err.value)
    assert "rl_module.model_config.use_gru" in text and "pac's actors are MLPs only" in text
