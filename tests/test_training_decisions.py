"""What the card tells a bank: per-K thresholds applied the way the app applies them, where
genuine signatures land (match / refer / no match), the fusion comparison, the targets table."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from sigverify.core import metrics  # noqa: E402
from sigverify.core.pipeline import Thresholds  # noqa: E402
from training.card import _sets_sections  # noqa: E402
from training.evaluate import band_for, decision_shares  # noqa: E402
from training.fusion import fuse  # noqa: E402


def test_band_for_picks_thresholds_like_the_app():
    bands = {1: (0.8, 0.4), 3: (0.85, 0.5), 5: (0.9, 0.6)}
    app = Thresholds(0.9, 0.6, "model", tuple((k, a, r) for k, (a, r) in bands.items()))
    for k in range(1, 8):
        expected = app.for_references(k)
        assert band_for(bands, k) == (expected.accept, expected.reject)
    assert band_for({}, 2) is None


def test_decision_shares_count_where_genuine_and_forgeries_land():
    sc = metrics.ProtocolScores(genuine=np.array([0.95, 0.9, 0.7, 0.3]), skilled=np.array([0.92, 0.5, 0.2]),
                                random=np.array([0.1, 0.1]), writers=1, references=1)
    d = decision_shares(sc, accept=0.9, reject=0.4)
    assert d["genuine_match"] == 0.5 and d["genuine_refer"] == 0.25 and d["genuine_no_match"] == 0.25
    assert d["skilled_match"] == pytest.approx(1 / 3) and d["random_match"] == 0.0


def test_fusion_rules():
    sims = np.array([[0.9, 0.5, 0.7], [0.2, 0.3, 0.1]])
    refs = np.array([[1.0, 0.8, 0.6], [0.8, 1.0, 0.7], [0.6, 0.7, 1.0]])
    assert np.allclose(fuse(sims, refs, "max"), [0.9, 0.3])
    assert np.allclose(fuse(sims, refs, "top2"), [0.8, 0.25])
    pairs = np.array([0.8, 0.6, 0.7])
    assert np.allclose(fuse(sims, refs, "spread"), (np.array([0.9, 0.3]) - pairs.mean()) / max(pairs.std(), 0.05))
    with pytest.raises(ValueError, match="unknown fusion rule"):
        fuse(sims, refs, "median")


def _row(eer_s: float, refer: float) -> dict:
    return {"eer_skilled": eer_s, "eer_random": 0.02, "frr_at_far_1pct": 0.5, "auc": 0.9, "writers": 12,
            "queries": 100, "far_skilled_at_tau": 0.01, "far_random_at_tau": 0.0, "frr_at_tau": 0.6,
            "decisions": {"tau_accept": 0.9, "tau_reject": 0.4, "genuine_match": 1 - refer,
                          "genuine_refer": refer, "genuine_no_match": 0.0}}


def test_card_names_missed_targets_and_by_how_much():
    m = {"leave_one_dataset_out": {"cedar": {"k1": _row(0.155, 0.6), "trained_on": "x", "run": "r"},
                                   "nisdcc-preview": {"k1": _row(0.08, 0.2), "trained_on": "y", "run": "s"}}}
    text = "\n".join(_sets_sections(m))
    assert "15.5 % missed by 5.5 pt" in text  # skilled EER target 10 %
    assert "8.0 % met" in text
    assert "60.0 % missed by 35.0 pt" in text  # genuine to refer, target 25 %
    assert "| cedar | 1 | 12 | 100 | 15.5 % |" in text
