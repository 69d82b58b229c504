"""The quickstart learns: IPPO on simple_spread ends well above the random policy.

Marked ``learning`` (minutes on 2 cores): ``python -m pytest -m learning``.
"""

from __future__ import annotations

import json

import pytest

from ..conftest import QUICKSTART
from ..integration.helpers import expect, run_marl

#: REFERENCE.md: a random policy scores -80.5 +- 23.6 team return on simple_spread (N=3).
RANDOM_TEAM_RETURN = -80.5


@pytest.mark.learning
def test_quickstart_beats_random_by_a_margin(tmp_path):
    expect(run_marl("train", str(QUICKSTART), "--runs-dir", "runs", cwd=tmp_path, timeout=900), 0)
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["final_team_return"] > RANDOM_TEAM_RETURN + 15  # measured: -58.6
    report = json.loads(
        expect(run_marl("eval", summary["checkpoint"], "--episodes", "50", cwd=tmp_path), 0).stdout
    )
    assert report["team_return"]["mean"] > report["random_policy"]["mean"] + 15
