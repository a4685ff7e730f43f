"""The losses of issue 3. All take L2-normalised embeddings (N, D).

Shapes: ``a`` anchors, ``p`` positives (same writer as the anchor, row by row), ``n``
negatives (row i: a skilled forgery of anchor i's writer, or another writer's signature).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def batch_hard_cosine_loss(a: torch.Tensor, p: torch.Tensor, margin: float = 0.25,
                           extra_negatives: torch.Tensor | None = None) -> torch.Tensor:
    """Design-notes triplet loss on cosine similarity, summed over the batch.

    S = A·Pᵀ; positive_i = S_ii; mean_neg_i = mean of row i off the diagonal;
    closest_neg_i = largest off-diagonal value of row i strictly below positive_i.
    loss = Σ_i relu(α − positive_i + closest_neg_i) + relu(α − positive_i + mean_neg_i).

    When no off-diagonal value of row i is below positive_i (every negative already beats
    the positive), closest_neg_i falls back to mean_neg_i: the row keeps a gradient that
    pushes its negatives down on average, without chasing one possibly mislabelled
    outlier (the Coursera code instead silently drops the row to ~0 by subtracting 2).

    ``extra_negatives`` (M, D) are appended as extra columns (e.g. skilled forgeries): they
    count as off-diagonal negatives of every row. None gives exactly the square formula.
    """
    n = a.shape[0]
    if n < 2 and extra_negatives is None:
        raise ValueError("batch-hard loss needs at least two pairs")
    cols = p if extra_negatives is None else torch.cat([p, extra_negatives], dim=0)
    s = a @ cols.T  # (n, n + m)
    positive = s[torch.arange(n), torch.arange(n)]
    off = torch.ones_like(s, dtype=torch.bool)
    off[torch.arange(n), torch.arange(n)] = False
    mean_neg = (s * off).sum(dim=1) / off.sum(dim=1)
    below = off & (s < positive[:, None])
    # -inf outside the candidates, so max picks the closest negative below the positive
    masked = torch.where(below, s, torch.full_like(s, float("-inf")))
    closest = masked.max(dim=1).values
    has_below = below.any(dim=1)
    closest = torch.where(has_below, closest, mean_neg)
    loss = F.relu(margin - positive + closest) + F.relu(margin - positive + mean_neg)
    return loss.sum()


def triplet_l2_loss(a: torch.Tensor, p: torch.Tensor, n: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    """mean_i max(0, ‖a−p‖² − ‖a−n‖² + α)."""
    d_ap = (a - p).pow(2).sum(dim=1)
    d_an = (a - n).pow(2).sum(dim=1)
    return F.relu(d_ap - d_an + margin).mean()


def contrastive_loss(x1: torch.Tensor, x2: torch.Tensor, same: torch.Tensor, margin: float = 1.0,
                     alpha: float = 1.0, beta: float = 1.0) -> torch.Tensor:
    """SigNet (Dey et al. 2017): mean of α·y·D² + β·(1−y)·max(0, m − D)², D = ‖x1 − x2‖₂,
    y = 1 for a same-writer pair (SigNet writes y = 0 for similar; same maths)."""
    same = same.to(x1.dtype)
    d = (x1 - x2).pow(2).sum(dim=1).clamp_min(1e-12).sqrt()
    return (alpha * same * d.pow(2) + beta * (1 - same) * F.relu(margin - d).pow(2)).mean()


def logistic_pair_loss(logits: torch.Tensor, same: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the logistic head on |f1 − f2| (see model.PairHead)."""
    return F.binary_cross_entropy_with_logits(logits, same.to(logits.dtype))
