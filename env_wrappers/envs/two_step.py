"""The two-step game of the QMIX paper (Rashid et al. 2018, section 5).

Two agents with two actions each. In state 1 the first agent's action chooses the next state
(action 0 -> 2A, action 1 -> 2B) and the reward is 0. In state 2A every joint action pays 7;
in state 2B the payoff is [[0, 1], [1, 8]]. The episode terminates after the second step, so
the optimal return is 8 (first agent plays 1, then both play 1). Observations and ``state()``
are the one-hot of the current state (1, 2A, 2B); the reward is shared.
"""

from __future__ import annotations

from env_wrappers.envs.tabular import JointAction, TabularGame

STATE_1, STATE_2A, STATE_2B = 0, 1, 2
PAYOFF_2A = ((7.0, 7.0), (7.0, 7.0))
PAYOFF_2B = ((0.0, 1.0), (1.0, 8.0))
OPTIMAL_RETURN = 8.0


class TwoStepGame(TabularGame):
    """The two-step game: a choice of matrix game, then that game."""

    def __init__(self) -> None:
        super().__init__(n_states=3, action_sizes=(2, 2), name="two_step_game")

    def transition(self, state: int, joint: JointAction) -> tuple[float, int | None]:
        first, second = joint
        if state == STATE_1:
            return 0.0, STATE_2B if first == 1 else STATE_2A
        payoff = PAYOFF_2A if state == STATE_2A else PAYOFF_2B
        return payoff[first][second], None


def two_step_game() -> TwoStepGame:
    """The two-step game (no options)."""
    return TwoStepGame()
