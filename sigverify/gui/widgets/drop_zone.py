"""A frame that takes files dragged from the desktop or file manager, or image data, and says so."""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QImage
from PySide6.QtWidgets import QFrame, QLabel, QStackedLayout, QVBoxLayout, QWidget


def local_paths(mime: QMimeData) -> list[str]:
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]


def image_png_bytes(mime: QMimeData) -> bytes | None:
    """Image data (a screenshot, a copy from an image viewer) as PNG bytes the core can decode."""
    if not mime.hasImage():
        return None
    image = mime.imageData()
    if not isinstance(image, QImage) or image.isNull():
        return None
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


class DropZone(QFrame):
    """Shows a hint until ``set_content`` puts a widget in; drops work over either."""

    files_dropped = Signal(list)  # list[str] of local paths
    image_dropped = Signal(bytes)  # PNG bytes of dropped image data
    activated = Signal()  # clicked / Enter on the empty zone: open a file dialog

    def __init__(self, hint: str, accept_folders: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("dropZone")
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.accept_folders = accept_folders
        self.setProperty("dragging", False)
        self.hint = QLabel(hint)
        self.hint.setObjectName("dropHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self._stack = QStackedLayout()
        self._stack.addWidget(self.hint)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.addLayout(self._stack)
        self.setAccessibleName("Drop zone")

    def set_content(self, widget: QWidget) -> None:
        if self._stack.indexOf(widget) < 0:
            self._stack.addWidget(widget)
        self._stack.setCurrentWidget(widget)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes straight to the content

    def show_hint(self, text: str | None = None) -> None:
        if text:
            self.hint.setText(text)
        self._stack.setCurrentWidget(self.hint)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def _acceptable(self, mime: QMimeData) -> bool:
        return bool(local_paths(mime)) or mime.hasImage()

    def _set_dragging(self, on: bool) -> None:
        self.setProperty("dragging", on)
        self.style().unpolish(self)
        self.style().polish(self)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._acceptable(event.mimeData()):
            event.acceptProposedAction()
            self._set_dragging(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._acceptable(event.mimeData()):
            event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:
        self._set_dragging(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_dragging(False)
        mime = event.mimeData()
        paths = local_paths(mime)
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)
            return
        data = image_png_bytes(mime)
        if data:
            event.acceptProposedAction()
            self.image_dropped.emit(data)
            return
        event.ignore()

    def mouseReleaseEvent(self, event) -> None:
        if self._stack.currentWidget() is self.hint and event.button() == Qt.MouseButton.LeftButton:
            self.activated.emit()
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Space,) and self._stack.currentWidget() is self.hint:
            self.activated.emit()
            return
        super().keyPressEvent(event)
