"""Env options checked before anything is built: ranges, kinds, impossible combinations (no Ray).

Out-of-range or impossible env options are spec errors at ``env.<option>`` (exit 2), not a
numpy traceback from the env nor an env that silently has less food than asked; an option
the spec did not set is named with where its value came from.
"""

from __future__ import annotations

import pytest

from env_wrappers.make import make_env
from env_wrappers.ranges import CHECKS, RANGES, lbf_food_capacity
from env_wrappers.registry import ENVS
from rl_apps import cli
from rl_apps.errors import SpecError
from rl_apps.spec import validate_spec


def _problems(env: dict, algo: str = "ippo") -> list[tuple[str, str]]:
    raw = {"name": "t", "algo": algo, "env": env, "stop": {"training_iteration": 1}}
    with pytest.raises(SpecError) as err:
        validate_spec(raw, "<test>")
    return err.value.problems


@pytest.mark.parametrize("name", sorted(RANGES))
def test_declared_ranges_are_real_options_whose_defaults_are_valid(name):
    defaults = ENVS[name].options()
    for option, valid in RANGES[name].items():
        assert option in defaults, f"{name} has no option {option!r}"
        assert valid.problem(defaults[option]) is None, (name, option, defaults[option])


def test_rware_choices_are_rwares():
    from env_wrappers.envs.rware import DIFFICULTIES, SIZES

    assert RANGES["rware"]["size"].choices == tuple(SIZES)
    assert RANGES["rware"]["difficulty"].choices == tuple(DIFFICULTIES)


@pytest.mark.parametrize(
    ("env", "path", "text"),
    [
        ({"name": "simple_spread", "N": -3}, "env.N", "must be an integer in [1, 100] (got -3)"),
        ({"name": "simple_spread", "N": 2.5}, "env.N", "must be an integer"),
        ({"name": "simple_spread", "local_ratio": 2}, "env.local_ratio", "in [0, 1] (got 2)"),
        ({"name": "simple_tag", "num_good": 0}, "env.num_good", "(got 0)"),
        ({"name": "lbf", "coop": "no way"}, "env.coop", "must be true or false"),
        ({"name": "lbf", "sight": 0}, "env.sight", "integer in [1, 1000] or null"),
        ({"name": "rware", "difficulty": "brutal"}, "env.difficulty", "one of easy, medium, hard"),
    ],
)
def test_out_of_range_values_name_the_dotted_path(env, path, text):
    problems = _problems(env)
    assert [p for p, _ in problems] == [path]
    assert text in problems[0][1]


def test_an_lbf_grid_too_small_for_its_food_is_refused_naming_the_default():
    # size 2 made lbforaging raise "low >= high" from numpy when the env was built
    ((path, message),) = _problems({"name": "lbf", "size": 3})
    assert path == "env.size"
    assert "2 food items do not fit on a 3x3 grid" in message and "at most 1 fit" in message
    assert "(food=2 is the env's default)" in message  # the user never wrote food
    ((path, message),) = _problems({"name": "lbf", "size": 8, "food": 20})
    assert path == "env.food" and "at most 9" in message and "default" not in message


def test_players_that_find_no_cell_are_refused():
    ((path, message),) = _problems({"name": "lbf", "size": 4, "players": 16, "food": 1})
    assert path == "env.players" and "need 17 cells; a 4x4 grid has 16" in message


def test_a_catch_needing_more_pursuers_than_there_are_is_refused():
    ((path, message),) = _problems({"name": "pursuit", "n_catch": 9})
    assert path == "env.n_catch" and "(n_pursuers=8 is the env's default)" in message


def test_valid_options_still_validate():
    raw = {"name": "t", "algo": "ippo", "stop": {"training_iteration": 1}}
    validate_spec({**raw, "env": {"name": "lbf", "size": 5, "food": 3, "players": 3}}, "<t>")


@pytest.mark.parametrize("size", [3, 4, 5, 6, 7])
def test_lbforaging_never_places_more_food_than_the_capacity(size):
    env = make_env("lbf", size=size, players=1, food=lbf_food_capacity(size) + 3)
    for seed in range(5):
        env.reset(seed=seed)
        assert int((env.env.field > 0).sum()) <= lbf_food_capacity(size)


def test_marl_envs_lists_valid_ranges_and_combinations(capsys):
    assert cli.main(["envs", "lbf"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[4:] if line.strip()}
    assert "integer in [1, 100]" in rows["players"] and "true or false" in rows["coop"]
    assert "number in [0, 1)" in rows["step_error_rate"]
    assert "Also refused: food that cannot be placed" in out
    assert set(CHECKS) <= set(ENVS)
