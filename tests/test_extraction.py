"""Signature extraction: crops pass through, cheques give the signature box, unsigned cheques none."""

from __future__ import annotations

import numpy as np
import pytest

from sigverify.core.extraction import Extraction, find_signature
from sigverify.synth.cheques import generate_cheque
from sigverify.synth.signatures import SyntheticWriter


def iou(a, b) -> float:
    if a is None or b is None:
        return 0.0
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union


def test_signature_crop_passes_through():
    crop = SyntheticWriter(4).genuine(np.random.default_rng(0))
    result = find_signature(crop)
    assert isinstance(result, Extraction)
    assert result.found and not result.is_cheque
    assert result.box == (0, 0, crop.shape[1], crop.shape[0])
    assert np.array_equal(result.crop, crop)


def test_colour_crop_is_accepted():
    crop = SyntheticWriter(9).genuine(np.random.default_rng(1))
    rgb = np.dstack([crop, crop, crop])
    result = find_signature(rgb)
    assert result.found and not result.is_cheque and result.crop.ndim == 2


def test_blank_image_is_not_found():
    result = find_signature(np.full((300, 700), 240, np.uint8))
    assert not result.found and result.reason


def test_noise_or_dark_image_is_not_a_signature():
    noise = np.random.default_rng(0).integers(0, 256, (400, 900)).astype(np.uint8)
    for image in (noise, np.full((300, 700), 20, np.uint8)):
        result = find_signature(image)
        assert not result.found and result.reason


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 8, 9])
def test_generated_cheque_signature_is_found(seed):
    cheque = generate_cheque(seed, signed=True, datasets=None)
    result = find_signature(cheque.image)
    assert result.is_cheque and result.found
    assert iou(result.box, cheque.box) >= 0.5, (cheque.layout, cheque.effects, result.box, cheque.box)
    assert result.crop.dtype == np.uint8 and result.crop.ndim == 2
    assert (result.crop < 200).any()           # holds ink
    assert 0.0 < result.confidence <= 1.0
    x1, y1, x2, y2 = result.box
    h, w = cheque.image.shape
    assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h


@pytest.mark.parametrize("seed", [21, 22, 23, 24])
def test_unsigned_cheque_is_not_found(seed):
    cheque = generate_cheque(seed, signed=False, datasets=None)
    result = find_signature(cheque.image)
    assert result.is_cheque and not result.found
    assert result.box is None and result.crop is None and result.reason


def test_deterministic():
    cheque = generate_cheque(31, signed=True, datasets=None)
    a, b = find_signature(cheque.image), find_signature(cheque.image)
    assert a.box == b.box and a.confidence == b.confidence and np.array_equal(a.crop, b.crop)


def test_crop_is_cleaned_of_the_printed_line():
    """The printed signature line runs far beyond the signature: the crop must not keep it."""
    cheque = generate_cheque(4, signed=True, layout="us", bitonal=False, photo=False, datasets=None)
    result = find_signature(cheque.image)
    crop = result.crop
    # no crop row is a near-continuous dark run across the whole width (a printed rule)
    dark_rows = ((crop < 160).mean(axis=1) > 0.9).sum()
    assert dark_rows == 0


@pytest.mark.parametrize("angle", [-4.0, -1.5, 2.5, 5.0])
def test_a_turned_cheque_is_measured_and_still_found(angle):
    """A cheque fed in at an angle: the finder reports the turn it undid (to within its 0.1-degree
    search step and the printed rows' own wobble) and still finds the signature."""
    import cv2

    cheque = generate_cheque(4, signed=True, layout="us", bitonal=False, photo=False, datasets=None)
    h, w = cheque.image.shape
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    turned = cv2.warpAffine(cheque.image, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    straight = find_signature(cheque.image)
    result = find_signature(turned)
    assert result.found and result.is_cheque
    assert abs(result.skew_deg - (straight.skew_deg - angle)) <= 0.25, (result.skew_deg, straight.skew_deg)
    corners = np.array([[x, y, 1.0] for x in (cheque.box[0], cheque.box[2]) for y in (cheque.box[1], cheque.box[3])])
    moved = corners @ turn.T
    truth = (moved[:, 0].min(), moved[:, 1].min(), moved[:, 0].max(), moved[:, 1].max())
    assert iou(result.box, truth) >= 0.5, (result.box, truth)


def test_hopeless_clusters_skip_the_stroke_angle_measure_without_changing_any_answer(monkeypatch):
    """The rules keep a score bound for clusters far below the signed threshold (a speed-up): the
    box, crop and confidence a clerk sees must be those of scoring every cluster in full."""
    import hashlib

    from sigverify.core import extraction as ex
    from sigverify.synth.cheques import TRAIN_FAMILIES, generate_cheque

    cheques = [generate_cheque(seed, signed=seed % 5 != 0, extras=True, families=TRAIN_FAMILIES).image
               for seed in range(40)]

    def answers():
        out = []
        for image in cheques:
            e = ex.find_signature(image, method="rules")
            out.append((e.found, e.box, e.confidence, e.skew_deg,
                        None if e.crop is None else hashlib.sha1(e.crop.tobytes()).hexdigest()))
        return out

    fast = answers()
    monkeypatch.setattr(ex, "_SCORE_FLOOR", -np.inf)   # every cluster scored in full
    assert answers() == fast
    assert sum(found for found, *_ in fast) >= 20      # the cheques exercise found signatures too
