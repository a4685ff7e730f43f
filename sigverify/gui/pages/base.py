"""Shared page scaffolding: a title, a subtitle, and access to the context and error reporter."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..context import AppContext
from ..errors import ErrorReporter


class Page(QWidget):
    title = ""
    subtitle = ""

    def __init__(self, context: AppContext, errors: ErrorReporter, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.errors = errors
        self.runner = context.runner
        self.page_layout = QVBoxLayout(self)
        self.page_layout.setContentsMargins(18, 14, 18, 12)
        self.page_layout.setSpacing(10)
        heading = QLabel(self.title)
        heading.setObjectName("pageTitle")
        self.page_layout.addWidget(heading)
        if self.subtitle:
            sub = QLabel(self.subtitle)
            sub.setObjectName("pageSubtitle")
            sub.setWordWrap(True)
            self.page_layout.addWidget(sub)

    def on_shown(self) -> None:
        """Called when the page becomes the current one (refresh what may be stale)."""
