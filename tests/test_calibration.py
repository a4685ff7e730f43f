"""Calibration: exact binomial confidence, thresholds from known score distributions, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sigverify.core.calibration import (
    LabelledScore,
    RateEstimate,
    ThresholdPair,
    calibrate,
    calibrate_group,
    cp_upper,
    min_samples,
    propose_accept,
    propose_reject,
)


def test_clopper_pearson_matches_the_textbook_table():
    # the classic exact 95 % intervals for 0, 1 and 5 successes in 10 trials
    for errors, low, high in ((0, 0.0, 0.3085), (1, 0.0025, 0.4450), (5, 0.1871, 0.8129)):
        e = RateEstimate.of(errors, 10)
        assert e.ci_low == pytest.approx(low, abs=1e-4) and e.ci_high == pytest.approx(high, abs=1e-4)
    # one-sided bound, zero errors: closed form 1 - 0.05^(1/n) ("rule of three")
    assert cp_upper(0, 300) == pytest.approx(1 - 0.05 ** (1 / 300))
    assert cp_upper(4, 1000) == pytest.approx(0.00913, abs=2e-5)


def test_minimum_sample_count_is_where_zero_errors_support_the_target():
    assert min_samples(0.01) == 299  # about 300 forgeries for FAR 1 %
    assert cp_upper(0, 298) > 0.01 >= cp_upper(0, 299)
    assert min_samples(0.05) == 59
    assert min_samples(0.01, confidence=0.99) == 459


def test_known_distribution_gives_the_expected_thresholds():
    forged = np.arange(1000) * 0.0005  # 0.0000 .. 0.4995, evenly
    genuine = 0.5 + np.arange(1000) * 0.0005  # 0.5000 .. 0.9995
    accept = propose_accept(forged)
    # 4 of 1000 is the most errors whose upper bound stays <= 1 % (5 of 1000: 1.05 %)
    assert accept.threshold == pytest.approx(0.49775)  # halfway between the 5th and 4th highest forgery
    assert accept.estimate.errors == 4 and accept.estimate.trials == 1000
    assert accept.estimate.upper_bound <= 0.01 < cp_upper(5, 1000)
    low, high = accept.exact_target_interval
    assert low <= 0.495 <= high  # the true 99th percentile of the forgeries' distribution
    reject = propose_reject(genuine)
    assert reject.threshold == pytest.approx(0.502) and reject.estimate.errors == 4
    assert np.sum(genuine < reject.threshold) == 4


def test_too_few_forgeries_propose_nothing_and_say_why():
    rng = np.random.default_rng(1)
    refused = propose_accept(rng.normal(0.3, 0.1, 298))
    assert refused.threshold is None and refused.estimate is None and not refused.proposed
    assert "298 forgeries" in refused.reason and "at least 299" in refused.reason
    assert propose_accept(rng.normal(0.3, 0.1, 299)).proposed


def test_the_stated_confidence_holds_on_repeated_draws():
    """Over many banks' worth of forgeries from a known normal distribution, the proposed
    threshold's TRUE FAR is within the 1 % target at least about 95 % of the time."""
    held, draws = 0, 150
    for seed in range(draws):
        forged = np.random.default_rng(seed).normal(0.3, 0.1, 400)
        t = propose_accept(forged).threshold
        true_far = 0.5 * math.erfc((t - 0.3) / 0.1 / math.sqrt(2))
        held += true_far <= 0.01
    assert held / draws >= 0.93


def test_a_refused_side_keeps_the_current_threshold_and_refer_rate_is_reported():
    rng = np.random.default_rng(2)
    samples = [LabelledScore(float(s), True, 1, f"g{i}") for i, s in enumerate(rng.normal(0.8, 0.05, 400))]
    samples += [LabelledScore(float(s), False, 1, f"f{i}") for i, s in enumerate(rng.normal(0.3, 0.1, 50))]
    samples += [LabelledScore(0.65, None, 1, "u")]  # unlabelled: counts for the refer rate only
    current = ThresholdPair(0.9, 0.5)
    group = calibrate_group(samples, current)
    assert not group.accept.proposed and group.reject.proposed
    assert group.proposed.accept == 0.9 and group.proposed.reject == group.reject.threshold
    assert group.genuine == 400 and group.forged == 50 and group.unlabelled == 1
    scores = np.array([s.score for s in samples])
    assert group.outcomes_now.refer == pytest.approx(np.mean((scores < 0.9) & (scores >= 0.5)))
    assert group.outcomes_proposed.refer < group.outcomes_now.refer  # the reject threshold moved up


def test_separated_distributions_need_no_refer_band():
    samples = [LabelledScore(0.95, True, 2, f"g{i}") for i in range(400)]
    samples += [LabelledScore(0.10 + i * 1e-4, False, 2, f"f{i}") for i in range(400)]
    group = calibrate_group(samples, ThresholdPair(0.8, 0.6))
    assert group.proposed.reject == group.proposed.accept == group.accept.threshold
    assert any("no refer band" in note for note in group.notes)


def test_per_k_groups_and_nothing_labelled_is_refused():
    samples = [LabelledScore(0.9, True, k, f"{k}-{i}") for k in (1, 3) for i in range(5)]
    result = calibrate(samples, ThresholdPair(0.8, 0.6), model_version="m", source="test", label_policy="clerk",
                       fingerprint="x")
    assert [g.references for g in result.per_k] == [1, 3] and result.overall.genuine == 10
    with pytest.raises(ValueError, match="no labelled verification"):
        calibrate([LabelledScore(0.9, None, 1, "u")], ThresholdPair(0.8, 0.6), model_version="m", source="test",
                  label_policy="clerk", fingerprint="x")
    with pytest.raises(ValueError, match="target FAR"):
        calibrate(samples, ThresholdPair(0.8, 0.6), model_version="m", source="t", label_policy="c",
                  fingerprint="x", target_far=1.5)


def test_chart_data_marks_the_thresholds_on_the_det_curve():
    from sigverify.core.calibration import score_curves

    samples = [LabelledScore(0.5 + i * 0.005, True, 1, f"g{i}") for i in range(100)]  # 0.500 .. 0.995
    samples += [LabelledScore(i * 0.006, False, 1, f"f{i}") for i in range(100)]  # 0.000 .. 0.594
    curves = score_curves(samples, {"match proposed": 0.55}, bins=10)
    assert sum(curves.genuine_counts) == 100 and sum(curves.forged_counts) == 100
    [mark] = curves.marks
    assert mark.far == pytest.approx(0.08) and mark.frr == pytest.approx(0.10)  # forgeries >= .55; genuine < .55
    assert curves.det_far[0] == 1.0 and curves.det_frr[-1] == 1.0


def _customers(n: int, count: int, seed: int) -> list[str]:
    """``count`` customers, ``n`` signatures shared out at random among them."""
    return [f"C{c}" for c in np.random.default_rng(seed).permutation(np.arange(n) % count)]


def _clustered(rng, customers: int, each: int, between: float, within: float) -> tuple[np.ndarray, list[str]]:
    """Forgeries whose level depends on the customer: each customer's own offset plus noise."""
    offsets = rng.normal(0.0, between, customers)
    scores = 0.3 + np.repeat(offsets, each) + rng.normal(0.0, within, customers * each)
    return scores, [f"C{c}" for c in np.repeat(np.arange(customers), each)]


def _true_far(threshold: float, between: float, within: float) -> float:
    """FAR on a forgery of a customer to come (offset and noise both new)."""
    return 0.5 * math.erfc((threshold - 0.3) / math.hypot(between, within) / math.sqrt(2))


def test_independent_customers_keep_nearly_the_per_signature_threshold():
    forged = np.arange(1000) * 0.0005  # the known distribution above, shared out among 250 customers
    accept = propose_accept(forged, customers=_customers(1000, 250, seed=5))
    c = accept.clustering
    assert c.customers == 250 and c.samples == 1000 and c.icc < 0.05
    assert 1.0 <= c.design_effect < 1.5  # the correlation's upper limit costs a little, not a lot
    # the rule: the most errors whose customer-level bound stays within 1 %
    k = max(e for e in range(1000) if c.upper_bound(e, 0.95) <= 0.01)
    assert k == accept.estimate.errors == 4  # as many as with independent signatures ...
    assert accept.threshold == pytest.approx(0.49775)  # ... so the same threshold as above
    assert accept.customer_upper_bound <= 0.01 < c.upper_bound(k + 1, 0.95)
    assert accept.threshold >= propose_accept(forged).threshold  # never laxer than per signature


def test_few_clustered_customers_are_refused_not_given_a_number():
    """5 customers with their own score levels: 400 forgeries say little about customer 6."""
    scores, who = _clustered(np.random.default_rng(4), customers=5, each=80, between=0.1, within=0.05)
    per_signature = propose_accept(scores, 0.05)
    assert per_signature.proposed  # 400 forgeries would be plenty if they were independent
    refused = propose_accept(scores, 0.05, customers=who)
    assert not refused.proposed and refused.threshold is None and refused.estimate is None
    assert refused.clustering.customers == 5 and refused.clustering.effective_samples < 59
    assert "400 forgeries from 5 customer(s)" in refused.reason and "at least 59" in refused.reason
    labelled = [LabelledScore(float(s), False, 1, f"f{i}", w) for i, (s, w) in enumerate(zip(scores, who, strict=True))]
    group = calibrate_group(labelled, ThresholdPair(0.9, 0.5), target_far=0.05)
    assert group.proposed.accept == 0.9 and any("5 customer(s)" in n for n in group.notes)


def test_clustered_customers_get_a_more_conservative_threshold():
    scores, who = _clustered(np.random.default_rng(6), customers=150, each=8, between=0.1, within=0.04)
    naive, honest = propose_accept(scores, 0.05), propose_accept(scores, 0.05, customers=who)
    assert honest.proposed and honest.clustering.icc > 0.4 and honest.clustering.design_effect > 3
    assert honest.threshold > naive.threshold
    assert honest.customer_upper_bound > honest.estimate.upper_bound  # the wider, honest interval


def test_the_stated_confidence_holds_at_the_customer_level():
    """Many banks, each with 150 customers of their own: the customer-level threshold's TRUE FAR on
    customers to come is within the target about 95 % of the time; the per-signature one is not."""
    between, within, draws = 0.1, 0.04, 40
    held, naive_held, proposed = 0, 0, 0
    for seed in range(draws):
        scores, who = _clustered(np.random.default_rng(100 + seed), 150, 8, between, within)
        honest = propose_accept(scores, 0.05, customers=who)
        naive_held += _true_far(propose_accept(scores, 0.05).threshold, between, within) <= 0.05
        if honest.proposed:
            proposed += 1
            held += _true_far(honest.threshold, between, within) <= 0.05
    assert proposed == draws  # 150 customers are enough for 5 %
    assert held / draws >= 0.93
    assert naive_held / draws < 0.85  # what the customer level fixes
