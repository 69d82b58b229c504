"""``marl crossplay``: one side's policies from one checkpoint, the others' from another.

A side is an agent name prefix (``adversary`` for ``adversary_0``, ...; the env's agents not
named by any side raise an error). Each side gets one or more checkpoints; every combination
(one checkpoint per side) plays ``--episodes`` episodes, and the report gives each side's
return (the sum of its agents' returns, mean and std over episodes), the env's task metric
(``env_wrappers.task_metrics``) and, with two sides, a matrix per side (rows: the first
side's checkpoints, columns: the second's, labelled by spec name and seed) and its means
over the checkpoints of each pair of specs (``rl_apps.crossplay_summary``).

The env is the first side's first checkpoint's (name and options). Every checkpoint acts in
its own copy of that env as its algorithm sees it (the agents view, or the team view), all
copies reset with the same seed and stepped with the same joint actions, so they stay in the
same state (checked: every copy must give every agent the same reward). Modules are loaded
as ``marl eval`` loads them (spec YAML and safetensors weights, verified; no pickle). A
checkpoint whose agents' observation or action spaces in that env differ from those it was
trained on is refused (exit 2), naming the agent and the mismatch. Each finished matchup
prints one progress line on stderr (its number, checkpoints, each side's mean return, seconds).
"""

from __future__ import annotations

import itertools
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from env_wrappers.keys import OBS_KEY
from env_wrappers.task_metrics import TaskMeter, mean_task
from rl_apps import checkpoints as ckpt
from rl_apps.build import Plan, plan
from rl_apps.crossplay_summary import blocks, checkpoint_label
from rl_apps.errors import MarlError, SpecError
from rl_apps.evaluate import check_checkpoint, load_actors
from rl_apps.rundir import git_commit


@dataclass
class CrossplayOptions:
    """What ``marl crossplay`` was asked to do."""

    sides: dict[str, list[Path]]  # agent name prefix -> checkpoints
    episodes: int = 10
    seed: int = 1_000_000
    actions: str | None = None  # greedy | stochastic; None: each algorithm's default
    trust_checkpoint: bool = False


@dataclass
class Player:
    """One checkpoint, ready to act in its own copy of the env."""

    checkpoint: Path
    planned: Plan
    env: Any
    actors: Any = None
    agents: list[str] = field(default_factory=list)


def side_of(agent: str, sides: list[str]) -> str | None:
    """The side whose prefix names ``agent`` (the longest such prefix), or None."""
    return max((s for s in sides if agent.startswith(s)), key=len, default=None)


def member_spaces(env: Any) -> dict[str, tuple[Any, Any]]:
    """``agent -> (local observation space, action space)`` of either view."""
    base = env.env if hasattr(env, "teams") else env
    return {
        a: (base.observation_spaces[a][OBS_KEY], base.action_spaces[a])
        for a in base.possible_agents
    }


def space_mismatches(trained: dict, here: dict) -> list[str]:
    """What differs between the spaces a checkpoint was trained on and the env's."""
    problems = [f"agent {a!r}: not in the checkpoint's env" for a in here if a not in trained]
    problems += [f"agent {a!r}: not in the env" for a in trained if a not in here]
    for agent in [a for a in here if a in trained]:
        for what, mine, theirs in zip(("observation", "action"), trained[agent], here[agent]):
            if mine != theirs:
                problems.append(
                    f"agent {agent!r}: {what} space {mine} in the checkpoint, {theirs} in the env"
                )
    return problems


def _player(path: Path, reference: Plan | None, opts: CrossplayOptions) -> Player:
    path = ckpt.resolve_checkpoint(path.resolve())
    planned = plan(check_checkpoint(path, opts.trust_checkpoint))
    if reference is None:
        env = planned.make_env()
    else:
        own = {k: v for k, v in planned.env_options.items() if k not in planned.spec.env.kwargs}
        options = {**own, **reference.spec.env.kwargs}
        env = planned.config.make_env(reference.spec.env.name, **options)
        trained_env = planned.make_env()
        problems = space_mismatches(member_spaces(trained_env), member_spaces(env))
        trained_env.close()
        if problems:
            env.close()
            raise SpecError(f"{path}", [("", p) for p in problems])
    greedy = (opts.actions or planned.entry.eval_actions) == "greedy"
    actors = load_actors(path, planned, env, greedy, opts.trust_checkpoint)
    return Player(path, planned, env, actors)


def _to_members(env: Any, actions: dict[str, Any]) -> dict[str, Any]:
    if not hasattr(env, "teams"):
        return dict(actions)
    return {
        m: np.asarray(actions[t])[i]
        for t, members in env.teams.items()
        if t in actions
        for i, m in enumerate(members)
    }


def _from_members(env: Any, actions: dict[str, Any], obs: dict[str, Any]) -> dict[str, Any]:
    if not hasattr(env, "teams"):
        return {a: actions[a] for a in obs}
    return {t: np.stack([actions[m] for m in env.teams[t]]) for t in obs}


def _member_rewards(env: Any, rewards: dict, infos: dict) -> dict[str, float]:
    if not hasattr(env, "teams"):
        return {a: float(r) for a, r in rewards.items()}
    out = {}
    for team, members in env.teams.items():
        given = infos.get(team, {}).get("member_rewards")
        if given is not None:
            out.update({m: float(r) for m, r in zip(members, given)})
    return out


def play_episode(players: list[Player], owner: dict[str, int], seed: int) -> tuple[dict, dict]:
    """One episode in lockstep; returns (each agent's return, the task metric)."""
    observations = [p.env.reset(seed=seed)[0] for p in players]
    for p in players:
        p.actors.reset()
    meter = TaskMeter(players[0].env)
    returns = dict.fromkeys(owner, 0.0)
    done = False
    while not done:
        joint: dict[str, Any] = {}
        for index, (p, obs) in enumerate(zip(players, observations)):
            mine = _to_members(p.env, p.actors.act(obs))
            joint.update({a: v for a, v in mine.items() if owner.get(a) == index})
        steps = [p.env.step(_from_members(p.env, joint, o)) for p, o in zip(players, observations)]
        per_copy = [_member_rewards(p.env, s[1], s[4]) for p, s in zip(players, steps)]
        if any(r.keys() != per_copy[0].keys() or not _close(r, per_copy[0]) for r in per_copy):
            raise MarlError("the env copies diverged under the same actions: not deterministic")
        for agent, reward in per_copy[0].items():
            returns[agent] += reward
        meter.step()
        observations = [s[0] for s in steps]
        done = steps[0][2]["__all__"] or steps[0][3]["__all__"]
    return returns, meter.result()


def _close(a: dict[str, float], b: dict[str, float]) -> bool:
    return all(np.isclose(a[k], b[k], atol=1e-6) for k in a)


def crossplay(opts: CrossplayOptions) -> dict[str, Any]:
    """Plays every combination of the sides' checkpoints; returns the JSON-ready report."""
    if len(opts.sides) < 2:
        raise SpecError("--side", [("", "give at least two sides (PREFIX=CHECKPOINT[,...])")])
    if opts.episodes < 1:
        raise SpecError("--episodes", [("", "must be at least 1")])
    names = list(opts.sides)
    first = _player(opts.sides[names[0]][0], None, opts)
    agents = list(member_spaces(first.env))
    unowned = [a for a in agents if side_of(a, names) is None]
    if unowned:
        raise SpecError("--side", [("", f"no side names agents {unowned}; sides: {names}")])
    cache: dict[Path, Player] = {opts.sides[names[0]][0]: first}
    for path in {p for paths in opts.sides.values() for p in paths} - set(cache):
        cache[path] = _player(path, first.planned, opts)
    matchups, extra = [], []
    combos = list(itertools.product(*(opts.sides[s] for s in names)))
    for number, combo in enumerate(combos, start=1):
        started = time.monotonic()
        players: list[Player] = []
        for path in combo:  # the same checkpoint on two sides: a second copy of its env
            player = cache[path]
            if player in players:
                player = _player(path, first.planned, opts)
                extra.append(player)
            players.append(player)
        owner = {a: names.index(side_of(a, names)) for a in agents}
        torch.manual_seed(opts.seed)
        played = [play_episode(players, owner, opts.seed + i) for i in range(opts.episodes)]
        matchups.append(_matchup(names, combo, owner, played))
        _report_progress(number, len(combos), matchups[-1], time.monotonic() - started)
    for player in [*cache.values(), *extra]:
        player.env.close()
    report = {"env": first.planned.spec.env.name, "episodes": opts.episodes, "sides": names}
    report.update(git_commit())  # the code that played, as benchmark JSONs record it
    report["matchups"] = matchups
    if len(names) == 2:
        rows, cols = ([cache[p].planned.spec for p in opts.sides[s]] for s in names)
        matrix = _matrix(names, opts.sides, matchups)
        matrix["row_labels"] = [checkpoint_label(s.name, s.seed) for s in rows]
        matrix["column_labels"] = [checkpoint_label(s.name, s.seed) for s in cols]
        values = [*names, *matchups[0]["task"]]
        report["matrix"] = matrix
        report["by_spec"] = blocks(matrix, [s.name for s in rows], [s.name for s in cols], values)
    return report


def _report_progress(number: int, total: int, matchup: dict[str, Any], seconds: float) -> None:
    """One stderr line per finished matchup: its checkpoints and each side's mean return."""
    sides = matchup["returns"]
    returns = ", ".join(f"{side} {sides[side]['mean']:.2f}" for side in sides)
    who = " vs ".join(f"{s}={p}" for s, p in matchup["checkpoints"].items())
    print(f"[{number}/{total}] {who}: {returns} ({seconds:.1f} s)", file=sys.stderr, flush=True)


def _matchup(names: list[str], combo: tuple, owner: dict, played: list) -> dict[str, Any]:
    sides = {}
    for index, side in enumerate(names):
        totals = [sum(r for a, r in ret.items() if owner[a] == index) for ret, _ in played]
        sides[side] = {"mean": float(np.mean(totals)), "std": float(np.std(totals))}
    task = mean_task([t for _, t in played])
    return {
        "checkpoints": {s: str(p) for s, p in zip(names, combo)},
        "returns": sides,
        "task": task,
    }


def _matrix(names: list[str], sides: dict, matchups: list) -> dict[str, Any]:
    rows, cols = sides[names[0]], sides[names[1]]
    out: dict[str, Any] = {"rows": [str(p) for p in rows], "columns": [str(p) for p in cols]}
    for side in names:
        out[side] = [
            [matchups[i * len(cols) + j]["returns"][side]["mean"] for j in range(len(cols))]
            for i in range(len(rows))
        ]
    keys = matchups[0]["task"].keys()
    for key in keys:
        out[key] = [
            [matchups[i * len(cols) + j]["task"].get(key) for j in range(len(cols))]
            for i in range(len(rows))
        ]
    return out
