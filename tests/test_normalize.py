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
