"""Helpers shared by the GUI tests (conftest holds the fixtures)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

CUSTOMER = "C001"


def wait_idle(qtbot, window, timeout: int = 15_000) -> None:
    """Until every background task has finished and its result was delivered."""
    qtbot.waitUntil(lambda: not window.runner.is_busy(), timeout=timeout)


def drop_files(target: QWidget, paths: list[Path]) -> tuple[QDragEnterEvent, QDropEvent]:
    """A real drag-enter + drop with file URLs, as a file manager sends them."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(target.width() / 2, target.height() / 2)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    if enter.isAccepted():
        QApplication.sendEvent(target, drop)
    return enter, drop
