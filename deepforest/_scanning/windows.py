"""Window geometry for multi-grained scanning: sample layouts, window views and pooling.

Every input is brought to one layout, ``(n_samples, *spatial, channels)`` with one spatial axis
for sequences and two for images, so that one code path slides windows over both. Windows are
never materialised for the whole dataset: ``window_view`` is a strided view, and callers copy
out only a batch of samples or a chosen subset of windows at a time.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# Default window sizes as fractions of the smaller side of an image: 7, 10 and 14 pixels on
# 28×28 MNIST, close to the paper's 7, 10 and 13.
IMAGE_WINDOW_FRACTIONS = (1 / 4, 3 / 8, 1 / 2)
# The sequence windows: about a sixteenth, an eighth and a quarter of the length.
SEQUENCE_WINDOW_FRACTIONS = (1 / 16, 1 / 8, 1 / 4)


def to_layout(
    X: np.ndarray, input_kind: str, image_shape: tuple[int, ...] | None
) -> tuple[np.ndarray, str]:
    """Reshape validated input to ``(n, *spatial, channels)``; return it and its kind.

    ``input_kind="auto"`` reads flat rows as sequences (or as images when ``image_shape`` is
    given), ``(n, h, w)`` and ``(n, h, w, c)`` arrays as images. Sequences with channels,
    ``(n, length, c)``, cannot be told from images by shape alone and need
    ``input_kind="sequence"``.
    """
    if image_shape is not None:
        if input_kind == "sequence":
            raise ValueError(
                "image_shape is for images; it cannot be used with input_kind='sequence'."
            )
        if X.ndim != 2:
            raise ValueError(
                f"image_shape={image_shape} reshapes flat rows, but X has {X.ndim} dimensions "
                f"(shape {X.shape}); pass flat rows of shape (n_samples, n_features) or drop "
                "image_shape."
            )
        shape = tuple(int(s) for s in image_shape)
        if len(shape) not in (2, 3) or any(s < 1 for s in shape):
            raise ValueError(
                f"image_shape must be (height, width) or (height, width, channels) of positive "
                f"ints, got {image_shape!r}."
            )
        if math.prod(shape) != X.shape[1]:
            raise ValueError(
                f"image_shape={shape} holds {math.prod(shape)} values per image, but X has "
                f"{X.shape[1]} features per row."
            )
        X = X.reshape(X.shape[0], *shape)
        kind = "image"
    elif input_kind == "auto":
        kind = "sequence" if X.ndim == 2 else "image"
    else:
        kind = input_kind

    expected = {"image": (3, 4), "sequence": (2, 3)}[kind]
    if X.ndim not in expected:
        layouts = {
            "image": "(n_samples, height, width) or (n_samples, height, width, channels), or "
            "flat rows with image_shape",
            "sequence": "(n_samples, length) or (n_samples, length, channels)",
        }
        raise ValueError(
            f"{kind} input must have shape {layouts[kind]}; got an array of shape {X.shape}."
        )
    if X.ndim == expected[0]:
        X = X[..., np.newaxis]
    return X, kind


def resolve_windows(
    window_sizes, spatial_shape: tuple[int, ...], kind: str
) -> list[tuple[int, ...]]:
    """Turn ``window_sizes`` into a list of window shapes; check each fits the input."""
    n_dims = len(spatial_shape)
    if window_sizes is None:
        fractions = IMAGE_WINDOW_FRACTIONS if kind == "image" else SEQUENCE_WINDOW_FRACTIONS
        side = min(spatial_shape)
        sizes = sorted({max(1, round(side * f)) for f in fractions})
        return [(size,) * n_dims for size in sizes]

    windows = []
    for size in window_sizes:
        if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
            window = (int(size),) * n_dims
        elif isinstance(size, (tuple, list)) and len(size) == n_dims:
            window = tuple(int(s) for s in size)
        else:
            raise ValueError(
                f"Each window size must be an int or a tuple of {n_dims} ints for {kind} input, "
                f"got {size!r}."
            )
        if any(s < 1 for s in window):
            raise ValueError(f"Window sizes must be positive, got {size!r}.")
        if any(w > s for w, s in zip(window, spatial_shape, strict=True)):
            raise ValueError(
                f"Window {format_shape(window)} is larger than the {format_shape(spatial_shape)} "
                f"{kind}s it should scan."
            )
        windows.append(window)
    if not windows:
        raise ValueError("window_sizes must hold at least one window size.")
    return windows


def format_shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)


def position_grid(
    spatial_shape: tuple[int, ...], window: tuple[int, ...], stride: int
) -> tuple[int, ...]:
    """Number of window positions along each spatial axis."""
    return tuple((s - w) // stride + 1 for s, w in zip(spatial_shape, window, strict=True))


def window_view(X: np.ndarray, window: tuple[int, ...], stride: int) -> np.ndarray:
    """A read-only strided view of shape ``(n, *positions, channels, *window)``; no copy."""
    axes = tuple(range(1, 1 + len(window)))
    view = sliding_window_view(X, window, axis=axes)
    steps = (slice(None),) + (slice(None, None, stride),) * len(window)
    return view[steps]


def batch_windows(view: np.ndarray, samples) -> np.ndarray:
    """Copy the windows of ``samples`` (a slice or indices) as rows, one per window."""
    block = view[samples]
    n_dims = (block.ndim - 2) // 2
    n_windows = math.prod(block.shape[: 1 + n_dims])
    return np.ascontiguousarray(block).reshape(n_windows, -1)


def gather_windows(view: np.ndarray, samples: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Copy the windows at flat ``positions`` of ``samples`` as rows, one per window."""
    n_dims = (view.ndim - 2) // 2
    grid = view.shape[1 : 1 + n_dims]
    index = (samples, *np.unravel_index(positions, grid))
    return np.ascontiguousarray(view[index]).reshape(len(samples), -1)


def pool(vectors: np.ndarray, size: int | None) -> np.ndarray:
    """Average ``(n, *positions, k)`` class vectors over blocks of ``size`` positions per axis.

    Edge blocks that the grid does not fill are averaged over the positions they hold, so no
    window is dropped.
    """
    if size is None or size == 1:
        return vectors
    for axis in range(1, vectors.ndim - 1):
        length = vectors.shape[axis]
        starts = np.arange(0, length, size)
        counts = np.diff(np.append(starts, length)).astype(vectors.dtype)
        sums = np.add.reduceat(vectors, starts, axis=axis)
        shape = [1] * vectors.ndim
        shape[axis] = len(starts)
        vectors = sums / counts.reshape(shape)
    return vectors


def pooled_grid(grid: tuple[int, ...], size: int | None) -> tuple[int, ...]:
    if size is None:
        return grid
    return tuple(math.ceil(g / size) for g in grid)


def window_offsets(
    layout_shape: tuple[int, ...], window: tuple[int, ...], stride: int
) -> tuple[np.ndarray, np.ndarray]:
    """Where each window reads a flat sample of layout ``(*spatial, channels)``.

    Returns ``(starts, offsets)``: the window at position ``p`` (row-major over the position
    grid) holds, as its feature ``f`` (in ``batch_windows``' order), the value at flat index
    ``starts[p] + offsets[f]`` of the sample.
    """
    index = np.arange(math.prod(layout_shape), dtype=np.int64).reshape(1, *layout_shape)
    windows = batch_windows(window_view(index, window, stride), slice(0, 1))
    starts = np.ascontiguousarray(windows[:, 0])
    return starts, np.ascontiguousarray(windows[0] - windows[0, 0])


def pooled_cells(grid: tuple[int, ...], size: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The pooled cell of every position of ``grid`` (row-major) and each cell's position count.

    The cells are those of ``pool``: blocks of ``size`` positions per axis, edge blocks holding
    what the grid leaves; without pooling every position is its own cell.
    """
    coordinates = np.indices(grid).reshape(len(grid), -1)
    step = 1 if size is None else size
    pooled = pooled_grid(grid, size)
    cells = np.ravel_multi_index(tuple(c // step for c in coordinates), pooled)
    counts = np.bincount(cells, minlength=math.prod(pooled))
    return cells.astype(np.int64), counts
