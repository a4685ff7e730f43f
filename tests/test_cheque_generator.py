"""The synthetic cheque generator: exact, deterministic ground truth in every capture mode."""

from __future__ import annotations

import numpy as np
import pytest

from sigverify.synth.cheques import LAYOUTS, generate_cheque


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts_give_exact_box_and_mask(layout):
    cheque = generate_cheque(7, layout=layout, signed=True, datasets=None)
    assert cheque.image.dtype == np.uint8 and cheque.image.ndim == 2
    assert cheque.layout == layout and cheque.signed
    mask = cheque.ink_mask
    assert mask.shape == cheque.image.shape and mask.any()
    ys, xs = np.nonzero(mask)
    assert cheque.box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    # the signature ink is darker than the paper around it
    assert np.median(cheque.image[mask]) < np.median(cheque.image) - 30


def test_same_seed_same_cheque():
    a = generate_cheque(123, datasets=None)
    b = generate_cheque(123, datasets=None)
    assert np.array_equal(a.image, b.image) and a.box == b.box and a.effects == b.effects


def test_unsigned_has_no_ground_truth():
    cheque = generate_cheque(5, signed=False, datasets=None)
    assert not cheque.signed and cheque.box is None and cheque.ink_mask is None


def test_bitonal_is_black_and_white_200dpi():
    cheque = generate_cheque(11, bitonal=True, signed=True, datasets=None)
    assert set(np.unique(cheque.image)) <= {0, 255}
    assert cheque.dpi == 200.0 and cheque.effects["bitonal"]


def test_photo_has_background_around_the_cheque():
    cheque = generate_cheque(3, photo=True, bitonal=False, layout="us", datasets=None)
    h, w = cheque.image.shape
    assert w > 6.0 * cheque.dpi and cheque.effects["photo"]


def test_dpi_sets_the_physical_size():
    cheque = generate_cheque(2, layout="in_cts", dpi=300.0, photo=False, datasets=None)
    assert cheque.image.shape[1] >= int(7.95 * 300)
