"""Whether an RLlib episode (chunk) ended in a terminal state, or at a time limit (no Ray state).

RLlib 2.60's ``MultiAgentEpisode.add_env_step`` sets ``is_terminated = True`` whenever every
agent is done, also when every agent was *truncated* (its "case 2", meant for envs where some
agents terminate and the others are truncated). Each agent's ``SingleAgentEpisode`` then
inherits ``is_terminated = True`` next to ``is_truncated = True``. Read as it is, every
time-limited episode (MPE's ``max_cycles``, LBF's step limit) would look terminal, and value
targets would not bootstrap at the time limit, unlike EPyMARL and the MADDPG paper's code.

``ended_in_terminal_state`` is the one place that reads the flags: an episode ended in a
terminal state when it is terminated and not truncated. An env that reports both flags for
the same agent at the same step counts as truncated (bootstraps); none of the catalog's do.
"""

from __future__ import annotations

from typing import Any


def ended_in_terminal_state(episode: Any) -> bool:
    """True when ``episode`` (single- or multi-agent) ended in a terminal state.

    A time limit (``is_truncated``) and a chunk cut in the middle of an episode are not
    terminal: their last observation's value is a valid bootstrap.
    """
    return bool(episode.is_terminated) and not bool(episode.is_truncated)
