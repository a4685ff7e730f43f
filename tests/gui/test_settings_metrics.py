"""The model card's evaluation shown in Settings, for every shape a card records."""

from __future__ import annotations

import json

import pytest

from sigverify.core.paths import bundled_model_path, card_path_for
from sigverify.gui.pages.settings_page import _metrics_text


def test_cross_validated_figures_read_as_mean_and_std():
    text = _metrics_text({"crossval": {"k1": {"eer_skilled": {"mean": 0.181, "std": 0.045, "n": 5},
                                              "auc": {"mean": 0.89, "std": 0.044}, "writers": 55,
                                              "references": 1}}})
    assert "18.1 % ± 4.5 %" in text and "AUC 0.890 ± 0.044" in text and "55 writers" in text


def test_plain_figures_and_odd_values_never_raise():
    assert "EER 12.5 %" in _metrics_text({"val": {"k1": {"eer_skilled": 0.125, "auc": 0.94, "references": 1}}})
    assert "?" in _metrics_text({"x": {"eer_skilled": "n/a", "auc": None}})


def test_the_shipped_card_renders():
    card = card_path_for(bundled_model_path())
    if not card.is_file():
        pytest.skip(f"no shipped model card at {card}")
    assert "EER" in _metrics_text(json.loads(card.read_text())["metrics"])
