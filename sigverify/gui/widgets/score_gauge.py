"""The score on a bar with the No match / Refer / Match bands and the two thresholds marked."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..theme import DECISION_COLOURS


class ScoreGauge(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("scoreGauge")
        self.setMinimumHeight(74)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.score: float | None = None
        self.accept = 0.9
        self.reject = 0.75

    def sizeHint(self) -> QSize:
        return QSize(360, 74)

    def set_values(self, score: float | None, accept: float, reject: float) -> None:
        self.score, self.accept, self.reject = score, accept, reject
        text = "no score yet" if score is None else f"score {score:.3f}"
        self.setAccessibleDescription(f"{text}; match at {accept:.3f} or above, no match below {reject:.3f}")
        self.setToolTip(self.accessibleDescription())
        self.update()

    def _range(self) -> tuple[float, float]:
        # cosine scores live in -1..1, but the interesting part is around the thresholds
        low = min(0.0, self.reject - 0.15, self.score if self.score is not None else 0.0)
        return max(-1.0, low), 1.0

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        margin = 12
        bar = QRectF(margin, 26, self.width() - 2 * margin, 16)
        low, high = self._range()

        def x_of(value: float) -> float:
            return bar.left() + (min(max(value, low), high) - low) / (high - low) * bar.width()

        bands = ((low, self.reject, "no_match"), (self.reject, self.accept, "refer"), (self.accept, high, "match"))
        clip = QPainterPath()
        clip.addRoundedRect(bar, 5, 5)
        painter.setClipPath(clip)
        for start, end, name in bands:
            colour = QColor(DECISION_COLOURS[name][1])
            painter.fillRect(QRectF(x_of(start), bar.top(), x_of(end) - x_of(start), bar.height()), colour)
        painter.setClipping(False)
        small = QFont(self.font())
        small.setPointSizeF(max(7.5, self.font().pointSizeF() * 0.85))
        painter.setFont(small)
        painter.setPen(QPen(self.palette().text().color()))
        for value in (self.reject, self.accept):
            x = x_of(value)
            painter.drawLine(int(x), int(bar.bottom()), int(x), int(bar.bottom() + 5))
            painter.drawText(QRectF(x - 40, bar.bottom() + 5, 80, 18), Qt.AlignmentFlag.AlignCenter, f"{value:.2f}")
        painter.drawText(QRectF(bar.left(), 2, bar.width() / 3, 20), Qt.AlignmentFlag.AlignLeft, "No match")
        painter.drawText(QRectF(bar.left() + bar.width() / 3, 2, bar.width() / 3, 20), Qt.AlignmentFlag.AlignCenter,
                         "Refer")
        painter.drawText(QRectF(bar.right() - bar.width() / 3, 2, bar.width() / 3, 20), Qt.AlignmentFlag.AlignRight,
                         "Match")
        if self.score is not None:
            x = x_of(self.score)
            painter.setPen(QPen(QColor("#111111"), 2))
            painter.setBrush(QColor("#ffffff"))
            path = QPainterPath()
            path.moveTo(x, bar.top() - 2)
            path.lineTo(x - 7, bar.top() - 11)
            path.lineTo(x + 7, bar.top() - 11)
            path.closeSubpath()
            painter.drawPath(path)
            painter.drawLine(int(x), int(bar.top()), int(x), int(bar.bottom()))
        painter.end()
