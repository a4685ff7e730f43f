"""sigverify.core.metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from sigverify.core import metrics


def test_roc_points_counts():
    t, far, frr = metrics.roc_points([0.9, 0.8, 0.4], [0.1, 0.5])
    # at t=0.1 nothing rejected, all accepted; above the max nothing accepted
    assert far[0] == 1.0 and frr[0] == 0.0
    assert far[-1] == 0.0 and frr[-1] == 1.0
    i = list(t).index(0.5)
    assert far[i] == pytest.approx(0.5) and frr[i] == pytest.approx(1 / 3)


def test_eer_separable_is_zero():
    e, thr = metrics.eer([0.9, 0.8, 0.7], [0.1, 0.2, 0.3])
    assert e == 0.0
    assert 0.3 < thr <= 0.7


def test_eer_symmetric_overlap():
    # genuine 1..4, impostor 0..3 (4 each): at t=3 FAR=1/4 (3), FRR=2/4 (1,2); at t=2 FAR 2/4, FRR 1/4
    e, _ = metrics.eer([1, 2, 3, 4], [0, 1, 2, 3])
    assert e == pytest.approx(0.375)


def test_eer_identical_distributions_is_half():
    rng = np.random.default_rng(0)
    x = rng.normal(size=4000)
    e, _ = metrics.eer(x[:2000], x[2000:])
    assert e == pytest.approx(0.5, abs=0.03)


def test_threshold_at_far_and_frr():
    imp = np.arange(100) / 100.0  # 0.00 .. 0.99
    t = metrics.threshold_at_far(imp, 0.01)
    assert np.mean(imp >= t) <= 0.01
    assert np.mean(imp >= np.nextafter(t, -1) - 0.01) > 0.01  # lowest such threshold
    gen = np.arange(100) / 100.0
    r = metrics.threshold_at_frr(gen, 0.01)
    assert np.mean(gen < r) <= 0.01 and r == pytest.approx(0.01)


def test_frr_at_far():
    gen = [0.95, 0.9, 0.85, 0.5]
    imp = [0.1] * 99 + [0.88]  # FAR 1% of 100 allows accepting one impostor: the .88
    frr, t = metrics.frr_at_far(gen, imp, 0.01)
    assert 0.1 < t <= 0.5 and frr == 0.0
    frr0, _ = metrics.frr_at_far(gen, imp, 0.0)
    assert frr0 == pytest.approx(0.5)  # must reject 0.85 and 0.5


def test_auc_hand_values():
    assert metrics.auc([3, 4], [1, 2]) == 1.0
    assert metrics.auc([1, 2], [3, 4]) == 0.0
    # pairs: (2 vs 1) win, (2 vs 2) tie, (2 vs 3) loss ... 3 wins+1 tie of 6? compute:
    # g=[2,3], i=[1,2,3]: 2>1, 2=2 (.5), 2<3, 3>1, 3>2, 3=3 (.5) -> 4/6
    assert metrics.auc([2, 3], [1, 2, 3]) == pytest.approx(4 / 6)


def test_protocol_scores_best_reference():
    # writer A: genuine along e1, a forgery along e2; writer B genuine along e2
    e1, e2 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    emb = np.stack([e1, e1, e1, e2, e2, e2])
    writers = ["A", "A", "A", "A", "B", "B"]
    genuine = [True, True, True, False, True, True]
    sc = metrics.protocol_scores(emb, writers, genuine, references=1, seed=0)
    assert sc.writers == 2
    assert sorted(sc.genuine.tolist()) == [1.0, 1.0, 1.0]  # 2 from A, 1 from B
    assert sc.skilled.tolist() == [0.0]
    assert sorted(sc.random.tolist()) == [0.0, 0.0, 0.0, 0.0, 0.0]  # A vs B's 2, B vs A's 3
    rep = metrics.report(sc, tau=0.5)
    assert rep.eer_skilled == 0.0 and rep.eer_random == 0.0 and rep.auc == 1.0
    assert rep.queries == 9 and rep.frr_at_tau == 0.0 and rep.far_skilled_at_tau == 0.0


def test_protocol_skips_writers_with_too_few_genuine():
    emb = np.eye(3)
    sc = metrics.protocol_scores(emb, ["A", "A", "B"], [True, True, True], references=2)
    assert sc.writers == 0 and sc.genuine.size == 0


def test_threshold_at_far_agrees_in_float32_and_float64():
    imp = np.random.default_rng(1).random(300).astype(np.float32)
    t = metrics.threshold_at_far(imp, 0.01)
    assert np.mean(imp >= t) == np.mean(imp.astype(np.float64) >= t) <= 0.01
    # a single impostor: the threshold sits just above it
    assert metrics.threshold_at_far([0.5], 0.01) > 0.5
