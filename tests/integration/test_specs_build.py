"""Every committed spec builds: its env (with wrappers, padding, ids) and RLlib's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from rl_apps.build import plan
from rl_apps.spec import load_spec

from ..conftest import QUICKSTART, ROOT

SPECS = sorted((ROOT / "experiments").rglob("*.yaml")) + [QUICKSTART]


@pytest.mark.parametrize("path", SPECS, ids=lambda p: Path(p).stem)
def test_committed_spec_builds(path):
    spec = load_spec(path)
    planned = plan(spec)
    config = planned.config
    assert set(config.policies) and config.env_config["name"] == spec.env.name
    for agent in planned.agents:
        assert planned.facts.observation_spaces[agent]["obs"].shape  # flat or image, never empty
