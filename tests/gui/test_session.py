"""Login off the GUI thread, log out / switch user without restarting, who is logged in."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import ADMIN_PASSWORD
from PySide6.QtCore import Qt

from sigverify.core.security import AuditLog, open_store, users
from sigverify.gui.app import Session
from sigverify.gui.context import LaunchOptions


@pytest.fixture
def session(qtbot, test_model, db_url, gui_settings, admin):
    session = Session(LaunchOptions(db=db_url, model=str(test_model), device="cpu"), gui_settings)
    yield session
    if session.login is not None:
        session.login.reject()  # shuts the login's task runner down
    window = session.window
    if window is not None:
        window.close()
        assert window.runner.pool.activeThreadCount() == 0, "a worker thread outlived the window"
        window.deleteLater()


def _log_in(qtbot, session, username: str, password: str):
    dialog = session.login
    assert dialog is not None and dialog.isVisible()
    dialog.username.clear()
    qtbot.keyClicks(dialog.username, username)
    qtbot.keyClicks(dialog.password, password)
    with qtbot.waitSignal(session.window_changed, timeout=10_000):
        qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    window = session.window
    qtbot.waitUntil(lambda: window.context.engine is not None or window.context.engine_error is not None,
                    timeout=15_000)
    return window


def test_log_out_and_switch_user_without_restart(qtbot, session, clerk, db_url):
    session.start("admin")
    first = _log_in(qtbot, session, "admin", ADMIN_PASSWORD)
    assert first.user_label.text() == "Logged in as admin (Administrator)"
    assert not first.navigation.item(list(first.pages).index("users")).isHidden()
    with qtbot.waitSignal(session.window_changed):
        qtbot.keyClick(first, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # File > Log out / switch user
    assert session.window is None and not first.isVisible()
    assert first.runner.pool.activeThreadCount() == 0
    assert session.login.isVisible() and session.login.username.text() == ""
    second = _log_in(qtbot, session, "clerk", "clerk-password")
    assert second is not first and second.isVisible()
    assert second.user_label.text() == "Logged in as clerk (Clerk)"
    for page in ("customers", "users"):
        assert second.navigation.item(list(second.pages).index(page)).isHidden()
    assert second.context.session is not None  # the accepted test model runs for the clerk
    trail = [(r.action, r.user) for r in AuditLog(open_store(db_url)).records(actions=("login", "logout"))]
    assert trail == [("login", "admin"), ("logout", "admin"), ("login", "clerk")]


def test_password_is_checked_off_the_gui_thread(qtbot, session, monkeypatch):
    checked_on = []
    slow_check = users._password_matches

    def spy(password_hash, password):
        checked_on.append(threading.current_thread())
        time.sleep(0.3)  # as slow as a real argon2 cost; the dialog must keep working meanwhile
        return slow_check(password_hash, password)

    monkeypatch.setattr(users, "_password_matches", spy)
    dialog = session.start("admin")
    qtbot.keyClicks(dialog.password, "wrong-password")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert "Checking" in dialog.message.text() and not dialog.ok_button.isEnabled()  # returned at once
    qtbot.waitUntil(lambda: "wrong" in dialog.message.text().lower(), timeout=5_000)
    assert dialog.ok_button.isEnabled() and dialog.isVisible() and session.window is None
    assert checked_on and threading.main_thread() not in checked_on


def test_cancelled_login_ends_the_session(qtbot, session):
    dialog = session.start()
    with qtbot.waitSignal(session.ended):
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert session.window is None and session.login is None


def test_admin_who_disables_own_account_is_logged_out(qtbot, session, admin, db_url):
    from sigverify.core.security import Role, UserService

    UserService(open_store(db_url)).add_user(admin, "boss", "boss-password", Role.ADMINISTRATOR)
    session.start("admin")
    window = _log_in(qtbot, session, "admin", ADMIN_PASSWORD)
    window.show_page("users")
    page = window.pages["users"]
    qtbot.waitUntil(lambda: page.table.rowCount() == 2)
    page.select_user("admin")
    qtbot.mouseClick(page.disable_button, Qt.MouseButton.LeftButton)
    assert "you will be logged out" in page.question.text()
    with qtbot.waitSignal(session.window_changed, timeout=10_000) as changed:
        confirm = next(b for b in page.question.buttons()
                       if page.question.buttonRole(b) == page.question.ButtonRole.AcceptRole)
        qtbot.mouseClick(confirm, Qt.MouseButton.LeftButton)
    assert changed.args == [None] and session.login.isVisible()
    dialog = session.login
    qtbot.keyClicks(dialog.username, "admin")
    qtbot.keyClicks(dialog.password, ADMIN_PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "disabled" in dialog.message.text())
    assert session.window is None
    actions = [(r.action, r.user) for r in AuditLog(open_store(db_url)).records(
        actions=("disable_user", "logout"))]
    assert actions == [("disable_user", "admin"), ("logout", "admin")]


def test_first_start_creates_the_default_database_but_a_mistyped_one_is_refused(qtbot, gui_settings, tmp_path,
                                                                               test_model, isolated_home):
    from sigverify.core.store import NoStoreError

    missing = tmp_path / "typo" / "bank.db"
    refused = Session(LaunchOptions(db=f"sqlite:///{missing}", model=str(test_model), device="cpu"), gui_settings)
    with pytest.raises(NoStoreError, match="typo/bank.db"):
        refused.start()
    assert not missing.parent.exists()

    first = Session(LaunchOptions(model=str(test_model), device="cpu"), gui_settings)
    dialog = first.start()
    assert list(isolated_home.rglob("sigverify.db"))  # the first start made the default database
    dialog.reject()
