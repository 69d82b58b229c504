"""Every committed spec builds: its env (with wrappers, padding, ids) and RLlib's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from rl_apps.build import build_algo_config, probe_env
from rl_apps.spec import load_spec

from ..conftest import QUICKSTART, ROOT

SPECS = sorted((ROOT / "experiments").rglob("*.yaml")) + [QUICKSTART]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: Path(p).stem)
def test_committed_spec_builds(path):
    spec = load_spec(path)
    info = probe_env(spec)
    config = build_algo_config(spec, info)
    assert set(config.policies) and config.env_config["name"] == spec.env.name
    for agent in info.agents:
        assert info.observation_spaces[agent]["obs"].shape  # flat or image, never empty
