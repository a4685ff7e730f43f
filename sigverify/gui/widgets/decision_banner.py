"""The decision in words, with a symbol, on its colour: never colour alone."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from ..theme import DECISION_COLOURS, DECISION_SYMBOLS


class DecisionBanner(QLabel):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("decisionBanner")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumHeight(52)
        self.decision: str | None = None
        self.clear_decision("Drop a cheque and choose the customer")

    def clear_decision(self, text: str = "") -> None:
        self.decision = None
        self.setText(text)
        self.setStyleSheet("background: #eceff1; color: #37474f; font-size: 12pt; font-weight: 400;")

    def set_decision(self, value: str, label: str, detail: str = "") -> None:
        """``value`` is the core's Decision value, ``label`` its words (Decision.label)."""
        self.decision = value
        fg, bg = DECISION_COLOURS[value]
        text = f"{DECISION_SYMBOLS[value]}  {label}"
        self.setText(f"{text}  <span style='font-size:11pt; font-weight:400'>{detail}</span>" if detail else text)
        self.setStyleSheet(f"background: {bg}; color: {fg};")
        self.setAccessibleName(f"Decision: {label}. {detail}")
