"""Custom RLlib algorithms, one package each; shared parts in `common/`."""
