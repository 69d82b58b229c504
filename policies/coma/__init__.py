"""COMA: counterfactual multi-agent policy gradients (Foerster et al. 2018), on the team view.

Decentralized actors (one per member, or shared with one-hot ids) and one centralized,
learner-only critic ``Q_i(s, (a, u_-i))`` with one output per own action, whose
counterfactual baseline needs one forward pass. See README.md.
"""
