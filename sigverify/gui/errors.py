"""Errors in words a clerk understands; the technical details go to the log file, never a traceback.

``explain`` maps the core's exceptions to a title and a sentence; ``ErrorReporter`` logs the
details and shows a non-blocking message box (``open()``, not ``exec()``), so a background
result can still arrive and the tests can read the box without a nested event loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from ..core.imaging import ImageLoadError
from ..core.model_trust import ModelError, ModelMismatchError
from ..core.normalize import NoInkError
from ..core.pipeline import NoSignatureError
from ..core.security import ModelNotAllowed, PermissionDenied
from ..core.store import StoreError, StoreUnreachableError, UnknownCustomerError
from .context import log_file

log = logging.getLogger("sigverify.gui")


@dataclass(frozen=True)
class Explanation:
    title: str
    text: str
    hint: str = ""


def looks_blank(exc: BaseException) -> bool:
    """No ink at all (a blank page), as opposed to ink where no signature was found."""
    chain = [exc, exc.__cause__]
    return any(isinstance(e, NoInkError) for e in chain) or "looks blank" in str(exc)


def explain(exc: BaseException) -> Explanation:
    """A title, a plain sentence and what to do next, for any exception the core raises."""
    message = str(exc)
    if isinstance(exc, UnknownCustomerError):
        return Explanation("Unknown customer", f"There is no customer “{exc.args[0]}” in the reference store.",
                           "Check the customer ID, or ask an administrator to register the customer.")
    if isinstance(exc, ImageLoadError):
        return Explanation("File cannot be read", message,
                           "Scan the cheque again, or choose a PNG, JPEG or TIFF file.")
    if isinstance(exc, NoSignatureError | NoInkError):
        if looks_blank(exc):
            return Explanation("No signature found", message,
                               "The image looks blank: check that the signed side was scanned, and scan it again.")
        return Explanation("No signature found", message,
                           "On a cheque, drag on the image to draw a box around the signature; or use a clearer scan.")
    if isinstance(exc, ModelMismatchError):
        return Explanation("Model not available", message,
                           "An administrator can accept this exact file in Settings, or choose the bundled model.")
    if isinstance(exc, ModelNotAllowed):
        return Explanation("Not allowed", message,
                           "Ask an administrator to accept this model file in Settings, or use the bundled model.")
    if isinstance(exc, ModelError):
        return Explanation("Model not available", message,
                           "Choose the model file in Settings, or ask IT to reinstall sigverify.")
    if isinstance(exc, StoreUnreachableError):
        return Explanation("Database server unreachable", message,
                           "Nothing was saved. Check the network connection, then try again; "
                           "if it persists, tell IT.")
    if isinstance(exc, StoreError):
        return Explanation("Database problem", message, "Try again; if it persists, tell IT.")
    if isinstance(exc, PermissionDenied | PermissionError):
        return Explanation("Not allowed", message or "Your role does not allow this.",
                           "Ask an administrator.")
    if isinstance(exc, ValueError | KeyError):
        return Explanation("Cannot do that", exc.args[0] if exc.args else message)
    return Explanation("Something went wrong", "sigverify hit an unexpected problem.",
                       f"The details are in the log file: {log_file()}")


class ErrorReporter(QObject):
    """Shows errors as message boxes; ``last`` and ``reported`` let tests assert on them."""

    reported = Signal(object)  # Explanation

    def __init__(self, parent_widget: QWidget | None = None):
        super().__init__(parent_widget)
        self.parent_widget = parent_widget
        self.last: Explanation | None = None
        self.dialog: QMessageBox | None = None

    def report(self, exc: BaseException, details: str = "", action: str = "") -> Explanation:
        explanation = explain(exc)
        log.error("%s%s: %s\n%s", f"{action}: " if action else "", type(exc).__name__, exc, details or "")
        self.show(explanation)
        return explanation

    def show(self, explanation: Explanation, icon: QMessageBox.Icon = QMessageBox.Icon.Warning) -> None:
        self.last = explanation
        if self.dialog is not None:
            self.dialog.close()
        box = QMessageBox(icon, explanation.title, explanation.text, QMessageBox.StandardButton.Ok,
                          self.parent_widget)
        box.setObjectName("errorDialog")
        if explanation.hint:
            box.setInformativeText(explanation.hint)
        self.dialog = box
        box.open()  # window-modal but non-blocking
        self.reported.emit(explanation)
