"""COMA's learner connector: the critic's TD(lambda) or n-step targets from the target critic.

Every team trajectory of ``T`` steps comes with one extra row, the observation after its last
step (RLlib's ``AddOneTsToEpisodesAndTruncate``, the layout of
``policies.common.trajectories``). For every row the target critic gives
``Q'_i(s_t, u_t)`` at the taken joint action; at the extra row no action was taken, so the
joint action there is sampled from the current policies (a SARSA-style bootstrap, as
EPyMARL's runner does). ``policies.coma.math.coma_targets`` then turns the rewards (standardized
by the module's running statistics when it keeps them: EPyMARL's ``standardise_rewards``) and
those values into targets: truncation bootstraps from the extra row, termination does not.

**GRU actors** (a stateful module): RLlib lays the batch out in zero-padded chunks
``[B, max_seq_len, ...]``, each starting from the hidden state stored while sampling
(``STATE_IN``; the extra row repeats the last step's stored state, so a chunk starting there
gets the state after the whole trajectory). The bootstrap logits come from unrolling the
actors over those chunks with the current weights (``row_logits``): the logits at the extra
row follow from the member's whole history, exactly the recurrent forward pass the learner
makes. The chunk-start states are those of the weights that sampled (the current ones in
synchronous sampling, one update older with ``sample_while_learning``), RLlib's convention
for recurrent learners, as rMAPPO's here. The columns are then flattened to trajectory rows
(``policies.common.trajectories``), the targets computed as for MLP actors, and padded back
to the batch's layout.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.utils.annotations import override
from ray.rllib.utils.numpy import convert_to_numpy

from policies.coma.math import coma_targets
from policies.coma.module import HIDDEN
from policies.common.masking import gather_actions
from policies.common.module_columns import ModuleColumnsConnector
from policies.common.reward_norm import standardized_rewards
from policies.common.terminal import ended_in_terminal_state
from policies.common.trajectories import Trajectories

#: The batch column of the critic's targets, ``[N, n]``.
CRITIC_TARGETS = "coma_critic_targets"


class COMATargets(ModuleColumnsConnector):
    """Adds ``CRITIC_TARGETS`` to every COMA module's batch."""

    def __init__(
        self,
        input_observation_space=None,
        input_action_space=None,
        *,
        gamma: float,
        td_lambda: float | None,
        n_step: int | None,
    ) -> None:
        super().__init__(input_observation_space, input_action_space)
        self.gamma, self.td_lambda, self.n_step = gamma, td_lambda, n_step

    @override(ModuleColumnsConnector)
    def wants(self, module: Any) -> bool:
        return hasattr(module.unwrapped(), "get_target_network_pairs")

    @override(ModuleColumnsConnector)
    def module_columns(self, module: Any, batch: dict, episodes: list) -> dict[str, np.ndarray]:
        lengths = [len(e) for e in episodes]  # T + 1 rows each
        ends = np.cumsum(lengths) - 1  # the extra rows
        ended = [ended_in_terminal_state(e) for e in episodes]
        seq_len = module.model_config["max_seq_len"] if module.is_stateful() else None
        layout = Trajectories(lengths, ended, seq_len)
        with torch.no_grad():
            rows = flat_rows(batch, layout)
            actions = rows[Columns.ACTIONS].clone().long()  # [N, n]
            logits = row_logits(module, batch, layout)[ends]  # [E, n, A]
            sampled = torch.distributions.Categorical(logits=logits).sample()  # [E, n]
            actions[torch.as_tensor(ends)] = sampled
            values = convert_to_numpy(self.bootstrap_values(module, rows, actions))  # [N, n]
        rewards = self.rewards(module, rows, episodes)  # [N] or [N, n]
        rewards = standardized_rewards(getattr(module, "reward_norm", None), rewards, ends)
        targets = self._targets(values, rewards, lengths, ended)  # [N, n]
        return {CRITIC_TARGETS: layout.pad(targets.astype(np.float32))}

    def bootstrap_values(self, module: Any, batch: dict, actions: torch.Tensor) -> torch.Tensor:
        """The target critic's value of every row at the joint ``actions``: ``[N, n]``.

        ``batch``: the module's columns as trajectory rows ``[N, ...]`` (``flat_rows``).
        """
        q = module.q_values(batch[Columns.OBS], actions, module._target_critic)  # [N, n, A]
        return gather_actions(q, actions)

    def rewards(self, module: Any, batch: dict, episodes: list) -> np.ndarray:
        """The rewards the critic learns: the team's, ``[N]`` (``batch`` as trajectory rows)."""
        return convert_to_numpy(batch[Columns.REWARDS]).astype(np.float32)

    def _targets(
        self, q_taken: np.ndarray, rewards: np.ndarray, lengths: list[int], ended: list[bool]
    ) -> np.ndarray:
        """Pads the trajectories to ``[E, T_max]``, computes targets, flattens them back.

        ``rewards`` are the team's ``[N]`` or each member's own ``[N, n]`` (PAC).
        """
        count, steps, n = len(lengths), max(lengths) - 1, q_taken.shape[1]
        term, filled = (np.zeros((count, steps), np.float32) for _ in range(2))
        r = np.zeros((count, steps, *rewards.shape[1:]), np.float32)
        after = np.zeros((count, steps, n), np.float32)  # Q'(s_(t+1), u_(t+1)) [E, T, n]
        start = 0
        for row, (length, done) in enumerate(zip(lengths, ended, strict=True)):
            t = length - 1
            r[row, :t] = rewards[start : start + t]
            after[row, :t] = q_taken[start + 1 : start + length]
            filled[row, :t] = 1.0
            term[row, t - 1] = float(done) if t else 0.0
            start += length
        y = coma_targets(
            *(torch.as_tensor(x) for x in (r, term, after, filled)),
            self.gamma,
            lambda_=self.td_lambda,
            n_step=self.n_step,
        ).numpy()  # [E, T, n]
        out = np.zeros_like(q_taken)  # the extra rows carry no loss weight
        start = 0
        for row, length in enumerate(lengths):
            out[start : start + length - 1] = y[row, : length - 1]
            start += length
        return out


def flat_rows(batch: dict, layout: Trajectories) -> dict:
    """The observations, actions and rewards of a module's batch as trajectory rows ``[N, ...]``.

    The batch itself for MLP actors; a recurrent module's chunks ``[B, T, ...]`` unpadded.
    """
    if layout.seq_len is None:
        return batch
    obs = {key: layout.unpad(x) for key, x in batch[Columns.OBS].items()}
    columns = (Columns.ACTIONS, Columns.REWARDS)
    return {Columns.OBS: obs, **{key: layout.unpad(batch[key]) for key in columns}}


def row_logits(module: Any, batch: dict, layout: Trajectories) -> torch.Tensor:
    """The current actors' masked logits at every trajectory row: ``[N, n, A]``.

    GRU actors are unrolled over the batch's chunks from their stored ``STATE_IN``.
    """
    if not module.is_stateful():
        return module.logits(batch[Columns.OBS])
    hidden = batch[Columns.STATE_IN][HIDDEN]  # [B, n, cell]
    logits, _ = module.sequence_logits(batch[Columns.OBS], hidden)  # [B, T, n, A]
    return layout.unpad(logits)
