"""What a clerk reads: 0-100, never negative, never on the wrong side of a shown threshold."""

from __future__ import annotations

import numpy as np

from sigverify.core.pipeline import Decision, Thresholds, decide
from sigverify.core.score_scale import shown_score, similarity


def test_negative_and_out_of_range_scores_stay_on_the_scale():
    assert similarity(-0.2) == 0 and similarity(1.0) == 100 and similarity(0.375) in (37, 38)


def test_shown_score_agrees_with_the_decision_and_the_shown_thresholds():
    accept, reject = 0.908, 0.375
    thresholds = Thresholds(accept, reject, "model")
    shown_accept, shown_reject = similarity(accept), similarity(reject)
    for score in np.linspace(-1, 1, 20001):
        shown = shown_score(float(score), accept, reject)
        assert 0 <= shown <= 100
        decision = decide(float(score), thresholds)
        if decision is Decision.MATCH:
            assert shown >= shown_accept
        elif decision is Decision.NO_MATCH:
            assert shown < shown_reject
        else:
            assert shown_reject <= shown < shown_accept
