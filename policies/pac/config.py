"""PACConfig and PAC: Pareto Actor-Critic on the team view, a variant of COMA's package.

The sampling loop is PPO's (synchronous rollouts, then one gradient step per rollout batch),
as COMA's. Defaults follow EPyMARL's ``pac_ns.yaml``: one actor per member, lr 3e-4, n-step
critic targets with ``n_step`` 10, a Polyak target critic (``target_tau`` 0.01), no reward
standardization, gradient norm 10, and the entropy coefficient annealed linearly from
``entropy_start`` (20) to ``entropy_end`` (0.01) over the first ``entropy_anneal_fraction``
(80%) of the run's env-step budget (``stop.num_env_steps_sampled_lifetime``), or over
``entropy_anneal_steps`` env steps when given. Setting ``training.entropy_coeff`` yourself
(a number or an RLlib schedule) replaces the annealing.

The critic's ``Qmax`` pass costs ``A^(N-1)`` rows per sample and member
(``policies.pac.math.joint_table_rows``); a team whose table exceeds ``max_joint_rows``
(4,096) is refused with the env, the agents, the actions and the limit.

PAC's actors are MLPs: ``rl_module.model_config.use_gru: true`` is refused in ``validate()``
(its state-value critic, ``Qmax`` pass and targets read flat rows, not GRU sequences).
"""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.utils.annotations import override

from policies.coma.config import COMA, COMAConfig
from policies.common.contract import AlgorithmContract, EnvFacts
from policies.common.module_specs import per_agent_module_specs
from policies.common.sharing import PolicyMapping
from policies.pac.math import MAX_JOINT_ROWS, entropy_schedule, joint_table_rows
from policies.pac.module import MODEL_CONFIG_KEYS, PACModule

_OPTIONS = (
    "entropy_start",
    "entropy_end",
    "entropy_anneal_fraction",
    "entropy_anneal_steps",
    "max_joint_rows",
)


class PACConfig(COMAConfig):
    """COMA's config with PAC's module, learner, defaults and entropy annealing."""

    MODEL_CONFIG_KEYS = MODEL_CONFIG_KEYS
    SMOKE_TEST = {
        **COMAConfig.SMOKE_TEST,
        "training": {**COMAConfig.SMOKE_TEST["training"], "entropy_anneal_steps": 100},
    }

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or PAC)
        self.td_lambda = None
        self.n_step = 10
        self.target_tau = 0.01
        self.standardize_rewards = False
        self.entropy_start = 20.0
        self.entropy_end = 0.01
        self.entropy_anneal_fraction = 0.8
        self.entropy_anneal_steps: int | None = None
        self.max_joint_rows = MAX_JOINT_ROWS
        self._entropy_given = False
        self._budget: int | None = None
        self._joint_rows: tuple[int, int, int] | None = None  # (agents, actions, rows)

    @override(COMAConfig)
    def training(
        self,
        *,
        entropy_start: float = NotProvided,
        entropy_end: float = NotProvided,
        entropy_anneal_fraction: float = NotProvided,
        entropy_anneal_steps: int | None = NotProvided,
        max_joint_rows: int = NotProvided,
        **kwargs: Any,
    ) -> PACConfig:
        """PAC's options; the rest are COMA's and PPO's.

        Args:
            entropy_start: Entropy coefficient at env step 0.
            entropy_end: Entropy coefficient after the annealing.
            entropy_anneal_fraction: Share of the run's env-step budget to anneal over.
            entropy_anneal_steps: Env steps to anneal over (instead of the fraction).
            max_joint_rows: Largest ``A^(N-1)`` joint-action table the critic may enumerate.
            **kwargs: COMAConfig.training's options.

        """
        if kwargs.get("entropy_coeff", NotProvided) is not NotProvided:
            self._entropy_given = True
        super().training(**kwargs)
        given = (
            entropy_start,
            entropy_end,
            entropy_anneal_fraction,
            entropy_anneal_steps,
            max_joint_rows,
        )
        for name, value in zip(_OPTIONS, given, strict=True):
            if value is not NotProvided:
                setattr(self, name, value)
        return self

    @override(AlgorithmContract)
    def apply_budget(self, stop: dict[str, Any]) -> None:
        """Remembers the env-step budget the entropy annealing is a fraction of."""
        budget = stop.get("num_env_steps_sampled_lifetime")
        self._budget = int(budget) if isinstance(budget, int | float) else None

    @override(COMAConfig)
    def validate(self) -> None:
        self._set_entropy_schedule()
        if self.recurrent_actors:
            raise ValueError(
                "rl_module.model_config.use_gru: pac's actors are MLPs only (recurrent actors "
                "are not supported by PAC's critics and targets); use algo: coma for GRU actors"
            )
        super().validate()
        if not 0.0 < self.entropy_anneal_fraction <= 1.0:
            raise ValueError("training.entropy_anneal_fraction must be in (0, 1]")
        if not isinstance(self.max_joint_rows, int) or self.max_joint_rows < 1:
            raise ValueError("training.max_joint_rows must be an integer >= 1")
        if self._joint_rows and self._joint_rows[2] > self.max_joint_rows:
            agents, actions, rows = self._joint_rows
            raise ValueError(
                f"training.max_joint_rows: PAC's critic enumerates every joint action of the "
                f"other agents, {actions}^({agents}-1) = {rows:,} rows per sample on env "
                f"{self.env_config.get('name')!r} ({agents} agents, {actions} actions each), "
                f"above the limit of {self.max_joint_rows:,}; use fewer agents, or raise "
                "training.max_joint_rows if memory allows"
            )

    def _set_entropy_schedule(self) -> None:
        if self._entropy_given:
            return
        steps = self.entropy_anneal_steps
        if steps is None and self._budget is None:
            raise ValueError(
                "training.entropy_anneal_steps: PAC anneals its entropy coefficient over the "
                "first part of training, but the spec's stop has no "
                "num_env_steps_sampled_lifetime; set training.entropy_anneal_steps (env steps) "
                "or training.entropy_coeff"
            )
        if steps is None:
            steps = int(self.entropy_anneal_fraction * self._budget)
        if not isinstance(steps, int) or steps < 0:
            raise ValueError(f"training.entropy_anneal_steps must be an integer >= 0, got {steps}")
        self.entropy_coeff = entropy_schedule(self.entropy_start, self.entropy_end, steps)

    @override(COMAConfig)
    def get_default_learner_class(self) -> type:
        from policies.pac.learner import PACTorchLearner

        return PACTorchLearner

    @override(COMAConfig)
    def configure_modules(
        self, facts: EnvFacts, mapping: PolicyMapping, model_config: dict[str, Any]
    ) -> None:
        """One PAC module per team; remembers the largest joint-action table for validate."""
        self.actor_options = dict(model_config)
        for team, members in facts.teams.items():
            actions = int(facts.action_spaces[team].nvec[0])
            rows = joint_table_rows(len(members), actions)
            if self._joint_rows is None or rows > self._joint_rows[2]:
                self._joint_rows = (len(members), actions, rows)
        options = {
            **MODEL_CONFIG_KEYS,
            **model_config,
            "standardize_rewards": bool(self.standardize_rewards),
        }
        per_agent_module_specs(self, facts, mapping, PACModule, options)


class PAC(COMA):
    """COMA's loop (PPO's sampling) with PAC's config, module and learner."""

    @classmethod
    @override(COMA)
    def get_default_config(cls) -> PACConfig:
        return PACConfig()
