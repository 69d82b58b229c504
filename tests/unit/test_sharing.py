"""Which module each agent uses: shared, individual, groups (picklable for RLlib)."""

from __future__ import annotations

import pickle

import pytest

from policies.common.sharing import PolicyMapping, policy_mapping

AGENTS = ["adversary_0", "adversary_1", "agent_0"]


def test_modes():
    assert PolicyMapping("shared").module_ids(AGENTS) == ["shared"]
    assert PolicyMapping("individual").module_ids(AGENTS) == AGENTS
    groups = PolicyMapping("groups", {"predator": AGENTS[:2], "prey": ["agent_0"]})
    assert [groups(a) for a in AGENTS] == ["predator", "predator", "prey"]
    assert groups.module_ids(AGENTS) == ["predator", "prey"]


def test_mapping_survives_pickling():
    mapping = policy_mapping({"sharing": "groups", "groups": {"a": ["agent_0"]}})
    assert pickle.loads(pickle.dumps(mapping))("agent_0") == "a"


def test_group_problems_name_agents():
    mapping = PolicyMapping("groups", {"predator": ["adversary_0", "ghost"]})
    problems = mapping.problems(AGENTS)
    assert "unknown agent 'ghost'; the env's agents: adversary_0, adversary_1, agent_0" in problems
    assert "agent 'adversary_1' is in no group" in problems


def test_bad_groups_are_rejected():
    with pytest.raises(ValueError, match="is in groups 'a' and 'b'"):
        PolicyMapping("groups", {"a": ["x"], "b": ["x"]})
    with pytest.raises(ValueError, match="only with, sharing: groups"):
        PolicyMapping("shared", {"a": ["x"]})
