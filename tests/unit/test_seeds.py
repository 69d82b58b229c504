"""``marl train --seeds``: the seed list and how many seeds run side by side (no Ray)."""

from __future__ import annotations

import pytest

from rl_apps import cli
from rl_apps.errors import SpecError
from rl_apps.seeds import concurrent_seeds, parse_seeds


def test_seeds_are_a_comma_separated_list():
    assert parse_seeds("0,1,2") == [0, 1, 2]
    assert parse_seeds(" 7 , 3") == [7, 3]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0,x", "'x' is not a seed"),
        ("-1", "'-1' is not a seed"),
        ("0,,1", "'' is not a seed"),
        ("1,1", "a seed is given twice"),
        ("99999999999", "outside [0, 2_147_483_647]"),
    ],
)
def test_bad_seed_lists_are_spec_errors(text, problem):
    with pytest.raises(SpecError) as err:
        parse_seeds(text)
    assert err.value.problems[0][0] == "--seeds" and problem in err.value.problems[0][1]


def test_the_scarcest_resource_decides_how_many_seeds_run_at_once():
    assert concurrent_seeds({"CPU": 3.0}, {"CPU": 8.0, "GPU": 1.0}, seeds=5) == 2
    assert concurrent_seeds({"CPU": 1.0, "GPU": 1.0}, {"CPU": 8.0, "GPU": 2.0}, seeds=5) == 2
    assert concurrent_seeds({"CPU": 1.0}, {"CPU": 8.0}, seeds=3) == 3  # no more than seeds
    assert concurrent_seeds({"CPU": 4.0}, {"CPU": 2.0}, seeds=3) == 1  # at least one


def test_a_bad_seed_list_exits_2_before_ray_starts(capsys):
    assert cli.main(["train", "--seeds", "0,zero"]) == 2
    assert "--seeds: 'zero' is not a seed" in capsys.readouterr().err


class _HungRay:
    """A stand-in for the ``ray`` module whose task never ends."""

    class exceptions:  # noqa: N801 - mirrors ray.exceptions
        class GetTimeoutError(Exception):
            pass

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def get(self, ref, timeout=None):
        self.calls.append(("get", ref, timeout))
        raise self.exceptions.GetTimeoutError

    def cancel(self, ref, force=False):
        self.calls.append(("cancel", ref, force))


def test_a_cancelled_seed_that_does_not_end_is_killed_and_reported(tmp_path):
    from rl_apps.seeds import _collect

    ray, lines = _HungRay(), []
    summary = _collect(ray, "ref", 3, tmp_path, lines.append, timeout_s=5.0)
    assert ray.calls == [("get", "ref", 5.0), ("cancel", "ref", True)]
    assert "did not stop in time" in summary["error"]
    assert lines and "seed 3: failed" in lines[0]
