"""Users page: administrators add, disable, enable and re-role users through the core; clerks never get there."""

from __future__ import annotations

from gui_helpers import wait_idle
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from sigverify.core.security import AuditLog, Role, UserService, open_store


def _open_users(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)  # Ctrl+5: Users
    assert window.current_page_name() == "users"
    wait_idle(qtbot, window)
    return window.pages["users"]


def _click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def _select(qtbot, page, username: str) -> None:
    row = next(r for r in range(page.table.rowCount())
               if page.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == username)
    rect = page.table.visualRect(page.table.model().index(row, 1))
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert page.selected_user() == username


def _confirm(qtbot, page) -> None:
    box = page.question
    assert isinstance(box, QMessageBox) and box.isVisible()
    accept = next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole)
    _click(qtbot, accept)


def _audit(db_url, action: str):
    return [r for r in AuditLog(open_store(db_url)).records(actions=(action,))]


def _rows(page) -> dict[str, tuple[str, str]]:
    return {page.table.item(r, 0).data(Qt.ItemDataRole.UserRole): (page.table.item(r, 1).text(),
                                                                   page.table.item(r, 2).text())
            for r in range(page.table.rowCount())}


def test_admin_adds_clerk_with_password_twice(qtbot, window, db_url):
    page = _open_users(qtbot, window)
    assert _rows(page) == {"admin": ("Administrator", "Active")}
    _click(qtbot, page.add_button)
    dialog = page.dialog
    assert dialog.isVisible()
    qtbot.keyClicks(dialog.username, "bob")
    dialog.role.setCurrentIndex(dialog.role.findData(Role.CLERK))
    qtbot.keyClicks(dialog.password, "short")
    qtbot.keyClicks(dialog.confirm, "short")
    _click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: "8" in dialog.message.text())  # the core's rule, said in the dialog
    assert dialog.isVisible() and UserService(open_store(db_url)).get("bob") is None
    dialog.password.clear()
    dialog.confirm.clear()
    qtbot.keyClicks(dialog.password, "long-enough-1")
    qtbot.keyClicks(dialog.confirm, "long-enough-2")
    _click(qtbot, dialog.ok_button)
    assert "differ" in dialog.message.text()
    dialog.confirm.clear()
    qtbot.keyClicks(dialog.confirm, "long-enough-1")
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    wait_idle(qtbot, window)
    assert _rows(page)["bob"] == ("Clerk", "Active")
    users = UserService(open_store(db_url))
    assert users.authenticate("bob", "long-enough-1").role is Role.CLERK
    [record] = _audit(db_url, "add_user")[-1:]
    assert record.user == "admin" and record.details["username"] == "bob" and record.details["role"] == "clerk"


def test_disable_enable_and_change_role_are_audited(qtbot, window, db_url, admin):
    UserService(open_store(db_url)).add_user(admin, "carol", "carol-password", Role.CLERK)
    page = _open_users(qtbot, window)
    _select(qtbot, page, "carol")
    assert page.disable_button.text() == "&Disable"
    _click(qtbot, page.disable_button)
    _confirm(qtbot, page)
    wait_idle(qtbot, window)
    users = UserService(open_store(db_url))
    assert users.get("carol").disabled and _rows(page)["carol"][1].startswith("Disabled")
    assert page.disable_button.text() == "&Enable"
    _click(qtbot, page.disable_button)  # enabling needs no confirmation
    wait_idle(qtbot, window)
    assert not users.get("carol").disabled
    _click(qtbot, page.role_button)
    _confirm(qtbot, page)
    wait_idle(qtbot, window)
    assert users.get("carol").role is Role.ADMINISTRATOR and _rows(page)["carol"][0] == "Administrator"
    actions = [(r.action, r.user, r.details["username"])
               for r in AuditLog(open_store(db_url)).records(actions=("disable_user", "enable_user", "set_role"))]
    assert actions == [("disable_user", "admin", "carol"), ("enable_user", "admin", "carol"),
                       ("set_role", "admin", "carol")]
    assert AuditLog(open_store(db_url)).verify().ok


def test_last_administrator_cannot_demote_self(qtbot, window, db_url):
    page = _open_users(qtbot, window)
    _select(qtbot, page, "admin")
    _click(qtbot, page.role_button)
    assert page.question is None  # no "are you sure?" whose Yes would then be refused
    assert window.errors.last.title == "Not possible"
    assert "only active administrator" in window.errors.last.text
    _click(qtbot, page.disable_button)
    assert page.question is None and "cannot be disabled" in window.errors.last.text
    assert UserService(open_store(db_url)).get("admin").role is Role.ADMINISTRATOR
    assert not _audit(db_url, "set_role")


def test_admin_who_demotes_self_loses_the_page(qtbot, window, db_url, admin):
    UserService(open_store(db_url)).add_user(admin, "boss", "boss-password", Role.ADMINISTRATOR)
    page = _open_users(qtbot, window)
    _select(qtbot, page, "admin")
    _click(qtbot, page.role_button)
    _confirm(qtbot, page)
    wait_idle(qtbot, window)
    assert window.context.user.role is Role.CLERK
    assert "admin (Clerk)" in window.user_label.text()
    assert window.current_page_name() == "verify"
    assert window.navigation.item(list(window.pages).index("users")).isHidden()


def test_clerk_has_no_users_page_and_the_core_refuses(qtbot, make_window, clerk, db_url):
    window = make_window(user=clerk)
    row = list(window.pages).index("users")
    assert window.navigation.item(row).isHidden()
    qtbot.keyClick(window, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page_name() == "verify"
    page = window.pages["users"]
    page.refresh()  # as if a clerk reached the page anyway: the core says no
    wait_idle(qtbot, window)
    assert window.errors.last.title == "Not allowed" and "manage users" in window.errors.last.text
    assert page.table.rowCount() == 0
