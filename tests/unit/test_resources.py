"""Resource requests are checked against what the cluster offers, before anything starts."""

from __future__ import annotations

import pytest
from ray.rllib.algorithms.ppo import PPOConfig

from rl_apps.build import build_algo_config
from rl_apps.errors import ResourceError, SpecError
from rl_apps.runtime import check_resources, fit_resources, resource_request
from rl_apps.spec import load_spec, validate_spec

from ..conftest import ROOT


def config(**env_runners):
    return PPOConfig().env_runners(**env_runners)


def test_request_counts_env_runners_and_learners():
    cfg = config(num_env_runners=3, num_cpus_per_env_runner=0.5).learners(num_learners=2)
    request = resource_request(cfg)
    assert request.cpus == pytest.approx(3 * 0.5 + 2 * 1)
    assert request.gpus == 0


def test_too_many_cpus_is_a_clear_error():
    with pytest.raises(ResourceError, match=r"requests 8 CPUs .* has 2"):
        check_resources(config(num_env_runners=8), {"CPU": 2.0})


def test_gpu_request_without_gpu_is_a_clear_error():
    cfg = PPOConfig().learners(num_learners=1, num_gpus_per_learner=1)
    with pytest.raises(ResourceError, match="requests 1 GPUs .* has 0"):
        check_resources(cfg, {"CPU": 4.0, "GPU": 0.0})


def test_request_that_fits_passes():
    assert check_resources(config(num_env_runners=2), {"CPU": 2.0}).cpus == 2


# The spec's `resources` section: profiles, overrides, conflicts, placement, CPU fallback.

BASE = {
    "name": "t",
    "algo": "mappo",
    "env": {"name": "simple_spread"},
    "stop": {"training_iteration": 1},
}


def spec_with(**resources):
    return validate_spec({**BASE, "resources": resources}, "<t>")


def problems_of(raw):
    with pytest.raises(SpecError) as info:
        validate_spec(raw, "<t>")
    return str(info.value)


def test_profile_sets_env_runners_and_learners():
    spec = spec_with(profile="gpu1")
    assert spec.env_runners["num_env_runners"] == 4
    assert spec.learners["num_learners"] == 1
    assert spec.learners["num_gpus_per_learner"] == 1


def test_explicit_keys_override_the_profile_and_set_placement():
    spec = spec_with(profile="cluster", env_runners=3, learner_resources={"learner_node": 0.01})
    assert spec.env_runners["num_env_runners"] == 3
    assert spec.learners["num_learners"] == 2
    assert spec.learners["custom_resources_per_learner"] == {"learner_node": 0.01}


def test_the_same_setting_in_two_places_is_an_error():
    raw = {**BASE, "resources": {"env_runners": 2}, "env_runners": {"num_env_runners": 4}}
    message = problems_of(raw)
    assert "env_runners.num_env_runners: also set by resources.env_runners" in message


def test_unknown_profile_and_key_are_named():
    message = problems_of({**BASE, "resources": {"profile": "gpu8", "learnrs": 1}})
    assert "resources.profile" in message and "'local', 'gpu1' or 'cluster'" in message
    assert "resources.learnrs: unknown key (did you mean 'learners'?)" in message


def test_gpu_request_without_gpu_falls_back_only_when_allowed():
    strict = build_algo_config(spec_with(learners=1, gpus_per_learner=1))
    with pytest.raises(ResourceError, match="allow_cpu_fallback"):
        fit_resources(strict, spec_with(learners=1, gpus_per_learner=1), {"CPU": 2.0})
    spec = spec_with(learners=1, gpus_per_learner=1, allow_cpu_fallback=True)
    config, warnings = build_algo_config(spec), []
    fit_resources(config, spec, {"CPU": 4.0, "GPU": 0.0}, warnings.append)
    assert config.num_gpus_per_learner == 0
    assert "training on CPU" in warnings[0]


def test_missing_custom_resource_is_a_clear_error():
    cfg = PPOConfig().env_runners(
        num_env_runners=1, custom_resources_per_env_runner={"cpu_node": 1}
    )
    with pytest.raises(ResourceError, match="custom resource 'cpu_node' .* has 0"):
        check_resources(cfg, {"CPU": 2.0})
    assert check_resources(cfg, {"CPU": 2.0, "cpu_node": 1.0}).custom == {"cpu_node": 1.0}


def test_a_spec_key_beats_the_profile_with_a_note(capsys):
    raw = {**BASE, "resources": {"profile": "cluster"}, "env_runners": {"num_env_runners": 2}}
    spec = validate_spec(raw, "<t>")
    assert spec.env_runners["num_env_runners"] == 2  # the spec's own key
    assert spec.learners["num_learners"] == 2  # the rest from the profile
    err = capsys.readouterr().err
    assert "env_runners.num_env_runners: 2 from the spec wins over profile 'cluster'" in err


SPECS = sorted((ROOT / "experiments").rglob("*.yaml"))


@pytest.mark.parametrize("profile", ["local", "gpu1", "cluster"])
def test_every_committed_spec_validates_under_every_profile(profile):
    assert len(SPECS) > 20
    for path in SPECS:
        if path.name.startswith("tune_"):
            continue  # a Tune search spec, validated by its own loader
        load_spec(path, [f"resources.profile={profile}"])
