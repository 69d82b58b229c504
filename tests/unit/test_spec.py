"""Spec loading and every class of spec error: file, dotted path, problem, suggestion."""

from __future__ import annotations

import pytest

from rl_apps.errors import SpecError
from rl_apps.spec import apply_overrides, load_spec, parse_override, read_yaml, validate_spec

from ..conftest import QUICKSTART

BASE = """
name: t
algo: ippo
env: {name: simple_spread}
stop: {training_iteration: 1}
"""


def errors_of(path, overrides=()):
    with pytest.raises(SpecError) as info:
        load_spec(path, list(overrides))
    return str(info.value)


def test_quickstart_is_valid_and_resolves_defaults():
    spec = load_spec(QUICKSTART)
    assert spec.algo == "ippo"
    assert spec.env.name == "simple_spread"
    assert spec.checkpoint.keep == 2
    assert spec.training["lr"] == pytest.approx(5e-4)


def test_minimal_spec_gets_defaults(write_spec):
    spec = load_spec(write_spec(BASE))
    assert spec.seed == 0
    assert spec.checkpoint.frequency == 10
    assert spec.training == {}


def test_unknown_top_level_key_suggests(write_spec):
    msg = errors_of(write_spec(BASE + "stoop: {}\n"))
    assert "spec.yaml: stoop: unknown key (did you mean 'stop'?)" in msg


def test_unknown_nested_key_in_stop_suggests(write_spec):
    msg = errors_of(write_spec(BASE), ["stop.training_iterations=3"])
    assert "stop.training_iterations: unknown key (did you mean 'training_iteration'?)" in msg


def test_unknown_rllib_section_key_suggests(write_spec):
    msg = errors_of(write_spec(BASE), ["env_runners.num_env_runner=1"])
    assert "env_runners.num_env_runner: unknown key (did you mean 'num_env_runners'?)" in msg


def test_unknown_model_config_key_lists_valid(write_spec):
    msg = errors_of(write_spec(BASE), ["rl_module.model_config.fcnet_hidden=[8]"])
    assert "rl_module.model_config.fcnet_hidden: unknown key (did you mean 'fcnet_hiddens'?)" in msg


def test_wrong_type_is_named(write_spec):
    msg = errors_of(write_spec(BASE), ["training.gamma=fast"])
    assert "training.gamma:" in msg and "valid number" in msg and "'fast'" in msg
    msg = errors_of(write_spec(BASE), ["training.use_gae=3"])
    assert "training.use_gae: must be true or false (got 3)" in msg


@pytest.mark.parametrize(
    "override, path",
    [
        ("training.lr=-0.001", "training.lr"),
        ("training.train_batch_size_per_learner=0", "training.train_batch_size_per_learner"),
        ("training.gamma=1.5", "training.gamma"),
        ("env_runners.num_env_runners=-1", "env_runners.num_env_runners"),
        ("checkpoint.keep=0", "checkpoint.keep"),
        ("seed=-3", "seed"),
    ],
)
def test_out_of_range_values(write_spec, override, path):
    msg = errors_of(write_spec(BASE), [override])
    assert f"{path}: Input should be greater than" in msg or f"{path}: Input should be less" in msg


def test_unknown_algorithm_lists_valid(write_spec):
    msg = errors_of(write_spec(BASE), ["algo=ipo"])
    assert "algo: unknown algorithm 'ipo' (did you mean 'ippo'?); valid algorithms: ippo" in msg


def test_unknown_env_lists_valid(write_spec):
    msg = errors_of(write_spec(BASE), ["env.name=simple_sprad"])
    assert "env.name: unknown env 'simple_sprad' (did you mean 'simple_spread'?)" in msg
    assert "valid envs: simple_spread" in msg


def test_unknown_env_option_lists_valid(write_spec):
    msg = errors_of(write_spec(BASE), ["env.max_cycle=10"])
    assert "unknown option 'max_cycle' for env 'simple_spread' (did you mean 'max_cycles'?)" in msg
    assert "valid options:" in msg


def test_invalid_yaml_names_line(write_spec):
    path = write_spec("name: t\nalgo: ippo\nenv: {name: simple_spread\nstop: 1\n")
    msg = errors_of(path)
    assert str(path) in msg and "invalid YAML: line" in msg


def test_missing_file(tmp_path):
    msg = errors_of(tmp_path / "nope.yaml")
    assert "nope.yaml: no such spec file" in msg


def test_non_mapping_yaml(write_spec):
    assert "must be a YAML mapping" in errors_of(write_spec("- a\n- b\n"))


def test_missing_required_keys(write_spec):
    msg = errors_of(write_spec("name: t\n"))
    for key in ("algo", "env"):
        assert f"{key}: required key is missing" in msg
    assert "stop" not in msg and "name" not in msg  # both have defaults


def test_name_defaults_to_the_file_name_and_stop_to_the_default_budget(write_spec, capsys):
    from rl_apps.spec.experiment import DEFAULT_STOP

    path = write_spec("algo: ippo\nenv: {name: simple_spread}\n", name="my spread+v2.yaml")
    spec = load_spec(path)
    assert spec.name == "my_spread_v2"
    assert spec.stop.model_dump(exclude_none=True) == DEFAULT_STOP
    assert "no stop given: the default budget (num_env_steps_sampled_lifetime: 100_000)" in (
        capsys.readouterr().err
    )
    raw = {"algo": "qmix", "env": {"name": "lbf"}, "stop": {"training_iteration": 2}}
    assert validate_spec(raw, "<test>").name == "qmix_lbf"  # no file: algo_env


def test_stop_needs_a_criterion(write_spec):
    msg = errors_of(write_spec(BASE.replace("{training_iteration: 1}", "{}")))
    assert "give at least one stop criterion" in msg


def test_keys_needing_python_are_rejected(write_spec):
    msg = errors_of(write_spec(BASE), ["multi_agent.policy_mapping_fn=x", "debugging.seed=1"])
    assert "multi_agent.policy_mapping_fn: not allowed in a spec" in msg
    assert "debugging.seed: not allowed in a spec: it is set by the top-level `seed`" in msg


def test_deprecated_rllib_key_is_rejected(write_spec):
    msg = errors_of(write_spec(BASE), ["env_runners.num_rollout_workers=2"])
    assert "env_runners.num_rollout_workers: is deprecated in RLlib" in msg


def test_all_problems_reported_at_once(write_spec):
    msg = errors_of(write_spec(BASE), ["training.lr=-1", "env.name=nope", "seed=-1"])
    assert len(msg.splitlines()) == 3
    assert "training.lr:" in msg and "env.name:" in msg and "seed:" in msg


def test_sharing_mode_checked(write_spec):
    msg = errors_of(write_spec(BASE), ["multi_agent.sharing=everyone"])
    assert "multi_agent.sharing: 'everyone' is not one of shared, individual" in msg


def test_override_sets_nested_value_and_parses_yaml(write_spec):
    spec = load_spec(
        write_spec(BASE), ["training.lr=1e-4", "rl_module.model_config.fcnet_hiddens=[8, 8]"]
    )
    assert spec.training["lr"] == pytest.approx(1e-4)  # YAML 1.1 reads 1e-4 as a string
    assert spec.rl_module["model_config"]["fcnet_hiddens"] == [8, 8]


def test_override_errors():
    with pytest.raises(SpecError, match="expected DOTTED.PATH=VALUE"):
        parse_override("training.lr")
    with pytest.raises(SpecError, match="name is not a mapping"):
        apply_overrides({"name": "x"}, ["name.sub=1"])


def test_read_yaml_uses_safe_loading(write_spec):
    path = write_spec("a: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(SpecError, match="invalid YAML"):
        read_yaml(path)
