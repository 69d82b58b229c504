"""One-step matrix games: the classic value-decomposition and equilibrium-selection checks.

Every agent acts once; each gets the shared reward ``payoff[a0][a1]...`` (one axis per agent,
rows are the first agent's actions), or in a general-sum game its own reward
``payoff[a0][a1]...[i]``, and the episode terminates. Observations and ``state()`` are the
one-hot of the single state (``[1.0]``; ``[0.0]`` after the step).

- linear [[1, 5], [5, 9]]: the payoff is a sum of per-agent terms, so VDN is exact.
- monotonic [[0, 0], [0, 10]]: QMIX's monotonic mixer is exact, VDN is not.
- climbing [[11, -30, 0], [-30, 7, 0], [0, 6, 5]] (Claus and Boutilier, 1998): miscoordination
  around the optimum (11) is punished, so independent learners drift to 7 or 5.
- penalty [[k, 0, 10], [0, 2, 0], [10, 0, k]], k <= 0: two optima with a penalty k for mixing them.
- stag hunt, general-sum, individual rewards (row agent, column agent): (A,A) = 4,4;
  (A,B) = 0,3; (B,A) = 3,0; (B,B) = 2,2. (A,A) is Pareto-optimal, (B,B) the risk-dominant,
  Pareto-dominated equilibrium (PAC's Figure 1 game, Christianos et al. 2023).
- 3-agent climbing: the climbing game on a 3x3x3 table, as the PAC paper's matrix-games
  package (``climbing-3p``) defines it: 11 at (0,0,0), -30 where exactly one agent leaves
  (0,0,0) for action 1, 7 at (1,1,1), 6 at (2,2,1), 5 at (2,2,2), 0 elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from env_wrappers.envs.tabular import JointAction, Reward, TabularGame

Payoff = Sequence[Sequence[float]] | Sequence[Sequence[Sequence[float]]]

LINEAR: Payoff = ((1.0, 5.0), (5.0, 9.0))
MONOTONIC: Payoff = ((0.0, 0.0), (0.0, 10.0))
CLIMBING: Payoff = ((11.0, -30.0, 0.0), (-30.0, 7.0, 0.0), (0.0, 6.0, 5.0))
#: ``CLIMBING_3P[a0][a1][a2]``: the PAC paper's 3-agent climbing game.
CLIMBING_3P = (
    ((11.0, -30.0, 0.0), (-30.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    ((-30.0, 0.0, 0.0), (0.0, 7.0, 0.0), (0.0, 0.0, 0.0)),
    ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 6.0, 5.0)),
)
#: ``STAG_HUNT[a0][a1] = (reward of agent 0, reward of agent 1)``; action 0 is A (stag).
STAG_HUNT = (((4.0, 4.0), (0.0, 3.0)), ((3.0, 0.0), (2.0, 2.0)))


def penalty_payoff(k: float) -> Payoff:
    """The penalty game's table: optima 10 on the anti-diagonal corners, k on the diagonal ones."""
    return ((k, 0.0, 10.0), (0.0, 2.0, 0.0), (10.0, 0.0, k))


def payoff_table(payoff: Payoff, individual: bool = False) -> np.ndarray:
    """The payoff as a float array ``[A_0, ..., A_(n-1)]`` (``[..., n]`` when individual).

    Raises:
        ValueError: When the table is empty, ragged, has fewer than two agents, or (with
            ``individual``) its last axis does not hold one reward per agent.

    """
    try:
        table = np.asarray(payoff, dtype=np.float64)
    except (ValueError, TypeError):
        raise ValueError(f"payoff must be a non-empty rectangular table, got {payoff!r}") from None
    agents = table.ndim - int(individual)
    if agents < 2 or table.size == 0:
        raise ValueError(f"payoff must be a non-empty rectangular table, got {payoff!r}")
    if individual and table.shape[-1] != agents:
        raise ValueError(
            f"an individual payoff needs one reward per agent on its last axis: {agents} "
            f"agents, {table.shape[-1]} rewards"
        )
    return table


class MatrixGame(TabularGame):
    """A one-step game with a payoff table: shared, or one reward per agent.

    Args:
        payoff: ``payoff[a0][a1]...`` is every agent's reward for the joint action, or with
            ``individual`` the tuple of the agents' rewards.
        name: The env's name in ``metadata``.
        individual: Whether the table's last axis holds one reward per agent.

    """

    def __init__(self, payoff: Payoff, name: str = "matrix_game", individual: bool = False) -> None:
        self.payoff = payoff_table(payoff, individual)
        self.individual = individual
        sizes = self.payoff.shape[:-1] if individual else self.payoff.shape
        super().__init__(n_states=1, action_sizes=sizes, name=name)

    def transition(self, state: int, joint: JointAction) -> tuple[Reward, int | None]:
        if self.individual:
            return tuple(float(r) for r in self.payoff[joint]), None
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


def stag_hunt(payoff: Payoff = STAG_HUNT) -> MatrixGame:
    """The stag hunt, general-sum (Pareto optimum (0, 0) = 4, 4; dominated (1, 1) = 2, 2)."""
    return MatrixGame(payoff, name="stag_hunt", individual=True)


def climbing_game_3p(payoff: Payoff = CLIMBING_3P) -> MatrixGame:
    """The 3-agent climbing game (optimum 11 at (0, 0, 0); 7, 6 and 5 elsewhere)."""
    return MatrixGame(payoff, name="climbing_game_3p")
