"""The cheque (or signature) with the signature box, which the clerk can move and resize.

Mouse: drag inside the box to move it, drag an edge or corner to resize, drag on the image
outside the box to draw a new one. Keyboard (when the view has focus): arrows move the box,
Shift+arrows resize it, Escape puts back the box the core found. ``box_edited`` fires once per
finished edit (mouse release, or a short pause after key presses), in image pixels.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFocusEvent,
    QFontMetrics,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene, QGraphicsView, QWidget

Box = tuple[int, int, int, int]
_HANDLE_PX = 8  # how near an edge (in screen pixels) a press grabs the edge
_MIN_SIDE = 8  # image pixels
_KEY_PAUSE_MS = 700
FOCUS_COLOUR = "#ffb300"  # the focus colour of the primary button: one look for "keyboard is here"
FOCUS_RING_PX = 4


class ChequeView(QGraphicsView):
    box_edited = Signal(tuple)  # (x1, y1, x2, y2) image pixels, exclusive end

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("chequeView")
        self.setAccessibleName("Cheque image with the signature box")
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # drops go to the drop zone around this view
        self.setAcceptDrops(False)
        self.viewport().setAcceptDrops(False)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._pixmap_item = QGraphicsPixmapItem()
        self._pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._scene.addItem(self._pixmap_item)
        self._box_item = QGraphicsRectItem()
        pen = QPen(QColor("#1565c0"), 3)
        pen.setCosmetic(True)
        self._box_item.setPen(pen)
        self._box_item.setBrush(QBrush(QColor(21, 101, 192, 40)))
        self._box_item.setZValue(1)
        self._box_item.hide()
        self._scene.addItem(self._box_item)
        self._found_box: Box | None = None
        self._drag: tuple[str, QPointF, QRectF] | None = None  # (mode, start, rect at start)
        self._key_timer = QTimer(self, singleShot=True, interval=_KEY_PAUSE_MS)
        self._key_timer.timeout.connect(self._emit_box)
        self.editable = True

    # --- content ----------------------------------------------------------------------
    def set_image(self, pixmap: QPixmap, box: Box | None) -> None:
        self._pixmap_item.setPixmap(pixmap)
        self._scene.setSceneRect(QRectF(pixmap.rect()))
        self._found_box = box
        self._set_box(box)
        self._fit()

    def set_box(self, box: Box | None) -> None:
        """Show ``box`` without emitting (the core's answer, not an edit)."""
        self._set_box(box)

    def box(self) -> Box | None:
        if not self._box_item.isVisible():
            return None
        r = self._box_item.rect().normalized()
        return (round(r.left()), round(r.top()), round(r.right()), round(r.bottom()))

    def image_size(self) -> tuple[int, int]:
        rect = self._pixmap_item.pixmap().rect()
        return rect.width(), rect.height()

    def _set_box(self, box: Box | None) -> None:
        if box is None:
            self._box_item.hide()
            return
        x1, y1, x2, y2 = box
        self._box_item.setRect(QRectF(x1, y1, x2 - x1, y2 - y1))
        self._box_item.show()

    def _fit(self) -> None:
        if not self._pixmap_item.pixmap().isNull():
            self.fitInView(self._pixmap_item, Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    # --- focus: a ring and the keys, so a keyboard user sees where they are ----------------
    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.viewport().update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.viewport().update()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self.hasFocus():
            return
        painter = QPainter(self.viewport())
        pen = QPen(QColor(FOCUS_COLOUR), FOCUS_RING_PX)
        painter.setPen(pen)
        inset = FOCUS_RING_PX / 2
        painter.drawRect(QRectF(self.viewport().rect()).adjusted(inset, inset, -inset, -inset))
        keys = "Arrows move the box · Shift+arrows resize · Esc puts it back · Enter verifies"
        metrics = QFontMetrics(self.font())
        box = QRectF(FOCUS_RING_PX, FOCUS_RING_PX, metrics.horizontalAdvance(keys) + 12, metrics.height() + 6)
        painter.fillRect(box, QColor(255, 255, 255, 225))
        painter.setPen(QColor("#263238"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, keys)
        painter.end()

    def _emit_box(self) -> None:
        box = self.box()
        if box is not None:
            self.box_edited.emit(box)

    def _clamped(self, rect: QRectF) -> QRectF:
        bounds = self._scene.sceneRect()
        rect = rect.normalized().intersected(bounds)
        if rect.width() < _MIN_SIDE:
            rect.setWidth(_MIN_SIDE)
        if rect.height() < _MIN_SIDE:
            rect.setHeight(_MIN_SIDE)
        return rect

    # --- mouse ------------------------------------------------------------------------
    def _mode_at(self, pos: QPointF) -> str:
        """'move', 'new' or the edges to drag, e.g. 'lt' for the top-left corner."""
        if not self._box_item.isVisible():
            return "new"
        tolerance = _HANDLE_PX / max(self.transform().m11(), 1e-6)
        r = self._box_item.rect()
        near_x = abs(pos.x() - r.left()) <= tolerance or abs(pos.x() - r.right()) <= tolerance
        near_y = abs(pos.y() - r.top()) <= tolerance or abs(pos.y() - r.bottom()) <= tolerance
        inside_x = r.left() - tolerance <= pos.x() <= r.right() + tolerance
        inside_y = r.top() - tolerance <= pos.y() <= r.bottom() + tolerance
        edges = ""
        if inside_y and abs(pos.x() - r.left()) <= tolerance:
            edges += "l"
        elif inside_y and abs(pos.x() - r.right()) <= tolerance:
            edges += "r"
        if inside_x and abs(pos.y() - r.top()) <= tolerance:
            edges += "t"
        elif inside_x and abs(pos.y() - r.bottom()) <= tolerance:
            edges += "b"
        if edges and (near_x or near_y):
            return edges
        return "move" if r.contains(pos) else "new"

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if not self.editable or event.button() != Qt.MouseButton.LeftButton or self._pixmap_item.pixmap().isNull():
            return super().mousePressEvent(event)
        pos = self.mapToScene(event.position().toPoint())
        mode = self._mode_at(pos)
        if mode == "new":
            self._box_item.setRect(QRectF(pos, pos))
            self._box_item.show()
            mode = "rb"
        self._drag = (mode, pos, QRectF(self._box_item.rect()))
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = self.mapToScene(event.position().toPoint())
        if self._drag is None:
            cursors = {"move": Qt.CursorShape.SizeAllCursor, "l": Qt.CursorShape.SizeHorCursor,
                       "r": Qt.CursorShape.SizeHorCursor, "t": Qt.CursorShape.SizeVerCursor,
                       "b": Qt.CursorShape.SizeVerCursor, "lt": Qt.CursorShape.SizeFDiagCursor,
                       "rb": Qt.CursorShape.SizeFDiagCursor, "rt": Qt.CursorShape.SizeBDiagCursor,
                       "lb": Qt.CursorShape.SizeBDiagCursor}
            shape = cursors.get(self._mode_at(pos), Qt.CursorShape.CrossCursor)
            self.viewport().setCursor(shape)
            return super().mouseMoveEvent(event)
        mode, start, rect = self._drag
        delta = pos - start
        new = QRectF(rect)
        if mode == "move":
            new.translate(delta)
            bounds = self._scene.sceneRect()
            new.moveLeft(min(max(new.left(), bounds.left()), bounds.right() - new.width()))
            new.moveTop(min(max(new.top(), bounds.top()), bounds.bottom() - new.height()))
        else:
            if "l" in mode:
                new.setLeft(rect.left() + delta.x())
            if "r" in mode:
                new.setRight(rect.right() + delta.x())
            if "t" in mode:
                new.setTop(rect.top() + delta.y())
            if "b" in mode:
                new.setBottom(rect.bottom() + delta.y())
        self._box_item.setRect(new.normalized())
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is None:
            return super().mouseReleaseEvent(event)
        self._drag = None
        self._box_item.setRect(self._clamped(self._box_item.rect()))
        self._emit_box()
        event.accept()

    # --- keyboard ---------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        steps = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1),
                 Qt.Key.Key_Down: (0, 1)}
        if event.key() == Qt.Key.Key_Escape and self._found_box is not None:
            self._set_box(self._found_box)
            self._key_timer.start()
            return
        if event.key() not in steps or not self._box_item.isVisible() or not self.editable:
            return super().keyPressEvent(event)
        dx, dy = steps[event.key()]
        width, height = self.image_size()
        step = max(2, round(max(width, height) / 100))  # 1% of the image per key press
        rect = QRectF(self._box_item.rect())
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            rect.setRight(rect.right() + dx * step)
            rect.setBottom(rect.bottom() + dy * step)
        else:
            rect.translate(dx * step, dy * step)
        self._box_item.setRect(self._clamped(rect))
        self._key_timer.start()  # one verification after the clerk pauses, not one per key press
        event.accept()

    def take_pending_edit(self) -> bool:
        """True (and forget the pause) when a keyboard edit has not been emitted yet."""
        pending = self._key_timer.isActive()
        self._key_timer.stop()
        return pending
