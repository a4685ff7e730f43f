"""The Verify page end to end: drop, completion, decision, box correction, final decision."""

from __future__ import annotations

import cv2
import numpy as np
from fixture_files import write_unsigned_cheque
from gui_helpers import CUSTOMER, drop_files, wait_idle
from PySide6.QtCore import QPoint, Qt

from sigverify.core.security import open_store


def _verify(qtbot, page, path, customer=CUSTOMER):
    page.customer.setText(customer)
    drop_files(page.drop_zone, [path])
    wait_idle(qtbot, page.window())
    return page.outcome


def test_drop_then_verify_match(qtbot, registered, window, signature_files, db_url):
    page = window.pages["verify"]
    enter, drop = drop_files(page.drop_zone, [signature_files["a2"]])
    assert enter.isAccepted() and drop.isAccepted()
    wait_idle(qtbot, window)
    assert page.outcome is not None and page.outcome.result is None  # no customer yet: extraction only
    page.customer.setText(CUSTOMER)
    qtbot.keyClick(page.customer, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    result = page.outcome.result
    assert result is not None and result.customer_id == CUSTOMER
    assert page.banner.decision == result.decision.value
    assert result.decision.label in page.banner.text()
    assert page.gauge.score == result.score and 0 <= page.gauge.shown_score <= 100
    assert len(page.signatures.tiles) == 3  # the cheque's signature + two references
    assert result.record_id is not None
    assert window.errors.last is None
    page.final_buttons["accept"].click()
    wait_idle(qtbot, window)
    row = open_store(db_url).verification(result.record_id)
    assert row.final_decision == "accept"
    assert "accepted" in page.final_label.text()


def test_drop_ignores_non_file_data(qtbot, window):
    from PySide6.QtCore import QMimeData, QPointF
    from PySide6.QtGui import QDragEnterEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setText("not a file")
    event = QDragEnterEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window.pages["verify"].drop_zone, event)
    assert not event.isAccepted()


def test_other_writer_scores_lower(qtbot, registered, window, signature_files):
    page = window.pages["verify"]
    genuine = _verify(qtbot, page, signature_files["a2"]).result.score
    other = _verify(qtbot, page, signature_files["b0"]).result.score
    assert other < genuine


def test_customer_completion_lists_store(qtbot, registered, window):
    page = window.pages["verify"]
    wait_idle(qtbot, window)
    assert set(page.customer.customers) == {"C001", "C002"}
    page.customer.completer().setCompletionPrefix("alice")
    assert page.customer.completer().currentCompletion().startswith("C001")


def _cheque(tmp_path, signature_path):
    """A plain 'cheque': printed lines and text with the signature pasted lower right."""
    page = np.full((600, 1400), 250, np.uint8)
    cv2.putText(page, "FIRST NATIONAL BANK", (40, 70), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 30, 2)
    cv2.putText(page, "PAY TO THE ORDER OF  ____________________", (40, 200), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 30, 2)
    cv2.line(page, (40, 300), (1300, 300), 30, 2)
    cv2.putText(page, "123456789 000123 0042", (60, 560), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 30, 2)
    sig = cv2.imread(str(signature_path), cv2.IMREAD_GRAYSCALE)
    h, w = sig.shape
    scale = min(380 / w, 170 / h)
    sig = cv2.resize(sig, (int(w * scale), int(h * scale)))
    y, x = 340, 900
    region = page[y:y + sig.shape[0], x:x + sig.shape[1]]
    np.minimum(region, sig, out=region)
    path = tmp_path / "cheque.png"
    cv2.imwrite(str(path), page)
    return path


def test_box_correction_reruns_on_new_crop(qtbot, registered, window, signature_files, tmp_path):
    page = window.pages["verify"]
    outcome = _verify(qtbot, page, _cheque(tmp_path, signature_files["a2"]))
    assert outcome.result is not None
    first_record = outcome.result.record_id
    # the clerk drags a new box with the mouse over the signature area
    view = page.cheque_view
    box = (880, 320, 1320, 530)
    top_left = view.mapFromScene(box[0] + 0.5, box[1] + 0.5)
    bottom_right = view.mapFromScene(box[2] + 0.5, box[3] + 0.5)
    if page.outcome.prepared.box is not None:
        view.set_box(None)  # start from no box so the drag draws a new one
    with qtbot.waitSignal(view.box_edited, timeout=2000) as edited:
        qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=top_left)
        qtbot.mouseMove(view.viewport(), pos=(top_left + bottom_right) / 2)
        qtbot.mouseMove(view.viewport(), pos=bottom_right)
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=bottom_right)
    drawn = edited.args[0]
    assert all(abs(a - b) <= 4 for a, b in zip(drawn, box, strict=True))
    wait_idle(qtbot, window)
    assert page.outcome.result.box == tuple(drawn)
    assert page.outcome.result.record_id != first_record
    assert page.reset_box_button.isEnabled()


def test_keyboard_box_nudge_reverifies(qtbot, registered, window, signature_files, tmp_path):
    page = window.pages["verify"]
    _verify(qtbot, page, _cheque(tmp_path, signature_files["a2"]))
    view = page.cheque_view
    before = view.box()
    assert before is not None
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(view, Qt.Key.Key_Return)  # Enter verifies the pending edit at once
    wait_idle(qtbot, window)
    assert page.outcome.result.box[2] > before[2]


def test_stale_result_is_dropped(qtbot, registered, window, signature_files):
    page = window.pages["verify"]
    page.customer.setText(CUSTOMER)
    drop_files(page.drop_zone, [signature_files["a2"]])
    drop_files(page.drop_zone, [signature_files["b0"]])  # the clerk changed their mind at once
    wait_idle(qtbot, window)
    assert page.outcome.result.file_name == "b0.png"
    assert page.file_label.text() == "b0.png"


def test_click_mouse_on_empty_zone_opens_dialog(qtbot, window, monkeypatch, signature_files):
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(signature_files["a0"]), ""))
    page = window.pages["verify"]
    qtbot.mouseClick(page.drop_zone, Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    wait_idle(qtbot, window)
    assert page.outcome is not None and page.file_label.text() == "a0.png"


def test_mouse_only_customer_choice(qtbot, registered, window, signature_files):
    page = window.pages["verify"]
    drop_files(page.drop_zone, [signature_files["a2"]])
    wait_idle(qtbot, window)
    qtbot.mouseClick(page.customer_list_button, Qt.MouseButton.LeftButton)
    popup = page.customer.completer().popup()
    qtbot.waitUntil(popup.isVisible, timeout=2000)
    assert popup.model().rowCount() == 2
    index = popup.model().index(0, 0)
    qtbot.mouseClick(popup.viewport(), Qt.MouseButton.LeftButton, pos=popup.visualRect(index).center())
    qtbot.waitUntil(lambda: page.customer.text() == CUSTOMER, timeout=2000)
    wait_idle(qtbot, window)
    assert page.outcome.result is not None  # choosing the customer verifies the dropped cheque
    qtbot.mouseClick(page.final_buttons["refer_to_supervisor"], Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert "supervisor" in page.final_label.text()


def test_keyboard_only_flow(qtbot, registered, window, signature_files, monkeypatch, db_url):
    from PySide6.QtWidgets import QApplication, QFileDialog

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(signature_files["a2"]), ""))
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    page = window.pages["verify"]
    page.customer.setFocus()
    qtbot.keyClicks(page.customer, CUSTOMER)
    qtbot.keyClick(page.customer, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)  # Ctrl+O
    wait_idle(qtbot, window)
    assert page.outcome is not None
    qtbot.keyClick(page.customer, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    result = page.outcome.result
    assert result is not None
    # Tab from the customer field reaches the decision buttons; Space presses the focused one
    for _ in range(12):
        if QApplication.focusWidget() is page.final_buttons["accept"]:
            break
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is page.final_buttons["accept"]
    qtbot.keyClick(page.final_buttons["accept"], Qt.Key.Key_Space)
    wait_idle(qtbot, window)
    assert open_store(db_url).verification(result.record_id).final_decision == "accept"
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)  # Ctrl+3: batch page
    assert window.current_page_name() == "batch"


def test_paste_image_from_clipboard(qtbot, registered, window, signature_files):
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    QApplication.clipboard().setImage(QImage(str(signature_files["a2"])))
    page = window.pages["verify"]
    page.customer.setText(CUSTOMER)
    window.actions_by_name["paste"].trigger()  # Ctrl+V outside a text field
    wait_idle(qtbot, window)
    assert page.file_label.text() == "pasted image"
    assert page.outcome.result is not None


def test_drop_image_data(qtbot, window, signature_files):
    from PySide6.QtCore import QMimeData, QPointF
    from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
    from PySide6.QtWidgets import QApplication

    page = window.pages["verify"]
    mime = QMimeData()
    mime.setImageData(QImage(str(signature_files["a0"])))
    enter = QDragEnterEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(page.drop_zone, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(page.drop_zone, QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                                                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    wait_idle(qtbot, window)
    assert page.file_label.text() == "dropped image" and page.outcome.prepared is not None


def test_full_name_and_enter_verifies_that_customer(qtbot, registered, window, signature_files):
    page = window.pages["verify"]
    wait_idle(qtbot, window)
    drop_files(page.drop_zone, [signature_files["a2"]])
    wait_idle(qtbot, window)
    page.customer.setFocus()
    qtbot.keyClicks(page.customer, "alice example")  # as typed, not picked from the list
    qtbot.keyClick(page.customer, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    assert window.errors.last is None, window.errors.last
    assert page.outcome.result is not None and page.outcome.result.customer_id == CUSTOMER
    assert page.customer.text() == CUSTOMER and "Alice Example" in page.customer_info.text()
    assert not page.customer.completer().popup().isVisible()  # the list does not stay open over the cheque


def test_ambiguous_name_says_which_customers_fit(qtbot, registered, window, signature_files, db_url):
    open_store(db_url).add_customer("C003", name="Alice Other")
    page = window.pages["verify"]
    page.refresh_customers()
    wait_idle(qtbot, window)
    drop_files(page.drop_zone, [signature_files["a2"]])
    wait_idle(qtbot, window)
    page.customer.setFocus()
    qtbot.keyClicks(page.customer, "Alice")
    assert "fits 2 customers" in page.customer_info.text()
    qtbot.keyClick(page.customer, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    shown = window.errors.last
    assert shown is not None and "C001 (Alice Example)" in shown.text and "C003 (Alice Other)" in shown.text
    assert page.outcome.result is None  # nobody was verified on a guess


def test_an_unsigned_cheque_shows_the_cheque_with_a_refer_banner(qtbot, registered, window, tmp_path, db_url):
    page = window.pages["verify"]
    outcome = _verify(qtbot, page, write_unsigned_cheque(tmp_path / "unsigned.png"))
    result = outcome.result
    assert outcome.error is None and result is not None and result.score is None
    assert page.banner.decision == "refer" and "Refer" in page.banner.text()
    assert "no signature found on the cheque: a person must check it" in page.banner.text()
    assert window.errors.last is None  # not an error dialog
    # the cheque stays on screen, the size it is, for the clerk to box a signature by hand
    assert page.cheque_view.isVisibleTo(window)
    shown = page.cheque_view.scene().sceneRect()
    assert (shown.width(), shown.height()) == (outcome.image.gray.shape[1], outcome.image.gray.shape[0])
    assert page.gauge.score is None
    assert open_store(db_url).verification(result.record_id).decision == "refer"
    assert page.final_buttons["refer_to_supervisor"].isEnabled()
