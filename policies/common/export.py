"""Exporting actors for decentralized execution with torch alone (no Ray, no RLlib).

For each policy, ``<policy>.pt`` is a TorchScript module ``forward(obs, mask) -> output`` and
``<policy>.json`` says how to use it:

- discrete actions: ``output`` are logits with masked actions at float32's minimum; take the
  argmax (greedy) or sample ``softmax(output)``;
- continuous actions: ``output`` is the Gaussian's mean; the JSON has ``log_std`` and the
  action bounds, and whether RLlib trained actions normalized to [-1, 1]
  (``normalize_actions``: then ``low + (a + 1) * (high - low) / 2``, clipped to the bounds).

``obs`` is the agent's local observation, flattened, with the one-hot agent id appended when
the JSON's ``agent_ids`` is not empty (index of the agent in that list).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from torch import nn

from policies.common.networks import mask_logits


class ExportedActor(nn.Module):
    """An actor network with masking, scriptable by TorchScript."""

    def __init__(self, pi: nn.Module, discrete: bool) -> None:
        super().__init__()
        self.pi = pi
        self.discrete = discrete

    def forward(self, obs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``obs``: ``[B, obs_dim]``; ``mask``: ``[B, n_actions]`` of 0/1 (ones if unused)."""
        out = self.pi(obs)
        if self.discrete:
            return mask_logits(out, mask)
        return out


def actor_metadata(
    module: Any, module_id: str, agents: list[str], agent_ids: list[str], normalize_actions: bool
) -> dict[str, Any]:
    """What a user needs to feed an exported actor and read its output."""
    space = module.action_space
    meta: dict[str, Any] = {
        "policy": module_id,
        "agents": agents,
        "agent_ids": agent_ids,
        "obs_size": int(module.pi[0].in_features),
        "discrete": bool(module.is_discrete),
        "uses_mask": "action_mask" in module.observation_space.spaces,
    }
    if isinstance(space, gym.spaces.Discrete):
        meta["n_actions"] = int(space.n)
    else:
        meta.update(
            action_low=space.low.tolist(),
            action_high=space.high.tolist(),
            log_std=module.log_std.detach().tolist(),
            normalize_actions=normalize_actions,
        )
    return meta


def export_actor(module: Any, out_dir: Path, meta: dict[str, Any]) -> Path:
    """Scripts one module's actor into ``<policy>.pt`` with its ``<policy>.json``."""
    actor = ExportedActor(module.pi, bool(module.is_discrete)).eval()
    scripted = torch.jit.script(actor)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{meta['policy']}.pt"
    scripted.save(str(path))
    (out_dir / f"{meta['policy']}.json").write_text(json.dumps(meta, indent=1))
    return path
