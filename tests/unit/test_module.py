"""The actor-critic module of IPPO and MAPPO, in plain torch: masked actions get zero
probability, the actor never reads the global state, the critic reads what it is told."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns

from policies.common.networks import mask_logits, mlp
from policies.mappo.module import ActorCriticModule


def obs_space(n_obs=6, n_state=10, n_actions=4, mask=True):
    spaces = {
        "obs": gym.spaces.Box(-1, 1, (n_obs,), np.float32),
        "state": gym.spaces.Box(-1, 1, (n_state,), np.float32),
    }
    if mask:
        spaces["action_mask"] = gym.spaces.Box(0, 1, (n_actions,), np.int8)
    return gym.spaces.Dict(spaces)


def make_module(action_space=None, mask=True, **options):
    torch.manual_seed(0)
    return ActorCriticModule(
        observation_space=obs_space(mask=mask),
        action_space=action_space or gym.spaces.Discrete(4),
        model_config={"fcnet_hiddens": [16], "fcnet_activation": "tanh", **options},
    )


def batch(n=32, mask=None, state=None):
    torch.manual_seed(1)
    obs = {"obs": torch.randn(n, 6), "state": state if state is not None else torch.randn(n, 10)}
    if mask is not None:
        obs["action_mask"] = mask
    return {Columns.OBS: obs}


def test_mask_logits_gives_zero_probability():
    logits = torch.randn(5, 3)
    mask = torch.tensor([[1, 0, 1]] * 5, dtype=torch.int8)
    probs = torch.softmax(mask_logits(logits, mask), -1)
    assert torch.all(probs[:, 1] == 0)
    assert torch.allclose(probs.sum(-1), torch.ones(5))


def test_masked_actions_are_never_sampled_and_entropy_stays_finite():
    module = make_module()
    mask = torch.tensor([[0, 1, 0, 1]] * 256, dtype=torch.int8)
    out = module.forward_exploration(batch(256, mask))
    dist = module.get_exploration_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
    actions = dist.sample()
    assert set(actions.tolist()) <= {1, 3}
    assert torch.isfinite(dist.entropy()).all()
    assert torch.isfinite(dist.logp(actions)).all()


def test_actor_and_critic_ignore_global_state():
    module = make_module(mask=False)
    clean = batch(8, state=torch.zeros(8, 10))
    noisy = batch(8, state=torch.randn(8, 10) * 100)
    a = module.forward_inference(clean)[Columns.ACTION_DIST_INPUTS]
    b = module.forward_inference(noisy)[Columns.ACTION_DIST_INPUTS]
    assert torch.equal(a, b)
    assert torch.equal(module.compute_values(clean), module.compute_values(noisy))


def test_continuous_actions_output_mean_and_log_std():
    module = make_module(gym.spaces.Box(0, 1, (5,), np.float32), mask=False)
    out = module.forward_inference(batch(3))[Columns.ACTION_DIST_INPUTS]
    assert out.shape == (3, 10)


def test_inference_only_module_has_no_critic():
    module = ActorCriticModule(
        observation_space=obs_space(),
        action_space=gym.spaces.Discrete(4),
        inference_only=True,
        model_config={},
    )
    assert not hasattr(module, "vf")


def test_mlp_shapes():
    net = mlp(4, [8, 8], 3)
    assert net(torch.zeros(2, 4)).shape == (2, 3)


def test_centralized_critic_reads_state_and_actor_does_not():
    module = make_module(mask=False, critic_input="state")
    clean = batch(8, state=torch.zeros(8, 10))
    noisy = batch(8, state=torch.randn(8, 10) * 100)
    actor_a = module.forward_inference(clean)[Columns.ACTION_DIST_INPUTS]
    actor_b = module.forward_inference(noisy)[Columns.ACTION_DIST_INPUTS]
    assert torch.equal(actor_a, actor_b)  # decentralized execution: the state is never read
    assert not torch.equal(module.compute_values(clean), module.compute_values(noisy))


def test_agent_specific_critic_reads_state_and_own_obs():
    module = make_module(mask=False, critic_input="agent_specific")
    assert module.vf[0].in_features == 10 + 6
    base = batch(4)
    moved = {Columns.OBS: {**base[Columns.OBS], "obs": base[Columns.OBS]["obs"] + 1.0}}
    assert not torch.equal(module.compute_values(base), module.compute_values(moved))


def test_value_normalization_denormalizes_values():
    module = make_module(mask=False, critic_input="state", value_normalization=True)
    module.value_norm.update(torch.tensor([-100.0, -80.0, -120.0]))
    data = batch(5)
    raw = module.compute_normalized_values(data)
    expected = raw * module.value_norm.std.float() + module.value_norm.mean.float()
    assert torch.allclose(module.compute_values(data), expected)
    assert "value_norm.running_mean" in module.state_dict()
