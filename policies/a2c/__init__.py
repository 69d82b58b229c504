"""IA2C and MAA2C: synchronous advantage actor-critic per agent (independent or centralized).

Built on MAPPO's package (its module, GAE connector, exporter and sharing modes): one gradient
step per rollout batch, the plain policy-gradient loss (no ratio clipping), n-step returns from
a Polyak-averaged target critic. See README.md.
"""
