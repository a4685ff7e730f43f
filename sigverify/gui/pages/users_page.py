"""Users page (administrators): who may log in, with which role; add, disable, enable, change role, set password.

Every action is a call to the core's UserService with the logged-in user as the actor, on the
task runner: the core checks the permission (a clerk is refused even if this page were reached),
the rules (password length, the last active administrator) and writes the change with its audit
record in one transaction. The page shows what the core answers.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from ...core.security import Permission, Role, User
from ...core.security.users import is_last_active_administrator
from ..context import AppContext
from ..dialogs.user_dialog import UserDialog
from ..errors import ErrorReporter, Explanation
from ..workers import TaskHandle
from .base import Page

COLUMNS = ("User name", "Role", "State", "Added")


class UsersPage(Page):
    title = "Users and roles"
    subtitle = ("Clerks verify signatures and record decisions; administrators also manage customers, thresholds, "
                "the model and users. Every change here goes into the audit trail.")

    own_account_changed = Signal(object)  # User, re-read from the store after a change to oneself

    def __init__(self, context: AppContext, errors: ErrorReporter, parent: QWidget | None = None):
        super().__init__(context, errors, parent)
        self.users: list[User] = []
        self.dialog: UserDialog | None = None
        self.question: QMessageBox | None = None
        self._build()

    def _build(self) -> None:
        top = QHBoxLayout()
        self.add_button = QPushButton("&Add user…")
        self.add_button.clicked.connect(self.add_user)
        self.password_button = QPushButton("Set &password…")
        self.password_button.clicked.connect(self.set_password)
        self.role_button = QPushButton("Make ad&ministrator")
        self.role_button.clicked.connect(self.toggle_role)
        self.disable_button = QPushButton("&Disable")
        self.disable_button.clicked.connect(self.toggle_disabled)
        for button, texts in ((self.role_button, ("Make ad&ministrator", "Make &clerk")),
                              (self.disable_button, ("&Disable", "&Enable"))):
            # as wide as its longest text, so the row does not jump when the selection changes
            widths = []
            for text in texts:
                button.setText(text)
                widths.append(button.sizeHint().width())
            button.setMinimumWidth(max(widths))
        for button in (self.add_button, self.password_button, self.role_button, self.disable_button):
            top.addWidget(button)
        top.addStretch(1)
        self.page_layout.addLayout(top)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("usersTable")
        self.table.setAccessibleName("Users")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.page_layout.addWidget(self.table, 1)
        self.note = QLabel("")
        self.note.setObjectName("pageSubtitle")
        self.note.setWordWrap(True)
        self.page_layout.addWidget(self.note)
        self._update_buttons()

    def on_shown(self) -> None:
        self.refresh()

    # --- reading ------------------------------------------------------------------------
    def refresh(self) -> None:
        users, actor = self.context.users, self.context.user
        self.runner.submit("users.list", lambda _t: users.list_users(actor), self._show_users,
                           lambda exc, details: self.errors.report(exc, details, action="list users"))

    def _show_users(self, users: list[User]) -> None:
        selected = self.selected_user()
        self.users = users
        self.table.setRowCount(len(users))
        me = self.context.user.username if self.context.user else None
        for row, user in enumerate(users):
            name = user.username + ("  (you)" if user.username == me else "")
            state = "Disabled: cannot log in" if user.disabled else "Active"
            items = [QTableWidgetItem(text) for text in (name, user.role.label, state, (user.created_at or "")[:10])]
            items[0].setData(Qt.ItemDataRole.UserRole, user.username)
            for column, item in enumerate(items):
                if user.disabled:
                    item.setForeground(Qt.GlobalColor.darkGray)
                self.table.setItem(row, column, item)
        admins = sum(1 for u in users if u.role is Role.ADMINISTRATOR and not u.disabled)
        self.note.setText(f"{len(users)} user{'s' if len(users) != 1 else ''}, {admins} active "
                          f"administrator{'s' if admins != 1 else ''}. Removed staff are disabled, not deleted, "
                          "so the audit trail keeps naming them.")
        self.select_user(selected or (users[0].username if users else None))
        self._update_buttons()

    def select_user(self, username: str | None) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == username:
                self.table.selectRow(row)
                return

    def selected_user(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole) if rows else None

    def _selected(self) -> User | None:
        name = self.selected_user()
        return next((u for u in self.users if u.username == name), None)

    def _update_buttons(self) -> None:
        user = self._selected()
        for button in (self.password_button, self.role_button, self.disable_button):
            button.setEnabled(user is not None)
        if user is None:
            return
        self.role_button.setText("Make &clerk" if user.role is Role.ADMINISTRATOR else "Make ad&ministrator")
        self.disable_button.setText("&Enable" if user.disabled else "&Disable")

    # --- changing (each a core call on the runner) ----------------------------------------
    def add_user(self) -> None:
        dialog = UserDialog(self)
        dialog.submitted.connect(lambda name, role, password: self._run_dialog(
            dialog, lambda users, actor: users.add_user(actor, name, password, role), name, "add user"))
        self.dialog = dialog
        dialog.open()

    def set_password(self) -> None:
        user = self._selected()
        if user is None:
            return
        dialog = UserDialog(self, user.username)
        dialog.submitted.connect(lambda name, _role, password: self._run_dialog(
            dialog, lambda users, actor: users.set_password(actor, name, password), name, "set password"))
        self.dialog = dialog
        dialog.open()

    def _run_dialog(self, dialog: UserDialog, call, username: str, action: str) -> None:
        users, actor = self.context.users, self.context.user

        def failed(exc: BaseException, details: str) -> None:
            if isinstance(exc, ValueError | KeyError | PermissionError):
                dialog.failed(str(exc.args[0] if exc.args else exc))
            else:
                dialog.failed("That did not work; the details are in the log file.")
                self.errors.report(exc, details, action=action)

        def done(fresh: User | None) -> None:
            dialog.accept()
            self._changed(fresh)

        self.runner.submit("users.change", _then_reread(call, users, actor, username), done, failed)

    def toggle_role(self) -> None:
        user = self._selected()
        if user is None:
            return
        role = Role.CLERK if user.role is Role.ADMINISTRATOR else Role.ADMINISTRATOR
        if role is Role.CLERK and self._refuse_last_administrator(user, "made a clerk"):
            return
        text = f"Make {user.username} {'a clerk' if role is Role.CLERK else 'an administrator'}?"
        if role is Role.CLERK and self._is_me(user):
            text += "\n\nThis is your own account: you lose the administrator pages at once."
        self._ask(text, f"Make {role.label.lower()}",
                  lambda: self._run(lambda users, actor: users.set_role(actor, user.username, role), user.username,
                                    "change role"))

    def toggle_disabled(self) -> None:
        user = self._selected()
        if user is None:
            return
        if user.disabled:
            self._run(lambda users, actor: users.set_disabled(actor, user.username, False), user.username,
                      "enable user")
            return
        if self._refuse_last_administrator(user, "disabled"):
            return
        text = f"Disable {user.username}? They can no longer log in; their records stay in the audit trail."
        if self._is_me(user):
            text += "\n\nThis is your own account: you will be logged out."
        self._ask(text, "Disable", lambda: self._run(
            lambda users, actor: users.set_disabled(actor, user.username, True), user.username, "disable user"))

    def _run(self, call, username: str, action: str) -> None:
        users, actor = self.context.users, self.context.user
        self.runner.submit("users.change", _then_reread(call, users, actor, username), self._changed,
                           lambda exc, details: self.errors.report(exc, details, action=action))

    def _changed(self, fresh: User | None) -> None:
        me = self.context.user
        if fresh is not None and me is not None and fresh.username == me.username:
            self.own_account_changed.emit(fresh)  # the window applies the new role, or logs out
            if fresh.disabled:
                return  # logged out: this window is closing
        if self.context.can(Permission.MANAGE_USERS):  # not after demoting or disabling oneself
            self.refresh()

    def _refuse_last_administrator(self, user: User, becoming: str) -> bool:
        """Say at once that it cannot be done, instead of a question whose Yes is then refused."""
        if not is_last_active_administrator(self.users, user.username):
            return False
        self.errors.show(Explanation(
            "Not possible", f"{user.username} is the only active administrator and cannot be {becoming}: "
            "nobody could manage users any more.", "Make another user an administrator first."))
        return True

    def _is_me(self, user: User) -> bool:
        return self.context.user is not None and self.context.user.username == user.username

    def _ask(self, text: str, yes: str, then) -> None:
        """A confirmation that does not block (open(), not exec()): tests and background results go on."""
        box = QMessageBox(QMessageBox.Icon.Question, "Users", text, QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("usersQuestion")
        confirm = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(lambda button: then() if button is confirm else None)
        self.question = box
        box.open()


def _then_reread(call, users, actor: User | None, username: str):
    """A task: the core call, then the account as the store now has it (for a change to oneself)."""

    def work(_task: TaskHandle) -> User | None:
        call(users, actor)
        return users.get(username)

    return work
