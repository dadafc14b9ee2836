"""Standalone studies, one question each, outside the suite's ``python -m benchmarks`` command.

Each module is a script with its own ``--help``, run from the project root either by path
(``python benchmarks/studies/scaling.py ...``) or as a module
(``python -m benchmarks.studies.scaling ...``). They read data, measure and time through the
harness (:mod:`benchmarks.harness.datasets`, :mod:`benchmarks.harness.measure`) and use
deepforest's public API, but for the exceptions that ``tests/test_code_shape.py`` names.
"""
