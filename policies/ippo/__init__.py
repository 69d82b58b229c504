"""IPPO: independent PPO learners on local observations, RLlib's PPO with our module."""
