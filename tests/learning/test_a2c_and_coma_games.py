"""IA2C and MAA2C find the optimal joint action of the linear and monotonic games; COMA learns
the two-step game above random (issue: COMA and the A2C family).

Marked ``learning``: ``python -m pytest -m learning tests/learning/test_a2c_and_coma_games.py``.
Each test trains in-process, then plays greedily with the actors alone (``DecentralizedActors``,
as ``marl eval --greedy`` does).
"""

from __future__ import annotations

import pytest

from .specs import greedy_episode

pytestmark = [
    pytest.mark.learning,
    pytest.mark.timeout(1800),
    pytest.mark.usefixtures("ray_session"),
]

#: The optimal joint action and its payoff: linear [[1,5],[5,9]], monotonic [[0,0],[0,10]].
OPTIMUM = {"linear_game": ((1, 1), 9.0), "monotonic_game": ((1, 1), 10.0)}
#: The two-step game's random-policy return: 0.5 * 7 + 0.5 * mean([0, 1, 1, 8]).
TWO_STEP_RANDOM = 4.75


@pytest.mark.parametrize("algo", ["ia2c", "maa2c"])
@pytest.mark.parametrize("game", sorted(OPTIMUM))
def test_a2c_greedy_joint_action_is_optimal(algo: str, game: str) -> None:
    assert greedy_episode(algo, game, 50_000) == OPTIMUM[game]


def test_coma_learns_the_two_step_game_above_random() -> None:
    _, payoff = greedy_episode("coma", "two_step_game", 50_000, entropy_coeff=0.01)
    assert payoff >= 7.0 > TWO_STEP_RANDOM
