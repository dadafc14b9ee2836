"""Plan a fit's memory before it starts: the trees' size from the data and the settings.

A tree grown to leaves of ``min_samples_leaf`` rows has at most one leaf per distinct row it
drew, about one per ``2.4 * min_samples_leaf`` rows drawn for larger leaves, at most
``2 ** max_depth``, and one internal node fewer. The engine stores an internal node in 13 bytes
(int32 feature, uint8 bin threshold, two int32 children) and a leaf's outputs as float32.
Regression trees reach that bound (every leaf holds distinct targets); classification trees
stop at pure leaves, which store no outputs, and on clean data long before one leaf per row, so
for them the figures are upper bounds. Measured: diamonds (43,152 rows, 9 columns, regression,
leaves of 1 row), 164 MiB per layer against 177 MiB estimated; digits (1,797 rows, 10
classes), 1.8 MiB against 5.6 MiB.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

INTERNAL_NODE_BYTES = 13
LEAF_FILL = 1.8
OUTPUT_BYTES = 4
# Rows predicted at once: bounds the memory of the augmented features at predict time.
PREDICT_BATCH_ROWS = 65_536
# Overrides the memory the estimate is compared with, in bytes (for shared machines and tests).
MEMORY_LIMIT_VARIABLE = "DEEPFOREST_MEMORY_LIMIT"
# How a memory warning starts, for filters.
MEMORY_WARNING_START = "this model may need more memory"


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated bytes: one layer's trees, the fit's peak and a prediction's peak."""

    layer_bytes: int
    fit_bytes: int
    predict_bytes: int

    def describe(self) -> str:
        return (
            f"about {_size(self.layer_bytes)} of trees per layer, a fit peak of about "
            f"{_size(self.fit_bytes)} and {_size(self.predict_bytes)} to predict"
        )


def _size(n_bytes: float) -> str:
    if n_bytes >= 2**30:
        return f"{n_bytes / 2**30:.1f} GiB"
    return f"{n_bytes / 2**20:.{0 if n_bytes >= 10 * 2**20 else 1}f} MiB"


def leaves_per_tree(
    n_samples: int, rows_drawn: int, min_samples_leaf: float, max_depth: int | None
) -> float:
    """The most leaves a tree grown on ``rows_drawn`` bootstrap draws can have."""
    distinct = n_samples * (1.0 - math.exp(-rows_drawn / n_samples))
    leaf_rows = min_samples_leaf * n_samples if min_samples_leaf < 1 else min_samples_leaf
    # A split must leave each child leaf_rows draws, so leaves hold more: measured 1.8 (leaves
    # of 2) to 2.1 (of 16) times leaf_rows on regression data, where trees grow furthest (with
    # every feature a candidate in both forests; the completely-random forest's single random
    # cut used to leave 2.4 to 3 times).
    draws_per_leaf = LEAF_FILL * leaf_rows if leaf_rows > 1 else 1.0
    leaves = min(distinct, rows_drawn / draws_per_leaf)
    if max_depth is not None:
        leaves = min(leaves, 2.0**max_depth)
    return max(leaves, 1.0)


# Float64 (rows x outputs) matrices the boosting stage holds at once: one per search fold (5),
# the best held-out margins, the base, probabilities of the folds grown at once, and the
# temporaries of scoring the held-out margins (tracemalloc measured 15.5 on 20,000 rows).
BOOST_MARGIN_COPIES = 18
# Boosters the stage holds at once: one per search fold and the final one.
BOOSTERS = 6
# Features a boosted tree's histograms cover at most (``BoostingSettings.max_features``), and
# slots per feature, an upper bound (at most 255 bins of values and the missing values' slot).
BOOST_HISTOGRAM_FEATURES = 64
BOOST_HISTOGRAM_SLOTS = 257
# Memory a tree's histograms may take before each node sums its own rows: beyond it the
# stack's histograms for subtraction are not kept (``_core.boosting.histogram_space``).
HISTOGRAM_BUDGET_BYTES = 64 * 2**20


def boosting_histograms(n_slots: int, n_outputs: int, max_depth: int) -> int:
    """How many histograms of ``n_slots`` slots a boosted tree keeps: one per node the
    depth-first stack holds and a scratch one, or one when they would exceed the budget."""
    n_histograms = max_depth + 2
    if n_histograms * histogram_bytes(n_slots, n_outputs) > HISTOGRAM_BUDGET_BYTES:
        return 1
    return n_histograms


def histogram_bytes(n_slots: int, n_outputs: int) -> int:
    """A histogram's bytes: float64 gradient and hessian sums per output, and an int64 count."""
    return n_slots * (2 * n_outputs + 1) * 8


def estimate_memory(
    *,
    n_samples: int,
    n_features: int,
    n_outputs: int,
    n_forests: int,
    n_trees: int,
    rows_drawn: int,
    min_samples_leaf: float,
    max_depth: int | None,
    layers_in_memory: int,
    is_classifier: bool,
    spilled: bool = False,
    boosted: bool = False,
    boost_max_depth: int = 3,
) -> MemoryEstimate:
    """Estimate the memory of a cascade fit and of predicting with its model.

    Parameters
    ----------
    n_samples, n_features, n_outputs : int
        Training rows, input features, and classes (classification) or targets (regression).
    n_forests, n_trees : int
        Forests per layer and trees per forest.
    rows_drawn : int
        Bootstrap draws per tree.
    min_samples_leaf : int or float
        Leaf size (a float is a share of ``n_samples``).
    max_depth : int or None
        Depth limit of the trees.
    layers_in_memory : int
        Layers held at once during the fit: the best so far and those grown after it.
    is_classifier : bool
        Whether the trees classify (their one-row leaves are pure and store no outputs).
    spilled : bool
        Whether layers are written to disk as they are grown (``spill_dir``).
    boosted : bool
        Whether the boosting stage runs after the layers (``boost_rounds``).
    boost_max_depth : int
        Depth of the stage's trees (``boost_max_depth``).
    """
    leaves = leaves_per_tree(n_samples, rows_drawn, min_samples_leaf, max_depth)
    # Classification leaves of one row are pure and store no outputs.
    value_leaves = 0.0 if is_classifier and min_samples_leaf == 1 else leaves
    tree_bytes = (leaves - 1) * INTERNAL_NODE_BYTES + value_leaves * n_outputs * OUTPUT_BYTES
    layer_bytes = tree_bytes * n_trees * n_forests
    width = n_features + n_forests * n_outputs
    # Binned input and augmented features (uint8), out-of-sample outputs of the layers that may
    # still end up last (float64), and the trees of the layers held.
    working = n_samples * width * 2 + 2 * n_forests * n_samples * n_outputs * 8
    held = 1 if spilled else layers_in_memory
    fit_bytes = held * layer_bytes + working
    if boosted:
        # The stage, with the kept layers still in memory: a margin matrix per search fold and
        # a few more (gradients, hessians, the base), and a row-major copy of the binned input.
        fit_bytes += BOOST_MARGIN_COPIES * n_samples * n_outputs * 8 + n_samples * n_features
        # Each booster's histograms, over the widest features a tree may split on.
        n_slots = min(n_features, BOOST_HISTOGRAM_FEATURES) * BOOST_HISTOGRAM_SLOTS
        n_histograms = boosting_histograms(n_slots, n_outputs, boost_max_depth)
        fit_bytes += BOOSTERS * n_histograms * histogram_bytes(n_slots, n_outputs)
    batch = min(n_samples, PREDICT_BATCH_ROWS) * (width * 9 + n_forests * n_outputs * 8)
    predict_bytes = (1 if spilled else max(layers_in_memory - 1, 1)) * layer_bytes + batch
    return MemoryEstimate(int(layer_bytes), int(fit_bytes), int(predict_bytes))


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _parse_memory_limit(text: str) -> int:
    """``DEEPFOREST_MEMORY_LIMIT`` as bytes: a finite, positive number, or a clear error."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"{MEMORY_LIMIT_VARIABLE} must be a positive number of bytes (such as 8e9), got "
            f"{text!r}"
        )
    return int(value)


def available_memory() -> int | None:
    """Bytes a fit can use: ``DEEPFOREST_MEMORY_LIMIT`` if set, else the memory available now
    (Linux's MemAvailable, capped by a container's limit), else the physical memory; None if
    unknown."""
    override = os.environ.get(MEMORY_LIMIT_VARIABLE)
    if override:
        return _parse_memory_limit(override)
    found = [value for value in (_meminfo_available(), _cgroup_limit()) if value is not None]
    if not found:
        try:
            found = [os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")]
        except (ValueError, OSError, AttributeError):
            return None
    return min(found)


def memory_advice(estimate: MemoryEstimate, available: int | None, options: dict) -> str | None:
    """A message when the fit or prediction may not fit in ``available`` bytes; else None.

    ``options`` maps each remedy ("max_samples", "min_samples_leaf", "n_trees", "spill_dir")
    to how the caller spells it (a parameter or a command-line option).
    """
    if available is None or max(estimate.fit_bytes, estimate.predict_bytes) <= available:
        return None
    return (
        f"{MEMORY_WARNING_START} than the {_size(available)} available: "
        f"{estimate.describe()}. Smaller models: {options['max_samples']} (fewer rows per tree), "
        f"{options['min_samples_leaf']} (larger leaves), {options['n_trees']} (fewer trees), or "
        f"{options['spill_dir']} (layers on disk, one in memory at a time)"
    )
