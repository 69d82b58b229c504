"""Run in a fresh interpreter: evaluate and export checkpoints, compare exported and module.

``python restore_check.py JOBS.json WORK_DIR`` (``JOBS.json``: ``{id: [checkpoint, out]}``)
prints one JSON line, per job: the eval report, the exported files, the steps compared and
every mismatch between the exported actors (fed the local observation, the one-hot id and the
mask exactly as their JSON says) and the restored training-time modules (greedy). All
exported actors run in one more process that never imports Ray. One interpreter serves every
algorithm x env pair: starting Python, torch and RLlib per pair cost more than the checks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import torch

from env_wrappers.make import make_rllib_env
from policies.common.export import actor_input
from rl_apps.build import plan
from rl_apps.evaluate import EvalOptions, check_checkpoint, evaluate, load_actors
from rl_apps.export import export_checkpoint

STEPS = 6
TEAM_ONLY_OPTIONS = ("teams", "team_reward")

TORCH_ONLY = """
import json, sys, torch
data = torch.load(sys.argv[1])
out = {name: torch.jit.load(path)(data[name]["obs"], data[name]["mask"]).tolist()
       for name, path in json.loads(sys.argv[2]).items()}
assert "ray" not in sys.modules
print(json.dumps(out))
"""


def local_env(planned):
    """The per-agent env without marl's appended ids: what each agent itself observes."""
    options = {k: v for k, v in planned.env_options.items() if k not in TEAM_ONLY_OPTIONS}
    return make_rllib_env(planned.spec.env.name, **{**options, "agent_id": False})


def per_agent(actions: dict, planned) -> dict:
    """Team actions split into the members' actions (the agents view: unchanged)."""
    if not planned.facts.teams:
        return actions
    return {
        member: np.asarray(actions[team])[index]
        for team, members in planned.facts.teams.items()
        if team in actions
        for index, member in enumerate(members)
    }


def exported_action(meta: dict, output: np.ndarray) -> np.ndarray:
    """What an exported actor's JSON says to do with its output (greedy)."""
    if meta["action"]["kind"] == "discrete":
        return np.asarray(int(np.argmax(output)))
    low, high = np.asarray(meta["action"]["low"]), np.asarray(meta["action"]["high"])
    if meta["action"]["normalize_actions"]:
        return np.clip(low + (output + 1.0) * (high - low) / 2.0, low, high)
    return output


def actor_rows(metas: dict, agent: str, obs: dict) -> tuple[str, np.ndarray, np.ndarray]:
    """(actor name, obs row, mask row) for one agent's local observation."""
    name, meta = next((n, m) for n, m in metas.items() if agent in m["agents"])
    row = actor_input(meta, agent, obs["obs"])
    spec = meta["input"]["mask"]
    if spec is None:
        return name, row, np.zeros(0, np.float32)
    mask = obs.get("action_mask")
    assert (mask is not None) == spec["required"], (agent, spec)
    mask = np.ones(spec["size"], np.float32) if mask is None else np.asarray(mask, np.float32)
    return name, row, mask


def inputs_and_expectations(planned, checkpoint: Path, metas: dict) -> tuple[dict, list, int]:
    """Steps the algorithm's env and the local env in lockstep with the restored modules.

    Returns (per actor: the obs and mask rows its JSON asks for, the module's choices as
    ``(actor, agent, action)`` in row order, the steps played).
    """
    env, local = planned.make_env(), local_env(planned)
    actors = load_actors(checkpoint, planned, env, greedy=True)
    obs, _ = env.reset(seed=11)
    local_obs, _ = local.reset(seed=11)
    inputs, expected, steps = {n: ([], []) for n in metas}, [], 0
    for _ in range(STEPS):
        actions = actors.act(obs)
        chosen = per_agent(actions, planned)
        for agent, action in chosen.items():
            name, row, mask = actor_rows(metas, agent, local_obs[agent])
            inputs[name][0].append(row)
            inputs[name][1].append(mask)
            expected.append((name, agent, np.asarray(action, np.float64)))
        steps += 1
        obs, _, terms, truncs, _ = env.step(actions)
        local_obs, *_ = local.step(chosen)
        if terms["__all__"] or truncs["__all__"]:
            break
    env.close()
    local.close()
    data = {
        n: {"obs": torch.as_tensor(np.stack(o)), "mask": torch.as_tensor(np.stack(m))}
        for n, (o, m) in inputs.items()
        if o
    }
    return data, expected, steps


def mismatches(metas: dict, outputs: dict, expected: list) -> list[dict]:
    """Where the exported actors' JSON-read outputs differ from the modules' choices."""
    found, cursor = [], {n: 0 for n in outputs}
    for name, agent, action in expected:
        got = exported_action(metas[name], np.asarray(outputs[name][cursor[name]]))
        cursor[name] += 1
        if not np.allclose(got, action, atol=1e-4):
            found.append({"agent": agent, "module": action.tolist(), "exported": got.tolist()})
    return found


def run_torch_only(data: dict, paths: dict, work: Path) -> dict:
    """Every exported actor on its inputs, in a process that never imports Ray."""
    torch.save(data, work / "inputs.pt")
    proc = subprocess.run(
        [sys.executable, "-c", TORCH_ONLY, str(work / "inputs.pt"), json.dumps(paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout)


def prepare(checkpoint: Path, out: Path) -> dict:
    """Eval and export of one checkpoint, and what its exported actors must reproduce."""
    checkpoint = checkpoint.resolve()
    report = evaluate(EvalOptions(checkpoint=checkpoint, episodes=1, baseline=False))
    written = export_checkpoint(checkpoint, out)
    metas = {p.stem: json.loads(p.with_suffix(".json").read_text()) for p in written}
    planned = plan(check_checkpoint(checkpoint))
    data, expected, steps = inputs_and_expectations(planned, checkpoint, metas)
    paths = {p.stem: str(p) for p in written if p.stem in data}
    return {
        "eval": report,
        "metas": metas,
        "data": data,
        "paths": paths,
        **{"expected": expected, "compared_steps": steps},
    }


def main(jobs: dict[str, tuple[str, str]], work: Path) -> None:
    """``jobs``: ``id -> (checkpoint, out dir)``; prints ``id -> result`` as one JSON line."""
    prepared, results = {}, {}
    for job, (checkpoint, out) in jobs.items():
        try:
            prepared[job] = prepare(Path(checkpoint), Path(out))
        except Exception:  # noqa: BLE001 - reported per job, the others still run
            results[job] = {"error": traceback.format_exc()[-3000:]}
    data = {f"{job}/{n}": t for job, p in prepared.items() for n, t in p["data"].items()}
    paths = {f"{job}/{n}": v for job, p in prepared.items() for n, v in p["paths"].items()}
    outputs = run_torch_only(data, paths, work)
    for job, p in prepared.items():
        mine = {n: outputs[f"{job}/{n}"] for n in p["data"]}
        results[job] = {
            "eval": p["eval"],
            "exported": sorted(p["metas"]),
            "compared_steps": p["compared_steps"],
            "mismatches": mismatches(p["metas"], mine, p["expected"]),
            "torch_only": True,
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
