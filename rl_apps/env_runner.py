"""``MarlEnvRunner``: RLlib's MultiAgentEnvRunner with per-sub-env recovery and distinct seeds.

Set on every config by ``rl_apps.build``. Three changes to RLlib 2.60's sampling:

- **A failed env step costs one episode, not the sample.** With
  ``fault_tolerance.restart_failed_sub_environments: true`` every sub-env is wrapped in
  ``env_wrappers.recovering.RecoveringSubEnv``: the sub-env whose ``step`` raised is rebuilt
  and its episode truncated, the other sub-envs and the sample go on. (RLlib rebuilds every
  sub-env and restarts the sample from zero, which a 1% failure rate over 16 sub-envs
  turns into samples that never finish.) Failures still count in RLlib's
  ``num_env_step_failures`` metric.
- **Distinct seeds for every sub-env of every env runner.** RLlib seeds sub-env ``i`` of
  env runner ``w`` with ``seed + w + i``, so runner 2's first seven sub-envs replay runner
  1's last seven. Here each (seed, runner, sub-env) gets its own ``SeedSequence`` seed.
- **Seeds per iteration (``debugging.deterministic``).** ``reseed(seed)`` makes the next
  ``sample()`` reset every sub-env with seeds derived from ``seed`` (see
  ``rl_apps.determinism``), so what an iteration samples depends on its own seed and the
  weights only, not on episodes left over from the iteration before (which a checkpoint
  does not hold).

**Lean sampling** (``env_runners.lean``, on by default; ``lean: false`` is
``StockSamplingEnvRunner``, RLlib's own bookkeeping). The same episodes and the same metric
values as RLlib, with less work per env step:

- the step counts RLlib logs per sub-env step (2 + 4 x agents ``log_value`` calls) are counted
  in plain ints (``rl_apps.sampled_counts``) and logged once per ``sample()``, with RLlib's
  keys and reduce methods; so is the Ray (Prometheus) counter of sampled env steps;
- each returned episode is turned into numpy once, at the end of ``sample()``: RLlib 2.60
  converts every finished episode again after every later step of the same sample;
- observations are not deep-copied by the vector env when the env returns new arrays every
  step (``env_wrappers.registry.returns_fresh_observations``: MPE and LBF without supersuit
  wrappers);
- with only discrete action spaces, RLlib's ``NormalizeAndClipActions`` is switched off: it
  deep-copies every step's actions to unsquash and clip them, which leaves discrete actions
  as they are (about 5% of a local runner's sampling time on LBF).

What differs: code that reads the step counters *during* a sample (an ``on_episode_*``
callback peeking ``num_env_steps_sampled``) sees them only after it, and the Ray counter
``rllib_env_runner_num_env_steps_sampled_counter`` moves once per sample. RLlib's
per-connector timers stay: turning them off gained 1-3% of sampling CPU time on MPE and LBF
(within the noise of a loaded machine), and would drop their metrics.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import gymnasium as gym
from ray.rllib.env.env_runner import NUM_ENV_STEP_FAILURES_LIFETIME
from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner
from ray.rllib.utils.annotations import override
from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS

from env_wrappers.recovering import RecoveringSubEnv, derived_seed
from env_wrappers.registry import returns_fresh_observations
from rl_apps.sampled_counts import SampledCounts

#: Action spaces ``NormalizeAndClipActions`` leaves as they are.
_DISCRETE_SPACES = (gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)
#: The gymnasium id ``MultiAgentEnvRunner.make_env`` registers its env under.
_RLLIB_ENV_ID = "rllib-multi-agent-env-v0"


class MarlEnvRunner(MultiAgentEnvRunner):
    """MultiAgentEnvRunner whose sub-envs recover one by one and get distinct seeds."""

    #: Lean sampling (see the module docstring); ``StockSamplingEnvRunner`` turns it off.
    LEAN = True

    @override(MultiAgentEnvRunner)
    def __init__(self, config: Any, **kwargs: Any) -> None:
        self._pending_seed: int | None = None
        self._counts = SampledCounts()
        self._prometheus_env_steps = 0
        super().__init__(config=config, **kwargs)
        if self.LEAN:
            skip_discrete_action_unsquashing(self._module_to_env)

    @override(MultiAgentEnvRunner)
    def make_env(self) -> None:
        """RLlib's vector env, each sub-env wrapped to recover from a failing step."""
        super().make_env()
        if self.LEAN and returns_fresh_observations(self.config.env_config):
            self.env.unwrapped.copy = False  # no deepcopy of every step's observations
        if not self.config.restart_failed_sub_environments:
            return
        # This runner's own env spec: another runner in the process may re-register the id.
        factory = partial(gym.make, gym.spec(_RLLIB_ENV_ID))
        vector = self.env.unwrapped
        vector.envs = [
            RecoveringSubEnv(
                env,
                factory,
                on_failure=self._count_failure,
                base_seed=None if self._seed is None else derived_seed(self._seed, index),
            )
            for index, env in enumerate(vector.envs)
        ]

    def _count_failure(self) -> None:
        self.metrics.log_value(NUM_ENV_STEP_FAILURES_LIFETIME, 1, reduce="lifetime_sum")

    def reseed(self, seed: int) -> None:
        """The next ``sample()`` resets every sub-env, seeded from ``seed``."""
        self._pending_seed = seed

    @override(MultiAgentEnvRunner)
    def sample(self, **kwargs: Any) -> Any:
        """RLlib's sample; after ``reseed`` it starts from freshly seeded resets."""
        if self._pending_seed is not None:
            kwargs["force_reset"] = True
        return super().sample(**kwargs)

    @override(MultiAgentEnvRunner)
    def _try_env_reset(self, *, seed: Any = None, options: dict | None = None) -> Any:
        if self._pending_seed is not None:
            seed = self._sub_env_seeds(self._pending_seed)
            self._pending_seed = None
        elif isinstance(seed, int):
            seed = self._sub_env_seeds(seed, self.worker_index or 0)
        return super()._try_env_reset(seed=seed, options=options)

    def _sub_env_seeds(self, *entropy: int) -> list[int]:
        return [derived_seed(*entropy, index) for index in range(self.num_envs)]

    @override(MultiAgentEnvRunner)
    def _sample(self, **kwargs: Any) -> list[Any]:
        """RLlib's sample loop; lean: counts logged and episodes numpy'd once, at the end."""
        if not self.LEAN:
            return super()._sample(**kwargs)
        to_numpy, self.episodes_to_numpy = self.episodes_to_numpy, False
        try:
            episodes = super()._sample(**kwargs)
        finally:
            self.episodes_to_numpy = to_numpy
            self._log_counts()
        if to_numpy:
            for episode in episodes:
                episode.to_numpy()  # finished ones were already run through env-to-module
        return episodes

    @override(MultiAgentEnvRunner)
    def _increase_sampled_metrics(self, num_steps: int, next_obs: dict, episode: Any) -> int:
        if not self.LEAN:
            return super()._increase_sampled_metrics(num_steps, next_obs, episode)
        self._counts.add_step(num_steps, next_obs, episode.module_for, episode.is_done)
        return num_steps

    @override(MultiAgentEnvRunner)
    def _log_env_steps(self, metric: Any, num_steps: int) -> None:
        if self.LEAN and metric is self._metrics_num_env_steps_sampled:
            self._prometheus_env_steps += num_steps  # one Ray counter update per sample
            return
        super()._log_env_steps(metric, num_steps)

    def _log_counts(self) -> None:
        self._counts.log_to(self.metrics)
        if self._prometheus_env_steps:
            super()._log_env_steps(self._metrics_num_env_steps_sampled, self._prometheus_env_steps)
            self._prometheus_env_steps = 0


def only_discrete_actions(space: gym.Space) -> bool:
    """True when every leaf of ``space`` is discrete (nothing to unsquash or clip)."""
    if isinstance(space, gym.spaces.Dict):
        return all(only_discrete_actions(s) for s in space.spaces.values())
    if isinstance(space, gym.spaces.Tuple):
        return all(only_discrete_actions(s) for s in space.spaces)
    return isinstance(space, _DISCRETE_SPACES)


def skip_discrete_action_unsquashing(pipeline: Any) -> bool:
    """Turns off ``NormalizeAndClipActions`` in ``pipeline`` if its actions are all discrete."""
    from ray.rllib.connectors.module_to_env import NormalizeAndClipActions

    pieces = [p for p in pipeline.connectors if isinstance(p, NormalizeAndClipActions)]
    if not pieces or not all(only_discrete_actions(p.input_action_space) for p in pieces):
        return False
    for piece in pieces:
        piece.normalize_actions = piece.clip_actions = False
    return True


class StockSamplingEnvRunner(MarlEnvRunner):
    """``MarlEnvRunner`` with RLlib's own per-step bookkeeping (``env_runners.lean: false``)."""

    LEAN = False


class EnvFailureCount:
    """Turns RLlib's lifetime count of failed env steps into one console line per iteration."""

    def __init__(self, seen: int = 0) -> None:
        self._seen = seen

    @classmethod
    def of(cls, algo: Any) -> EnvFailureCount:
        """Counting from what ``algo`` has counted (a resumed run restores the lifetime count)."""
        key = (ENV_RUNNER_RESULTS, NUM_ENV_STEP_FAILURES_LIFETIME)
        try:
            return cls(int(algo.metrics.peek(key, default=0) or 0))
        except Exception:  # noqa: BLE001 - no metrics yet: count from zero
            return cls()

    def note(self, result: dict[str, Any]) -> str | None:
        """The line for this iteration's result, or None when no env step failed in it."""
        total = int(result.get(ENV_RUNNER_RESULTS, {}).get(NUM_ENV_STEP_FAILURES_LIFETIME) or 0)
        new = total - self._seen if total >= self._seen else total
        self._seen = total
        if not new:
            return None
        return f"  env step failures: {new} (sub-envs rebuilt; {total} so far)"
