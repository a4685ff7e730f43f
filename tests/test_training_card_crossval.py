"""Cross-validation figures go into the shipped model's card without touching the model."""

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")

from sigverify.core.model_trust import ModelCard  # noqa: E402
from training import card  # noqa: E402
from training.pipeline import KEYS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _figure(mean: float, std: float) -> dict:
    return {"mean": mean, "std": std, "n": 5}


def test_crossval_figures_reach_the_card_and_its_page(tmp_path):
    card_json = tmp_path / "sigverify.onnx.card.json"
    shutil.copy(ROOT / "models" / "sigverify.onnx.card.json", card_json)
    before = ModelCard.read(card_json)
    k1 = {key: _figure(0.123, 0.045) for key in KEYS} | {"writers": 55, "queries": 1000}
    cv = tmp_path / "crossval.json"
    cv.write_text(json.dumps({"n_folds": 5, "k1": k1, "folds": {"0": {"results": {}}}}))
    (tmp_path / "config.yaml").write_text("data:\n  train: [cedar]\n  extra_train: [crossmedia-chinese]\n")

    assert card.main([str(card_json), str(tmp_path / "MODEL_CARD.md"), "--crossval", str(cv)]) == 0

    after = ModelCard.read(card_json)
    assert after.sha256 == before.sha256 and after.version == before.version
    assert after.metrics["crossval_cedar"]["k1"]["eer_skilled"]["mean"] == 0.123
    assert "folds" not in after.metrics["crossval_cedar"]
    assert after.metrics["writer_disjoint"] == before.metrics["writer_disjoint"]
    page = (tmp_path / "MODEL_CARD.md").read_text()
    assert "writer-disjoint 5-fold cross-validation" in page
    assert "| 1 | 12.3 ± 4.5 % |" in page
    assert "Trained in each fold on: the other writers of cedar, crossmedia-chinese (all of it)." in page
    assert "K=1 skilled-forgery EER ≤ 8 %: 12.3 %, missed by 4.3 pt." in page
