"""Per-member actors of a trained team module (QMIX, VDN, IQL), for torch-only execution.

Each member acts on the argmax of its own utilities ``Q_a`` from its own observation (the
IGM property makes that the team's greedy joint action), so the exported actor is the agent
network with masking, the same ``forward(obs, mask)`` as MAPPO's exported actors (see
``policies.common.export``):

- shared network (default): one ``<team>.pt`` for all members, with the member's one-hot
  index (in ``agent_ids`` order) appended to its observation;
- individual networks: one ``<team>.<member>.pt`` per member, observation only.

``output`` are the utilities with masked actions at float32's minimum: take the argmax.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from env_wrappers.keys import MASK_KEY
from policies.common.export import ExportedActor


def _meta(module: Any, policy: str, agents: list[str], shared: bool) -> dict[str, Any]:
    in_features = int(module.agent_nets[0][0].in_features)
    return {
        "policy": policy,
        "agents": agents,
        "agent_ids": agents if shared else [],
        "obs_size": in_features - (module.n_agents if shared else 0),
        "discrete": True,
        "n_actions": module.n_actions,
        "uses_mask": MASK_KEY in module.observation_space.spaces,
        "output": "utilities: act on the argmax",
    }


def _write(net: torch.nn.Module, out_dir: Path, meta: dict[str, Any]) -> Path:
    scripted = torch.jit.script(ExportedActor(net, discrete=True).eval())
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{meta['policy']}.pt"
    scripted.save(str(path))
    (out_dir / f"{meta['policy']}.json").write_text(json.dumps(meta, indent=1))
    return path


def export_team(module: Any, team: str, members: list[str], out_dir: Path) -> list[Path]:
    """Writes the actors of one team module; returns the ``.pt`` paths."""
    if module.shared:
        return [_write(module.agent_nets[0], out_dir, _meta(module, team, members, True))]
    return [
        _write(net, out_dir, _meta(module, f"{team}.{member}", [member], False))
        for net, member in zip(module.agent_nets, members, strict=True)
    ]
