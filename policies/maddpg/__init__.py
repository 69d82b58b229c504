"""MADDPG (Lowe et al. 2017) on the team view.

Decentralized deterministic actors and a centralized critic per agent over every agent's
action, for discrete (Gumbel-softmax) and continuous (``tanh``) actions, in cooperative,
competitive and mixed games. See README.md.
"""
