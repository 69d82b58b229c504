"""``marl bench``: the benchmark suite and the measurements around it.

``suite`` (train and evaluate the benchmark specs), ``envs`` (env adapter overhead),
``learner_cost`` (learner update time), ``profile`` with ``profile_stacks`` (py-spy profile of
a benchmark's training), ``scaling`` (sampling throughput against env runners) and ``table``
(the README's results table). Nothing is imported here: each module is loaded by the command
that needs it.
"""
