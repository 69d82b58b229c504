"""The episode-replay training step's bookkeeping without a Ray cluster: RLlib episode chunks
become team episodes, finished ones land in one buffer per module, batches count env steps."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

from policies.common.episode_replay import ACTIONS, FILLED, REWARDS
from policies.common.episode_training import EpisodeTrainer, team_chunks


def agent_episode(length: int, start: int = 0, terminated: bool = False) -> SingleAgentEpisode:
    """A team agent's chunk as env runners send it (numpy): 2 members, obs count from start."""
    steps = range(start, start + length + 1)
    observations = [{"obs": np.full((2, 1), t, np.float32), "state": np.full(1, t)} for t in steps]
    episode = SingleAgentEpisode(
        observations=observations,
        actions=[np.array([t, t]) for t in range(start, start + length)],  # [n]
        rewards=[float(t) for t in range(start, start + length)],
        terminated=terminated,
        t_started=start,
        len_lookback_buffer=0,
    )
    episode.to_numpy()
    return episode


def multi_agent(id_: str, **agents: SingleAgentEpisode) -> SimpleNamespace:
    """What ``team_chunks`` reads of a MultiAgentEpisode; team ``t`` maps to module ``m_t``."""
    return SimpleNamespace(id_=id_, agent_episodes=agents, module_for=lambda agent: f"m_{agent}")


def config(**overrides) -> SimpleNamespace:
    options = {
        "seed": 0,
        "sample_timeout_s": None,
        "num_steps_sampled_before_learning_starts": 0,
        "episode_buffer_size": 10,
        "episode_batch_size": 4,
        "sequence_length": None,
        "burn_in": 0,
        "updates_per_episode": 1.0,
    }
    return SimpleNamespace(**{**options, **overrides})


def test_team_chunks_read_every_team_agent_and_skip_empty_ones():
    episode = multi_agent("e1", a=agent_episode(3), b=agent_episode(0), c=agent_episode(2, 4))
    chunks = list(team_chunks([episode]))
    assert [(m, key, starts, done) for m, key, starts, _, done in chunks] == [
        ("m_a", "e1/a", True, False),
        ("m_c", "e1/c", False, False),
    ]
    chunk = chunks[1][3]
    assert chunk.obs["obs"].shape == (3, 2, 1) and chunk.actions.shape == (2, 2)
    np.testing.assert_array_equal(chunk.obs["state"][:, 0], [4, 5, 6])
    np.testing.assert_array_equal(chunk.rewards, [4.0, 5.0])
    assert chunk.rewards.dtype == np.float32 and not chunk.terminated


def test_chunks_of_one_episode_join_before_they_are_stored_per_module():
    trainer = EpisodeTrainer(config())
    first = multi_agent("e1", a=agent_episode(3), b=agent_episode(2, terminated=True))
    assert trainer.store([first]) == 1
    assert list(trainer.buffers) == ["m_b"]
    assert trainer.store([multi_agent("e1", a=agent_episode(2, start=3, terminated=True))]) == 1
    whole = trainer.buffers["m_a"].episodes[0]
    assert len(whole) == 5 and whole.terminated
    np.testing.assert_array_equal(whole.obs["state"][:, 0], np.arange(6))
    assert not trainer.assembler.pending


def test_train_batch_has_a_padded_batch_per_module_and_counts_real_steps():
    trainer = EpisodeTrainer(config(episode_batch_size=3))
    done = {"a": agent_episode(4, terminated=True), "b": agent_episode(2, terminated=True)}
    trainer.store([multi_agent("e1", **done)])
    batch = trainer.train_batch()
    assert set(batch.policy_batches) == {"m_a", "m_b"}
    rows_a, rows_b = batch.policy_batches["m_a"], batch.policy_batches["m_b"]
    assert rows_a[ACTIONS].shape == (3, 4, 2) and rows_b[REWARDS].shape == (3, 2)
    assert batch.env_steps() == 3 * 4 + 3 * 2 == rows_a[FILLED].sum() + rows_b[FILLED].sum()
