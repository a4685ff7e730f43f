"""Signature crop -> model input. The ONE implementation: training imports it too.

Steps (after sigver's preprocessing, re-implemented): grayscale, light denoise, Otsu
threshold to find the ink, background set to white, crop to the ink (ignoring specks),
invert to ink-on-black, scale to fit the model canvas keeping the aspect ratio, centre the
ink's centre of mass on the canvas, contrast-stretch the ink, float32 in [0, 1].

The parameters travel in the ONNX metadata (``NormalizationParams.to_dict``) so the app
always normalises exactly as the model was trained.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

NORMALIZATION_VERSION = "1"


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

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> NormalizationParams:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        params = cls(**known)
        if params.version != NORMALIZATION_VERSION:
            raise ValueError(
                f"model expects normalisation version {params.version}, "
                f"this sigverify implements {NORMALIZATION_VERSION}"
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
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
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
    return _place_on_canvas(ink, params)


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
