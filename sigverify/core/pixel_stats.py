"""Statistics of a page's pixels on the signature finder's hot path: exact, faster equivalents of the
OpenCV and NumPy calls they replace (each tested against the original)."""

from __future__ import annotations

import cv2
import numpy as np


def components_with_stats(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(count, labels, stats) of the 8-connected components of ``mask`` (bool or uint8), label 0 the
    background, as ``cv2.connectedComponentsWithStats``.

    Why not that call: its default algorithm (Spaghetti) computes the statistics up to 5x slower than
    Grana's block-based algorithm in OpenCV 5 on one core (7.7 ms against 1.3 ms on some 1100 x 546
    cheque pages, never slower; measured here), and the two give identical labels and statistics."""
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        np.ascontiguousarray(mask, dtype=np.uint8), 8, cv2.CV_32S, cv2.CCL_GRANA)
    return count, labels, stats


def percentile_u8(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation) of a uint8 array, from its histogram.

    Why: np.percentile partitions the whole page (about 4.5 ms for a 1100 x 513 page); 256 bins give
    the same two order statistics in a third of the time. The interpolation repeats NumPy's own
    formula, so the result is bit-identical (tested)."""
    if values.dtype != np.uint8 or values.size == 0:
        raise ValueError("percentile_u8 needs a non-empty uint8 array")
    ranks = np.cumsum(np.bincount(values.ravel(), minlength=256))
    position = q / 100.0 * (int(ranks[-1]) - 1)
    below = int(np.floor(position))
    above = min(below + 1, int(ranks[-1]) - 1)
    fraction = position - below
    low = float(np.searchsorted(ranks, below, side="right"))
    high = float(np.searchsorted(ranks, above, side="right"))
    # NumPy's _lerp: from the nearer end, so that the result never overshoots
    return high - (high - low) * (1 - fraction) if fraction >= 0.5 else low + (high - low) * fraction
