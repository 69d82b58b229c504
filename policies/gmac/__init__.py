"""GMAC: a Gaussian-mixture distributional critic for MAPPO and IPPO."""
