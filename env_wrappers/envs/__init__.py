"""Environments we ship or adapt, each a PettingZoo ParallelEnv.

- ``tabular``: the base of the small shared-reward games below;
- ``matrix``: one-step cooperative matrix games (linear, monotonic, climbing, penalty);
- ``two_step``: the two-step game of the QMIX paper;
- ``gym_tuple``: the shared adapter for gymnasium multi-agent envs with Tuple spaces;
- ``lbf`` and ``rware``: Level-Based Foraging and the Multi-Robot Warehouse on that adapter;
- ``sisl``: factories with explicit options for PettingZoo's multiwalker and pursuit.

Nothing here is imported by ``env_wrappers.registry`` until an env is built.
"""
