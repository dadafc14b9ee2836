"""The suite's machinery behind ``python -m benchmarks run|report|depth|stopping|peers``.

Datasets and their fixed splits (:mod:`.datasets`), the models and their fixed settings
(:mod:`.models`, :mod:`.gcforest_settings`), the runner that fits each (dataset, model) pair in
a fresh process (:mod:`.runner`, :mod:`.peers` and :mod:`.peer_child` for peers in environments
of their own), the one way everything is measured (:mod:`.measure`), the report and its verdict
(:mod:`.report`, :mod:`.verdict`), and the depth and stopping studies of the command line
(:mod:`.depth`, :mod:`.stopping`). The standalone study scripts are in ``benchmarks/studies``.
"""
