"""Errors a clerk understands (never a traceback), log file details, settings, login, the command."""

from __future__ import annotations

import logging

from gui_helpers import CUSTOMER, drop_files, wait_idle
from PySide6.QtWidgets import QMessageBox

from sigverify.core.security import UserService, open_store
from sigverify.gui.app import setup_logging
from sigverify.gui.dialogs.login import LoginDialog


def _assert_plain(window, title: str) -> None:
    last = window.errors.last
    assert last is not None and last.title == title, last
    dialog = window.errors.dialog
    assert isinstance(dialog, QMessageBox) and dialog.isVisible()
    assert "Traceback" not in dialog.text() + dialog.informativeText()


def test_unreadable_file(qtbot, window, tmp_path):
    bad = tmp_path / "scan.png"
    bad.write_bytes(b"this is not a PNG")
    drop_files(window.pages["verify"].drop_zone, [bad])
    wait_idle(qtbot, window)
    _assert_plain(window, "File cannot be read")
    assert "scan.png" in window.errors.dialog.text()


def test_unknown_customer(qtbot, registered, window, signature_files):
    page = window.pages["verify"]
    page.customer.setText("NOBODY")
    drop_files(page.drop_zone, [signature_files["a2"]])
    wait_idle(qtbot, window)
    _assert_plain(window, "Unknown customer")
    assert "NOBODY" in window.errors.dialog.text()
    # the cheque and its extracted signature stay on screen; nothing pretends to be a decision
    assert page.drop_zone._stack.currentWidget() is page.cheque_view
    assert len(page.signatures.tiles) == 1 and page.banner.decision is None
    assert not any(button.isEnabled() for button in page.final_buttons.values())


def test_no_signature_found_keeps_image_for_manual_box(qtbot, registered, window, signature_files):
    page = window.pages["verify"]
    page.customer.setText(CUSTOMER)
    drop_files(page.drop_zone, [signature_files["blank"]])
    wait_idle(qtbot, window)
    _assert_plain(window, "No signature found")
    assert page.outcome is not None and page.outcome.error is not None
    assert page.drop_zone._stack.currentWidget() is page.cheque_view  # the clerk can draw the box


def test_model_missing(qtbot, make_window, tmp_path):
    window = make_window(model=tmp_path / "missing.onnx")
    assert window.context.engine is None
    _assert_plain(window, "Model not available")
    assert "No signature model" in window.model_label.text()
    page = window.pages["verify"]
    page.customer.setText(CUSTOMER)
    page.verify_now()  # nothing loaded: says so instead of failing
    assert window.errors.last.title in ("No cheque yet", "Model not available")


def test_details_go_to_log_file(qtbot, window, tmp_path):
    log_path = setup_logging(tmp_path / "logs" / "gui.log")
    try:
        window.errors.report(RuntimeError("boom inside"), "Traceback (most recent call last): ...", action="test")
        assert window.errors.last.title == "Something went wrong"
        assert str(log_path.parent) in window.errors.last.hint or "log" in window.errors.last.hint
        for handler in logging.getLogger("sigverify").handlers:
            handler.flush()
        assert "boom inside" in log_path.read_text()
    finally:
        root = logging.getLogger("sigverify")
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()


def test_status_bar_shows_model_and_providers(qtbot, window):
    assert "test-1" in window.model_label.text()
    assert "CPU" in window.device_label.text()
    assert "CPUExecutionProvider" in window.device_label.toolTip()


def test_status_bar_says_when_the_signature_finder_runs_on_rules_only(qtbot, window, monkeypatch, tmp_path):
    from sigverify.core import extraction, finder

    assert window.finder_label.text() == ""          # the bundled finder network is in use
    monkeypatch.setattr(finder, "default_finder_path", lambda: tmp_path / "finder.onnx")
    extraction.reset_learned_finder()
    try:
        with qtbot.waitSignal(window.context.engine_ready, timeout=20000):
            window.context.load_engine()
        assert window.finder_label.text() == "Signature finder: rules only"
        assert "finder.onnx" in window.finder_label.toolTip() and "rule-based" in window.finder_label.toolTip()
    finally:
        extraction.reset_learned_finder()


def test_admin_sets_thresholds(qtbot, window):
    page = window.pages["settings"]
    window.show_page("settings")
    page.accept.setValue(0.95)
    page.reject.setValue(0.5)
    page.apply_thresholds.click()
    wait_idle(qtbot, window)
    t = window.context.session.thresholds()
    assert (t.accept, t.reject, t.source) == (0.95, 0.5, "administrator")
    assert "administrator" in page.threshold_source.text()
    page.reset_thresholds.click()
    wait_idle(qtbot, window)
    assert window.context.session.thresholds().source == "model"


def test_clerk_cannot_change_thresholds(qtbot, make_window, clerk):
    window = make_window(user=clerk)
    page = window.pages["settings"]
    assert not page.apply_thresholds.isEnabled() and not page.accept.isEnabled()
    assert "Only administrators" in page.thresholds_note.text()


def test_settings_shows_model_card_and_device(qtbot, window):
    page = window.pages["settings"]
    assert "test-1" in page.model_version.text()
    assert "no card" in page.model_card.text()
    assert "CPU" in page.model_providers.text()
    assert page.device.currentData() == "cpu"


def test_first_start_creates_administrator(qtbot, db_url):
    users = UserService(open_store(db_url))
    dialog = LoginDialog(users)
    qtbot.addWidget(dialog)
    assert dialog.first_admin
    dialog.username.setText("anna")
    dialog.password.setText("short")
    dialog.confirm.setText("short")
    dialog.try_accept()  # checked on the dialog's task runner, off the GUI thread
    qtbot.waitUntil(lambda: "8" in dialog.message.text())  # the core's password rule, in words
    assert dialog.user is None
    dialog.password.setText("long-enough-1")
    dialog.confirm.setText("long-enough-1")
    dialog.try_accept()
    qtbot.waitUntil(lambda: dialog.user is not None)
    assert dialog.user.is_admin


def test_login_refuses_wrong_password(qtbot, db_url, admin):
    dialog = LoginDialog(UserService(open_store(db_url)), "admin")
    qtbot.addWidget(dialog)
    assert not dialog.first_admin
    dialog.password.setText("wrong-password")
    dialog.try_accept()
    qtbot.waitUntil(lambda: "wrong" in dialog.message.text().lower())
    assert dialog.user is None
    dialog.password.setText("admin-password")
    dialog.try_accept()
    qtbot.waitUntil(lambda: dialog.user is not None)
    assert dialog.user.username == "admin"


def test_gui_command_is_registered():
    from sigverify.cli.main import build_parser

    args = build_parser().parse_args(["gui", "--db", "sqlite:///x.db", "--device", "cpu"])
    assert args.command == "gui" and args.db == "sqlite:///x.db"


def test_actions_have_shortcuts(window):
    for key in ("open", "paste", "quit", "about"):
        assert not window.actions_by_name[key].shortcut().isEmpty(), key


def test_device_choice_reloads_engine(qtbot, window):
    page = window.pages["settings"]
    first = window.context.engine
    page.device.setCurrentIndex(page.device.findData("cpu"))
    page.apply_device.click()
    qtbot.waitUntil(lambda: window.context.engine is not first, timeout=15_000)
    assert window.context.settings.value("model/device") == "cpu"
    assert window.context.engine.providers == ["CPUExecutionProvider"]
