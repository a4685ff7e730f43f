"""Batch samplers over an ImageSet (indices only; images are fetched by the trainer).

``writer_batch`` gives, for B distinct writers, an (anchor, positive) pair of different
genuine signatures of that writer and a negative: a skilled forgery of the same writer
when the writer has any (fair to train on for TRAINING writers), else a genuine signature
of another writer. In the in-batch loss row i's positive is column i and every other
column is a negative, so distinct writers guarantee the off-diagonal is truly negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import ImageSet


@dataclass
class WriterIndex:
    writers: list[str]
    genuine: list[np.ndarray]
    forged: list[np.ndarray]

    @classmethod
    def build(cls, data: ImageSet) -> WriterIndex:
        by_w: dict[str, tuple[list[int], list[int]]] = {}
        for i, s in enumerate(data.samples):
            g, f = by_w.setdefault(s.writer, ([], []))
            (g if s.kind == "genuine" else f).append(i)
        writers = sorted(w for w, (g, _) in by_w.items() if len(g) >= 2)
        return cls(writers, [np.array(by_w[w][0]) for w in writers], [np.array(by_w[w][1]) for w in writers])

    def writer_weights(self, dataset_share: dict[str, float] | None) -> np.ndarray | None:
        """Probability of drawing each writer so that each dataset fills its share of a batch
        (datasets not named share what is left in proportion to their writers). None: uniform."""
        if not dataset_share:
            return None
        datasets = np.array([w.rsplit(":", 1)[0] for w in self.writers])
        weights = np.zeros(len(self.writers))
        named = {d: float(v) for d, v in dataset_share.items() if (datasets == d).any()}
        rest = datasets[~np.isin(datasets, list(named))]
        left = max(0.0, 1.0 - sum(named.values()))
        for d, share in named.items():
            mask = datasets == d
            weights[mask] = share / mask.sum()
        if rest.size:
            weights[~np.isin(datasets, list(named))] = left / rest.size
        return weights / weights.sum()


@dataclass
class TripletBatch:
    anchor: np.ndarray
    positive: np.ndarray
    negative: np.ndarray
    negative_is_skilled: np.ndarray  # bool per row
    writer: np.ndarray  # row's writer, an index into WriterIndex.writers


def writer_batch(index: WriterIndex, batch_writers: int, rng: np.random.Generator,
                 skilled_fraction: float = 1.0, weights: np.ndarray | None = None) -> TripletBatch:
    """B distinct writers (drawn with ``weights``, see WriterIndex.writer_weights), one
    (anchor, positive, negative) each. ``skilled_fraction`` is the chance a row's negative is
    a skilled forgery (when the writer has forgeries)."""
    b = min(batch_writers, len(index.writers), int(np.count_nonzero(weights)) if weights is not None else 10**9)
    chosen = rng.choice(len(index.writers), size=b, replace=False, p=weights)
    anc, pos, neg, skilled = [], [], [], []
    for w in chosen:
        a, p = rng.choice(index.genuine[w], size=2, replace=False)
        anc.append(a)
        pos.append(p)
        forged = index.forged[w]
        if forged.size and rng.random() < skilled_fraction:
            neg.append(rng.choice(forged))
            skilled.append(True)
        else:
            other = int(rng.integers(len(index.writers) - 1))
            other += other >= w  # any writer but w
            neg.append(rng.choice(index.genuine[other]))
            skilled.append(False)
    return TripletBatch(np.array(anc), np.array(pos), np.array(neg), np.array(skilled), np.asarray(chosen))
