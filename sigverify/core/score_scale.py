"""Scores as staff read them: similarity on a fixed 0-100 scale, the thresholds on the same scale.

The model's score is a cosine similarity in -1..1; a negative number, or a bar whose axis moves
between checks, means nothing to a clerk. Below 0 every score is "nothing alike" (0). Numbers
are whole, and a shown score never contradicts its decision: a score just under the match
threshold is never rounded up to the shown threshold.
"""

from __future__ import annotations

SCALE_MAX = 100


def similarity(value: float) -> int:
    """A score or threshold (cosine, -1..1) as a whole number on 0..100."""
    return round(SCALE_MAX * min(max(value, 0.0), 1.0))


def shown_score(score: float, accept: float, reject: float) -> int:
    """``similarity(score)``, kept on the side of the shown thresholds that its decision is on."""
    value, shown_accept, shown_reject = similarity(score), similarity(accept), similarity(reject)
    if score >= accept:
        return max(value, shown_accept)
    if score < reject:
        return min(value, max(shown_reject - 1, 0))
    return min(max(value, shown_reject), max(shown_accept - 1, shown_reject))
