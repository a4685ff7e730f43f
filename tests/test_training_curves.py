"""ROC/DET and histogram PNGs are written for every evaluation run."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from sigverify.core.metrics import ProtocolScores  # noqa: E402
from training.evaluate import save_curves  # noqa: E402


def test_curves_are_real_pngs(tmp_path):
    rng = np.random.default_rng(0)
    scores = {"cedar": ProtocolScores(rng.normal(0.8, 0.1, 200), rng.normal(0.5, 0.1, 200),
                                      rng.normal(0.2, 0.1, 200), writers=10, references=1)}
    paths = save_curves(scores, tmp_path / "fold0" / "test", title="K=1")
    assert [p.name for p in paths] == ["test_roc_det.png", "test_hist.png"]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
