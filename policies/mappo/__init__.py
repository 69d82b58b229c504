"""MAPPO (Yu et al. 2022): PPO with a centralized critic, on RLlib's new API stack.

See README.md in this folder for the method, the defaults and what is logged.
"""
