"""``marl crossplay``'s pure parts: sides by agent name prefix, space mismatches."""

from __future__ import annotations

import gymnasium as gym

from rl_apps.crossplay import side_of, space_mismatches


def test_the_longest_prefix_owns_an_agent():
    sides = ["adversary", "agent", "agent_1"]
    assert side_of("adversary_0", sides) == "adversary"
    assert side_of("agent_0", sides) == "agent"
    assert side_of("agent_1", sides) == "agent_1"
    assert side_of("landmark", sides) is None


def test_mismatches_name_the_agent_and_the_space():
    box, wide, act = gym.spaces.Box(0, 1, (8,)), gym.spaces.Box(0, 1, (10,)), gym.spaces.Discrete(5)
    trained = {"a_0": (box, act), "b_0": (box, act)}
    here = {"a_0": (wide, act), "b_0": (box, gym.spaces.Discrete(4)), "c_0": (box, act)}
    problems = space_mismatches(trained, here)
    assert any(p.startswith("agent 'a_0': observation space") and "(10,)" in p for p in problems)
    assert any(p.startswith("agent 'b_0': action space Discrete(5)") for p in problems)
    assert "agent 'c_0': not in the checkpoint's env" in problems
    assert space_mismatches(trained, trained) == []


def test_blocks_average_the_cells_of_each_pair_of_specs():
    from rl_apps.crossplay_summary import blocks, checkpoint_label

    rows = [checkpoint_label("ens", 0), checkpoint_label("ens", 1), checkpoint_label("one", 0)]
    cols = [checkpoint_label("ens", 0), checkpoint_label("one", 3)]
    matrix = {
        "row_labels": rows,
        "column_labels": cols,
        "adversary": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
        "metric": [[None, 1.0], [None, 3.0], [None, None]],
    }
    specs = [label.split(" seed ")[0] for label in rows], ["ens", "one"]
    found = {(b["rows"], b["columns"]): b for b in blocks(matrix, *specs, ["adversary", "metric"])}
    assert list(found) == [("ens", "ens"), ("ens", "one"), ("one", "ens"), ("one", "one")]
    assert found["ens", "ens"]["adversary"] == {"mean": 2.0, "std": 1.0}
    assert found["ens", "ens"]["cells"] == 2 and "metric" not in found["ens", "ens"]
    assert found["ens", "one"]["metric"] == {"mean": 2.0, "std": 1.0}
    assert found["one", "one"]["adversary"] == {"mean": 6.0, "std": 0.0}
