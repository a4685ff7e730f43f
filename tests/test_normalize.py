from __future__ import annotations

import cv2
import numpy as np
import pytest

from sigverify.core.normalize import NoInkError, NormalizationParams, normalize_signature
from sigverify.synth.signatures import SyntheticWriter


def _signature(seed=3):
    return SyntheticWriter(seed).genuine(np.random.default_rng(seed))


def test_output_shape_range_and_ink_on_black():
    params = NormalizationParams()
    out = normalize_signature(_signature(), params)
    assert out.shape == (params.height, params.width) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert out[0, 0] == 0.0  # background black
    assert (out > 0.5).sum() > 100  # ink bright


def test_deterministic():
    image = _signature()
    assert np.array_equal(normalize_signature(image), normalize_signature(image))


def test_scale_and_position_invariant():
    image = _signature()
    bigger = cv2.resize(image, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    on_page = np.full((bigger.shape[0] + 300, bigger.shape[1] + 400), 255, np.uint8)
    on_page[250 : 250 + bigger.shape[0], 30 : 30 + bigger.shape[1]] = bigger
    a, b = normalize_signature(image), normalize_signature(on_page)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.85


def test_colour_scan_and_paper_tone():
    image = _signature()
    tinted = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB).astype(np.int16)
    tinted = np.clip(tinted * np.array([0.9, 0.85, 0.7]) + 10, 0, 255).astype(np.uint8)
    a, b = normalize_signature(image), normalize_signature(tinted)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9


def test_blank_page_has_no_ink():
    with pytest.raises(NoInkError, match="no ink"):
        normalize_signature(np.full((100, 300), 240, np.uint8))
    noisy = np.random.default_rng(0).normal(240, 3, (100, 300)).clip(0, 255).astype(np.uint8)
    with pytest.raises(NoInkError):
        normalize_signature(noisy)


def test_params_round_trip_and_version_guard():
    params = NormalizationParams(height=96, width=192)
    assert NormalizationParams.from_dict(params.to_dict()) == params
    with pytest.raises(ValueError, match="version"):
        NormalizationParams.from_dict({**params.to_dict(), "version": "999"})


def _pen_drawing(thickness: int) -> np.ndarray:
    img = np.full((200, 500), 255, np.uint8)
    pts = np.array([[30, 150], [90, 40], [150, 160], [230, 60], [300, 150], [380, 50], [470, 140]], np.int32)
    cv2.polylines(img, [pts], False, 0, thickness=thickness, lineType=cv2.LINE_AA)
    cv2.circle(img, (250, 120), 30, 0, thickness)
    return img


def test_version_2_draws_every_signature_with_one_pen():
    """A thin and a thick pen writing the same shape give nearly the same v2 input, while v1
    keeps the difference: what differs between pens and scanners does not reach the model."""
    v1, v2 = NormalizationParams(), NormalizationParams(version="2")
    thin_v1, thick_v1 = normalize_signature(_pen_drawing(2), v1), normalize_signature(_pen_drawing(9), v1)
    thin_v2, thick_v2 = normalize_signature(_pen_drawing(2), v2), normalize_signature(_pen_drawing(9), v2)
    # the amount of ink: about 3x apart in v1, within 25 % in v2
    assert thick_v1.mean() > 2 * thin_v1.mean()
    assert abs(thick_v2.mean() - thin_v2.mean()) < 0.25 * thin_v2.mean()
    assert np.abs(thin_v2 - thick_v2).mean() < 0.6 * np.abs(thin_v1 - thick_v1).mean()
    assert thin_v2.shape == (v2.height, v2.width) and 0.0 <= thin_v2.min() and thin_v2.max() <= 1.0
    assert NormalizationParams.from_dict(v2.to_dict()) == v2


def test_unknown_normalisation_version_is_refused():
    with pytest.raises(ValueError, match="normalisation version 9"):
        NormalizationParams.from_dict({"version": "9"})
