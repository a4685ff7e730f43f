"""Verification metrics in plain numpy (no torch, no Qt): shared by training and the app.

Convention: a higher score means "more likely the same writer". For a threshold t,
FAR(t) = share of impostor scores >= t (accepted), FRR(t) = share of genuine scores < t
(rejected) -- the same rule as the app's decision (match if score >= tau_accept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .pipeline import ScoreAdjustment, best_scores


def _arr(x: Sequence[float] | np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError("need at least one score")
    return a


def roc_points(genuine: Sequence[float], impostor: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds ascending, FAR, FRR) at every distinct score plus one above the maximum."""
    g, i = np.sort(_arr(genuine)), np.sort(_arr(impostor))
    thresholds = np.unique(np.concatenate([g, i]))
    thresholds = np.append(thresholds, np.nextafter(thresholds[-1], np.inf))
    # searchsorted 'left' counts scores strictly below t
    frr = np.searchsorted(g, thresholds, side="left") / g.size
    far = 1.0 - np.searchsorted(i, thresholds, side="left") / i.size
    return thresholds, far, frr


def eer(genuine: Sequence[float], impostor: Sequence[float]) -> tuple[float, float]:
    """(equal error rate, threshold there). Linear interpolation between the two ROC points
    around the FAR = FRR crossing, so the figure does not depend on the score quantisation."""
    t, far, frr = roc_points(genuine, impostor)
    diff = far - frr  # decreasing in t: starts at 1 (t = min), ends at -1
    k = int(np.argmax(diff <= 0))
    if k == 0:
        return float(far[0]), float(t[0])
    d0, d1 = diff[k - 1], diff[k]
    w = d0 / (d0 - d1) if d0 != d1 else 0.5
    rate = (1 - w) * (far[k - 1] + frr[k - 1]) / 2 + w * (far[k] + frr[k]) / 2
    thr = (1 - w) * t[k - 1] + w * t[k]
    return float(rate), float(thr)


def threshold_at_far(impostor: Sequence[float], target: float) -> float:
    """Lowest threshold whose FAR is <= target, set halfway to the next higher score (at least
    1e-6 above the last impostor it must reject) so float32 and float64 comparisons agree."""
    i = np.sort(_arr(impostor))
    allowed = int(np.floor(target * i.size + 1e-9))  # impostors we may accept
    if allowed >= i.size:
        return float(i[0])
    crit = i[i.size - allowed - 1]  # the highest impostor score that must be rejected
    higher = i[i > crit]
    gap = (higher[0] - crit) / 2 if higher.size else 0.0
    return float(crit + max(gap, 1e-6))


def threshold_at_frr(genuine: Sequence[float], target: float) -> float:
    """Highest threshold whose FRR is <= target (the strictest one meeting the target)."""
    g = np.sort(_arr(genuine))
    allowed = int(np.floor(target * g.size + 1e-9))  # genuine we may reject
    return float(g[min(allowed, g.size - 1)])


def far_frr(genuine: Sequence[float], impostor: Sequence[float], threshold: float) -> tuple[float, float]:
    g, i = _arr(genuine), _arr(impostor)
    return float(np.mean(i >= threshold)), float(np.mean(g < threshold))


def frr_at_far(genuine: Sequence[float], impostor: Sequence[float], target: float = 0.01) -> tuple[float, float]:
    """(FRR, threshold) at the lowest threshold with FAR <= target."""
    t = threshold_at_far(impostor, target)
    return far_frr(genuine, impostor, t)[1], t


def auc(genuine: Sequence[float], impostor: Sequence[float]) -> float:
    """P(genuine score > impostor score), ties counting half (Mann-Whitney U)."""
    g, i = _arr(genuine), _arr(impostor)
    allv = np.concatenate([g, i])
    order = np.argsort(allv, kind="mergesort")
    ranks = np.empty(allv.size)
    sorted_v = allv[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_v, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(avg, counts)
    u = ranks[: g.size].sum() - g.size * (g.size + 1) / 2
    return float(u / (g.size * i.size))


def det_points(genuine: Sequence[float], impostor: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(FAR, FRR) pairs for a DET curve (plot on probit or log axes)."""
    _, far, frr = roc_points(genuine, impostor)
    return far, frr


# ---------------------------------------------------------------- the protocol

@dataclass
class ProtocolScores:
    """Scores of one evaluation run: every query scored by its best reference."""

    genuine: np.ndarray
    skilled: np.ndarray
    random: np.ndarray
    writers: int
    references: int

    @property
    def queries(self) -> int:
        return int(self.genuine.size + self.skilled.size + self.random.size)


def protocol_scores(embeddings: np.ndarray, writers: Sequence[str], genuine_mask: Sequence[bool],
                    references: int, seed: int = 0, random_per_writer: int | None = None,
                    adjust: ScoreAdjustment | None = None) -> ProtocolScores:
    """For each writer with > ``references`` genuine signatures: draw K genuine references
    (seeded), query with the writer's other genuine signatures, the skilled forgeries of
    the writer and other writers' genuine signatures (random forgeries). Score = highest
    cosine similarity over the K references (embeddings must be L2-normalised).

    ``random_per_writer`` caps the random forgeries per writer (None = all). Scores come from
    ``pipeline.best_scores``, the rule the app decides with (``adjust``: the app's spread hook)."""
    emb = np.asarray(embeddings, dtype=np.float32)
    writers_arr = np.asarray(writers)
    gen = np.asarray(genuine_mask, dtype=bool)
    rng = np.random.default_rng(seed)
    out_g, out_s, out_r = [], [], []
    used = 0
    for w in sorted(set(writers_arr.tolist())):
        g_idx = np.flatnonzero((writers_arr == w) & gen)
        if g_idx.size <= references:
            continue
        used += 1
        refs = rng.choice(g_idx, size=references, replace=False)
        gq = np.setdiff1d(g_idx, refs)
        sq = np.flatnonzero((writers_arr == w) & ~gen)
        rq = np.flatnonzero((writers_arr != w) & gen)
        if random_per_writer is not None and rq.size > random_per_writer:
            rq = rng.choice(rq, size=random_per_writer, replace=False)
        ref_e = emb[refs]
        for q, out in ((gq, out_g), (sq, out_s), (rq, out_r)):
            if q.size:
                out.append(best_scores(emb[q], ref_e, adjust))
    cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.float32)  # noqa: E731
    return ProtocolScores(cat(out_g), cat(out_s), cat(out_r), used, references)


@dataclass
class VerificationReport:
    eer_skilled: float | None
    eer_random: float | None
    frr_at_far_1pct: float | None  # skilled forgeries as impostors (random when none)
    frr_at_far_1pct_random: float | None
    auc: float | None  # skilled (random when none)
    auc_random: float | None
    writers: int
    queries: int
    references: int
    # filled when thresholds fixed elsewhere (validation writers) are applied here
    far_skilled_at_tau: float | None = None
    frr_at_tau: float | None = None
    far_random_at_tau: float | None = None
    tau: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def report(scores: ProtocolScores, tau: float | None = None) -> VerificationReport:
    """Metrics of one protocol run; with ``tau``, also the FAR/FRR at that fixed threshold."""
    # float64: a float32 array compared with a Python float is compared in float32 (NEP 50)
    g, s, r = (np.asarray(x, np.float64) for x in (scores.genuine, scores.skilled, scores.random))
    have_g = g.size > 0
    e_s = eer(g, s)[0] if have_g and s.size else None
    e_r = eer(g, r)[0] if have_g and r.size else None
    main = s if s.size else r
    frr1 = frr_at_far(g, main, 0.01)[0] if have_g and main.size else None
    frr1_r = frr_at_far(g, r, 0.01)[0] if have_g and r.size else None
    rep = VerificationReport(
        eer_skilled=e_s, eer_random=e_r, frr_at_far_1pct=frr1, frr_at_far_1pct_random=frr1_r,
        auc=auc(g, main) if have_g and main.size else None,
        auc_random=auc(g, r) if have_g and r.size else None,
        writers=scores.writers, queries=scores.queries, references=scores.references,
    )
    if tau is not None and have_g:
        rep.tau = float(tau)
        rep.frr_at_tau = float(np.mean(g < tau))
        rep.far_skilled_at_tau = float(np.mean(s >= tau)) if s.size else None
        rep.far_random_at_tau = float(np.mean(r >= tau)) if r.size else None
    return rep
