"""The score on a bar with the No match / Refer / Match bands and the two thresholds marked.

Band names sit inside their band when it is wide enough (the decision banner always says it
in words as well); threshold values sit under their ticks; the score sits above its marker.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..theme import DECISION_COLOURS

_BAND_WORDS = {"no_match": "No match", "refer": "Refer", "match": "Match"}


class ScoreGauge(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("scoreGauge")
        self.setMinimumHeight(84)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.score: float | None = None
        self.accept = 0.9
        self.reject = 0.75

    def sizeHint(self) -> QSize:
        return QSize(360, 84)

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
        margin = 14
        bar = QRectF(margin, 28, self.width() - 2 * margin, 24)
        low, high = self._range()

        def x_of(value: float) -> float:
            return bar.left() + (min(max(value, low), high) - low) / (high - low) * bar.width()

        bands = (("no_match", low, self.reject), ("refer", self.reject, self.accept), ("match", self.accept, high))
        clip = QPainterPath()
        clip.addRoundedRect(bar, 6, 6)
        painter.setClipPath(clip)
        band_font = QFont(self.font())
        band_font.setBold(True)
        painter.setFont(band_font)
        metrics = QFontMetrics(band_font)
        for name, start, end in bands:
            fg, bg = DECISION_COLOURS[name]
            rect = QRectF(x_of(start), bar.top(), x_of(end) - x_of(start), bar.height())
            painter.fillRect(rect, QColor(bg))
            words = _BAND_WORDS[name]
            if metrics.horizontalAdvance(words) + 8 < rect.width():
                painter.setPen(QColor(fg))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, words)
        painter.setClipping(False)
        small = QFont(self.font())
        small.setPointSizeF(max(7.5, self.font().pointSizeF() * 0.9))
        painter.setFont(small)
        painter.setPen(QPen(self.palette().text().color()))
        for value in (self.reject, self.accept):
            x = x_of(value)
            painter.drawLine(int(x), int(bar.bottom()), int(x), int(bar.bottom() + 5))
            painter.drawText(QRectF(x - 40, bar.bottom() + 5, 80, 20), Qt.AlignmentFlag.AlignCenter, f"{value:.2f}")
        if self.score is not None:
            x = x_of(self.score)
            painter.setPen(QPen(QColor("#111111"), 2))
            painter.setBrush(QColor("#111111"))
            path = QPainterPath()
            path.moveTo(x, bar.top() + 1)
            path.lineTo(x - 6, bar.top() - 8)
            path.lineTo(x + 6, bar.top() - 8)
            path.closeSubpath()
            painter.drawPath(path)
            painter.setPen(QPen(QColor("#ffffff"), 3))
            painter.drawLine(int(x), int(bar.top() + 2), int(x), int(bar.bottom() - 2))
            painter.setPen(QPen(QColor("#111111"), 1.5))
            painter.drawLine(int(x), int(bar.top() + 2), int(x), int(bar.bottom() - 2))
            label = f"{self.score:.3f}"
            width = QFontMetrics(small).horizontalAdvance(label) + 8
            left = min(max(x - width / 2, 0), self.width() - width)
            painter.setPen(QPen(self.palette().text().color()))
            painter.drawText(QRectF(left, 0, width, bar.top() - 9), Qt.AlignmentFlag.AlignCenter, label)
        painter.end()
