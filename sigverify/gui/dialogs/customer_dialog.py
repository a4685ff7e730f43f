"""New customer: ID, name, account and the first reference signature image(s)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core.paths import image_file_filter
from ..widgets.drop_zone import DropZone


def choose_images(parent: QWidget, title: str) -> list[str]:
    files, _ = QFileDialog.getOpenFileNames(parent, title, str(Path.home()), image_file_filter())
    return files


class CustomerDialog(QDialog):
    submitted = Signal(str, str, str, list)  # customer_id, name, account, image paths

    def __init__(self, existing_ids: set[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("customerDialog")
        self.setWindowTitle("Add a customer")
        self.setMinimumWidth(480)
        self.existing_ids = existing_ids
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.customer_id = QLineEdit()
        self.name = QLineEdit()
        self.account = QLineEdit()
        self.account.setPlaceholderText("optional: maps cheques in batch files to this customer")
        form.addRow("Customer &ID:", self.customer_id)
        form.addRow("&Name:", self.name)
        form.addRow("&Account number:", self.account)
        layout.addLayout(form)
        layout.addWidget(QLabel("Reference signatures (signature crops or whole cheques):"))
        self.files = QListWidget()
        self.files.setMaximumHeight(90)
        self.drop = DropZone("Drop signature images here")
        self.drop.setMinimumHeight(70)
        self.drop.files_dropped.connect(self.add_files)
        self.drop.activated.connect(self._choose)
        row = QHBoxLayout()
        choose = QPushButton("&Choose images…")
        choose.clicked.connect(self._choose)
        row.addWidget(choose)
        row.addStretch(1)
        layout.addWidget(self.drop)
        layout.addWidget(self.files)
        layout.addLayout(row)
        self.message = QLabel("")
        self.message.setStyleSheet("color: #b71c1c;")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Next: check the signatures")
        buttons.accepted.connect(self.try_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _choose(self) -> None:
        self.add_files(choose_images(self, "Reference signatures"))

    def add_files(self, paths: list[str]) -> None:
        for path in paths:
            self.files.addItem(path)

    def paths(self) -> list[str]:
        return [self.files.item(i).text() for i in range(self.files.count())]

    def try_accept(self) -> None:
        customer_id = self.customer_id.text().strip()
        if not customer_id:
            self.message.setText("Enter the customer ID.")
        elif customer_id in self.existing_ids:
            self.message.setText(f"Customer {customer_id} exists already: add references to it instead.")
        elif not self.paths():
            self.message.setText("Add at least one reference signature image.")
        else:
            self.submitted.emit(customer_id, self.name.text().strip(), self.account.text().strip(), self.paths())
            self.accept()
