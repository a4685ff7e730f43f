"""What a clerk reads on the Verify page: a fixed 0-100 scale, plain messages, controls that fit the state."""

from __future__ import annotations

import dataclasses

from gui_helpers import CUSTOMER, drop_files, wait_idle
from test_verify_page import _cheque, _verify

from sigverify.core.pipeline import Decision, Thresholds


def test_scores_on_a_fixed_0_to_100_scale_and_thresholds_agree_with_the_bar(qtbot, registered, window,
                                                                             signature_files):
    page = window.pages["verify"]
    result = _verify(qtbot, page, signature_files["b0"]).result
    odd = dataclasses.replace(result, score=-0.2, decision=Decision.NO_MATCH,
                              thresholds=Thresholds(0.908, 0.375, "model"))
    page._show_result(odd, 0.1)
    assert "-0." not in page.banner.text() and "similarity 0 of 100" in page.banner.text()
    assert page.gauge.shown_score == 0 and page.gauge._range() == (0.0, 100.0)
    assert (page.gauge.shown_accept, page.gauge.shown_reject) == (91, 38)
    assert "Match at 91 or above, no match below 38" in page.score_label.text()
    assert "0.908" not in page.score_label.text()
    genuine = _verify(qtbot, page, signature_files["a2"]).result
    assert page.gauge._range() == (0.0, 100.0)  # the bar does not move between checks
    assert f"similarity {page.gauge.shown_score} of 100" in page.banner.text() and genuine.score > -1
    captions = [tile.caption for tile in page.signatures.tiles[1:]]
    assert captions and all(caption.startswith("similarity ") and "-" not in caption for caption in captions)


def test_blank_image_says_blank_and_offers_no_box_to_drag_or_reset(qtbot, registered, window, signature_files):
    page = window.pages["verify"]
    assert not page.reset_box_button.isEnabled()  # no image yet
    _verify(qtbot, page, signature_files["blank"])
    assert "looks blank" in page.banner.text()
    shown = window.errors.last
    assert shown is not None and "Drag" not in shown.hint and "box" not in shown.hint
    assert not page.reset_box_button.isEnabled()


def test_reset_box_is_off_again_for_the_next_image(qtbot, registered, window, signature_files, tmp_path):
    page = window.pages["verify"]
    _verify(qtbot, page, _cheque(tmp_path, signature_files["a2"]))
    page.set_box((880, 320, 1320, 530))  # the clerk moved the box
    wait_idle(qtbot, window)
    assert page.reset_box_button.isEnabled()
    assert page.signatures.tiles[0].caption == "box set by hand"
    page.reset_box()
    wait_idle(qtbot, window)
    assert page.signatures.tiles[0].caption == "found on the cheque"
    page.set_box((880, 320, 1320, 530))
    wait_idle(qtbot, window)
    drop_files(page.drop_zone, [signature_files["a2"]])
    assert not page.reset_box_button.isEnabled()
    wait_idle(qtbot, window)


def test_a_signature_crop_is_not_called_a_cheque(qtbot, registered, window, signature_files):
    page = window.pages["verify"]
    _verify(qtbot, page, signature_files["a2"], CUSTOMER)
    first = page.signatures.tiles[0]
    assert first.title == "This signature" and "cheque" not in first.caption


def test_an_oversized_image_is_explained_without_jargon(tmp_path):
    from test_hostile_input import png_claiming

    from sigverify.core.imaging import ImageLoadError, load_image
    from sigverify.gui.errors import explain

    path = tmp_path / "scan.png"
    path.write_bytes(png_claiming(100_000, 100_000))
    try:
        load_image(path)
    except ImageLoadError as exc:
        text = explain(exc).text
    assert "too large to be a scanned cheque" in text and "bomb" not in text


def test_image_is_one_key_away_and_shows_a_focus_ring(qtbot, registered, window, signature_files, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QApplication

    from sigverify.gui.widgets.cheque_view import FOCUS_COLOUR

    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    page = window.pages["verify"]
    _verify(qtbot, page, _cheque(tmp_path, signature_files["a2"]))
    view = page.cheque_view

    def ring_pixel() -> QColor:
        return view.viewport().grab().toImage().pixelColor(1, view.viewport().height() // 2)

    page.customer.setFocus()
    assert ring_pixel() != QColor(FOCUS_COLOUR)  # no ring while the focus is elsewhere
    qtbot.keyClick(page.customer, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is view  # one Tab from the customer
    assert ring_pixel() == QColor(FOCUS_COLOUR)
    page.verify_button.setFocus()
    qtbot.keyClick(page.verify_button, Qt.Key.Key_I, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is view  # Alt+I from anywhere on the page
