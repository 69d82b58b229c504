"""Experiment specs: YAML loading, ``--set`` overrides and validation before Ray starts.

``experiment`` holds the spec's schema and its loading and validation; ``sections`` validates
the sections that are RLlib AlgorithmConfig builder-method arguments. The public names are
re-exported here, so ``from rl_apps.spec import load_spec, validate_spec`` is the usual import.
"""

from rl_apps.spec.experiment import (
    QUICKSTART,
    BenchmarkSpec,
    CheckpointSpec,
    EnvSpec,
    ExperimentSpec,
    Problems,
    StopSpec,
    WandbSpec,
    apply_overrides,
    find_secrets,
    load_spec,
    parse_override,
    read_yaml,
    validate_spec,
)

__all__ = [
    "QUICKSTART",
    "BenchmarkSpec",
    "CheckpointSpec",
    "EnvSpec",
    "ExperimentSpec",
    "Problems",
    "StopSpec",
    "WandbSpec",
    "apply_overrides",
    "find_secrets",
    "load_spec",
    "parse_override",
    "read_yaml",
    "validate_spec",
]
