"""Log in, or, on a store with no users yet, create the first administrator.

The checks (password rules, who may be first, wrong password) are the core UserService's;
this dialog only collects the fields and shows its answer inline, so a wrong password does
not stack message boxes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ...core.security import MIN_PASSWORD_LENGTH, User, UserService


class LoginDialog(QDialog):
    def __init__(self, users: UserService, username: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.users = users
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
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(
            "Create administrator" if self.first_admin else "Log in")
        buttons.accepted.connect(self.try_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        (self.password if username else self.username).setFocus()

    def try_accept(self) -> None:
        name, password = self.username.text().strip(), self.password.text()
        if self.first_admin and password != self.confirm.text():
            self.message.setText("The two passwords differ.")
            return
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # argon2 takes a tenth of a second
        try:
            if self.first_admin:
                self.user = self.users.create_first_administrator(name, password)
            else:
                self.user = self.users.authenticate(name, password)
        except (ValueError, PermissionError) as exc:
            self.message.setText(str(exc.args[0] if exc.args else exc).capitalize())
            self.password.selectAll()
            self.password.setFocus()
            return
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.accept()
