"""Add a user (name, role, password twice) or set a user's password (twice).

The rules (name pattern, password length, who may do it, the last active administrator) are
the core UserService's: the dialog collects the fields, the page runs the core call on the task
runner (argon2 takes a moment), and a refusal comes back here as an inline message, so the
administrator can correct the field without losing the rest.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ...core.security import MIN_PASSWORD_LENGTH, Role


class UserDialog(QDialog):
    """``submitted(username, role or None, password)``; the page calls ``failed`` or ``accept`` with the answer."""

    submitted = Signal(str, object, str)

    def __init__(self, parent: QWidget | None = None, username: str | None = None):
        super().__init__(parent)
        self.setObjectName("userDialog")
        self.new_user = username is None
        self.setWindowTitle("Add a user" if self.new_user else f"New password for {username}")
        self.setMinimumWidth(440)
        layout = QVBoxLayout(self)
        intro = QLabel("Clerks verify signatures and record decisions; administrators also manage customers, "
                       "thresholds, the model and users." if self.new_user else
                       f"Set a new password for {username}. Tell them in person, not by e-mail.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.username = QLineEdit(username or "")
        self.username.setObjectName("newUsername")
        self.username.setReadOnly(not self.new_user)
        self.role = QComboBox()
        for role in Role:
            self.role.addItem(role.label, role)
        self.password = QLineEdit()
        self.password.setObjectName("newPassword")
        self.confirm = QLineEdit()
        self.confirm.setObjectName("confirmPassword")
        for field in (self.password, self.confirm):
            field.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(f"at least {MIN_PASSWORD_LENGTH} characters")
        form.addRow("&User name:", self.username)
        if self.new_user:
            form.addRow("R&ole:", self.role)
        form.addRow("&Password:", self.password)
        form.addRow("&Repeat password:", self.confirm)
        layout.addLayout(form)
        self.message = QLabel("")
        self.message.setObjectName("userDialogMessage")
        self.message.setStyleSheet("color: #b71c1c;")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("&Add user" if self.new_user else "&Set password")
        self.buttons.accepted.connect(self.try_accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        (self.username if self.new_user else self.password).setFocus()

    def try_accept(self) -> None:
        if self.password.text() != self.confirm.text():
            self.message.setText("The two passwords differ.")
            self.confirm.selectAll()
            self.confirm.setFocus()
            return
        self.message.setText("Saving…")
        self.ok_button.setEnabled(False)
        role = self.role.currentData() if self.new_user else None
        self.submitted.emit(self.username.text().strip(), role, self.password.text())

    def failed(self, message: str) -> None:
        """The core refused: say why and let the administrator correct it."""
        self.ok_button.setEnabled(True)
        self.message.setText(message[:1].upper() + message[1:])
        field = self.username if self.new_user and "name" in message else self.password
        field.selectAll()
        field.setFocus()
