"""The one path from an image to a decision: prepare (any source) and score (thresholds per K, the hook)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from model_factory import build_test_model

from sigverify.core.engine import Engine
from sigverify.core.imaging import load_image
from sigverify.core.metrics import protocol_scores
from sigverify.core.normalize import NormalizationParams
from sigverify.core.pipeline import (
    Decision,
    NoSignatureError,
    ReferenceSpread,
    Thresholds,
    best_scores,
    prepare,
    reference_spread,
    score,
)
from sigverify.core.store import Store
from sigverify.core.verify import Verifier
from sigverify.synth.cheques import generate_cheque

PARAMS = NormalizationParams()


def test_path_bytes_and_decoded_image_give_the_same_model_input(signature_files):
    path = signature_files["a0"]
    from_path = prepare(path, PARAMS)
    from_bytes = prepare(path.read_bytes(), PARAMS, name="a0.png")
    from_image = prepare(load_image(path), PARAMS)
    from_gray = prepare(load_image(path).gray, PARAMS)
    for other in (from_bytes, from_image, from_gray):
        np.testing.assert_array_equal(other.normalized, from_path.normalized)
    assert from_path.sha256 == from_bytes.sha256 and len(from_path.sha256) == 64
    assert from_image.sha256 == ""  # no bytes were read: nothing to hash
    assert from_path.normalized.shape == (PARAMS.height, PARAMS.width)
    assert from_path.quality.found_by == "whole image" and from_path.box is None
    assert 0.0 < from_path.quality.ink_fraction < 0.5
    assert set(from_path.timings) >= {"decode", "extraction", "normalisation"}


def test_a_cheque_gives_a_box_and_the_finder_as_source(tmp_path):
    cheque = generate_cheque(7, signed=True, datasets=None)
    path = tmp_path / "cheque.png"
    cv2.imwrite(str(path), cheque.image)
    prepared = prepare(path, PARAMS)
    assert prepared.box is not None and prepared.quality.found_by == "finder"
    x1, y1, x2, y2 = prepared.box
    assert 0 <= x1 < x2 <= cheque.image.shape[1] and 0 <= y1 < y2 <= cheque.image.shape[0]


def test_a_user_box_is_cut_as_given_and_keep_false_drops_the_heavy_parts(signature_files):
    prepared = prepare(signature_files["a0"], PARAMS, box=(0, 0, 200, 80), keep=False)
    assert prepared.box == (0, 0, 200, 80) and prepared.quality.found_by == "user box"
    assert prepared.file_bytes is None and prepared.image is None and prepared.sha256


def test_blank_page_and_tiny_box_are_refused_with_the_reason(signature_files):
    with pytest.raises(NoSignatureError, match="blank.png"):
        prepare(signature_files["blank"], PARAMS)
    with pytest.raises(NoSignatureError, match="too small"):
        prepare(signature_files["a0"], PARAMS, box=(5, 5, 7, 7))
    with pytest.raises(ValueError, match="uint8 grayscale"):
        prepare(np.zeros((50, 50, 3), np.uint8), PARAMS)


def _unit(v) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def test_score_is_the_best_reference_and_reports_every_one():
    refs = np.stack([_unit([1, 0, 0]), _unit([0.6, 0.8, 0])])
    result = score(_unit([0.6, 0.8, 0]), refs, [11, 12], Thresholds(0.9, 0.5, "model"))
    assert result.best_reference_id == 12 and result.score == pytest.approx(1.0)
    assert [r.reference_id for r in result.reference_scores] == [11, 12]
    assert result.reference_scores[0].score == pytest.approx(0.6)
    assert result.decision is Decision.MATCH
    with pytest.raises(ValueError):
        score(_unit([1, 0, 0]), refs, [11], Thresholds(0.9, 0.5, "model"))


def test_thresholds_follow_the_number_of_references():
    bands = Thresholds(0.9, 0.4, "model", by_references=((1, 0.8, 0.4), (3, 0.95, 0.7)))
    assert bands.for_references(1).accept == 0.8
    assert bands.for_references(2).accept == 0.8  # nearest listed K below
    assert bands.for_references(5).reject == 0.7
    assert Thresholds(0.9, 0.4, "model", ((2, 0.7, 0.3),)).for_references(1).accept == 0.9  # none below: base
    query = _unit([0.85, np.sqrt(1 - 0.85**2), 0])
    one = score(query, np.stack([_unit([1, 0, 0])]), [1], bands)
    three = score(query, np.stack([_unit([1, 0, 0]), _unit([0, 1, 0]), _unit([0, 0, 1])]), [1, 2, 3], bands)
    assert one.decision is Decision.MATCH and one.thresholds.accept == 0.8
    assert three.decision is Decision.REFER and three.thresholds.accept == 0.95


def test_the_spread_hook_changes_the_score_only_from_two_references():
    calls: list[ReferenceSpread] = []

    def z_norm(raw: float, spread: ReferenceSpread) -> float:
        calls.append(spread)
        return (raw - spread.mean) / max(spread.std, 1e-3)

    bands = Thresholds(0.5, 0.0, "model")
    single = score(_unit([1, 0]), np.stack([_unit([1, 0])]), [1], bands, adjust=z_norm)
    assert single.score == single.raw_score and not calls  # K=1: nothing to measure a spread on
    refs = np.stack([_unit([1, 0]), _unit([0.8, 0.6]), _unit([0.6, 0.8])])
    spread = reference_spread(refs)
    assert spread is not None and spread.count == 3
    adjusted = score(_unit([1, 0]), refs, [1, 2, 3], bands, adjust=z_norm)
    assert calls == [spread]
    assert adjusted.raw_score == pytest.approx(1.0)
    assert adjusted.score == pytest.approx((1.0 - spread.mean) / spread.std)


def test_best_scores_is_the_rule_score_decides_with_and_evaluation_uses_it():
    refs = np.stack([_unit([1, 0, 0]), _unit([0.6, 0.8, 0])])
    queries = np.stack([_unit([0.6, 0.8, 0]), _unit([0, 0, 1]), _unit([1, 1, 0])])
    shift = lambda raw, spread: raw - spread.mean  # noqa: E731
    many = best_scores(queries, refs, shift)
    one_by_one = [score(q, refs, [1, 2], Thresholds(0.9, 0.5, "model"), shift).score for q in queries]
    np.testing.assert_allclose(many, one_by_one, rtol=1e-6)
    # metrics.protocol_scores (training's evaluation and `sigverify evaluate`) scores through it
    emb = np.stack([_unit([1, 0.1, 0]), _unit([1, 0, 0.1]), _unit([1, 0.05, 0.05]), _unit([0, 1, 0])])
    plain = protocol_scores(emb, ["w", "w", "w", "v"], [True] * 4, references=2, seed=0)
    shifted = protocol_scores(emb, ["w", "w", "w", "v"], [True] * 4, references=2, seed=0, adjust=shift)
    assert plain.genuine.size == 1 and shifted.genuine[0] < plain.genuine[0]


def test_the_verifier_applies_the_models_thresholds_for_the_customers_reference_count(tmp_path, db_url,
                                                                                       signature_files):
    model = build_test_model(tmp_path / "perk.onnx", tau_accept=0.99, tau_reject=0.98,
                             thresholds_by_references={"2": {"tau_accept": -0.5, "tau_reject": -0.9}})
    verifier = Verifier(Engine(model, device="cpu"), Store(db_url))
    verifier.register("C-1", [signature_files["a0"]])
    one = verifier.verify("C-1", signature_files["a2"], record=False)
    assert one.thresholds.accept == 0.99 and one.decision is Decision.NO_MATCH
    verifier.register("C-1", [signature_files["a1"]])
    two = verifier.verify("C-1", signature_files["a2"], record=False)
    assert two.thresholds.accept == -0.5 and two.decision is Decision.MATCH
