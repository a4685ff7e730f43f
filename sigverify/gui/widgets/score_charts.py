"""The calibration charts, drawn with QPainter: the two score histograms and the DET curve.

They only draw what the core computed (``core.calibration.ScoreCurves``): no statistics here.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...core.calibration import ScoreCurves

GENUINE = QColor(46, 125, 50, 150)
FORGED = QColor(198, 40, 40, 150)
NOW = QColor(96, 125, 139)
PROPOSED = QColor(21, 101, 192)
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP, MARGIN_RIGHT = 44, 30, 22, 10
DET_FLOOR = 1e-3  # 0.1 %: rates of zero are drawn on the floor of the log axes


class _Chart(QWidget):
    def __init__(self, name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName(name)
        self.setMinimumSize(260, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.curves: ScoreCurves | None = None

    def set_curves(self, curves: ScoreCurves | None) -> None:
        self.curves = curves
        self.update()

    def plot_area(self) -> QRectF:
        return QRectF(MARGIN_LEFT, MARGIN_TOP, max(10, self.width() - MARGIN_LEFT - MARGIN_RIGHT),
                      max(10, self.height() - MARGIN_TOP - MARGIN_BOTTOM))

    def _frame(self, painter: QPainter, title: str) -> QRectF:
        area = self.plot_area()
        painter.fillRect(self.rect(), self.palette().base())
        painter.setPen(QPen(self.palette().text().color()))
        painter.drawText(QRectF(0, 2, self.width(), MARGIN_TOP - 4), Qt.AlignmentFlag.AlignCenter, title)
        painter.drawRect(area)
        return area

    def _empty(self, painter: QPainter, area: QRectF, text: str) -> None:
        painter.drawText(area, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)


class ScoreHistogram(_Chart):
    """Genuine (green) and forged (red) score counts; dashed grey today's thresholds, blue the proposed."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Score histograms", parent)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = self._frame(painter, "Scores: genuine (green), forged (red)")
        c = self.curves
        if c is None or not (sum(c.genuine_counts) or sum(c.forged_counts)):
            self._empty(painter, area, "no labelled scores yet")
            return
        low, high = c.bin_edges[0], c.bin_edges[-1]
        x_of = lambda v: area.left() + (v - low) / (high - low) * area.width()  # noqa: E731
        # each class scaled to its own peak: a bank has far fewer forgeries than genuine signatures
        for counts, color in ((c.genuine_counts, GENUINE), (c.forged_counts, FORGED)):
            peak = max(counts) or 1
            for i, n in enumerate(counts):
                if n:
                    top = area.bottom() - n / peak * area.height()
                    painter.fillRect(QRectF(QPointF(x_of(c.bin_edges[i]), top),
                                            QPointF(x_of(c.bin_edges[i + 1]), area.bottom())), color)
        for mark in c.marks:
            proposed = mark.label.endswith("proposed")
            pen = QPen(PROPOSED if proposed else NOW, 2 if proposed else 1.5)
            pen.setStyle(Qt.PenStyle.SolidLine if proposed else Qt.PenStyle.DashLine)
            painter.setPen(pen)
            x = x_of(mark.threshold)
            painter.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()))
        painter.setPen(QPen(self.palette().text().color()))
        for value, align in ((low, Qt.AlignmentFlag.AlignLeft), (high, Qt.AlignmentFlag.AlignRight)):
            painter.drawText(QRectF(area.left(), area.bottom() + 4, area.width(), MARGIN_BOTTOM - 6),
                             align, f"{value:.2f}")
        painter.drawText(QRectF(area.left(), area.bottom() + 4, area.width(), MARGIN_BOTTOM - 6),
                         Qt.AlignmentFlag.AlignHCenter, "score (each class scaled to its peak)")


class DetCurve(_Chart):
    """FRR against FAR on logarithmic axes (0.1 % to 100 %), today's and the proposed thresholds marked."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("DET curve", parent)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        area = self._frame(painter, "DET: FRR against FAR (log scales)")
        c = self.curves
        if c is None or not c.det_far:
            self._empty(painter, area, "needs genuine and forged labels")
            return
        span = -math.log10(DET_FLOOR)

        def point(far: float, frr: float) -> QPointF:
            fx = (math.log10(max(far, DET_FLOOR)) + span) / span
            fy = (math.log10(max(frr, DET_FLOOR)) + span) / span
            return QPointF(area.left() + fx * area.width(), area.bottom() - fy * area.height())

        painter.setPen(QPen(self.palette().mid().color(), 1, Qt.PenStyle.DotLine))
        for rate in (0.01, 0.1):  # grid at 1 % and 10 %
            painter.drawLine(point(rate, DET_FLOOR), point(rate, 1.0))
            painter.drawLine(point(DET_FLOOR, rate), point(1.0, rate))
        path = QPainterPath(point(c.det_far[0], c.det_frr[0]))
        for far, frr in zip(c.det_far[1:], c.det_frr[1:], strict=True):
            path.lineTo(point(far, frr))
        painter.setPen(QPen(self.palette().text().color(), 1.5))
        painter.drawPath(path)
        for mark in c.marks:
            proposed = mark.label.endswith("proposed")
            painter.setPen(QPen(PROPOSED if proposed else NOW, 2))
            painter.setBrush(PROPOSED if proposed else Qt.BrushStyle.NoBrush)
            painter.drawEllipse(point(mark.far, mark.frr), 4, 4)
        painter.setPen(QPen(self.palette().text().color()))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        bottom = QRectF(area.left(), area.bottom() + 4, area.width(), MARGIN_BOTTOM - 6)
        painter.drawText(bottom, Qt.AlignmentFlag.AlignLeft, "0.1 %")
        painter.drawText(bottom, Qt.AlignmentFlag.AlignRight, "100 %")
        painter.drawText(bottom, Qt.AlignmentFlag.AlignHCenter, "FAR (circles: open today, filled proposed)")
