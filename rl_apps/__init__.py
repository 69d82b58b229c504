"""The `marl` application: specs, runtime, training, evaluation (no algorithm math)."""
