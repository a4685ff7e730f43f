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


CARD_METRICS = {
    "crossval_bank": {"n_folds": 5,
                      "k1": {"frr_at_tau": {"mean": 0.62, "std": 0.2, "n": 5}, "far_skilled_at_tau": {"mean": 0.004},
                             "eer_skilled": {"mean": 0.18}, "auc": {"mean": 0.89}, "writers": 40, "references": 1},
                      "k3": {"frr_at_tau": 0.41, "far_skilled_at_tau": 0.021, "writers": 40, "references": 3}},
    "writer_disjoint": {"val": {"k1": {"frr_at_tau": 0.5, "far_skilled_at_tau": 0.0, "references": 1, "writers": 8,
                                       "score_histogram": {"edges": [-1.0, -0.5, 0.0, 0.5, 1.0],
                                                           "genuine": [0, 1, 5, 30], "skilled": [3, 20, 9, 1]}}}},
}


def test_consequences_in_words_for_whatever_reference_counts_the_card_has():
    from sigverify.core.card_summary import describe, evaluations

    text = describe(evaluations(CARD_METRICS))
    assert ("With 1 reference: about 62 % of genuine signatures go to refer; under 1 % of skilled forgeries are "
            "accepted") in text
    assert "With 3 references: about 41 % of genuine signatures go to refer; about 2 % of skilled" in text
    assert "bank writers, cross-validated over 5 folds, 40 writers" in text
    assert text.index("cross-validated") < text.index("validation writers")  # the steadiest figures first
    for jargon in ("EER", "AUC", "n_folds", "crossval_"):
        assert jargon not in text


def test_settings_shows_the_words_and_the_score_distribution_with_both_thresholds(qtbot, window):
    from PySide6.QtGui import QColor

    page = window.pages["settings"]
    window.show_page("settings")
    page._show_metrics(CARD_METRICS, window.context.engine.metadata)
    assert "about 62 % of genuine signatures go to refer" in page.model_metrics.text()
    assert "EER" in page.model_metrics.toolTip()  # the engineers' figures are still there, on hover
    assert page.metrics_plot.isVisibleTo(page)
    marks = {m.label: m.threshold for m in page.metrics_plot.curves.marks}
    t = window.context.session.thresholds().for_references(1)
    assert marks == {"no match now": t.reject, "match now": t.accept}
    assert f"no match below {t.reject:.2f}, match from {t.accept:.2f}" in page.metrics_plot_caption.text()
    image = page.metrics_plot.grab().toImage()
    colours = {image.pixelColor(x, y).name() for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)}
    assert any(QColor(c).green() > 100 and QColor(c).red() < 150 for c in colours)  # genuine bars drawn
    page._show_metrics({"val": {"k1": {"frr_at_tau": 0.5, "far_skilled_at_tau": 0.01, "references": 1}}},
                       window.context.engine.metadata)
    assert not page.metrics_plot.isVisibleTo(page) and "no score distribution" in page.metrics_plot_caption.text()


def test_the_new_cards_decision_shares_are_read_too():
    from sigverify.core.card_summary import describe, evaluations

    row = {"references": 2, "eer_skilled": 0.2, "writers": 9,
           "decisions": {"tau_accept": 0.8, "tau_reject": 0.4, "genuine_match": 0.7, "genuine_refer": 0.27,
                         "genuine_no_match": 0.03, "skilled_match": 0.015, "random_match": 0.0}}
    text = describe(evaluations({"writer_disjoint": {"val": {"k2": row}}}))
    assert "With 2 references: about 30 % of genuine signatures go to refer (about 3 % to no match)" in text
    assert "about 2 % of skilled forgeries are accepted" in text
