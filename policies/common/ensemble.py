"""Policy ensembles on the team view: K sub-policies per member, one per episode (no Ray).

The team env (``env_wrappers.team``, env option ``sub_policies: K``) draws each member's
sub-policy index at every reset, seeded, and puts it into the observation (``sub_policy``
``[n]``), so the acting module and the replay both see which sub-policy acted. A module runs
all K networks and keeps, for every member, the output of the sub-policy it drew
(``select_sub_policy``): a sub-policy's loss, and so its gradient, comes only from the steps
it acted in, which makes the replay's rows of sub-policy ``k`` of member ``i`` its partition.
"""

from __future__ import annotations

from typing import Any

import torch

from env_wrappers.keys import SUB_POLICY_KEY


def select_sub_policy(outputs: torch.Tensor, pick: torch.Tensor) -> torch.Tensor:
    """Each member's output from its drawn sub-policy.

    Args:
        outputs: ``[..., n, K, A]`` every sub-policy's output for every member.
        pick: ``[..., n]`` the index drawn for each member.

    Returns:
        ``[..., n, A]``.

    """
    index = pick.long()[..., None, None].expand(*pick.shape, 1, outputs.shape[-1])
    return outputs.gather(-2, index).squeeze(-2)


def ensemble_env_options(size: int) -> dict[str, Any]:
    """The team env options of an ensemble of ``size`` sub-policies (none when 1)."""
    return {"sub_policies": size} if size > 1 else {}


def sub_policy_of(obs: dict[str, Any]) -> Any:
    """The ``sub_policy`` entry of a team observation (None without an ensemble)."""
    return obs.get(SUB_POLICY_KEY)
