"""The spec's ``resources`` section: named profiles and placement, mapped onto RLlib's keys.

``resources`` says how big a run is (env runners, learners, GPUs) in one place, so the same
spec moves from a laptop to a cluster with ``--set resources.profile=cluster``. It is
expanded into the ``env_runners`` and ``learners`` sections before those are validated:

================================  ===================================================
``resources`` key                 RLlib key
================================  ===================================================
``env_runners``                   ``env_runners.num_env_runners``
``cpus_per_env_runner``           ``env_runners.num_cpus_per_env_runner``
``envs_per_env_runner``           ``env_runners.num_envs_per_env_runner``
``env_runner_resources``          ``env_runners.custom_resources_per_env_runner``
``learners``                      ``learners.num_learners``
``gpus_per_learner``              ``learners.num_gpus_per_learner``
``cpus_per_learner``              ``learners.num_cpus_per_learner``
``learner_resources``             ``learners.custom_resources_per_learner``
================================  ===================================================

A profile gives defaults; keys written in ``resources`` override it, and so do the RLlib keys
a spec writes in its own sections (``env_runners.num_env_runners: 2`` stays 2 under
``--set resources.profile=cluster``, with a note naming both), so every committed spec moves
to any profile. Setting the same thing twice explicitly (``resources.env_runners`` and
``env_runners.num_env_runners``) is an error, so a spec never says two things.
Placement uses Ray custom resources: start GPU nodes with
``--resources '{"learner_node": 1}'`` and set ``learner_resources: {learner_node: 0.01}``.
``allow_cpu_fallback`` lets a GPU request run on CPU (with a warning) when the cluster has
no GPU; without it such a request is refused before anything starts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0)]

#: Named starting points; every value can be overridden in the spec's ``resources``.
PROFILES: dict[str, dict[str, Any]] = {
    # A laptop or this 2-core machine: one env runner process next to the local learner.
    "local": {"env_runners": 1, "cpus_per_env_runner": 1, "learners": 0, "gpus_per_learner": 0},
    # One machine with one GPU: a GPU learner actor and four sampling processes.
    "gpu1": {"env_runners": 4, "cpus_per_env_runner": 1, "learners": 1, "gpus_per_learner": 1},
    # A cluster: many CPU env runners, two GPU learners (data-parallel).
    "cluster": {
        "env_runners": 16,
        "cpus_per_env_runner": 1,
        "learners": 2,
        "gpus_per_learner": 1,
    },
}

#: resources key -> (section, RLlib key).
TARGETS: dict[str, tuple[str, str]] = {
    "env_runners": ("env_runners", "num_env_runners"),
    "cpus_per_env_runner": ("env_runners", "num_cpus_per_env_runner"),
    "envs_per_env_runner": ("env_runners", "num_envs_per_env_runner"),
    "env_runner_resources": ("env_runners", "custom_resources_per_env_runner"),
    "learners": ("learners", "num_learners"),
    "gpus_per_learner": ("learners", "num_gpus_per_learner"),
    "cpus_per_learner": ("learners", "num_cpus_per_learner"),
    "learner_resources": ("learners", "custom_resources_per_learner"),
}


class ResourcesSpec(BaseModel):
    """``resources:`` — run size and placement (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    profile: Literal["local", "gpu1", "cluster"] | None = None
    env_runners: NonNegInt | None = None
    cpus_per_env_runner: PosFloat | None = None
    envs_per_env_runner: PosInt | None = None
    env_runner_resources: dict[str, PosFloat] | None = None
    learners: NonNegInt | None = None
    gpus_per_learner: NonNegFloat | None = None
    cpus_per_learner: PosFloat | None = None
    learner_resources: dict[str, PosFloat] | None = None
    allow_cpu_fallback: bool = False

    def settings(self) -> dict[str, Any]:
        """The profile's values overridden by the keys given explicitly (no None)."""
        return {**self.profile_settings(), **self.explicit_settings()}

    def profile_settings(self) -> dict[str, Any]:
        """The profile's values alone."""
        return dict(PROFILES.get(self.profile or "", {}))

    def explicit_settings(self) -> dict[str, Any]:
        """The keys written in ``resources`` (besides the profile)."""
        return self.model_dump(exclude_none=True, exclude={"profile", "allow_cpu_fallback"})


def expand_resources(
    raw: dict[str, Any],
) -> tuple[dict[str, Any], list[tuple[str, str]], list[str]]:
    """Copies ``resources`` into ``env_runners``/``learners``; returns (raw, problems, notes).

    ``raw['resources']`` must already be a valid ResourcesSpec mapping (or absent). A key the
    spec sets in its own section beats the profile's value (a note says so); a key set both
    in ``resources`` and in the section is a problem.
    """
    section = raw.get("resources")
    if not isinstance(section, dict):
        return raw, [], []
    try:
        spec = ResourcesSpec.model_validate(section)
    except ValueError:
        return raw, [], []  # the schema reports it with paths
    explicit = spec.explicit_settings()
    out = dict(raw)
    problems: list[tuple[str, str]] = []
    notes: list[str] = []
    for key, value in spec.settings().items():
        target_section, target_key = TARGETS[key]
        values = dict(out.get(target_section) or {})
        if target_key in values and values[target_key] != value:
            if key in explicit:
                problems.append(
                    (
                        f"{target_section}.{target_key}",
                        f"also set by resources.{key} ({value!r}); give it in one place",
                    )
                )
            else:
                notes.append(
                    f"{target_section}.{target_key}: {values[target_key]!r} from the spec wins "
                    f"over profile {spec.profile!r}'s {value!r}"
                )
            continue
        values[target_key] = value
        out[target_section] = values
    return out, problems, notes


def gpu_fallback(config: Any, available_gpus: float, allow: bool) -> str | None:
    """Moves GPU learners to CPU when the cluster has no GPU and the spec allows it.

    Returns the warning to print, or None when nothing changed. Without ``allow`` the
    config is left alone (``check_resources`` then refuses the request).
    """
    wants = config.num_gpus_per_learner > 0 or config.num_gpus_per_env_runner > 0
    if not wants or available_gpus > 0 or not allow:
        return None
    asked = config.num_gpus_per_learner
    config.learners(num_gpus_per_learner=0)
    config.env_runners(num_gpus_per_env_runner=0)
    return (
        f"warning: the spec asks for {asked:g} GPU(s) per learner but the Ray cluster has no "
        "GPU; training on CPU because resources.allow_cpu_fallback is true"
    )
