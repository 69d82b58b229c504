"""``marl eval``: restore a checkpoint's actors in a fresh process and run episodes.

Actions are sampled from the policy (``stochastic``) for policy-gradient algorithms, whose
policies are trained as distributions (a greedy argmax of a still-soft PPO policy on
simple_spread scored like the random policy: -83 vs -86), and taken greedily for value-based
ones; ``--greedy``/``--stochastic`` override, and the report says which was used.

Only the RLModules are restored (no Ray, no env runners, no critic is used), and without a
pickle: the spec is read from the checkpoint's ``spec.yaml`` and the weights from its
``actor_weights.safetensors``, each read once and checked against the (signed) manifest
(``rl_apps.checkpoint_trust.read_verified``). Reports the mean and std of the team return
and of each agent's return, with a random-policy baseline on the same env and seeds, as
REFERENCE.md asks of every result.

Policy ensembles (an algorithm whose ``sub_policy_count()`` is K > 1): by default each
agent's sub-policy is drawn per episode as in training (the env's seeded draw);
``--sub-policy k`` makes every agent act with sub-policy ``k``; ``--sub-policy all`` runs the
episodes once per sub-policy and reports each (``sub_policies``) and all together.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from env_wrappers.registry import ENVS
from env_wrappers.task_metrics import TaskMeter, mean_task
from policies.common.acting import DecentralizedActors
from rl_apps import actor_weights
from rl_apps import checkpoints as ckpt
from rl_apps.build import Plan, plan
from rl_apps.checkpoint_trust import read_verified
from rl_apps.errors import CheckpointError, SpecError
from rl_apps.spec import ExperimentSpec, validate_spec

Policy = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class EvalOptions:
    """What ``marl eval`` was asked to do."""

    checkpoint: Path
    episodes: int = 10
    render: Path | None = None
    actions: str | None = None  # greedy | stochastic; None: the algorithm's default
    seed: int = 1_000_000
    baseline: bool = True
    trust_checkpoint: bool = False
    #: ``(inspector name, output path or None)`` to run after the episodes: the old
    #: ``--q-table`` / ``--value-dist`` flags, now ``marl inspect``.
    inspect: tuple[str, Path | None] | None = None
    #: Ensembles: None (drawn per episode, as in training), a sub-policy index, or "all".
    sub_policy: int | str | None = None


def check_checkpoint(path: Path, trust: bool = False) -> ExperimentSpec:
    """The spec of a complete, unmodified checkpoint written by `marl train`.

    Raises SpecError if it is not one, CheckpointError if it contains a link, or (unless
    ``trust``) its files or signature do not match its manifest, or it predates the
    pickle-free weights file.
    """
    if not path.is_dir():
        raise SpecError(str(path), [("", "no such checkpoint directory")])
    if not (path / ckpt.MANIFEST).is_file():
        raise SpecError(
            str(path),
            [("", "not a complete checkpoint written by `marl train` (no manifest.json)")],
        )
    text = read_verified(path, [ckpt.SPEC_COPY], trust)[ckpt.SPEC_COPY]
    if not (path / actor_weights.WEIGHTS).is_file():
        raise CheckpointError(
            f"{path}: no {actor_weights.WEIGHTS}: this checkpoint predates pickle-free weights, "
            "and eval, export and inspect load no pickles; resume the run for one more "
            "iteration (`marl train --resume RUN_DIR --set stop.training_iteration=N`) to "
            "write a new checkpoint"
        )
    return _spec_from_text(text, str(path / ckpt.SPEC_COPY))


def _spec_from_text(text: bytes, source: str) -> ExperimentSpec:
    """A spec from the verified bytes of a checkpoint's spec.yaml (``yaml.safe_load``)."""
    try:
        raw = yaml.safe_load(text.decode())
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise SpecError(source, [("", f"invalid YAML: {err}")]) from None
    if not isinstance(raw, dict):
        raise SpecError(source, [("", "a spec must be a YAML mapping of sections")])
    return validate_spec(raw, source)


def _render_kwargs(spec: ExperimentSpec, render: bool) -> dict[str, Any]:
    if not render:
        return {}
    if "render_mode" not in ENVS[spec.env.name].options():
        raise SpecError(spec.env.name, [("", "this env cannot render frames")])
    return {"render_mode": "rgb_array"}


def run_episode(
    env: Any,
    policy: Policy,
    seed: int,
    frames: list | None = None,
    meter: TaskMeter | None = None,
) -> dict[str, float]:
    """Plays one episode; returns each agent's return (frames appended when given).

    ``meter`` (reset here) measures the env's task metric over the episode.
    """
    obs, _ = env.reset(seed=seed)
    if meter is not None:
        meter.reset()
    returns = {agent: 0.0 for agent in env.possible_agents}
    done = False
    while not done:
        if frames is not None:
            frames.append(env.render())
        obs, rewards, terms, truncs, _ = env.step(policy(obs))
        if meter is not None:
            meter.step()
        for agent, reward in rewards.items():
            returns[agent] += reward
        done = terms["__all__"] or truncs["__all__"]
    return returns


def _stats(episodes: list[dict[str, float]], agents: list[str]) -> dict[str, Any]:
    team = [sum(ep.values()) for ep in episodes]
    return {
        "team_return": {"mean": float(np.mean(team)), "std": float(np.std(team))},
        "agent_returns": {
            a: {
                "mean": float(np.mean([ep[a] for ep in episodes])),
                "std": float(np.std([ep[a] for ep in episodes])),
            }
            for a in agents
        },
    }


def _recording(policy: Policy, record: list) -> Policy:
    """``policy`` that also appends its JSON-ready actions to ``record``.

    The first episode's first joint action is in the report: on a one-step matrix game it is
    the joint action a (greedy) policy converged to.
    """

    def act(obs: dict[str, Any]) -> dict[str, Any]:
        actions = policy(obs)
        record.append({a: np.asarray(v).tolist() for a, v in actions.items()})
        return actions

    return act


def _random_policy(env: Any, seed: int) -> Policy:
    for offset, agent in enumerate(env.possible_agents):
        env.action_spaces[agent].seed(seed + offset)
    return lambda obs: {agent: env.action_spaces[agent].sample() for agent in obs}


def _random_baseline(env: Any, seed: int, episodes: int) -> dict[str, Any]:
    """The random policy's team return (and task metric) on the same env and seeds."""
    policy, meter, returns, tasks = _random_policy(env, seed), TaskMeter(env), [], []
    for index in range(episodes):
        returns.append(run_episode(env, policy, seed + index, meter=meter))
        tasks.append(meter.result())
    found = {"random_policy": _stats(returns, list(env.possible_agents))["team_return"]}
    if any(tasks):
        found["random_policy_task"] = mean_task(tasks)
    return found


def save_gif(frames: list[np.ndarray], out: Path, fps: int = 10) -> None:
    """Writes RGB frames as an animated GIF."""
    from PIL import Image

    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    out.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(out, save_all=True, append_images=images[1:], duration=1000 // fps, loop=0)


def load_modules(checkpoint: Path, planned: Plan, env: Any, trust: bool = False) -> Any:
    """The checkpoint's MultiRLModule, from its safetensors weights (no pickle is loaded)."""
    data = read_verified(checkpoint, [actor_weights.WEIGHTS], trust)[actor_weights.WEIGHTS]
    weights = actor_weights.decode(data, str(checkpoint))
    return actor_weights.load_modules(planned, env, weights)


def load_actors(
    checkpoint: Path, planned: Plan, env: Any, greedy: bool, trust: bool = False
) -> DecentralizedActors:
    """The checkpoint's actor modules, ready to act from local observations."""
    modules = load_modules(checkpoint, planned, env, trust)
    return DecentralizedActors(
        modules,
        planned.mapping,
        dict(env.action_spaces),
        greedy=greedy,
        normalize_actions=planned.config.normalize_actions,
        clip_actions=planned.config.clip_actions,
    )


def evaluate(opts: EvalOptions) -> dict[str, Any]:
    """Evaluates a checkpoint; returns the JSON-ready report."""
    if opts.episodes < 1:
        raise SpecError("--episodes", [("", "must be at least 1")])
    opts.checkpoint = opts.checkpoint.resolve()  # RLlib's loader (pyarrow) needs absolute paths
    opts.checkpoint = ckpt.resolve_checkpoint(opts.checkpoint)  # a run directory: its latest
    spec = check_checkpoint(opts.checkpoint, opts.trust_checkpoint)
    planned = plan(spec)
    if opts.inspect is not None:
        from rl_apps.inspection import check_inspector

        check_inspector(opts.inspect[0], opts.checkpoint, planned)  # before any episode
    picks = sub_policy_picks(opts.sub_policy, planned.config.sub_policy_count())
    env = planned.make_env(**_render_kwargs(spec, opts.render is not None), **picks[0])
    actions = opts.actions or planned.entry.eval_actions
    torch.manual_seed(opts.seed)  # stochastic evaluation repeats with the same --seed
    greedy = actions == "greedy"
    actors = load_actors(opts.checkpoint, planned, env, greedy, opts.trust_checkpoint)
    frames: list | None = [] if opts.render else None
    episodes, first_actions, per_pick, tasks = [], [], {}, []
    for pick in picks:
        if pick != picks[0]:
            env.close()
            env = planned.make_env(**pick)
        played, meter = [], TaskMeter(env)
        for index in range(opts.episodes):
            actors.reset()
            first = index == 0 and not first_actions
            policy = _recording(actors.act, first_actions) if first else actors.act
            frames_here = frames if first else None
            played.append(run_episode(env, policy, opts.seed + index, frames_here, meter))
            tasks.append(meter.result())
        episodes += played
        if pick:
            per_pick[str(pick["sub_policy"])] = _stats(played, list(env.possible_agents))
    report = {
        "checkpoint": str(opts.checkpoint),
        "env": spec.env.name,
        "algo": spec.algo,
        "episodes": opts.episodes,
        "actions": actions,
        **_stats(episodes, list(env.possible_agents)),
        "first_actions": first_actions[0] if first_actions else {},
    }
    if any(tasks):
        report["task"] = mean_task(tasks)
    if planned.config.sub_policy_count() > 1:
        report["sub_policy"] = "drawn" if opts.sub_policy is None else opts.sub_policy
    if len(per_pick) > 1:
        report["sub_policies"] = per_pick
    if opts.baseline:
        report.update(_random_baseline(env, opts.seed, opts.episodes))
    if frames:
        save_gif(frames, opts.render)
        report["render"] = str(opts.render)
    env.close()
    if opts.inspect is not None:
        from rl_apps.inspection import run_inspector

        name, out = opts.inspect
        found = run_inspector(name, opts.checkpoint, planned, out, opts.seed, actors.modules)
        report[name.replace("-", "_")] = found
    return report


def sub_policy_picks(choice: int | str | None, count: int) -> list[dict[str, Any]]:
    """The env options of each evaluation pass: ``[{}]`` draws as in training.

    Raises:
        SpecError: A sub-policy was asked of a checkpoint without an ensemble, or is out of
            range.

    """
    if choice is None:
        return [{}]
    if count == 1:
        raise SpecError("--sub-policy", [("", "the checkpoint's policies are no ensemble")])
    if choice == "all":
        return [{"sub_policy": k} for k in range(count)]
    if not isinstance(choice, int) or not 0 <= choice < count:
        message = f"must be 'all' or a sub-policy in 0..{count - 1}, got {choice!r}"
        raise SpecError("--sub-policy", [("", message)])
    return [{"sub_policy": choice}]


def format_report(report: dict[str, Any]) -> str:
    """The report as pretty JSON."""
    return json.dumps(report, indent=2)
