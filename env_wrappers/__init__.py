"""PettingZoo environments adapted for RLlib, with the global state and masks CTDE needs.

No learning code lives here. ``make_env`` returns a PettingZoo ParallelEnv,
``make_rllib_env`` the RLlib MultiAgentEnv built on it.
"""

from env_wrappers.registry import ENVS, EnvError, check_env_kwargs, make_env, make_rllib_env

__all__ = ["ENVS", "EnvError", "check_env_kwargs", "make_env", "make_rllib_env"]
