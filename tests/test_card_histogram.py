"""The score distribution training writes into the card is the one Settings draws."""

from __future__ import annotations

import numpy as np

from sigverify.core.card_summary import evaluations, first_distribution
from sigverify.core.metrics import ProtocolScores
from training.evaluate import score_histogram


def test_training_histogram_reaches_the_settings_plot():
    rng = np.random.default_rng(0)
    scores = ProtocolScores(genuine=rng.uniform(0.5, 1.0, 300), skilled=rng.uniform(-0.3, 0.7, 120),
                            random=np.array([]), writers=6, references=1)
    row = {"references": 1, "frr_at_tau": 0.4, "far_skilled_at_tau": 0.01, "score_histogram": score_histogram(scores)}
    chosen = first_distribution(evaluations({"writer_disjoint": {"val": {"k1": row}}}))
    assert chosen is not None
    drawn = chosen[1].distribution
    assert sum(drawn.genuine) == 300 and sum(drawn.forged) == 120
    assert drawn.edges[0] == -1.0 and drawn.edges[-1] == 1.0
    # every genuine count sits at 0.5 or above, as the scores did
    assert sum(n for n, left in zip(drawn.genuine, drawn.edges, strict=False) if left < 0.48) == 0
