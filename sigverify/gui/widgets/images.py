"""numpy / PNG bytes -> QImage / QPixmap, copying so Qt never points into freed numpy memory."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage, QPixmap


def qimage_from_array(array: np.ndarray) -> QImage:
    """uint8 gray (H, W), uint8 RGB (H, W, 3) or float gray in 0..1 -> an owned QImage."""
    if array.dtype != np.uint8:
        array = np.clip(np.round(np.asarray(array, np.float32) * 255), 0, 255).astype(np.uint8)
    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    if array.ndim == 2:
        image = QImage(array.data, width, height, array.strides[0], QImage.Format.Format_Grayscale8)
    elif array.ndim == 3 and array.shape[2] == 3:
        image = QImage(array.data, width, height, array.strides[0], QImage.Format.Format_RGB888)
    else:
        raise ValueError(f"cannot show an array of shape {array.shape}")
    return image.copy()


def pixmap_from_array(array: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(qimage_from_array(array))


def pixmap_from_bytes(data: bytes) -> QPixmap:
    pixmap = QPixmap()
    pixmap.loadFromData(data)
    return pixmap


def ink_on_paper(normalized: np.ndarray) -> QPixmap:
    """The model's canvas (ink bright on black) as a person reads a signature: dark ink on white."""
    return pixmap_from_array(1.0 - np.asarray(normalized, np.float32))


def ink_on_paper_png(data: bytes) -> QPixmap:
    """A stored normalised PNG (ink bright) shown as dark ink on white."""
    image = QImage.fromData(data).convertToFormat(QImage.Format.Format_Grayscale8)
    image.invertPixels()
    return QPixmap.fromImage(image)


def fit_thumbnail(pixmap: QPixmap, width: int, height: int) -> QPixmap:
    """The whole signature within width x height, strokes kept dark: a plain smooth downscale
    of a thin pen line to a table cell's size leaves a faint grey smudge."""
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    gray = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    gray = gray[:, :image.width()].copy()
    scale = min(width / gray.shape[1], height / gray.shape[0], 1.0)
    if scale < 0.75:  # thicken the ink by about what the shrink takes away
        side = max(1, round(1 / scale) - 1)
        gray = cv2.erode(gray, np.ones((side, side), np.uint8))
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    ink, paper = float(np.percentile(small, 1)), float(np.percentile(small, 90))
    if paper - ink > 10:  # stretch: the darkest stroke black, the paper white
        small = np.clip((small.astype(np.float32) - ink) * (255.0 / (paper - ink)), 0, 255).astype(np.uint8)
    return pixmap_from_array(small)
