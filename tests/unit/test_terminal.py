"""Time limits are not terminal states: ``policies.common.terminal`` against RLlib's episodes.

RLlib 2.60 marks a multi-agent episode (and each agent's episode) terminated when every agent
was truncated; the helper must still say "not terminal" there, and "terminal" after a real
termination. Built from RLlib's ``MultiAgentEpisode`` directly (no Ray runtime).
"""

from __future__ import annotations

import pytest
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

from policies.common.terminal import ended_in_terminal_state

AGENTS = ("a", "b")


def _episode(terminated: bool, truncated: bool, steps: int = 3) -> MultiAgentEpisode:
    episode = MultiAgentEpisode(agent_module_ids={a: "m" for a in AGENTS})
    episode.add_env_reset(observations={a: 0.0 for a in AGENTS}, infos={a: {} for a in AGENTS})
    for t in range(1, steps + 1):
        last = t == steps
        terms = {a: terminated and last for a in AGENTS}
        truncs = {a: truncated and last for a in AGENTS}
        episode.add_env_step(
            observations={a: float(t) for a in AGENTS},
            actions={a: 0 for a in AGENTS},
            rewards={a: -1.0 for a in AGENTS},
            terminateds={**terms, "__all__": terminated and last},
            truncateds={**truncs, "__all__": truncated and last},
        )
    return episode


def test_rllib_marks_an_all_truncated_episode_terminated():
    """The upstream behaviour the helper works around (fails if an RLlib upgrade fixes it)."""
    episode = _episode(terminated=False, truncated=True)
    assert episode.is_terminated and episode.is_truncated
    assert all(e.is_terminated for e in episode.agent_episodes.values())


@pytest.mark.parametrize(
    ("terminated", "truncated", "terminal"),
    [(False, True, False), (True, False, True), (False, False, False)],
)
def test_only_a_real_termination_is_terminal(terminated, truncated, terminal):
    episode = _episode(terminated, truncated)
    assert ended_in_terminal_state(episode) is terminal
    for agent_episode in episode.agent_episodes.values():
        assert ended_in_terminal_state(agent_episode) is terminal


def test_a_cut_chunk_is_not_terminal():
    episode = _episode(terminated=False, truncated=False)
    successor = episode.cut()
    assert not ended_in_terminal_state(episode)
    assert not ended_in_terminal_state(successor)
