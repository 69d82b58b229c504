"""``marl envs NAME``: one env's facts and options with their defaults (no Ray)."""

from __future__ import annotations

from rl_apps import cli


def test_marl_envs_name_lists_the_envs_options_with_defaults(capsys):
    assert cli.main(["envs", "penalty_game"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("penalty_game: penalty matrix game")
    assert "agents 2" in out and "Discrete(3)" in out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[4:] if line.strip()}
    assert rows["k"] == "-100.0" and rows["pad"] == "False" and rows["team_reward"] == "'auto'"


def test_marl_envs_unknown_name_suggests_the_closest(capsys):
    assert cli.main(["envs", "stag_hnt"]) == 2
    assert "did you mean 'stag_hunt'?" in capsys.readouterr().err
