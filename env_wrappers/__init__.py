"""PettingZoo environments adapted for RLlib, with the global state and masks CTDE needs.

No learning code lives here. ``make_env`` returns a PettingZoo ParallelEnv,
``make_rllib_env`` the per-agent RLlib MultiAgentEnv built on it, ``make_team_env`` the team
view for joint algorithms. ``ENVS`` is the catalog (``marl envs`` prints it).
"""

from env_wrappers.make import make_env, make_rllib_env, make_team_env
from env_wrappers.registry import ENVS, EnvError, check_env_kwargs

__all__ = ["ENVS", "EnvError", "check_env_kwargs", "make_env", "make_rllib_env", "make_team_env"]
