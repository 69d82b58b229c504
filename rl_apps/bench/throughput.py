"""``marl bench throughput SPEC...``: where a spec's env steps/s go, as ratios to the raw env.

For each spec, in one process on one machine (issue 18's measurement, run before and after
each speed change):

1. ``raw``: the PettingZoo env alone on one core, with the spec's env options, pre-sampled
   random joint actions (``rl_apps.bench.envs``).
2. ``sampling``: the spec's env runners sampling alone (no learner update), as the algorithm
   samples: ``synchronous_parallel_sample`` over the env runner group.
3. ``learner``: policy-gradient specs (PPO-like configs): the env steps of one train batch
   divided by the median time of its learner update on that fixed batch
   (``rl_apps.bench.learner_cost``'s method); None for replay-based algorithms, whose updates
   are not tied to one batch.
4. ``iterations``: whole ``algo.train()`` iterations (after one warm-up), env steps/s from
   RLlib's lifetime counter, in the spec's mode; ``overlapped``: the same with
   ``training.sample_while_learning: true`` (algorithms that offer it, with remote env
   runners; ``policies.common.sample_while_learning``), None otherwise.
5. ``one_core_sampling`` and ``one_core_iterations``: all the spec's envs (runners x envs per
   runner) in one local env runner (``num_env_runners: 0``, sequential), sampling alone and
   whole iterations; from them
   ``rl_apps.bench.ceiling`` derives the per-step costs and ``ceiling_sequential`` (strictly
   sequential iterations, the spec's env runners sampling in parallel) and
   ``ceiling_overlapped`` (every core busy, learning overlapped with sampling): the rates no
   schedule beats with those costs on this machine's cores.
6. ``stock_ppo``: for policy-gradient specs, RLlib's own PPO (one policy per agent, RLlib's
   ``ParallelPettingZooEnv``; action masks dropped, as RLlib's default catalog cannot encode
   them) with the same env runners, envs per runner, batch, minibatch and epochs, as the
   reference for what RLlib itself reaches here.

Each rate is also given as a ratio to ``raw``. Writes ``throughput.json`` and ``throughput.md``
(with the commit and the machine's load average: other work changes every number).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rl_apps.rundir import git_commit
from rl_apps.stopping import stop_algorithm


def is_policy_gradient(config: Any) -> bool:
    """True for on-policy rollout algorithms: one learner update per train batch (PPO-like)."""
    from ray.rllib.algorithms.ppo import PPOConfig

    return isinstance(config, PPOConfig)


def ratios(rates: dict[str, float | None], raw: float) -> dict[str, float | None]:
    """Every rate divided by the raw env's (None stays None)."""
    return {k: None if v is None or raw <= 0 else round(v / raw, 3) for k, v in rates.items()}


def raw_env_rate(env: dict[str, Any], steps: int, seed: int = 0) -> float:
    """Env steps/s of the bare PettingZoo env with the spec's options, one core."""
    from env_wrappers.make import make_env
    from rl_apps.bench.envs import _actions, _time_steps

    options = {k: v for k, v in env.items() if k != "name"}
    raw = make_env(env["name"], **options)
    actions = _actions(raw, 1000, seed)

    def step(joint: dict) -> bool:
        raw.step({a: joint[a] for a in raw.agents})
        return not raw.agents

    return _time_steps(lambda e: raw.reset(seed=seed + e), step, actions, steps)


def _timed(fn: Callable[[], int], seconds: float) -> float:
    """Calls ``fn`` (returning env steps) until ``seconds`` have passed; env steps/s."""
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        steps += fn()
    return steps / (time.perf_counter() - start)


def sampling_rate(algo: Any, seconds: float) -> float:
    """Env steps/s of the algorithm's env runners sampling without any update."""
    from ray.rllib.execution.rollout_ops import synchronous_parallel_sample

    def sample() -> int:
        episodes = synchronous_parallel_sample(
            worker_set=algo.env_runner_group, concat=True, _uses_new_env_runners=True
        )
        return sum(e.env_steps() for e in episodes)

    sample()  # warm-up
    return _timed(sample, seconds)


def learner_rate(algo: Any, config: Any, repeats: int = 3) -> float | None:
    """Env steps/s of the learner alone on a fixed on-policy batch (None: not on-policy)."""
    from ray.rllib.execution.rollout_ops import synchronous_parallel_sample

    from rl_apps.bench.learner_cost import update_seconds

    if not is_policy_gradient(config):
        return None
    episodes = synchronous_parallel_sample(
        worker_set=algo.env_runner_group,
        max_env_steps=config.train_batch_size_per_learner,
        concat=True,
        _uses_new_env_runners=True,
    )
    batch_steps = sum(e.env_steps() for e in episodes)
    measured = update_seconds(algo, config, episodes, repeats)
    median = measured[len(measured) // 2]
    return batch_steps / median


def iteration_rate(algo: Any, seconds: float) -> float:
    """Env steps/s of whole training iterations (after one warm-up iteration)."""
    from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME

    def lifetime(result: dict) -> int:
        return int(result[ENV_RUNNER_RESULTS][NUM_ENV_STEPS_SAMPLED_LIFETIME])

    before = lifetime(algo.train())
    start, after = time.perf_counter(), before
    while time.perf_counter() - start < seconds:
        after = lifetime(algo.train())
    return (after - before) / (time.perf_counter() - start)


def overlapped_rate(config: Any, seconds: float) -> float | None:
    """Whole iterations with ``sample_while_learning: true`` (None: the algorithm lacks it)."""
    if not hasattr(config, "sample_while_learning") or config.num_env_runners < 1:
        return None
    overlapped = config.copy(copy_frozen=False).training(sample_while_learning=True)
    algo = overlapped.build_algo()
    try:
        return iteration_rate(algo, seconds)
    finally:
        stop_algorithm(algo)


def without_masks(env: Any) -> Any:
    """The PettingZoo ``env`` with ``{observation, action_mask}`` observations made plain.

    RLlib's default PPO catalog has no encoder for that Dict, nor masks.
    """
    from pettingzoo.utils.wrappers import BaseParallelWrapper

    def strip(obs: Any) -> Any:
        return obs["observation"] if isinstance(obs, dict) and "observation" in obs else obs

    class WithoutMasks(BaseParallelWrapper):
        def observation_space(self, agent: str) -> Any:
            space = self.env.observation_space(agent)
            return space["observation"] if "observation" in getattr(space, "spaces", {}) else space

        def reset(self, seed: int | None = None, options: Any = None) -> Any:
            obs, infos = self.env.reset(seed=seed, options=options)
            return {a: strip(o) for a, o in obs.items()}, infos

        def step(self, actions: dict) -> Any:
            obs, *rest = self.env.step(actions)
            return ({a: strip(o) for a, o in obs.items()}, *rest)

    return WithoutMasks(env)


def one_core_rates(config: Any, seconds: float) -> tuple[float, float]:
    """Sampling alone and whole sequential iterations with all the envs in one local runner."""
    envs = max(config.num_env_runners, 1) * config.num_envs_per_env_runner
    local = config.copy(copy_frozen=False).env_runners(
        num_env_runners=0, num_envs_per_env_runner=envs
    )
    if hasattr(local, "sample_while_learning"):
        local.training(sample_while_learning=False)
    algo = local.build_algo()
    try:
        return sampling_rate(algo, seconds), iteration_rate(algo, seconds)
    finally:
        stop_algorithm(algo)


def ceilings(config: Any, rates: dict[str, float | None], cores: int) -> dict[str, float]:
    """The sequential and overlapped ceilings from the one-core rates (``ceiling``)."""
    from rl_apps.bench.ceiling import overlapped_ceiling, sequential_ceiling

    sampling, iterations = rates["one_core_sampling"], rates["one_core_iterations"]
    assert sampling is not None and iterations is not None
    samplers = min(max(config.num_env_runners, 1), cores)
    return {
        "ceiling_sequential": sequential_ceiling(sampling, iterations, samplers),
        "ceiling_overlapped": overlapped_ceiling(sampling, iterations, cores),
    }


def stock_runner_rate(config: Any, seconds: float) -> float:
    """Whole sequential iterations with RLlib's per-step bookkeeping (``lean: false``)."""
    from rl_apps.env_runner import StockSamplingEnvRunner

    stock = config.copy(copy_frozen=False).env_runners(env_runner_cls=StockSamplingEnvRunner)
    if hasattr(stock, "sample_while_learning"):
        stock.training(sample_while_learning=False)
    algo = stock.build_algo()
    try:
        return iteration_rate(algo, seconds)
    finally:
        stop_algorithm(algo)


def stock_ppo_config(spec: Any, config: Any) -> Any:
    """RLlib's own PPO on the same PettingZoo env and sizes, one policy per agent."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
    from ray.tune.registry import register_env

    from env_wrappers.make import make_env

    env = spec.env.model_dump()
    options = {k: v for k, v in env.items() if k != "name"}
    agents = list(make_env(env["name"], **options).possible_agents)
    register_env(
        "stock_pz",
        lambda _: ParallelPettingZooEnv(without_masks(make_env(env["name"], **options))),
    )
    return (
        PPOConfig()
        .environment("stock_pz")
        .env_runners(
            num_env_runners=config.num_env_runners,
            num_envs_per_env_runner=config.num_envs_per_env_runner,
        )
        .training(
            train_batch_size_per_learner=config.train_batch_size_per_learner,
            minibatch_size=config.minibatch_size,
            num_epochs=config.num_epochs,
        )
        .multi_agent(policies=set(agents), policy_mapping_fn=lambda agent, *a, **k: agent)
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(rl_module_specs={a: RLModuleSpec() for a in agents})
        )
        .debugging(seed=spec.seed)
    )


def measure_spec(spec_path: Path, seconds: float, raw_steps: int) -> dict[str, Any]:
    """Every rate of one spec and its ratio to the raw env."""
    from rl_apps.build import plan
    from rl_apps.spec import load_spec

    spec = load_spec(spec_path)
    planned = plan(spec)
    config = planned.config
    raw = raw_env_rate(spec.env.model_dump(), raw_steps)
    rates: dict[str, float | None] = {}
    algo = config.build_algo()
    try:
        rates["sampling"] = sampling_rate(algo, seconds)
        rates["learner"] = learner_rate(algo, config)
        rates["iterations"] = iteration_rate(algo, seconds)
    finally:
        stop_algorithm(algo)
    rates["overlapped"] = overlapped_rate(config, seconds)
    rates["stock_runner"] = stock_runner_rate(config, seconds)
    rates["one_core_sampling"], rates["one_core_iterations"] = one_core_rates(config, seconds)
    cores = os.cpu_count() or 1
    rates.update(ceilings(config, rates, cores))
    rates["stock_ppo"] = None
    if is_policy_gradient(config):
        stock = stock_ppo_config(spec, config).build_algo()
        try:
            rates["stock_ppo"] = iteration_rate(stock, seconds)
        finally:
            stop_algorithm(stock)
    rounded = {k: None if v is None else round(v, 1) for k, v in rates.items()}
    return {
        "spec": spec_path.name,
        "algo": spec.algo,
        "env": spec.env.model_dump(),
        "raw": round(raw, 1),
        "cores": cores,
        "rates": rounded,
        "ratios": ratios(rounded, raw),
    }


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The results as a Markdown table: env steps/s (ratio to raw)."""

    def cell(row: dict, key: str) -> str:
        rate = row["rates"][key]
        return "n/a" if rate is None else f"{rate:,.0f} ({row['ratios'][key]:.2f}x)"

    lines = [
        "| spec | algo | raw env | sampling alone | learner alone | iterations, RLlib's "
        "runner bookkeeping | whole iterations | sampling while learning | stock RLlib PPO |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['spec']} | {r['algo']} | {r['raw']:,.0f} | {cell(r, 'sampling')} | "
            f"{cell(r, 'learner')} | {cell(r, 'stock_runner')} | {cell(r, 'iterations')} | "
            f"{cell(r, 'overlapped')} | "
            f"{cell(r, 'stock_ppo')} |"
        )
    return "\n".join(lines)


def ceiling_table(rows: list[dict[str, Any]]) -> str:
    """The one-core rates, per-step costs and ceilings as a Markdown table."""
    from rl_apps.bench.ceiling import per_step_costs

    def cell(row: dict, key: str) -> str:
        return f"{row['rates'][key]:,.0f} ({row['ratios'][key]:.2f}x)"

    lines = [
        "| spec | raw env µs/step | one process: sampling alone | one process: whole iterations | "
        "sampling µs/step | rest µs/step | ceiling, sequential | ceiling, overlapped | cores |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        rates = r["rates"]
        sample_cost, rest_cost = per_step_costs(
            rates["one_core_sampling"], rates["one_core_iterations"]
        )
        lines.append(
            f"| {r['spec']} | {1e6 / r['raw']:,.0f} | {cell(r, 'one_core_sampling')} | "
            f"{cell(r, 'one_core_iterations')} | {1e6 * sample_cost:,.0f} | "
            f"{1e6 * rest_cost:,.0f} | {cell(r, 'ceiling_sequential')} | "
            f"{cell(r, 'ceiling_overlapped')} | {r['cores']} |"
        )
    return "\n".join(lines)


def bench_throughput(
    out: Path, specs: list[Path], seconds: float = 30.0, raw_steps: int = 20_000
) -> list[dict[str, Any]]:
    """Measures every spec on a local Ray instance; writes throughput.json and .md."""
    from rl_apps.runtime import ray_runtime

    rows = []
    with ray_runtime(None):
        for path in specs:
            print(f"measuring {path.name} ({seconds:g} s per phase) ...", flush=True)
            rows.append(measure_spec(path, seconds, raw_steps))
            print(markdown_table(rows[-1:]).splitlines()[-1], flush=True)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    report = {**git_commit(), "seconds_per_phase": seconds, "load_average": load, "rows": rows}
    out.mkdir(parents=True, exist_ok=True)
    (out / "throughput.json").write_text(json.dumps(report, indent=1))
    note = f"\nLoad average while measuring: {load}; commit {report.get('commit', '?')[:7]}.\n"
    ceilings_text = (
        "\nPer-step costs in one process (the spec's envs in a local env runner) and the ceilings "
        "they allow (`rl_apps/bench/ceiling.py`):\n\n" + ceiling_table(rows) + "\n"
    )
    (out / "throughput.md").write_text(markdown_table(rows) + "\n" + ceilings_text + note)
    return rows
