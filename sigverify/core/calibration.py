"""Thresholds from the bank's own labelled scores, with exact (Clopper-Pearson) confidence.

Plain numpy and ``math``: no Qt, no torch, no scipy. Convention as in ``metrics``: a higher
score means "more likely the same writer"; match if score >= accept, no match if score < reject.

The proposal is deliberately conservative. ``accept`` is the LOWEST threshold at which the
one-sided upper Clopper-Pearson bound of the false-accept rate (forgeries that would match)
is at most the target; ``reject`` the HIGHEST threshold at which the same bound of the
false-reject rate (genuine signatures that would be "no match") is at most its target. So
"FAR <= 1 %" is a statement held with the chosen confidence, not a point estimate that is
exceeded half of the time.

Minimum data, derived: with n samples and zero errors the upper bound is 1 - (1 - c)^(1/n)
(the "rule of three": about 3/n at c = 95 %). It falls below a target t only when
n >= ln(1 - c) / ln(1 - t): 299 forgeries for FAR 1 % at 95 % confidence, 59 for 5 %. With
fewer, no threshold can support the target and that side is refused (no number is proposed).

That bound treats every signature as an independent trial; one customer's signatures are not. So
by default the bound that chooses the threshold is taken at the customer level
(``calibration_clusters``: Clopper-Pearson on the effective sample size that the intra-customer
correlation leaves, Kish's design effect with the correlation at its upper confidence limit), and
a side is refused when its customers are too few to support the target. The per-signature counts
and interval are still reported beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .calibration_clusters import CustomerClustering, bisect_unit, clustering_of
from .metrics import det_points, far_frr

DEFAULT_TARGET = 0.01
DEFAULT_CONFIDENCE = 0.95


# --------------------------------------------------------------------------- binomial maths

def _log_pmf(n: int, p: float, ks: np.ndarray) -> np.ndarray:
    log_choose = math.lgamma(n + 1) - np.array([math.lgamma(k + 1) + math.lgamma(n - k + 1) for k in ks])
    return log_choose + ks * math.log(p) + (n - ks) * math.log1p(-p)


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(B <= k) for B ~ Binomial(n, p), summed in log space (exact to float precision)."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    # sum the shorter tail: fewer terms and no cancellation in 1 - (small)
    if k <= n // 2:
        logs = _log_pmf(n, p, np.arange(0, k + 1))
        return float(min(1.0, np.exp(np.logaddexp.reduce(logs))))
    logs = _log_pmf(n, p, np.arange(k + 1, n + 1))
    return float(max(0.0, 1.0 - np.exp(np.logaddexp.reduce(logs))))


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(B >= k)."""
    return 1.0 - binomial_cdf(k - 1, n, p) if k > 0 else 1.0


def cp_upper(errors: int, trials: int, confidence: float = DEFAULT_CONFIDENCE) -> float:
    """One-sided upper Clopper-Pearson bound: the true rate is at most this with ``confidence``."""
    _check_counts(errors, trials)
    if errors >= trials:
        return 1.0
    if errors == 0:
        return 1.0 - (1.0 - confidence) ** (1.0 / trials)  # closed form
    return bisect_unit(lambda p: binomial_cdf(errors, trials, p), 1.0 - confidence, increasing=False)


def cp_lower(errors: int, trials: int, confidence: float = DEFAULT_CONFIDENCE) -> float:
    """One-sided lower Clopper-Pearson bound."""
    _check_counts(errors, trials)
    if errors == 0:
        return 0.0
    if errors == trials:
        return (1.0 - confidence) ** (1.0 / trials)
    # P(B >= errors) grows with p: bisect on its complement, which falls
    return bisect_unit(lambda p: 1.0 - binomial_sf(errors, trials, p), confidence, increasing=False)


def _last_true(predicate, lo: int, hi: int) -> int:
    """Largest i in [lo, hi] with predicate(i) true, for a predicate true up to some point and
    false after it; ``lo`` is taken as true (binary search: counts run to the hundred thousands)."""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if predicate(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _check_counts(errors: int, trials: int) -> None:
    if trials < 1 or not 0 <= errors <= trials:
        raise ValueError(f"need 0 <= errors <= trials and trials >= 1 (got {errors} of {trials})")


def min_samples(target: float, confidence: float = DEFAULT_CONFIDENCE) -> int:
    """Fewest samples with which zero errors supports ``rate <= target`` at ``confidence``."""
    if not 0.0 < target < 1.0 or not 0.0 < confidence < 1.0:
        raise ValueError("the target rate and the confidence must lie strictly between 0 and 1")
    n = math.ceil(math.log(1.0 - confidence) / math.log1p(-target))
    # guard the float rounding of the division either way
    while n > 1 and cp_upper(0, n - 1, confidence) <= target:
        n -= 1
    while cp_upper(0, n, confidence) > target:
        n += 1
    return n


@dataclass(frozen=True)
class RateEstimate:
    """An error rate measured on the bank's data: the counts and their exact confidence."""

    errors: int
    trials: int
    confidence: float
    ci_low: float  # two-sided Clopper-Pearson interval at ``confidence``
    ci_high: float
    upper_bound: float  # one-sided: the rate is at most this with ``confidence``

    @property
    def rate(self) -> float:
        return self.errors / self.trials

    @classmethod
    def of(cls, errors: int, trials: int, confidence: float = DEFAULT_CONFIDENCE) -> RateEstimate:
        two_sided = (1.0 + confidence) / 2
        return cls(errors, trials, confidence, cp_lower(errors, trials, two_sided),
                   cp_upper(errors, trials, two_sided), cp_upper(errors, trials, confidence))

    def to_dict(self) -> dict:
        return {**asdict(self), "rate": self.rate}


def quantile_interval(sorted_scores: np.ndarray, q: float,
                      confidence: float = DEFAULT_CONFIDENCE) -> tuple[float | None, float | None]:
    """Distribution-free interval for the q-quantile from order statistics: the number of scores
    at or below the true quantile is Binomial(n, q). ``None`` where the data cannot bound it."""
    n = sorted_scores.size
    tail = (1.0 - confidence) / 2
    # largest r with P(B <= r - 1) <= tail: the true quantile is >= x_(r) (1-based)
    r = _last_true(lambda r: binomial_cdf(r - 1, n, q) <= tail, 0, n)
    # smallest s with P(B >= s) <= tail: the true quantile is < x_(s)
    s = _last_true(lambda s: binomial_sf(s, n, q) > tail, 0, n + 1) + 1
    low = float(sorted_scores[r - 1]) if r >= 1 else None
    high = float(sorted_scores[s - 1]) if s <= n else None
    return low, high


# --------------------------------------------------------------------------- one side

ACCEPT, REJECT = "accept", "reject"


@dataclass(frozen=True)
class SideProposal:
    """One threshold: ``accept`` (target FAR at "match") or ``reject`` (target FRR at "no match")."""

    side: str
    target: float
    confidence: float
    samples: int  # forgeries for accept, genuine signatures for reject
    min_samples: int
    threshold: float | None  # None: refused, ``reason`` says why
    estimate: RateEstimate | None  # the error rate at ``threshold`` on this data
    # where the threshold giving exactly the target rate lies (order statistics, ``confidence``)
    exact_target_interval: tuple[float | None, float | None] | None
    reason: str
    # the samples' customers and what they are worth; None: every signature counted as independent
    clustering: CustomerClustering | None = None
    customer_upper_bound: float | None = None  # the rate at ``threshold``, bounded at the customer level

    @property
    def proposed(self) -> bool:
        return self.threshold is not None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["estimate"] = self.estimate.to_dict() if self.estimate else None
        data["exact_target_interval"] = list(self.exact_target_interval) if self.exact_target_interval else None
        data["clustering"] = self.clustering.to_dict() if self.clustering else None
        return data


def _words(side: str) -> tuple[str, str]:
    return ("forgeries", "FAR") if side == ACCEPT else ("genuine signatures", "FRR")


def _refused(side: str, target: float, confidence: float, n: int, need: int,
             clustering: CustomerClustering | None) -> SideProposal:
    what, rate = _words(side)
    if clustering is None or clustering.design_effect == 1.0:
        worth = f"{n} {what}"
    else:
        worth = (f"{n} {what} from {clustering.customers} customer(s), worth {clustering.effective_samples:.0f} "
                 f"independent ones (intra-customer correlation up to {clustering.icc_upper:.2f}, design effect "
                 f"{clustering.design_effect:.1f})")
    return SideProposal(side, target, confidence, n, need, None, None, None,
                        f"{worth}: at least {need} independent ones are needed before {rate} <= {target:.2%} can "
                        f"be supported with {confidence:.0%} confidence (zero errors in n give an upper bound of "
                        f"1 - {1 - confidence:.2f}^(1/n)); no threshold proposed", clustering)


def _propose(side: str, scores: Sequence[float], target: float, confidence: float,
             customers: Sequence[str] | None) -> SideProposal:
    x = np.asarray(scores, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    x = x[order]
    n, need = x.size, min_samples(target, confidence)
    clustering = clustering_of(x, [customers[i] for i in order], confidence) if customers is not None else None

    def bound(errors: int) -> float:
        return clustering.upper_bound(errors, confidence) if clustering else cp_upper(errors, n, confidence)

    if n < need or bound(0) > target:
        return _refused(side, target, confidence, n, need, clustering)
    k = _last_true(lambda k: bound(k) <= target, 0, n - 1)  # the bound grows with the errors
    if side == ACCEPT:
        crit = x[n - k - 1]  # the highest forgery that must NOT match
        higher = x[x > crit]
        # halfway to the next score up (at least 1e-6 above) so float32/float64 comparisons agree
        threshold = float(crit + max((higher[0] - crit) / 2 if higher.size else 0.0, 1e-6))
        errors = int(np.sum(x >= threshold))  # ties at crit may leave fewer than k
        quantile, how, outcome = 1.0 - target, "lowest", "forgeries would match"
    else:
        threshold = float(x[k])  # scores strictly below it are "no match": at most k genuine
        errors = int(np.sum(x < threshold))
        quantile, how, outcome = target, "highest", "genuine signatures would be 'no match'"
    rate = _words(side)[1]
    level = (f"at the customer level ({clustering.customers} customers, worth {clustering.effective_samples:.0f} "
             "independent signatures)" if clustering else "counting every signature as independent")
    return SideProposal(side, target, confidence, n, need, threshold, RateEstimate.of(errors, n, confidence),
                        quantile_interval(x, quantile, confidence),
                        f"{how} score at which {rate} <= {target:.2%} holds with {confidence:.0%} confidence "
                        f"{level} ({errors} of {n} {outcome})", clustering, bound(errors))


def propose_accept(forged: Sequence[float], target: float = DEFAULT_TARGET,
                   confidence: float = DEFAULT_CONFIDENCE, customers: Sequence[str] | None = None) -> SideProposal:
    """Lowest ``accept`` whose FAR upper bound is <= target; refused with too few forgeries.
    ``customers`` (one per score): bound at the customer level; None: every forgery independent."""
    return _propose(ACCEPT, forged, target, confidence, customers)


def propose_reject(genuine: Sequence[float], target: float = DEFAULT_TARGET,
                   confidence: float = DEFAULT_CONFIDENCE, customers: Sequence[str] | None = None) -> SideProposal:
    """Highest ``reject`` whose FRR upper bound is <= target; refused with too few genuine."""
    return _propose(REJECT, genuine, target, confidence, customers)


# --------------------------------------------------------------------------- a group of samples

@dataclass(frozen=True)
class ThresholdPair:
    accept: float
    reject: float

    def to_dict(self) -> dict:
        return {"accept": self.accept, "reject": self.reject}


@dataclass(frozen=True)
class OutcomeShares:
    """What a pair of thresholds does to a set of scores."""

    scores: int
    match: float
    refer: float
    no_match: float

    @classmethod
    def of(cls, scores: np.ndarray, pair: ThresholdPair) -> OutcomeShares:
        return cls.of_each(scores, np.full(scores.size, pair.accept), np.full(scores.size, pair.reject))

    @classmethod
    def of_each(cls, scores: np.ndarray, accept: np.ndarray, reject: np.ndarray) -> OutcomeShares:
        """Each score against its own thresholds (those for its reference count)."""
        n = scores.size
        if n == 0:
            return cls(0, 0.0, 0.0, 0.0)
        match = float(np.mean(scores >= accept))
        no_match = float(np.mean(scores < reject))
        return cls(n, match, max(0.0, 1.0 - match - no_match), no_match)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GroupCalibration:
    """Proposal for one reference count K (``references`` None: all K together)."""

    references: int | None
    genuine: int
    forged: int
    unlabelled: int
    accept: SideProposal
    reject: SideProposal
    current: ThresholdPair
    proposed: ThresholdPair  # a refused side keeps its current threshold
    far_now: RateEstimate | None  # what the current thresholds really do on this data
    frr_now: RateEstimate | None
    outcomes_now: OutcomeShares  # over every score of the group, labelled or not
    outcomes_proposed: OutcomeShares
    notes: tuple[str, ...] = ()
    # what the current thresholds do, bounded at the customer level (None: no such data)
    far_now_customer_bound: float | None = None
    frr_now_customer_bound: float | None = None

    @property
    def anything_proposed(self) -> bool:
        return self.accept.proposed or self.reject.proposed

    @property
    def refer_change(self) -> float:
        return self.outcomes_proposed.refer - self.outcomes_now.refer

    def to_dict(self) -> dict:
        return {
            "references": self.references, "genuine": self.genuine, "forged": self.forged,
            "unlabelled": self.unlabelled, "accept": self.accept.to_dict(), "reject": self.reject.to_dict(),
            "current": self.current.to_dict(), "proposed": self.proposed.to_dict(),
            "far_now": self.far_now.to_dict() if self.far_now else None,
            "frr_now": self.frr_now.to_dict() if self.frr_now else None,
            "outcomes_now": self.outcomes_now.to_dict(), "outcomes_proposed": self.outcomes_proposed.to_dict(),
            "refer_change": self.refer_change, "notes": list(self.notes),
            "far_now_customer_bound": self.far_now_customer_bound,
            "frr_now_customer_bound": self.frr_now_customer_bound,
        }


@dataclass(frozen=True)
class LabelledScore:
    """One verification's score; ``genuine`` None when it carries no final label."""

    score: float
    genuine: bool | None
    references: int  # K, the number of references it was scored against
    key: str  # where it came from: "verification:<id>" or "<customer>/<file sha256>"
    customer: str = ""  # whose signature it claims to be: one customer's scores are not independent


def calibrate_group(samples: Iterable[LabelledScore], current: ThresholdPair, references: int | None = None,
                    target_far: float = DEFAULT_TARGET, target_frr: float = DEFAULT_TARGET,
                    confidence: float = DEFAULT_CONFIDENCE, customer_level: bool = True) -> GroupCalibration:
    """``customer_level`` False: the old per-signature bound (for comparison, e.g. in the bench)."""
    samples = list(samples)
    scores = np.array([s.score for s in samples], dtype=np.float64)
    genuine = scores[[s.genuine is True for s in samples]] if samples else scores
    forged = scores[[s.genuine is False for s in samples]] if samples else scores

    def customers(label: bool) -> list[str] | None:
        return [s.customer for s in samples if s.genuine is label] if customer_level else None

    accept = propose_accept(forged, target_far, confidence, customers(False))
    reject = propose_reject(genuine, target_frr, confidence, customers(True))
    notes = []
    new_accept = accept.threshold if accept.proposed else current.accept
    new_reject = reject.threshold if reject.proposed else current.reject
    if new_reject > new_accept:
        # both targets hold for any threshold between the two: no refer band is needed
        notes.append(f"the FRR threshold ({new_reject:.4f}) lies above the match threshold ({new_accept:.4f}): "
                     "both targets hold with no refer band, so 'no match' is set at the match threshold")
        new_reject = new_accept
    for side in (accept, reject):
        if not side.proposed:
            notes.append(f"{side.side}: {side.reason}; the current threshold is kept")
    proposed = ThresholdPair(new_accept, new_reject)
    far_now = RateEstimate.of(int(np.sum(forged >= current.accept)), forged.size, confidence) if forged.size else None
    frr_now = RateEstimate.of(int(np.sum(genuine < current.reject)), genuine.size, confidence) if genuine.size else None
    return GroupCalibration(
        references, int(genuine.size), int(forged.size), len(samples) - int(genuine.size) - int(forged.size),
        accept, reject, current, proposed, far_now, frr_now,
        OutcomeShares.of(scores, current), OutcomeShares.of(scores, proposed), tuple(notes),
        _customer_bound(accept, far_now), _customer_bound(reject, frr_now))


def _customer_bound(side: SideProposal, now: RateEstimate | None) -> float | None:
    if now is None or side.clustering is None:
        return None
    return side.clustering.upper_bound(now.errors, side.confidence)


@dataclass(frozen=True)
class Calibration:
    """The whole proposal: all K together (what is applied) and each K on its own."""

    model_version: str
    source: str  # in words: which verifications or which folder
    label_policy: str
    target_far: float
    target_frr: float
    confidence: float
    overall: GroupCalibration
    per_k: tuple[GroupCalibration, ...]
    fingerprint: str  # SHA-256 of the samples it was computed from
    samples: tuple[LabelledScore, ...] = field(repr=False)
    skipped: tuple[str, ...] = ()
    left_out: dict[str, int] = field(default_factory=dict)  # why some verifications are not labels
    # what is applied per reference count, (K, accept, reject), when the data holds several K
    by_references: tuple[tuple[int, float, float], ...] = ()

    def to_dict(self, with_samples: bool = False) -> dict:
        data = {
            "model_version": self.model_version, "source": self.source, "label_policy": self.label_policy,
            "target_far": self.target_far, "target_frr": self.target_frr, "confidence": self.confidence,
            "overall": self.overall.to_dict(), "per_k": [g.to_dict() for g in self.per_k],
            "fingerprint": self.fingerprint, "skipped": list(self.skipped), "left_out": dict(self.left_out),
            "by_references": {str(k): {"accept": a, "reject": r} for k, a, r in self.by_references},
        }
        if with_samples:
            data["samples"] = [[s.key, round(s.score, 6), s.genuine, s.references, s.customer]
                               for s in self.samples]
        return data


def calibrate(samples: Sequence[LabelledScore], current: ThresholdPair, *, model_version: str, source: str,
              label_policy: str, fingerprint: str, target_far: float = DEFAULT_TARGET,
              target_frr: float = DEFAULT_TARGET, confidence: float = DEFAULT_CONFIDENCE,
              skipped: Sequence[str] = (), left_out: dict[str, int] | None = None,
              current_for: Callable[[int], ThresholdPair] | None = None, customer_level: bool = True) -> Calibration:
    """Propose thresholds from labelled scores, for all K together and for each K present.

    ``current_for(K)``: the thresholds in force for K references (a model may ship per-K ones);
    default ``current`` for every K."""
    for name, value in (("target FAR", target_far), ("target FRR", target_frr), ("confidence", confidence)):
        if not 0.0 < value < 1.0:
            raise ValueError(f"the {name} must lie strictly between 0 and 1 (got {value})")
    if not any(s.genuine is not None for s in samples):
        why = "; ".join(f"{n} {reason}" for reason, n in sorted((left_out or {}).items()))
        raise ValueError(f"{source}: no labelled verification to calibrate from (a label is a final "
                         f"accept or reject; see the label policy)" + (f"; left out: {why}" if why else ""))
    current_for = current_for or (lambda _k: current)
    settings = {"target_far": target_far, "target_frr": target_frr, "confidence": confidence,
                "customer_level": customer_level}
    overall = calibrate_group(samples, current, None, **settings)
    per_k = tuple(calibrate_group([s for s in samples if s.references == k], current_for(k), k, **settings)
                  for k in sorted({s.references for s in samples}))
    by_references = _per_k_thresholds(overall, per_k) if len(per_k) > 1 else ()
    if by_references or any(current_for(g.references) != current for g in per_k):
        # every verification against the thresholds for its own K, today and as proposed
        applied = {k: ThresholdPair(a, r) for k, a, r in by_references}
        overall = replace(overall, outcomes_now=_outcomes(samples, current_for),
                          outcomes_proposed=_outcomes(samples, lambda k: applied.get(k, overall.proposed)))
    return Calibration(model_version, source, label_policy, target_far, target_frr, confidence, overall, per_k,
                       fingerprint, tuple(samples), tuple(skipped), dict(left_out or {}), by_references)


def _per_k_thresholds(overall: GroupCalibration, per_k: Sequence[GroupCalibration]) -> tuple:
    """(K, accept, reject) per K in the data: its own proposal where its data sufficed, else the
    proposal for all K together, else what is in force for that K."""
    def pick(own: SideProposal, pooled: SideProposal, now: float) -> float:
        return own.threshold if own.proposed else pooled.threshold if pooled.proposed else now

    out = []
    for g in per_k:
        accept = pick(g.accept, overall.accept, g.current.accept)
        out.append((g.references, accept, min(pick(g.reject, overall.reject, g.current.reject), accept)))
    return tuple(out)


def _outcomes(samples: Sequence[LabelledScore], pair_for: Callable[[int], ThresholdPair]) -> OutcomeShares:
    pairs = [pair_for(s.references) for s in samples]
    return OutcomeShares.of_each(np.array([s.score for s in samples], dtype=np.float64),
                                 np.array([p.accept for p in pairs]), np.array([p.reject for p in pairs]))


# --------------------------------------------------------------------------- for the charts

@dataclass(frozen=True)
class CurveMark:
    """A threshold placed on the DET curve: its FAR and FRR on the labelled scores."""

    label: str
    threshold: float
    far: float
    frr: float


@dataclass(frozen=True)
class ScoreCurves:
    """What the Settings panel draws: the two score histograms and the DET curve with marks."""

    bin_edges: tuple[float, ...]
    genuine_counts: tuple[int, ...]
    forged_counts: tuple[int, ...]
    det_far: tuple[float, ...]  # one point per distinct threshold (thinned to at most ``points``)
    det_frr: tuple[float, ...]
    marks: tuple[CurveMark, ...] = ()


def score_curves(samples: Sequence[LabelledScore], marks: dict[str, float] | None = None, bins: int = 40,
                 points: int = 400) -> ScoreCurves:
    genuine = np.array([s.score for s in samples if s.genuine is True], dtype=np.float64)
    forged = np.array([s.score for s in samples if s.genuine is False], dtype=np.float64)
    labelled = np.concatenate([genuine, forged])
    low, high = (float(labelled.min()), float(labelled.max())) if labelled.size else (-1.0, 1.0)
    for t in (marks or {}).values():  # the thresholds must be on the axis too
        low, high = min(low, t), max(high, t)
    edges = np.linspace(low, high if high > low else low + 1e-6, bins + 1)
    far, frr, placed = (), (), ()
    if genuine.size and forged.size:
        far_all, frr_all = det_points(genuine, forged)
        keep = np.unique(np.linspace(0, far_all.size - 1, min(points, far_all.size)).round().astype(int))
        far, frr = tuple(far_all[keep].tolist()), tuple(frr_all[keep].tolist())
        placed = tuple(CurveMark(label, t, *far_frr(genuine, forged, t))
                       for label, t in (marks or {}).items())
    return ScoreCurves(tuple(edges.tolist()), tuple(np.histogram(genuine, edges)[0].tolist()),
                       tuple(np.histogram(forged, edges)[0].tolist()), far, frr, placed)


def curves_for(calibration: Calibration) -> ScoreCurves:
    """The charts of a proposal, with today's and the proposed thresholds marked."""
    g = calibration.overall
    return score_curves(calibration.samples, {
        "match now": g.current.accept, "no match now": g.current.reject,
        "match proposed": g.proposed.accept, "no match proposed": g.proposed.reject})
