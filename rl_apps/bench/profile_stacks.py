"""Where a training run's time goes, from py-spy's collapsed ("raw") stacks.

py-spy ``record --format raw --threads --idle`` writes one line per distinct stack:
``thread (PID): NAME;frame;frame;... COUNT`` with frames as ``function (path:line)``, outermost
first. :func:`time_shares` keeps the main thread, assigns every sample to the first rule of a
category list that matches its stack, and returns each category's share of the wall time
(idle samples included, so "waiting" shows up as time). Pure Python: no Ray, no py-spy.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

Stack = list[str]
Rule = tuple[str, Callable[[Stack], bool]]


def parse_collapsed(lines: Iterable[str], thread: str = "MainThread") -> list[tuple[Stack, int]]:
    """(frames without the thread entry, sample count) for every stack of ``thread``."""
    stacks = []
    for line in lines:
        line = line.rstrip()
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if frames[0].startswith("thread (") and not frames[0].endswith(f": {thread}"):
            continue
        if frames[0].startswith("thread ("):
            frames = frames[1:]
        stacks.append((frames, int(count)))
    return stacks


def frame_package(frame: str) -> str:
    """The top-level package of a frame's file: ``ray`` for ``f (ray/rllib/x.py:3)``."""
    match = re.search(r"\(([^():]+):\d+\)$", frame)
    path = match.group(1) if match else ""
    return path.split("/")[0] if "/" in path else path


def has(*needles: str) -> Callable[[Stack], bool]:
    """A predicate: some frame contains one of ``needles``."""
    return lambda stack: any(n in frame for frame in stack for n in needles)


def lacks(*needles: str) -> Callable[[Stack], bool]:
    """A predicate: no frame contains any of ``needles``."""
    return lambda stack: not has(*needles)(stack)


#: Packages whose frames are charged to their caller (math libraries, the standard library).
PASS_THROUGH = {"numpy", "torch", "", "typing.py", "copy.py", "abc.py", "functools.py"}
#: Packages that adapt an env for RLlib: our wrappers and the libraries they call.
ADAPTER = {"env_wrappers", "supersuit", "pettingzoo"}
#: RLlib's vector env and gymnasium's wrappers around the adapter.
VECTOR = {"ray", "gymnasium"}


def env_step_owner(stack: Stack) -> str:
    """Who spends an env-step sample: the simulator, our adapter, or RLlib's vector env."""
    start = next((i for i, f in enumerate(stack) if "EnvRunner._try_env_step" in f), 0)
    for frame in reversed(stack[start:]):
        package = frame_package(frame)
        if package in PASS_THROUGH or package.endswith(".py"):
            continue
        if package in ADAPTER:
            return "adapter"
        if package in VECTOR:
            return "vector"
        return "simulator"
    return "vector"


DRIVER_RULES: list[Rule] = [
    ("waiting for env runner samples", has("synchronous_parallel_sample")),
    ("learner: backward pass", has("Tensor.backward", "_engine_run_backward")),
    ("learner: optimizer step", has("apply_gradients", "Optimizer.step", "Adam.step")),
    ("learner: loss forward", has("compute_losses", "compute_loss_for_module")),
    ("learner: connectors (GAE, batching)", has("LearnerConnectorPipeline.__call__")),
    ("learner: other", has("Learner.update", "LearnerGroup.update")),
    ("weight sync", has("sync_weights", "sync_runner_weights")),
    ("checkpointing", has("save_to_path", "save_checkpoint", "write_checkpoint")),
    ("metrics and logging", has("MetricsLogger", "metrics", "log_")),
    ("other", lambda _stack: True),
]


def outside_sample(stack: Stack) -> bool:
    """True when an env runner is not inside ``sample`` (it waits for the driver)."""
    return not any(re.search(r"EnvRunner\._?sample ", frame) for frame in stack)


def env_step_by(owner: str) -> Callable[[Stack], bool]:
    """A predicate: an env-step sample spent by ``owner`` (see :func:`env_step_owner`)."""
    return lambda stack: has("_try_env_step")(stack) and env_step_owner(stack) == owner


RUNNER_RULES: list[Rule] = [
    ("idle between sample calls", outside_sample),
    ("env step: simulator", env_step_by("simulator")),
    ("env step: adapter (env_wrappers, PettingZoo wrappers)", env_step_by("adapter")),
    ("env step: RLlib vector env", has("_try_env_step")),
    ("module forward", has("forward_exploration", "forward_inference")),
    ("metrics", has("MetricsLogger", "_increase_sampled_metrics", "metrics")),
    ("connectors", has("ConnectorPipelineV2.__call__")),
    ("episode bookkeeping", has("Episode.")),
    ("other sampling", lambda _stack: True),
]


def time_shares(stacks: list[tuple[Stack, int]], rules: list[Rule]) -> dict[str, float]:
    """Share of all samples per rule label (rules tried in order; labels in rule order)."""
    counts: Counter[str] = Counter()
    for frames, count in stacks:
        label = next(label for label, matches in rules if matches(frames))
        counts[label] += count
    total = sum(counts.values()) or 1
    return {label: counts[label] / total for label, _ in rules if counts[label]}
