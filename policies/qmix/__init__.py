"""QMIX, VDN and IQL: value decomposition on the team view."""
