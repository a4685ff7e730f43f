"""The score on a bar with the No match / Refer / Match bands and the two thresholds marked.

The bar is always 0..100 (``core.score_scale``): it does not move between checks, and the
numbers on it are the ones the text beside it uses. Band names sit inside their band when it
is wide enough (the decision banner always says it in words as well); threshold values sit
under their ticks; the score sits above its marker.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...core.score_scale import SCALE_MAX, shown_score, similarity
from ..theme import DECISION_COLOURS

_BAND_WORDS = {"no_match": "No match", "refer": "Refer", "match": "Match"}


class ScoreGauge(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("scoreGauge")
        self.setMinimumHeight(84)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.set_values(None, 0.9, 0.75)

    def sizeHint(self) -> QSize:
        return QSize(360, 84)

    def set_values(self, score: float | None, accept: float, reject: float) -> None:
        """The model's score and thresholds (cosine); shown on the fixed 0..100 scale."""
        self.score, self.accept, self.reject = score, accept, reject
        self.shown_accept, self.shown_reject = similarity(accept), similarity(reject)
        self.shown_score = None if score is None else shown_score(score, accept, reject)
        text = "no score yet" if self.shown_score is None else f"similarity {self.shown_score} of {SCALE_MAX}"
        self.setAccessibleDescription(f"{text}; match at {self.shown_accept} or above, "
                                      f"no match below {self.shown_reject}")
        self.setToolTip(self.accessibleDescription())
        self.update()

    def _range(self) -> tuple[float, float]:
        return 0.0, float(SCALE_MAX)  # fixed: the same bar for every check

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        margin = 14
        bar = QRectF(margin, 28, self.width() - 2 * margin, 24)
        low, high = self._range()

        def x_of(value: float) -> float:
            return bar.left() + (min(max(value, low), high) - low) / (high - low) * bar.width()

        accept, reject = self.shown_accept, self.shown_reject
        bands = (("no_match", low, reject), ("refer", reject, accept), ("match", accept, high))
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
        for value in (reject, accept):
            x = x_of(value)
            painter.drawLine(int(x), int(bar.bottom()), int(x), int(bar.bottom() + 5))
            painter.drawText(QRectF(x - 40, bar.bottom() + 5, 80, 20), Qt.AlignmentFlag.AlignCenter, str(value))
        metrics = QFontMetrics(small)
        half = {v: metrics.horizontalAdvance(str(v)) / 2 + 4 for v in (reject, accept)}
        taken = [(x_of(v) - half[v], x_of(v) + half[v]) for v in (reject, accept)]
        for value in (low, high):  # the ends of the fixed scale, so it reads as 0..100
            x = x_of(value)
            width = metrics.horizontalAdvance(str(int(value)))
            left, right = (x, x + width) if value == low else (x - width, x)
            if any(left < end and start < right for start, end in taken):
                continue  # a threshold's own number sits there
            align = Qt.AlignmentFlag.AlignLeft if value == low else Qt.AlignmentFlag.AlignRight
            painter.drawText(QRectF(x - (0 if value == low else 40), bar.bottom() + 5, 40, 20),
                             align | Qt.AlignmentFlag.AlignVCenter, str(int(value)))
        if self.shown_score is not None:
            x = x_of(self.shown_score)
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
            label = str(self.shown_score)
            width = QFontMetrics(small).horizontalAdvance(label) + 8
            left = min(max(x - width / 2, 0), self.width() - width)
            painter.setPen(QPen(self.palette().text().color()))
            painter.drawText(QRectF(left, 0, width, bar.top() - 9), Qt.AlignmentFlag.AlignCenter, label)
        painter.end()
