"""The extracted signature beside the customer's references, all drawn at the same scale.

The core normalises every signature to the model's input canvas, so showing the normalised
images with one common zoom puts them on the same scale (what the model compares).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget


@dataclass(frozen=True)
class Tile:
    title: str
    pixmap: QPixmap
    caption: str = ""
    highlight: bool = False


class _TileWidget(QFrame):
    def __init__(self, tile: Tile, width: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("signatureTile")
        border = "#1565c0" if tile.highlight else "#cfd8dc"
        self.setStyleSheet(f"#signatureTile {{ border: 2px solid {border}; border-radius: 6px; background: white; }}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        title = QLabel(tile.title)
        title.setObjectName("sectionLabel")
        image = QLabel()
        image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        image.setPixmap(tile.pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation))
        image.setAccessibleName(tile.title)
        layout.addWidget(title)
        layout.addWidget(image)
        if tile.caption:
            caption = QLabel(tile.caption)
            caption.setObjectName("signatureCaption")
            layout.addWidget(caption)


class SignatureStrip(QScrollArea):
    """A grid of tiles: the questioned signature first, then each reference with its score."""

    def __init__(self, columns: int = 2, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.columns = columns
        self.tiles: list[Tile] = []
        self._laid_width = 0
        self._inner = QWidget()
        self._grid = QGridLayout(self._inner)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(8)
        self.setWidget(self._inner)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def _tile_width(self) -> int:
        return max(120, min(420, (self.viewport().width() - 8 * (self.columns + 1)) // self.columns - 16))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.tiles and abs(self._tile_width() - self._laid_width) > 8:
            self.set_tiles(self.tiles)  # keep one common scale for all tiles at the new width

    def set_tiles(self, tiles: list[Tile]) -> None:
        self.tiles = tiles
        while self._grid.count():
            item = self._grid.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.hide()  # gone from the screen now, not only once deleteLater runs
                widget.deleteLater()
        if not tiles:
            return
        # one common width: the same zoom for every tile, because all share the model canvas
        width = self._tile_width()
        self._laid_width = width
        for index, tile in enumerate(tiles):
            self._grid.addWidget(_TileWidget(tile, width), index // self.columns, index % self.columns)
        self._grid.setRowStretch(len(tiles) // self.columns + 1, 1)
