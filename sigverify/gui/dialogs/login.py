"""Log in, or, on a store with no users yet, create the first administrator.

The checks (password rules, who may be first, wrong password) are the core UserService's;
this dialog only collects the fields and shows its answer inline, so a wrong password does
not stack message boxes. The check itself (argon2, a tenth of a second or more) runs on the
task runner, so the dialog keeps painting while it works.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ...core.security import MIN_PASSWORD_LENGTH, User, UserService
from ..workers import TaskHandle, TaskRunner

log = logging.getLogger("sigverify.gui")


class LoginDialog(QDialog):
    def __init__(self, users: UserService, username: str = "", parent: QWidget | None = None,
                 runner: TaskRunner | None = None):
        super().__init__(parent)
        self.users = users
        self._own_runner = runner is None
        self.runner = runner or TaskRunner(self)
        self.first_admin = users.needs_first_administrator()
        self.user: User | None = None
        self.setWindowTitle("sigverify — " + ("first start" if self.first_admin else "log in"))
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Welcome to sigverify. This database has no users yet: create the first administrator, "
            "who can then add clerks." if self.first_admin else "Log in to verify signatures.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.username = QLineEdit(username)
        self.username.setObjectName("username")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("&User name:", self.username)
        form.addRow("&Password:", self.password)
        self.confirm = QLineEdit()
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        if self.first_admin:
            self.password.setPlaceholderText(f"at least {MIN_PASSWORD_LENGTH} characters")
            form.addRow("&Repeat password:", self.confirm)
        layout.addLayout(form)
        self.message = QLabel("")
        self.message.setObjectName("loginMessage")
        self.message.setStyleSheet("color: #b71c1c;")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Create administrator" if self.first_admin else "Log in")
        buttons.accepted.connect(self.try_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        (self.password if username else self.username).setFocus()

    def try_accept(self) -> None:
        name, password = self.username.text().strip(), self.password.text()
        if self.first_admin and password != self.confirm.text():
            self.message.setText("The two passwords differ.")
            return
        if self.runner.is_busy("login"):
            return  # Enter pressed again while the first check runs
        users, first = self.users, self.first_admin

        def work(_task: TaskHandle) -> User:
            if first:
                return users.create_first_administrator(name, password)
            return users.authenticate(name, password, record_login=True)

        self.ok_button.setEnabled(False)
        self.message.setStyleSheet("color: #37474f;")
        self.message.setText("Creating the administrator…" if first else "Checking the password…")
        self.runner.submit("login", work, self._logged_in, self._refused)

    def _logged_in(self, user: User) -> None:
        self.user = user
        self.accept()

    def _refused(self, exc: BaseException, details: str) -> None:
        self.ok_button.setEnabled(True)
        self.message.setStyleSheet("color: #b71c1c;")
        if isinstance(exc, ValueError | PermissionError):
            text = str(exc.args[0] if exc.args else exc)
            self.message.setText(text[:1].upper() + text[1:])
        else:  # a database problem, say: in words here, the details in the log file
            log.error("login: %s: %s\n%s", type(exc).__name__, exc, details)
            self.message.setText(f"sigverify could not check the password: {exc}")
        self.password.selectAll()
        self.password.setFocus()

    def done(self, result: int) -> None:
        self.runner.invalidate("login")  # a check still running after Cancel is ignored
        if self._own_runner:
            self.runner.shutdown()  # no thread outlives the dialog
        super().done(result)
