"""Episode replay for team algorithms (no Ray): chunks join into episodes, rows are padded
with the targets' conventions (filled prefix, terminal flag only at a real terminal step),
windows with burn-in, FIFO eviction, seeded sampling."""

from __future__ import annotations

import numpy as np
import pytest

from policies.common.episode_replay import (
    FILLED,
    LOSS_MASK,
    TERMINATEDS,
    EpisodeAssembler,
    EpisodeReplay,
    TeamEpisode,
)


def episode(length: int, start: int = 0, terminated: bool = False) -> TeamEpisode:
    """Observations count 0..length from ``start``; rewards the step index."""
    steps = np.arange(start, start + length + 1, dtype=np.float32)
    return TeamEpisode(
        obs={"obs": steps[:, None, None].repeat(2, 1), "state": steps[:, None]},
        actions=np.tile(np.arange(start, start + length)[:, None], (1, 2)),  # [L, 2]
        rewards=steps[:-1].copy(),
        terminated=terminated,
    )


def test_chunks_join_into_one_episode_without_repeating_the_seam_observation():
    assembler = EpisodeAssembler()
    assert assembler.add("e1", True, episode(3), done=False) is None
    whole = assembler.add("e1", False, episode(2, start=3, terminated=True), done=True)
    assert len(whole) == 5 and whole.terminated
    np.testing.assert_array_equal(whole.obs["state"][:, 0], np.arange(6))
    np.testing.assert_array_equal(whole.rewards, np.arange(5))
    assert not assembler.pending


def test_a_continuation_without_its_start_is_dropped_and_counted():
    assembler = EpisodeAssembler(max_pending=1)
    assert assembler.add("lost", False, episode(2, start=7), done=True) is None
    assembler.add("a", True, episode(2), done=False)
    assembler.add("b", True, episode(2), done=False)  # evicts "a"
    assert list(assembler.pending) == ["b"] and assembler.dropped == 2


def test_whole_episode_rows_are_padded_after_their_real_steps():
    replay = EpisodeReplay(capacity=10, seed=0)
    replay.add(episode(2, terminated=True))
    replay.add(episode(4))
    batch = replay.sample(8)
    assert batch["obs"]["obs"].shape == (8, 5, 2, 1) and batch["actions"].shape == (8, 4, 2)
    for row in range(8):
        real = int(batch[FILLED][row].sum())
        assert real in (2, 4)
        np.testing.assert_array_equal(batch[FILLED][row], np.arange(4) < real)
        np.testing.assert_array_equal(batch[LOSS_MASK][row], batch[FILLED][row])
        states = batch["obs"]["state"][row, : real + 1, 0]
        np.testing.assert_array_equal(states, np.arange(real + 1))
        expected_terminal = np.zeros(4)
        if real == 2:
            expected_terminal[1] = 1.0
        np.testing.assert_array_equal(batch[TERMINATEDS][row], expected_terminal)


def test_windows_carry_burn_in_steps_without_loss_and_no_terminal_flag_mid_episode():
    replay = EpisodeReplay(capacity=10, seed=3)
    replay.add(episode(20, terminated=True))
    batch = replay.sample(64, seq_len=5, burn_in=3)
    for row in range(64):
        first = int(batch["obs"]["state"][row, 0, 0])  # the row's first step in the episode
        steps = int(batch[FILLED][row].sum())
        warm = steps - 5
        assert int(batch[LOSS_MASK][row].sum()) == 5
        assert warm == 3 if first > 0 else 0 <= warm <= 3  # fewer only at the episode start
        np.testing.assert_array_equal(batch[LOSS_MASK][row, warm:steps], np.ones(5))
        ends_episode = first + steps == 20
        assert batch[TERMINATEDS][row].sum() == float(ends_episode)
        assert batch[TERMINATEDS][row, steps - 1] == float(ends_episode)


def test_fifo_eviction_and_seeded_sampling():
    replay = EpisodeReplay(capacity=2, seed=1)
    for length in (1, 2, 3):
        replay.add(episode(length))
    assert [len(e) for e in replay.episodes] == [2, 3] and replay.added_episodes == 3
    twin = EpisodeReplay(capacity=2, seed=1)
    for e in replay.episodes:
        twin.add(e)
    np.testing.assert_array_equal(replay.sample(5)[FILLED], twin.sample(5)[FILLED])
    with pytest.raises(ValueError, match="empty"):
        EpisodeReplay(capacity=3).sample(1)


def test_single_transitions_are_uniform_over_steps_and_carry_member_rewards():
    replay = EpisodeReplay(10, seed=0)
    short, long = episode(1, start=100), episode(9)
    long.member_rewards = np.stack([long.rewards, -long.rewards], axis=1)  # [L, 2]
    short.member_rewards = np.stack([short.rewards, -short.rewards], axis=1)
    replay.add(short)
    replay.add(long)
    assert replay.steps == 10
    batch = replay.sample(4000, seq_len=1)
    first = batch["obs"]["state"][:, 0, 0]
    assert abs((first == 100).mean() - 0.1) < 0.02  # 1 of 10 stored steps
    assert np.array_equal(batch["member_rewards"][:, 0, 0], first)
    assert np.array_equal(batch["member_rewards"][:, 0, 1], -first)
    assert np.array_equal(batch["obs"]["state"][:, 1, 0], first + 1)  # the next observation
