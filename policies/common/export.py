"""Exported actors for decentralized execution with torch alone (no Ray, no RLlib).

Every algorithm writes, per actor, ``<policy>.pt`` (TorchScript, ``forward(obs, mask) ->
output``) and ``<policy>.json`` in one schema (``SCHEMA``):

- ``input.obs_size``: the agent's own local observation, flattened (what the env gives it);
- ``input.agent_id``: ``null``, or ``{"size": n, "order": [agents]}``: append the one-hot
  index of the acting agent in ``order`` after the observation;
- ``input.size``: the width of ``obs`` (``obs_size`` + the id's size);
- ``input.mask``: ``{"size": n_actions, "required": bool}`` for discrete actions: a
  ``[B, n_actions]`` tensor of 0/1 (all ones when ``required`` is false: the env has no
  masks); ``null`` for continuous actions: pass an empty ``[B, 0]`` tensor;
- ``output.kind``: ``logits`` (masked at float32's minimum; argmax or sample the softmax),
  ``utilities`` (masked Q-values; act on the argmax) or ``gaussian_mean`` (continuous; the
  JSON's ``action`` has ``log_std``, the bounds and ``normalize_actions``: then
  ``low + (a + 1) * (high - low) / 2``, clipped to the bounds);
- ``action``: ``{"kind": "discrete", "n": ...}`` or ``{"kind": "continuous", ...}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from policies.common.networks import mask_logits

#: The schema name every exported actor's JSON carries.
SCHEMA = "marl-actor/1"
#: ``output.kind`` values and how to act on them.
OUTPUT_KINDS = {
    "logits": "argmax (greedy) or sample softmax(output)",
    "utilities": "argmax",
    "gaussian_mean": "the action's mean; add exp(log_std) noise to sample",
}


class ExportedActor(nn.Module):
    """An actor network with masking, scriptable by TorchScript."""

    def __init__(self, net: nn.Module, discrete: bool) -> None:
        super().__init__()
        self.pi = net
        self.discrete = discrete

    def forward(self, obs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``obs``: ``[B, input.size]``; ``mask``: ``[B, n_actions]`` of 0/1 (``[B, 0]``)."""
        out = self.pi(obs)
        if self.discrete:
            return mask_logits(out, mask)
        return out


def actor_schema(
    *,
    policy: str,
    agents: list[str],
    obs_size: int,
    agent_ids: list[str],
    action_space: gym.Space,
    output: str,
    uses_mask: bool,
    log_std: list[float] | None = None,
    normalize_actions: bool = False,
) -> dict[str, Any]:
    """The JSON of one exported actor (see the module docstring)."""
    if output not in OUTPUT_KINDS:
        raise ValueError(f"output kind must be one of {', '.join(OUTPUT_KINDS)}")
    discrete = isinstance(space := action_space, gym.spaces.Discrete)
    ids = {"size": len(agent_ids), "order": list(agent_ids)} if agent_ids else None
    meta: dict[str, Any] = {
        "schema": SCHEMA,
        "policy": policy,
        "agents": list(agents),
        "input": {
            "obs_size": int(obs_size),
            "agent_id": ids,
            "size": int(obs_size) + len(agent_ids),
            "mask": {"size": int(space.n), "required": bool(uses_mask)} if discrete else None,
        },
        "output": {"kind": output, "act": OUTPUT_KINDS[output]},
    }
    if discrete:
        meta["action"] = {"kind": "discrete", "n": int(space.n)}
    else:
        meta["action"] = {
            "kind": "continuous",
            "low": np.asarray(space.low).tolist(),
            "high": np.asarray(space.high).tolist(),
            "log_std": list(log_std or []),
            "normalize_actions": bool(normalize_actions),
        }
    return meta


def actor_input(meta: dict[str, Any], agent: str, local_obs: np.ndarray) -> np.ndarray:
    """The ``obs`` row an exported actor takes for ``agent``, as its JSON says."""
    flat = np.asarray(local_obs, np.float32).reshape(-1)
    ids = meta["input"]["agent_id"]
    if ids is None:
        return flat
    one_hot = np.zeros(ids["size"], np.float32)
    one_hot[ids["order"].index(agent)] = 1.0
    return np.concatenate([flat, one_hot])


def write_actor(net: nn.Module, out_dir: Path, meta: dict[str, Any]) -> Path:
    """Scripts ``net`` with masking into ``<policy>.pt`` next to ``<policy>.json``."""
    actor = ExportedActor(net, meta["action"]["kind"] == "discrete").eval()
    scripted = torch.jit.script(actor)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{meta['policy']}.pt"
    scripted.save(str(path))
    (out_dir / f"{meta['policy']}.json").write_text(json.dumps(meta, indent=1))
    return path


def export_member_networks(
    nets: Any,
    *,
    team: str,
    members: list[str],
    obs_size: int,
    n_actions: int,
    uses_mask: bool,
    output: str,
    out_dir: Path,
    action_space: gym.Space | None = None,
    head: Callable[[nn.Module], nn.Module] | None = None,
    log_std: list[float] | None = None,
) -> list[Path]:
    """A team's per-member actors (``policies.common.members.MemberNetworks``).

    Shared networks: one ``<team>.pt`` with the members' one-hot ids (team order);
    individual ones: ``<team>.<member>.pt`` each, observation only. Returns the ``.pt`` paths.
    ``action_space`` is one member's (default ``Discrete(n_actions)``); a Box exports a
    continuous actor in RLlib's normalized space (``normalize_actions``), its network
    wrapped by ``head`` (e.g. a final ``tanh``).
    """
    space = action_space or gym.spaces.Discrete(n_actions)
    continuous = isinstance(space, gym.spaces.Box)

    def meta(policy: str, agents: list[str], ids: list[str]) -> dict[str, Any]:
        return actor_schema(
            policy=policy,
            agents=agents,
            obs_size=obs_size,
            agent_ids=ids,
            action_space=space,
            output=output,
            uses_mask=uses_mask,
            log_std=log_std,
            normalize_actions=continuous,
        )

    wrap = head or (lambda net: net)
    if nets.shared:
        return [write_actor(wrap(nets[0]), out_dir, meta(team, members, members))]
    return [
        write_actor(wrap(net), out_dir, meta(f"{team}.{member}", [member], []))
        for net, member in zip(nets, members, strict=True)
    ]
