"""Module weights without pickles: what ``eval``, ``export`` and ``inspect`` load.

RLlib's checkpoint stores its modules as pickles (``class_and_ctor_args.pkl``,
``module_state.pkl``), and unpickling runs whatever code the file names. Every marl
checkpoint therefore also holds ``actor_weights.safetensors``: every tensor of the learner's
MultiRLModule (actors and the training-only critics and mixers that the inspectors read),
keyed ``<module id>/<parameter>``. safetensors is a header of JSON plus raw little-endian
arrays: loading it cannot run code. The modules themselves are rebuilt from the checkpoint's
``spec.yaml`` (``plan(spec)``, the same code that built them for training), and the weights
are set into them (the module's ``set_state``, as RLlib's restore does); a missing, extra
or misshapen tensor is an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rl_apps.errors import CheckpointError

WEIGHTS = "actor_weights.safetensors"
FORMAT = "marl-weights/1"


def _tensor(value: Any) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().contiguous().clone()
    return torch.from_numpy(np.array(value, order="C"))  # a copy; 0-d stays 0-d


def encode(weights: dict[str, dict[str, Any]]) -> bytes:
    """``{module id: {parameter: array}}`` as safetensors bytes."""
    from safetensors.torch import save

    tensors = {
        f"{mid}/{name}": _tensor(value)
        for mid, params in weights.items()
        for name, value in params.items()
    }
    return save(tensors, metadata={"format": FORMAT, "modules": json.dumps(sorted(weights))})


def decode(data: bytes, source: str) -> dict[str, dict[str, torch.Tensor]]:
    """The ``{module id: {parameter: tensor}}`` that ``encode`` wrote."""
    from safetensors.torch import load

    try:
        tensors = load(data)
        metadata = _metadata(data)
        modules = json.loads(metadata["modules"])
    except Exception as err:  # noqa: BLE001 - any parse failure: not our weights file
        raise CheckpointError(f"{source}: {WEIGHTS} is not a marl weights file ({err})") from None
    out: dict[str, dict[str, torch.Tensor]] = {mid: {} for mid in modules}
    for key, tensor in tensors.items():
        mid = max((m for m in modules if key.startswith(f"{m}/")), key=len, default=None)
        if mid is None:
            raise CheckpointError(f"{source}: {WEIGHTS} has a tensor of no module: {key}")
        out[mid][key[len(mid) + 1 :]] = tensor
    return out


def _metadata(data: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors header (an 8-byte length, then JSON)."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    if header.get("__metadata__", {}).get("format") != FORMAT:
        raise ValueError(f"format is not {FORMAT}")
    return header["__metadata__"]


def write_weights(directory: Path, weights: dict[str, dict[str, Any]]) -> Path:
    """Writes ``actor_weights.safetensors`` into a checkpoint directory."""
    path = directory / WEIGHTS
    path.write_bytes(encode(weights))
    return path


def algorithm_writer(algo: Any) -> Callable[[Path], None]:
    """What ``save_checkpoint`` calls: RLlib's checkpoint plus the pickle-free weights."""

    def write(directory: Path) -> None:
        algo.save_to_path(str(directory))
        write_weights(directory, algo.learner_group.get_weights())

    return write


def load_modules(planned: Any, env: Any, weights: dict[str, dict[str, torch.Tensor]]) -> Any:
    """The learner's MultiRLModule rebuilt from the plan, with ``weights`` set.

    Raises:
        CheckpointError: The weights do not fit the modules the spec builds.

    """
    from ray.rllib.core.rl_module.apis import TargetNetworkAPI

    spec = planned.config.get_multi_rl_module_spec(env=env, inference_only=False)
    modules = spec.build()
    for mid in modules.keys():
        if isinstance(modules[mid], TargetNetworkAPI):
            modules[mid].make_target_networks()  # as RLlib's Learner does after building
    problems = _fit_problems(modules, weights)
    if problems:
        shown = "; ".join(problems[:5])
        raise CheckpointError(f"{WEIGHTS} does not fit the spec's modules: {shown}")
    for mid, params in weights.items():
        modules[mid].set_state(params)  # the module's own restore (exact float64 buffers)
    return modules


def _fit_problems(modules: Any, weights: dict[str, dict[str, torch.Tensor]]) -> list[str]:
    problems = [f"no module {mid}" for mid in sorted(set(weights) - set(modules.keys()))]
    problems += [f"{mid}: no weights" for mid in sorted(set(modules.keys()) - set(weights))]
    for mid in sorted(set(weights) & set(modules.keys())):
        state = modules[mid].get_state(inference_only=False)
        expected = {k: tuple(np.shape(v)) for k, v in state.items()}
        given = {k: tuple(v.shape) for k, v in weights[mid].items()}
        problems += [f"{mid}/{k}: missing" for k in sorted(set(expected) - set(given))]
        problems += [f"{mid}/{k}: unexpected" for k in sorted(set(given) - set(expected))]
        problems += [
            f"{mid}/{k}: shape {given[k]}, the module has {expected[k]}"
            for k in sorted(set(expected) & set(given))
            if expected[k] != given[k]
        ]
    return problems
