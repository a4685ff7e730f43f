"""Accept a model file: both hashes shown, a reason, an explicit confirmation.

Two cases need an administrator's acceptance of the exact file (its SHA-256): a file that does
not match its card (refused at load for everyone), and any file other than the bundled model,
which clerks may not run until accepted (a card proves nothing against whoever wrote it). What
happens on "Accept" is the core's ``accept_model`` (administrators only, audited, in one
transaction with the setting); this dialog shows the facts and collects the decision.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ...core.model_trust import ModelFileState
from ...core.model_trust import inspect_model_file as inspect_file
from ...core.security import audited_acceptances
from ...core.store import Store


def inspect_model_file(path: Path, store: Store | None = None) -> ModelFileState | None:
    """For the task runner (hashing a model takes a moment): the core's trust rules on this file,
    with the store's audited acceptances. None when there is no file or card to compare."""
    return inspect_file(path, audited_acceptances(store) if store is not None else None)


def grouped(digest: str | None) -> str:
    """A SHA-256 in groups of 16 hex digits: easier to compare by eye, and it wraps in a narrow window."""
    return " ".join(digest[i:i + 16] for i in range(0, len(digest), 16)) if digest else "none"


def _hash_label(digest: str | None) -> QLabel:
    label = QLabel(grouped(digest))
    label.setAccessibleDescription(digest or "none")
    label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class AcceptModelDialog(QDialog):
    def __init__(self, state: ModelFileState, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("acceptModel")
        self.setWindowTitle("Accept a model file that does not match its card" if state.mismatch
                            else "Accept a model file for everyone")
        self.setMinimumWidth(780)
        self.state = state
        layout = QVBoxLayout(self)
        why = (f"<b>{state.path.name}</b> is not the file its model card describes: it was changed, truncated "
               "or replaced since the card was written." if state.mismatch else
               f"<b>{state.path.name}</b> is not the model that came with sigverify, so clerks may not verify "
               "with it until an administrator accepts this exact file.")
        intro = QLabel(
            f"{why} Accept it only if you know where this exact file comes from (for example, you trained or "
            "re-exported the model yourself). Clerks will then verify with it, and the acceptance goes into "
            "the audit trail under your name.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        path = QLabel(str(state.path))
        path.setWordWrap(True)
        path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.file_hash = _hash_label(state.sha256)
        self.card_hash = _hash_label(state.card_sha256)
        if state.card_sha256 is None:
            self.card_hash.setText("no card beside the file")
        form.addRow("File:", path)
        form.addRow("File's SHA-256:", self.file_hash)
        form.addRow("Card expects:", self.card_hash)
        if state.card_version:
            form.addRow("Card's model version:", QLabel(str(state.card_version)))
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("e.g. re-exported from the training run of 22 November")
        form.addRow("&Reason (audit trail):", self.reason)
        layout.addLayout(form)
        self.checked = QCheckBox("I &checked where this exact file comes from")
        layout.addWidget(self.checked)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.accept_button = self.buttons.addButton("&Accept this file", QDialogButtonBox.ButtonRole.AcceptRole)
        self.accept_button.setEnabled(False)
        self.checked.toggled.connect(self.accept_button.setEnabled)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setDefault(True)
        # wrapped labels make the plain size hint too tall: size it for its actual width
        layout.activate()
        self.resize(self.minimumWidth(), layout.totalHeightForWidth(self.minimumWidth()))
