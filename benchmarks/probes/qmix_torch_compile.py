"""Whether ``torch.compile`` pays for QMIX's update on this machine (issue 18, item 4).

Times one QMIX update of the ``qmix_lbf_8x8_2p_3f`` benchmark's shapes in plain torch (no
Ray): a batch of 32 replayed episodes of 50 steps, 2 agents with a shared GRU agent network
(64 -> GRU 64, 6 actions, one-hot ids), the QMIX mixer (embed 32, two-layer hypernetworks) on a
30-dim state, double-Q greedy next actions, TD(lambda 0.6) targets, the masked TD loss,
backward, gradient clipping and an Adam step: the work of ``QMIXTorchLearner._episode_loss``
and RLlib's update around it, with the same functions (``policies.common.targets``,
``policies.qmix.mixers``, ``policies.common.members``). The update is timed eager and with
the loss under ``torch.compile`` (inductor, the default backend), interleaved pair by pair;
the compile time of the first call is reported separately.

Usage (one torch thread, as an env runner or learner gets on this machine)::

    OMP_NUM_THREADS=1 python benchmarks/probes/qmix_torch_compile.py \
        --out benchmarks/results/qmix_torch_compile.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import torch

from policies.common.members import MemberNetworks
from policies.common.targets import double_q_greedy_values, td_lambda_targets, td_loss
from policies.qmix.mixers import QMixer

BATCH, STEPS, AGENTS, ACTIONS, OBS, STATE = 32, 50, 2, 6, 15, 30


def make_nets() -> tuple[MemberNetworks, QMixer, MemberNetworks, QMixer]:
    """Online and target agent networks and mixers, seeded."""
    torch.manual_seed(0)
    agents = MemberNetworks(AGENTS, OBS, [64], ACTIONS, cell_size=64, activation="relu")
    mixer = QMixer(AGENTS, STATE, embed_dim=32, hypernet_layers=2, hypernet_embed=64)
    target_agents = MemberNetworks(AGENTS, OBS, [64], ACTIONS, cell_size=64, activation="relu")
    target_mixer = QMixer(AGENTS, STATE, embed_dim=32, hypernet_layers=2, hypernet_embed=64)
    target_agents.load_state_dict(agents.state_dict())
    target_mixer.load_state_dict(mixer.state_dict())
    return agents, mixer, target_agents, target_mixer


def make_batch() -> dict[str, torch.Tensor]:
    """A padded episode batch ``[B, T(+1), ...]`` with random contents, seeded."""
    g = torch.Generator().manual_seed(1)
    filled = torch.ones(BATCH, STEPS)
    filled[: BATCH // 4, STEPS // 2 :] = 0.0  # a quarter of the rows end half way
    return {
        "obs": torch.rand(BATCH, STEPS + 1, AGENTS, OBS, generator=g),
        "state": torch.rand(BATCH, STEPS + 1, STATE, generator=g),
        "actions": torch.randint(0, ACTIONS, (BATCH, STEPS, AGENTS), generator=g),
        "rewards": torch.rand(BATCH, STEPS, generator=g),
        "terminated": torch.zeros(BATCH, STEPS),
        "filled": filled,
    }


def qmix_loss(nets: tuple, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """QMIX's episode loss (as ``QMIXTorchLearner._episode_loss`` computes it)."""
    agents, mixer, target_agents, target_mixer = nets
    q = agents(batch["obs"])[0]  # [B, T + 1, n, A]
    q_taken = q[:, :STEPS].gather(-1, batch["actions"].unsqueeze(-1)).squeeze(-1)  # [B, T, n]
    states = batch["state"]
    q_tot = mixer(q_taken.reshape(-1, AGENTS), states[:, :STEPS].reshape(-1, STATE))
    with torch.no_grad():
        target_q = target_agents(batch["obs"])[0][:, 1:]  # [B, T, n, A]
        next_q = double_q_greedy_values(q[:, 1:].detach(), target_q)  # [B, T, n]
        values = target_mixer(next_q.reshape(-1, AGENTS), states[:, 1:].reshape(-1, STATE))
        args = (batch["rewards"], batch["terminated"], values.view(BATCH, STEPS))
        targets = td_lambda_targets(*args, batch["filled"], 0.99, 0.6)
    return td_loss(q_tot.view(BATCH, STEPS), targets, batch["filled"])


class Updater:
    """One optimizer over the online networks; ``step()`` times one whole update."""

    def __init__(self, loss_fn: Any, batch: dict[str, torch.Tensor]) -> None:
        self.loss_fn, self.batch, self.nets = loss_fn, batch, make_nets()
        self.params = [p for net in self.nets[:2] for p in net.parameters()]
        self.optimizer = torch.optim.Adam(self.params, lr=5e-4)

    def step(self) -> float:
        start = time.perf_counter()
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.nets, self.batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 10.0)
        self.optimizer.step()
        return time.perf_counter() - start


def measure(repeats: int) -> dict[str, Any]:
    """Eager and compiled updates on the same batch from the same weights, interleaved.

    Each repeat times one eager and one compiled update back to back, so both see the same
    load of a shared machine; the per-pair ratio's median is the speedup.
    """
    batch = make_batch()
    eager, compiled = Updater(qmix_loss, batch), Updater(torch.compile(qmix_loss), batch)
    first = {"eager": eager.step(), "compiled": compiled.step()}  # the compile happens here
    pairs = [(eager.step(), compiled.step()) for _ in range(repeats)]
    rows = {}
    for index, name in enumerate(("eager", "compiled")):
        seconds = [pair[index] for pair in pairs]
        rows[name] = {
            "first_update_s": round(first[name], 3),
            "median_update_s": round(statistics.median(seconds), 4),
            "min_update_s": round(min(seconds), 4),
        }
    speedup = statistics.median(e / c for e, c in pairs)
    return {**rows, "speedup_median_of_pairs": round(speedup, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    report = {
        "what": "one QMIX update at qmix_lbf_8x8_2p_3f's shapes, eager vs torch.compile",
        "shapes": {"batch": BATCH, "steps": STEPS, "agents": AGENTS, "actions": ACTIONS},
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "commit": commit,
        **measure(args.repeats),
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
