"""Signature crop -> model input. The ONE implementation: training imports it too.

Steps (after sigver's preprocessing, re-implemented): grayscale, light denoise, Otsu
threshold to find the ink, background set to white, crop to the ink (ignoring specks),
invert to ink-on-black, scale to fit the model canvas keeping the aspect ratio, centre the
ink's centre of mass on the canvas, contrast-stretch the ink, float32 in [0, 1].

Versions (``NormalizationParams.version``; the model's metadata says which one it was
trained on and the app applies that one):

- "1": the ink's intensity is kept (pen pressure, scanner gamma and paper all show through).
- "2": the same crop and placement, then the ink is binarised, thinned to a one-pixel
  skeleton and redrawn with one fixed pen (``stroke_px`` wide, lightly anti-aliased). What
  differs between scanners, resolutions, pens and paper is gone; the shape, proportions,
  slant and tremor of the writing stay.

The parameters travel in the ONNX metadata (``NormalizationParams.to_dict``) so the app
always normalises exactly as the model was trained.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from .pixel_stats import components_with_stats

NORMALIZATION_VERSION = "1"  # the default of NormalizationParams()
SUPPORTED_VERSIONS = ("1", "2")


class NoInkError(ValueError):
    """The image holds no signature ink (blank, or only specks)."""


@dataclass(frozen=True)
class NormalizationParams:
    height: int = 128
    width: int = 256
    # fraction of the canvas left empty around the ink on each side
    margin: float = 0.04
    # connected components smaller than this fraction of the ink area are dropped (dust, JPEG noise)
    min_component_fraction: float = 0.002
    # at least this many ink pixels, else "no ink found"
    min_ink_pixels: int = 30
    version: str = NORMALIZATION_VERSION
    # version 2 only: the width of the one pen every skeleton is redrawn with, canvas pixels
    stroke_px: int = 3

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> NormalizationParams:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        params = cls(**known)
        if params.version not in SUPPORTED_VERSIONS:
            raise ValueError(
                f"model expects normalisation version {params.version}, "
                f"this sigverify implements {', '.join(SUPPORTED_VERSIONS)}"
            )
        return params


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8 grayscale from gray, BGR/RGB or 16-bit input (channel order does not matter much)."""
    if image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 3:
        if image.shape[2] == 4:
            image = image[:, :, :3]
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return image


def ink_mask(gray: np.ndarray) -> tuple[np.ndarray, int]:
    """Boolean mask of ink pixels (dark on light) by Otsu on a lightly blurred image."""
    blurred = cv2.GaussianBlur(gray, (3, 3), 0)
    threshold, _ = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # a page with nothing but paper gives a meaningless Otsu split inside the paper noise
    if float(blurred.max()) - float(blurred.min()) < 40:
        return np.zeros_like(gray, dtype=bool), int(threshold)
    return blurred <= threshold, int(threshold)


def _drop_specks(mask: np.ndarray, params: NormalizationParams) -> np.ndarray:
    count, labels, stats = components_with_stats(mask)
    if count <= 1:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep_min = max(2, int(params.min_component_fraction * areas.sum()))
    keep = np.zeros(count, dtype=bool)
    keep[1:] = areas >= keep_min
    return keep[labels]


def normalize_signature(image: np.ndarray, params: NormalizationParams | None = None) -> np.ndarray:
    """Signature image (any dtype/channels) -> float32 (height, width) in [0, 1], ink bright."""
    params = params or NormalizationParams()
    gray = to_gray(image)
    mask, _ = ink_mask(gray)
    mask = _drop_specks(mask, params)
    if int(mask.sum()) < params.min_ink_pixels:
        raise NoInkError("no ink found: the image looks blank")
    ys, xs = np.nonzero(mask)
    y1, y2, x1, x2 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    # ink intensity, background exactly zero: keeps pen pressure, drops paper texture
    ink = np.where(mask, 255 - gray.astype(np.int16), 0).astype(np.float32)[y1:y2, x1:x2]
    peak = float(np.percentile(ink[ink > 0], 95))
    ink = np.clip(ink / max(peak, 1.0), 0.0, 1.0)
    if params.version == "2":
        placed = _place_on_canvas(mask[y1:y2, x1:x2].astype(np.float32), params)
        return redraw_with_one_pen(placed >= 0.3, params.stroke_px)
    return _place_on_canvas(ink, params)


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning: a boolean mask -> its one-pixel-wide skeleton (vectorised)."""
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p2, p3, p4 = img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:]
            p5, p6, p7 = img[2:, 2:], img[2:, 1:-1], img[2:, :-2]
            p8, p9 = img[1:-1, :-2], img[:-2, :-2]
            ring = (p2, p3, p4, p5, p6, p7, p8, p9, p2)
            neighbours = sum(ring[:8])
            transitions = sum(((a == 0) & (b == 1)).astype(np.uint8) for a, b in zip(ring[:-1], ring[1:],
                                                                                     strict=True))
            if step == 0:
                side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            remove = (img[1:-1, 1:-1] == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & side
            if remove.any():
                img[1:-1, 1:-1][remove] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


def redraw_with_one_pen(mask: np.ndarray, stroke_px: int) -> np.ndarray:
    """Binary ink on the canvas -> skeleton redrawn ``stroke_px`` wide, float32 in [0, 1]."""
    skeleton = thin(mask).astype(np.uint8)
    size = max(1, int(stroke_px))
    pen = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    drawn = cv2.dilate(skeleton, pen).astype(np.float32)
    # a light blur so a one-pixel shift of a stroke is a small change, not a new pixel set
    return np.clip(cv2.GaussianBlur(drawn, (3, 3), 0.6), 0.0, 1.0)


def _place_on_canvas(ink: np.ndarray, params: NormalizationParams) -> np.ndarray:
    avail_h = params.height * (1 - 2 * params.margin)
    avail_w = params.width * (1 - 2 * params.margin)
    h, w = ink.shape
    scale = min(avail_h / h, avail_w / w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(ink, (new_w, new_h), interpolation=interpolation)
    canvas = np.zeros((params.height, params.width), dtype=np.float32)
    total = float(resized.sum())
    if total > 0:
        rows, cols = np.indices(resized.shape)
        com_y, com_x = (rows * resized).sum() / total, (cols * resized).sum() / total
    else:
        com_y, com_x = new_h / 2, new_w / 2
    # centre of mass on the canvas centre, but never push ink off the canvas
    top = int(np.clip(round(params.height / 2 - com_y), 0, params.height - new_h))
    left = int(np.clip(round(params.width / 2 - com_x), 0, params.width - new_w))
    canvas[top : top + new_h, left : left + new_w] = resized
    return np.clip(canvas, 0.0, 1.0)
