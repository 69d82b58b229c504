"""Decentralized acting: each agent's action from its own module and its own observation.

Used by evaluation (and by exported actors): no Ray runtime, no learner, no critic. Agents
that share a module are batched into one forward pass. Recurrent (stateful) modules keep one
state per agent, carried from step to step; call ``reset()`` at the start of every episode.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import tree
from ray.rllib.core.columns import Columns
from ray.rllib.utils.spaces.space_utils import clip_action, unsquash_action


def stack_observations(observations: list[Any]) -> Any:
    """Stacks per-agent (possibly Dict) observations into one batch of tensors."""
    first = observations[0]
    if isinstance(first, dict):
        return {k: stack_observations([o[k] for o in observations]) for k in first}
    return torch.as_tensor(np.stack(observations))


def env_action(action: np.ndarray, space: gym.Space, normalize: bool, clip: bool) -> Any:
    """Turns a module's raw action into the env's, as RLlib's module-to-env pipeline does."""
    if isinstance(space, gym.spaces.Box):
        if normalize:
            return unsquash_action(action, space)
        if clip:
            return clip_action(action, space)
    return action


class DecentralizedActors:
    """Acts for all agents with per-module forward passes on local observations.

    Args:
        modules: ``module_id -> RLModule`` (a MultiRLModule works).
        module_for: ``agent_id -> module_id``.
        action_spaces: Per-agent action spaces.
        greedy: Take the distribution's mode instead of sampling.
        normalize_actions: Whether continuous actions were trained normalized to [-1, 1].
        clip_actions: Whether continuous actions are clipped to the space.

    """

    def __init__(
        self,
        modules: Any,
        module_for: Callable[[str], str],
        action_spaces: dict[str, gym.Space],
        *,
        greedy: bool = True,
        normalize_actions: bool = True,
        clip_actions: bool = False,
    ) -> None:
        self.modules = modules
        self.module_for = module_for
        self.action_spaces = action_spaces
        self.greedy = greedy
        self.normalize_actions = normalize_actions
        self.clip_actions = clip_actions
        self.states: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        """Forgets the recurrent states (a new episode starts)."""
        self.states = {}

    def _module_inputs(self, module: Any, agents: list[str], observations: dict) -> dict:
        batch = {Columns.OBS: stack_observations([observations[a] for a in agents])}
        if module.is_stateful():  # add the time axis and each agent's state
            batch[Columns.OBS] = tree.map_structure(lambda x: x.unsqueeze(1), batch[Columns.OBS])
            initial = module.get_initial_state()
            states = [self.states.get(a, initial) for a in agents]
            batch[Columns.STATE_IN] = stack_observations(states)
        return batch

    def _keep_states(self, module: Any, agents: list[str], out: dict) -> torch.Tensor | None:
        inputs = out.get(Columns.ACTION_DIST_INPUTS)
        if not module.is_stateful():
            return inputs
        for index, agent in enumerate(agents):
            self.states[agent] = tree.map_structure(
                lambda x, i=index: x[i].cpu().numpy(), out[Columns.STATE_OUT]
            )
        return None if inputs is None else inputs[:, 0]  # drop the time axis

    @torch.no_grad()
    def act(self, observations: dict[str, Any]) -> dict[str, Any]:
        """One action per agent present in ``observations``."""
        groups: dict[str, list[str]] = defaultdict(list)
        for agent in observations:
            groups[self.module_for(agent)].append(agent)
        actions: dict[str, Any] = {}
        for module_id, agents in groups.items():
            module = self.modules[module_id]
            batch = self._module_inputs(module, agents, observations)
            out = module.forward_inference(batch)
            inputs = self._keep_states(module, agents, out)
            if Columns.ACTIONS in out:  # value-based modules choose (greedy) actions themselves
                chosen = out[Columns.ACTIONS].cpu().numpy()
                chosen = chosen[:, 0] if module.is_stateful() else chosen  # [agents, ...]
            else:
                dist = module.get_inference_action_dist_cls().from_logits(inputs)
                if self.greedy:
                    dist = dist.to_deterministic()
                chosen = dist.sample().cpu().numpy()
            for agent, action in zip(agents, chosen):
                space = self.action_spaces[agent]
                actions[agent] = env_action(
                    action, space, self.normalize_actions, self.clip_actions
                )
        return actions
