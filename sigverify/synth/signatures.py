"""Synthetic handwritten signatures: many writers, natural variation, skilled imitations.

Used for test fixtures, the cheque generator and optional pre-training. A writer is a seed:
it fixes a pen trajectory (a few cursive "letters" made of loops and strokes), a slant, a
size ratio and a pen width. Each genuine signature redraws that trajectory with the small
variation of a real hand; a forgery is drawn by an imitator who gets the overall shape right
but not the fine detail (control points displaced more, different pen, slower even strokes).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def _catmull_rom(points: np.ndarray, samples_per_segment: int = 12) -> np.ndarray:
    """Smooth curve through the control points."""
    padded = np.vstack([points[0], points, points[-1]])
    t = np.linspace(0, 1, samples_per_segment, endpoint=False)[:, None]
    t2, t3 = t * t, t * t * t
    curve = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        curve.append(
            0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t3)
        )
    curve.append(points[-1:])
    return np.vstack(curve)


@dataclass(frozen=True)
class _Style:
    strokes: tuple[np.ndarray, ...]  # control points per pen-down stroke, unit height
    slant: float
    pen_width: float
    aspect: float


def _make_style(rng: np.random.Generator) -> _Style:
    strokes = []
    x = 0.0
    for _ in range(int(rng.integers(1, 4))):
        letters = int(rng.integers(2, 6))
        points = []
        for _ in range(letters):
            # a cursive letter: up-loop or down-stroke with random proportions
            height = rng.uniform(0.3, 1.0)
            width = rng.uniform(0.25, 0.6)
            kind = rng.integers(0, 3)
            if kind == 0:  # loop
                points += [(x, 0.5), (x + width * 0.5, 0.5 - height * 0.5), (x + width * 0.2, 0.5 - height),
                           (x, 0.5 - height * 0.5), (x + width, 0.5)]
            elif kind == 1:  # descender
                points += [(x, 0.5), (x + width * 0.4, 0.5 + height * 0.4), (x + width * 0.3, 0.5 + height * 0.5),
                           (x + width, 0.45)]
            else:  # arch
                points += [(x, 0.5), (x + width * 0.5, 0.5 - height * 0.6), (x + width, 0.5)]
            x += width
        if rng.random() < 0.6:  # flourish / underline
            points += [(x + 0.2, 0.6), (x * 0.5, 0.75 + rng.uniform(0, 0.15)), (0.0, 0.7)]
        strokes.append(np.array(points, dtype=np.float64))
        x += rng.uniform(0.15, 0.4)
    return _Style(
        strokes=tuple(strokes),
        slant=float(rng.uniform(-0.4, 0.5)),
        pen_width=float(rng.uniform(1.2, 3.2)),
        aspect=float(rng.uniform(0.8, 1.3)),
    )


class SyntheticWriter:
    """One synthetic person: ``genuine()`` signs, ``forgery()`` is someone imitating them."""

    def __init__(self, seed: int):
        self.seed = seed
        self.style = _make_style(np.random.default_rng(seed))

    def genuine(self, rng: np.random.Generator, height: int = 90) -> np.ndarray:
        return self._draw(rng, height, jitter=0.02, slant_jitter=0.05, pen=self.style.pen_width, tremor=0.0)

    def forgery(self, rng: np.random.Generator, height: int = 90) -> np.ndarray:
        pen = self.style.pen_width * rng.uniform(0.7, 1.4)
        return self._draw(rng, height, jitter=0.07, slant_jitter=0.15, pen=pen, tremor=0.004)

    def _draw(self, rng, height, jitter, slant_jitter, pen, tremor) -> np.ndarray:
        slant = self.style.slant + rng.normal(0, slant_jitter)
        scale = height * rng.uniform(0.92, 1.08)
        curves = []
        for stroke in self.style.strokes:
            pts = stroke + rng.normal(0, jitter, stroke.shape)
            curve = _catmull_rom(pts)
            if tremor:
                curve = curve + rng.normal(0, tremor, curve.shape)
            curve[:, 0] = (curve[:, 0] - slant * (curve[:, 1] - 0.5)) * self.style.aspect
            curves.append(curve * scale)
        allpts = np.vstack(curves)
        pad = 4 + pen * 2
        offset = allpts.min(axis=0) - pad
        size = np.ceil(allpts.max(axis=0) - offset + pad).astype(int)
        canvas = np.full((size[1], size[0]), 255, dtype=np.uint8)
        ink = int(rng.integers(10, 70))
        for curve in curves:
            poly = np.round((curve - offset) * 4).astype(np.int32)  # 2 bits of sub-pixel precision
            cv2.polylines(canvas, [poly], False, ink, max(1, round(pen)), cv2.LINE_AA, shift=2)
        return canvas


def make_signature_set(writers: int, per_writer: int, forgeries: int, seed: int = 0):
    """{writer_id: {"genuine": [img...], "forged": [img...]}} — a small generic-layout dataset in memory."""
    rng = np.random.default_rng(seed)
    data = {}
    for w in range(writers):
        writer = SyntheticWriter(seed * 100_003 + w)
        data[f"synth{w:04d}"] = {
            "genuine": [writer.genuine(rng) for _ in range(per_writer)],
            "forged": [writer.forgery(rng) for _ in range(forgeries)],
        }
    return data
