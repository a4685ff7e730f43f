"""Customers page: add a customer with references (crop confirmation), refusal, replace, remove."""

from __future__ import annotations

from gui_helpers import CUSTOMER, wait_idle
from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog

from sigverify.core.security import open_store


def _open_customers(window):
    window.show_page("customers")
    assert window.current_page_name() == "customers"
    return window.pages["customers"]


def test_add_customer_with_confirmed_crop(qtbot, window, signature_files, db_url):
    page = _open_customers(window)
    wait_idle(qtbot, window)
    page.add_customer()
    dialog = page.dialog
    dialog.customer_id.setText("C777")
    dialog.name.setText("Carol New")
    dialog.account.setText("0042")
    dialog.add_files([str(signature_files["a0"]), str(signature_files["a1"])])
    dialog.try_accept()
    wait_idle(qtbot, window)
    confirm = page.dialog
    assert confirm.objectName() == "confirmReferences" and len(confirm.prepared) == 2
    assert all(not label.pixmap().isNull() for label in confirm.crops)  # the crop is shown before registering
    confirm.buttons.accepted.emit()
    wait_idle(qtbot, window)
    store = open_store(db_url)
    assert len(store.references_for("C777")) == 2
    assert store.get_customer("C777").account == "0042"
    assert page.selected_customer() == "C777"
    assert page.reference_list.count() == 2
    # the Verify page's completion heard about the new customer
    wait_idle(qtbot, window)
    assert "C777" in window.pages["verify"].customer.customers


def test_blank_image_is_refused_with_reason(qtbot, window, signature_files, db_url):
    page = _open_customers(window)
    page.start_registration("C888", [str(signature_files["blank"])], name="Blank")
    wait_idle(qtbot, window)
    assert window.errors.last is not None and window.errors.last.title == "No usable signature"
    assert "blank" in window.errors.last.text
    assert page.dialog is None  # nothing to confirm
    assert open_store(db_url).get_customer("C888") is None


def test_replace_and_remove_keep_history(qtbot, registered, window, signature_files, db_url, monkeypatch):
    page = _open_customers(window)
    wait_idle(qtbot, window)
    page.select_customer(CUSTOMER)
    wait_idle(qtbot, window)
    assert page.reference_list.count() == 2
    page.reference_list.setCurrentRow(0)
    old = page.selected_reference()
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(signature_files["a2"])], ""))
    page.replace_button.click()
    wait_idle(qtbot, window)
    page.dialog.buttons.accepted.emit()
    wait_idle(qtbot, window)
    store = open_store(db_url)
    active = [r.id for r in store.references_for(CUSTOMER)]
    assert old not in active and len(active) == 2
    page.reference_list.setCurrentRow(0)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("signature changed", True))
    page.remove_button.click()
    wait_idle(qtbot, window)
    assert len(store.references_for(CUSTOMER)) == 1
    assert len(store.references_for(CUSTOMER, include_removed=True)) == 3
    page.show_removed.setChecked(True)
    wait_idle(qtbot, window)
    assert page.reference_list.count() == 3


def test_clerk_cannot_reach_customers(qtbot, make_window, clerk):
    window = make_window(user=clerk)
    row = list(window.pages).index("customers")
    assert window.navigation.item(row).isHidden()
    window.show_page("customers")
    assert window.current_page_name() == "verify"


def test_confirm_dialog_box_edit_reprepares(qtbot, window, signature_files):
    page = _open_customers(window)
    page.start_registration("C999", [str(signature_files["a0"])])
    wait_idle(qtbot, window)
    confirm = page.dialog
    before = confirm.prepared[0].normalized.copy()
    h, w = confirm.prepared[0].image.gray.shape
    confirm.views[0].box_edited.emit((0, 0, w // 2, h))
    wait_idle(qtbot, window)
    assert confirm.prepared[0].extraction.box == (0, 0, w // 2, h)
    assert (confirm.prepared[0].normalized != before).any()
    confirm.reject()
    assert confirm.result() == QDialog.DialogCode.Rejected


def test_clerk_with_unaccepted_model_is_told_why(qtbot, make_window, db_url, admin):
    from sigverify.core.security import Role, UserService

    clerk = UserService(open_store(db_url)).add_user(admin, "newclerk", "clerk-password", Role.CLERK)
    window = make_window(user=clerk)  # the test model is neither the bundled one nor accepted
    assert window.context.session is None
    assert window.errors.last is not None and window.errors.last.title == "Not allowed"
    assert "administrator" in window.errors.last.text


def test_several_references_are_all_checked_and_every_bad_one_is_named(qtbot, window, signature_files, db_url,
                                                                       tmp_path):
    page = _open_customers(window)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    files = [signature_files["blank"], signature_files["a0"], broken, signature_files["a1"]]
    page.start_registration("C901", [str(f) for f in files], name="Dora Many")
    wait_idle(qtbot, window)
    confirm = page.dialog
    assert confirm is not None and len(confirm.prepared) == 2  # the good ones, though the first file was bad
    assert "blank.png" in confirm.refused_label.text() and "broken.png" in confirm.refused_label.text()
    assert confirm.refused_label.isVisibleTo(confirm)
    ok = confirm.buttons.button(confirm.buttons.StandardButton.Ok)
    assert ok.text().replace("&", "") == "Register the 2 usable signatures"
    assert open_store(db_url).get_customer("C901") is None  # nothing before the confirmation
    confirm.buttons.accepted.emit()
    wait_idle(qtbot, window)
    assert len(open_store(db_url).references_for("C901")) == 2
