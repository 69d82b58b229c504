"""One-step, two-agent cooperative matrix games: the classic value-decomposition checks.

Both agents act once; each gets the shared reward ``payoff[a0][a1]`` (rows are the first
agent's actions) and the episode terminates. Observations and ``state()`` are the one-hot of
the single state (``[1.0]``; ``[0.0]`` after the step).

- linear [[1, 5], [5, 9]]: the payoff is a sum of per-agent terms, so VDN is exact.
- monotonic [[0, 0], [0, 10]]: QMIX's monotonic mixer is exact, VDN is not.
- climbing [[11, -30, 0], [-30, 7, 0], [0, 6, 5]] (Claus and Boutilier, 1998): miscoordination
  around the optimum (11) is punished, so independent learners drift to 7 or 5.
- penalty [[k, 0, 10], [0, 2, 0], [10, 0, k]], k <= 0: two optima with a penalty k for mixing them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from env_wrappers.envs.tabular import JointAction, TabularGame

Payoff = Sequence[Sequence[float]]

LINEAR: Payoff = ((1.0, 5.0), (5.0, 9.0))
MONOTONIC: Payoff = ((0.0, 0.0), (0.0, 10.0))
CLIMBING: Payoff = ((11.0, -30.0, 0.0), (-30.0, 7.0, 0.0), (0.0, 6.0, 5.0))


def penalty_payoff(k: float) -> Payoff:
    """The penalty game's table: optima 10 on the anti-diagonal corners, k on the diagonal ones."""
    return ((k, 0.0, 10.0), (0.0, 2.0, 0.0), (10.0, 0.0, k))


def payoff_table(payoff: Payoff) -> np.ndarray:
    """The payoff as a float array [n_actions_0, n_actions_1]; raises ValueError when malformed."""
    rows = [list(row) for row in payoff]
    if not rows or not rows[0] or any(len(row) != len(rows[0]) for row in rows):
        raise ValueError(f"payoff must be a non-empty rectangular table, got {payoff!r}")
    return np.asarray(rows, dtype=np.float64)


class MatrixGame(TabularGame):
    """A one-step game with a shared payoff table.

    Args:
        payoff: ``payoff[a0][a1]`` is both agents' reward for the joint action ``(a0, a1)``.
        name: The env's name in ``metadata``.

    """

    def __init__(self, payoff: Payoff, name: str = "matrix_game") -> None:
        self.payoff = payoff_table(payoff)
        super().__init__(n_states=1, action_sizes=self.payoff.shape, name=name)

    def transition(self, state: int, joint: JointAction) -> tuple[float, int | None]:
        return float(self.payoff[joint]), None


def linear_game(payoff: Payoff = LINEAR) -> MatrixGame:
    """The linear game (VDN and QMIX both represent it exactly; optimum 9)."""
    return MatrixGame(payoff, name="linear_game")


def monotonic_game(payoff: Payoff = MONOTONIC) -> MatrixGame:
    """The monotonic game (QMIX represents it, VDN does not; optimum 10)."""
    return MatrixGame(payoff, name="monotonic_game")


def climbing_game(payoff: Payoff = CLIMBING) -> MatrixGame:
    """The climbing game (optimum 11 at actions (0, 0))."""
    return MatrixGame(payoff, name="climbing_game")


def penalty_game(k: float = -100.0) -> MatrixGame:
    """The penalty game with miscoordination penalty ``k`` (optimum 10)."""
    return MatrixGame(penalty_payoff(k), name="penalty_game")
