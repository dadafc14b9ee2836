"""Benchmark suite: deep forest against neural networks and gradient boosting.

Run ``python -m benchmarks run --suite quick`` (digits, LETTER, ADULT; minutes) or
``--suite full`` (adds MNIST and its 10k subset; hours), ``python -m benchmarks depth`` for the
depth-versus-width study and ``python -m benchmarks report DIR`` to re-render a results
directory. The suite's machinery is in :mod:`benchmarks.harness`; standalone studies, one
question each, are in :mod:`benchmarks.studies`. See ``docs/benchmarks.md`` for the settings
and the committed results.
"""
