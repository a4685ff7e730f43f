"""The learned signature finder: a small segmentation network marks signature ink on a cheque.

The network (trained and exported by ``training.finder``) sees the whole cheque at a fixed low
resolution and scores each cell for "signature ink", against printed text, rules, stamps, logos,
security patterns and the other handwritten fields. This module is the ONE implementation of its
input (``finder_input``: training imports it) and of reading its answer: the signature's cells
give the box, full-resolution ink inside them gives the clean crop, and a cheque is called
unsigned only when no cell is confidently signature.

The model file carries its metadata (``FinderMetadata``, kind "finder") and is checked against its
card like the verifier's; a missing or damaged file raises ``ModelError`` and the caller falls
back to the rule-based finder.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from .model_trust import FINDER, ModelError, read_metadata
from .paths import bundled_model_path
from .pixel_stats import components_with_stats

FINDER_MODEL_FILE = "finder.onnx"
INPUT_VERSION = "1"
GROUP_KERNEL = (3, 1)   # cells (wide, high) that join one signature's words (chosen on generated validation cheques)
SPECK_AREA = 0.001      # ink pieces under this share of the box height squared are dropped


@dataclass(frozen=True)
class FinderMetadata:
    """What the finder's ONNX file says about itself (``metadata_props['sigverify']``)."""

    version: str
    kind: str = FINDER
    input_width: int = 384          # the cheque is letterboxed into this canvas
    input_height: int = 192
    output_stride: int = 2          # input pixels per output cell
    input_version: str = INPUT_VERSION
    cell_threshold: float = 0.5     # a cell is signature ink above this probability
    signed_threshold: float = 0.5   # no cell above this probability: unsigned
    # signed if the chosen cells' summed probability (the signature's "mass", in cells) reaches this
    # (set on validation cheques: about 1 % of signed ones fall below it)
    signed_mass: float = 50.0
    # stricter: where the rules found nothing, the network overrules them only from this mass on
    # (set so that few unsigned validation cheques reach it)
    override_mass: float = 100.0
    training_data: str = ""
    metrics: dict | None = None
    created: str = ""
    input_name: str = "cheque"
    output_name: str = "signature_logit"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict, model_name: str = "the finder model") -> FinderMetadata:
        if data.get("kind") != FINDER:
            raise ModelError(f"{model_name} is not a signature-finder model (kind {data.get('kind')!r})")
        if data.get("input_version") != INPUT_VERSION:
            raise ModelError(f"{model_name} expects input version {data.get('input_version')!r}, "
                             f"this sigverify implements {INPUT_VERSION}")
        try:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except TypeError as exc:
            raise ModelError(f"{model_name}: bad finder metadata: {exc}") from exc


@dataclass(frozen=True)
class FinderGeometry:
    """Where the cheque went on the network's canvas: original px = (canvas px - offset) / scale."""

    scale: float
    offset_x: int
    offset_y: int
    width: int       # original image size
    height: int


def default_finder_path() -> Path:
    return bundled_model_path(FINDER_MODEL_FILE)


def darkness(gray: np.ndarray, window_divisor: float = 25.0, min_window: int = 5) -> np.ndarray:
    """0 for paper, up to 255 for ink, independent of illumination and paper tint: each pixel against
    the paper around it (a max filter about ``1/window_divisor`` of the short side wide)."""
    h, w = gray.shape
    k = max(min_window, int(round(min(h, w) / window_divisor)) | 1)
    background = cv2.dilate(gray, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    background = cv2.blur(background, (k, k)).astype(np.float32)
    # 255 * (1 - gray / max(background, 1)), clipped, worked in place: the same float32 steps without a
    # fresh page-sized array for each (two thirds of the time, for the finder and the rules alike)
    np.maximum(background, 1.0, out=background)
    dark = np.divide(gray, background, dtype=np.float32)
    np.subtract(1.0, dark, out=dark)
    np.multiply(dark, 255.0, out=dark)
    np.clip(dark, 0, 255, out=dark)
    return dark.astype(np.uint8)


def finder_input(gray: np.ndarray, width: int = 384, height: int = 192) -> tuple[np.ndarray, FinderGeometry]:
    """uint8 gray cheque -> (1, 1, height, width) float32 darkness canvas, and how it maps back.

    Shrinks keeping each stroke's darkest value (a min filter before the area resize) so thin pen
    strokes stay as dark as printed ink, flattens paper and light, letterboxes with paper."""
    h, w = gray.shape
    scale = min(width / w, height / h)
    k = int(np.floor(1.0 / scale))
    src = cv2.erode(gray, np.ones((k, k), np.uint8)) if k >= 2 else gray
    nw, nh = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    small = cv2.resize(src, (nw, nh), interpolation=cv2.INTER_AREA)
    dark = darkness(small)
    canvas = np.zeros((height, width), np.float32)
    ox, oy = (width - nw) // 2, (height - nh) // 2
    canvas[oy:oy + nh, ox:ox + nw] = dark.astype(np.float32) / 255.0
    return canvas[None, None], FinderGeometry(scale, ox, oy, w, h)


@dataclass(frozen=True)
class FinderAnswer:
    """The network's reading of one cheque, in original pixels."""

    signed: bool
    box: tuple[int, int, int, int] | None
    confidence: float                    # 0..1: peak signature probability of the chosen group
    mask: np.ndarray | None              # bool, signature ink in original pixels (inside the box)


def _cells_to_box(ys, xs, geo: FinderGeometry, stride: int) -> tuple[int, int, int, int]:
    x1 = (xs.min() * stride - geo.offset_x) / geo.scale
    x2 = ((xs.max() + 1) * stride - geo.offset_x) / geo.scale
    y1 = (ys.min() * stride - geo.offset_y) / geo.scale
    y2 = ((ys.max() + 1) * stride - geo.offset_y) / geo.scale
    return (int(max(0, np.floor(x1))), int(max(0, np.floor(y1))),
            int(min(geo.width, np.ceil(x2))), int(min(geo.height, np.ceil(y2))))


def signature_cells(prob: np.ndarray, meta: FinderMetadata) -> tuple[np.ndarray, float, float]:
    """Bool cells of the signature: the strongest group of likely cells and its same-row neighbours
    (a second word, a co-signatory). Returns (cells, peak probability, mass)."""
    peak = float(prob.max())
    # a faint but signed cheque (peak between the signed and the cell threshold) still gets cells
    hot = (prob > min(meta.cell_threshold, 0.6 * peak)).astype(np.uint8)
    if peak < meta.signed_threshold:
        return np.zeros_like(hot, dtype=bool), peak, 0.0
    # words of one signature are a few cells apart: group them before choosing
    grouped = cv2.dilate(hot, cv2.getStructuringElement(cv2.MORPH_RECT, GROUP_KERNEL))
    count, labels, stats = components_with_stats(grouped)
    mass = np.array([float(prob[(labels == i) & (hot > 0)].sum()) for i in range(count)])
    mass[0] = 0.0
    best = int(np.argmax(mass))
    keep = np.zeros(count, dtype=bool)
    by1, by2 = stats[best, 1], stats[best, 1] + stats[best, 3]
    for i in range(1, count):
        overlap = min(by2, stats[i, 1] + stats[i, 3]) - max(by1, stats[i, 1])
        if i == best or (mass[i] >= 0.35 * mass[best] and overlap > 0.3 * stats[i, 3]):
            keep[i] = True
    cells = keep[labels] & (hot > 0)
    return cells, float(prob[labels == best].max()), float(prob[cells].sum())


def _without_printed_rules(ink: np.ndarray) -> np.ndarray:
    """Drop straight horizontal and vertical runs (the signature line, box edges) from the ink: they are
    printed, and the truth of "the signature" never includes them. A hand-drawn underline wobbles
    across rows, so little of it is a run this long."""
    h, w = ink.shape
    u8 = ink.astype(np.uint8)
    horizontal = cv2.morphologyEx(u8, cv2.MORPH_OPEN, np.ones((1, max(15, w // 4)), np.uint8))
    vertical = cv2.morphologyEx(u8, cv2.MORPH_OPEN, np.ones((max(15, h // 2), 1), np.uint8))
    return ink & ~((horizontal | vertical) > 0)


def _without_specks(ink: np.ndarray, min_area: float) -> np.ndarray:
    """Drop isolated dots (halftone security patterns, scanner dust) that would stretch the box."""
    count, labels, stats = components_with_stats(ink)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return keep[labels]


def read_answer(prob: np.ndarray, gray: np.ndarray, geo: FinderGeometry, meta: FinderMetadata,
                ink_threshold: float = 40.0, min_mass: float | None = None) -> FinderAnswer:
    """Network output (H', W') signature probabilities -> box, ink mask and confidence in original pixels."""
    cells, peak, mass = signature_cells(prob, meta)
    if mass < (meta.signed_mass if min_mass is None else min_mass) or not cells.any():
        return FinderAnswer(False, None, round(1.0 - peak, 3), None)
    ys, xs = np.nonzero(cells)
    stride = meta.output_stride
    x1, y1, x2, y2 = _cells_to_box(ys, xs, geo, stride)
    pad = int(np.ceil(stride / geo.scale))
    x1, y1 = max(0, x1 - pad), max(0, y1 - pad)
    x2, y2 = min(geo.width, x2 + pad), min(geo.height, y2 + pad)
    region = gray[y1:y2, x1:x2]
    # full-resolution ink inside the signature's cells only (no slack: a cell's worth took in the
    # printed line under the signature; chosen on generated validation cheques)
    cell_mask = cells.astype(np.uint8)
    canvas = np.zeros((meta.input_height, meta.input_width), np.uint8)
    canvas[: cell_mask.shape[0] * stride, : cell_mask.shape[1] * stride] = cv2.resize(
        cell_mask, (cell_mask.shape[1] * stride, cell_mask.shape[0] * stride), interpolation=cv2.INTER_NEAREST)
    m = np.float32([[1 / geo.scale, 0, -geo.offset_x / geo.scale - x1],
                    [0, 1 / geo.scale, -geo.offset_y / geo.scale - y1]])
    near = cv2.warpAffine(canvas, m, (x2 - x1, y2 - y1), flags=cv2.INTER_NEAREST) > 0
    ink = (darkness(region) > ink_threshold) & near
    ink = _without_specks(_without_printed_rules(ink), SPECK_AREA * max(ink.shape[0], 1) ** 2)
    if int(ink.sum()) < 10:
        return FinderAnswer(False, None, round(1.0 - peak, 3), None)
    iy, ix = np.nonzero(ink)
    box = (x1 + int(ix.min()), y1 + int(iy.min()), x1 + int(ix.max()) + 1, y1 + int(iy.max()) + 1)
    mask = np.zeros(gray.shape, dtype=bool)
    mask[y1:y2, x1:x2] = ink
    return FinderAnswer(True, box, round(peak, 3), mask)


class LearnedFinder:
    """The finder network, loaded once under the same trust rules as the verifier, run on the CPU
    (one thread: a cheque is small work, and batch runs many finders side by side)."""

    def __init__(self, model_path: str | Path | None = None, threads: int = 1,
                 accepted_sha256: tuple[str, ...] = ()):
        from .engine import OnnxModel

        self.model = OnnxModel(model_path or default_finder_path(), FINDER, "cpu", threads, accepted_sha256)
        self.path, self.session = self.model.path, self.model.session
        self.metadata = FinderMetadata.from_dict(read_metadata(self.model.props, self.path.name, FINDER),
                                                 self.path.name)
        inputs = {i.name for i in self.session.get_inputs()}
        if self.metadata.input_name not in inputs:
            raise ModelError(f"{self.path.name}: metadata names input {self.metadata.input_name!r}, "
                             f"model has {inputs}")

    def probabilities(self, gray: np.ndarray) -> tuple[np.ndarray, FinderGeometry]:
        """Signature probability per output cell, and where the cheque sits on the canvas."""
        meta = self.metadata
        x, geo = finder_input(gray, meta.input_width, meta.input_height)
        logits = self.session.run([meta.output_name], {meta.input_name: x})[0][0, 0]
        return 1.0 / (1.0 + np.exp(-logits.astype(np.float32))), geo

    def find(self, gray: np.ndarray, overrule: bool = False) -> FinderAnswer:
        """``overrule``: the rules found nothing; call it signed only above the stricter threshold."""
        prob, geo = self.probabilities(gray)
        return self.answer(prob, gray, geo, overrule)

    def answer(self, prob: np.ndarray, gray: np.ndarray, geo: FinderGeometry, overrule: bool = False) -> FinderAnswer:
        meta = self.metadata
        return read_answer(prob, gray, geo, meta,
                           min_mass=max(meta.override_mass, meta.signed_mass) if overrule else None)
