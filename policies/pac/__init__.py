"""PAC: Pareto Actor-Critic (Christianos, Papoudakis and Albrecht, TMLR 2023), on the team view.

A variant of COMA's package: the same decentralized actors and joint-action critic input,
but each member's advantage is taken against the others' best joint action for it
(``Qmax_i(s, a_i) - V_i(s)``), which selects the Pareto-optimal equilibrium in no-conflict
games. See README.md.
"""
