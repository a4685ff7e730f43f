"""Find the signature on a whole cheque (any layout) and cut it out cleanly.

Layout-agnostic pipeline on a working copy of at most ``_WORK_LONG_SIDE`` pixels; every size is
measured against the page's own printed-text height, so no bank's coordinates are involved:

1. Shrink keeping each stroke's darkest value, flatten the background (paper, shadow, tint)
   by dividing by a max-filtered copy, and threshold with hysteresis set just above the
   security pattern's level: faint pen strokes survive, light patterns never seed anything.
2. Deskew by projection profile (text rows and printed rules peak when horizontal).
3. Crop or cheque: a cheque has many small glyphs, several set in typeset rows, or at least
   three long printed rules; a signature crop has neither and passes through untouched.
4. Remove long straight rules (dotted and micro-printed ones too) except where pen strokes
   cross them, and remove glyphs sitting in typeset rows (printed names, MICR digits).
5. Group ink into clusters (dilation scaled by the text height) and score each for
   "signature": tall and connected relative to print, few pieces per width, strokes not
   aligned with the axes (fonts are), not a frame, logo, bar or box corner, not inside a
   field of pattern fragments, plus a soft lower-right prior. The best cluster grows by the
   signature's other words, its dots and same-pen fragments; too low a best score means the
   cheque is unsigned.
6. Map the chosen ink back to original pixels for the box; cut the crop from the deskewed
   full-resolution image, erase printed rules through the signature and small print above or
   below it, and white out everything else.

Deterministic (no randomness); about 40 ms of CPU for a 200 dpi cheque on one core.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from sigverify.core.finder import darkness
from sigverify.core.normalize import ink_mask, to_gray
from sigverify.core.pixel_stats import components_with_stats, percentile_u8

# px; 1100 until 2026-12-03. Chosen on generated validation cheques of the training families
# (bench_extraction.py --validation; never the held-out families): on 300 (seed 0) the app's fused
# finder gave hit 1.000 at 1100, 1000 and 900, unsigned detected 0.963 / 0.926 / 0.963 (2 of 52 cheques
# apart); on 400 more (seed 1) 1100 and 1000 tied (hit 0.983, unsigned 0.947, IoU >= 0.5 0.939 vs
# 0.933). 1000 costs about a fifth less CPU than 1100; 900 broke the thin rules of 200 dpi bitonal X9
# fronts (tests/test_extraction_real.py), 800 lost unsigned detection (0.889).
_WORK_LONG_SIDE = 1000
_FOUND_THRESHOLD = 0.0      # cluster score (log-odds-like) above which a cheque counts as signed
_GROW_MIN_SCORE = _FOUND_THRESHOLD - 6.0   # _grow never adds a cluster scoring below this
_RUNNER_UP_CLAMP = -10.0                   # the confidence reads the runner-up's score down to this
# the lowest cluster score any decision reads: below it a score is kept as a bound (``_score``)
_SCORE_FLOOR = min(_GROW_MIN_SCORE, _RUNNER_UP_CLAMP)
# A cheque is 6-8 inches wide: below about 70 dpi (400 px) nothing on it could be verified, so an image
# that small is a signature crop, whatever its strokes look like (CEDAR's print-like hands did).
_MIN_CHEQUE_SIDE = 400
_MIN_RULED_CHEQUE_WIDTH = 500
_SKEW_STRIP = 4             # px of the 500-px skew image: coarser strips blur the profile at 6 degrees


@dataclass(frozen=True)
class Extraction:
    found: bool                      # False: unsigned cheque / nothing signature-like
    is_cheque: bool                  # False: the input already was a signature crop
    box: tuple[int, int, int, int] | None   # (x1, y1, x2, y2) in ORIGINAL image pixels, exclusive end
    confidence: float                # 0..1: of the signature found (or, learned finder, of "unsigned")
    crop: np.ndarray | None          # uint8 gray crop, cleaned (printed line/text/background removed -> white)
    reason: str = ""                 # human-readable when found is False
    skew_deg: float = 0.0            # deskew applied before cutting the crop (cheques only)


@dataclass
class _Page:
    """The working copy of one image and what was learnt about it."""

    gray: np.ndarray        # original uint8 gray
    scale: float            # working px per original px
    dark: np.ndarray        # working darkness, 0 paper .. 255 ink, deskewed
    ink: np.ndarray         # bool ink mask (working, deskewed)
    angle: float            # degrees, deskew rotation applied
    thr_low: float          # hysteresis thresholds on darkness
    thr_high: float
    clusters: list = field(default_factory=list)   # scored candidates, best first (for debugging)
    stats: np.ndarray | None = None                # component stats of the cleaned ink
    text_h: float = 10.0                           # median glyph height: the page's unit of size
    lines: np.ndarray | None = None                # printed-line pixels removed (working, deskewed)


@dataclass
class _Cluster:
    labels: list[int]       # component ids
    x1: int
    y1: int
    x2: int
    y2: int
    area: int
    score: float = 0.0


# ---------------------------------------------------------------- ink and background

def _darkness(gray: np.ndarray) -> np.ndarray:
    """0 for paper, up to 255 for ink, independent of illumination and paper tint."""
    return darkness(gray, window_divisor=40.0, min_window=9)


def _thresholds(dark: np.ndarray) -> tuple[float, float]:
    """Hysteresis thresholds (weak, strong) on darkness, set just above the paper's own texture.

    A security pattern covers far more paper than ink does, so its level sits near the 90th
    percentile of darkness; the weak threshold must stay above it or the pattern glues printed
    glyphs together, and the strong one well above it so that the pattern seeds nothing. Faint
    pens (light blue ballpoint, thin strokes after downscaling) are only some 80-120 dark."""
    pattern = percentile_u8(dark, 90)
    low = float(np.clip(pattern + 15.0, 35.0, 100.0))
    high = float(np.clip(max(low + 22.0, 60.0), 60.0, 150.0))
    return low, high


def _hysteresis(dark: np.ndarray, low: float, high: float) -> np.ndarray:
    """Pixels darker than ``low`` that are connected to a pixel darker than ``high``."""
    weak = dark > low
    # Grana's labelling, a bool view instead of a uint8 copy, seeds marked without np.unique and
    # np.take for the gather: the same mask in about two thirds of the time (a whole page, twice)
    count, labels = cv2.connectedComponentsWithAlgorithm(weak.view(np.uint8), 8, cv2.CV_32S, cv2.CCL_GRANA)
    if count <= 1:
        return weak
    keep = np.zeros(count, dtype=bool)
    keep[labels[dark > high]] = True
    keep[0] = False
    return np.take(keep, labels)


# ---------------------------------------------------------------- crop vs cheque

def _glyphs(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Component stats and which components are glyph-sized (small relative to the image height)."""
    h = ink.shape[0]
    _, _, stats = components_with_stats(ink)
    heights, widths = stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_WIDTH]
    glyph = (heights >= 4) & (heights <= 0.09 * h) & (widths <= 0.09 * h) & (stats[:, cv2.CC_STAT_AREA] >= 8)
    glyph[0] = False
    return stats, glyph


def _clearly_a_crop(glyphs: tuple[np.ndarray, np.ndarray]) -> bool:
    """Far too few glyph-sized pieces (``_glyphs``) to be a printed form, skewed or not: skip the
    deskew search, which is most of the time spent on a signature crop. The margin (10 against the 15
    that ``_looks_like_cheque`` needs) covers the few pieces a small rotation can split or join."""
    return int(glyphs[1].sum()) < 10


def _looks_like_cheque(glyphs: tuple[np.ndarray, np.ndarray], weak: np.ndarray) -> bool:
    """A printed form: many small glyphs relative to the image, several of them set in typeset rows.

    Glyphs are counted on strong ink only (a light security pattern would glue them together). A signature
    crop has a handful of large strokes and its specks never line up like type. Glyph size has an
    absolute floor, not a relative one, so a phone photo with wide margins around the cheque counts."""
    h, w = weak.shape
    if w < 250 or h < 80 or max(h, w) < _MIN_CHEQUE_SIDE:
        return False
    stats, glyph = glyphs
    count = int(glyph.sum())
    if count < 15:
        return False
    if count >= 25 and int(_printed_glyphs(stats, glyph).sum()) >= 10:
        return True
    # tiny or fused type (bitonal, blur): printed rules settle it; a crop has an underline or two at most
    # (bridging small gaps first: blur and thresholding break thin rules into dashes). Only on an image
    # wide enough for fused type: on a small crop, a fifth of the width is one handwritten stroke.
    if w < _MIN_RULED_CHEQUE_WIDTH:
        return False
    bridged = cv2.morphologyEx(weak.astype(np.uint8), cv2.MORPH_CLOSE,
                               cv2.getStructuringElement(cv2.MORPH_RECT, (9, 1)))
    rules = cv2.morphologyEx(bridged, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (w // 5, 1)))
    return cv2.connectedComponents(rules)[0] - 1 >= 3


# ---------------------------------------------------------------- deskew

def _rotate(img: np.ndarray, angle: float, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=interpolation, borderValue=0)


def _estimate_skew(ink: np.ndarray, max_deg: float = 6.0) -> float:
    """Angle that makes rows of ink sharpest (text lines, printed lines), coarse then fine.

    The sharpness of an angle is the sum of squared row totals of the page turned by it. Rather than
    turning the image for each of the 34 angles tried (a third of the finder's time), each 4-px
    column strip's row profile is moved by where the turn takes its centre (linear interpolation
    between rows): the same answer to within one 0.1-degree step on generated and real cheques."""
    f = min(1.0, 500.0 / ink.shape[1])
    small = cv2.resize(ink.astype(np.float32), None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    h, w = small.shape
    strips = -(-w // _SKEW_STRIP)
    padded = np.zeros((h, strips * _SKEW_STRIP), np.float32)
    padded[:, :w] = small
    profile = padded.reshape(h, strips, _SKEW_STRIP).sum(axis=2)
    ys, strip = np.nonzero(profile)
    weights = profile[ys, strip].astype(np.float64)
    dy = (ys + 0.5 - h / 2.0).astype(np.float32)                       # from the centre cv2 turns about
    dx = ((strip + 0.5) * _SKEW_STRIP - w / 2.0).astype(np.float32)

    def sharpness(a: float) -> float:
        r = np.deg2rad(a)
        y = np.float32(np.cos(r)) * dy - np.float32(np.sin(r)) * dx + np.float32(h / 2.0 - 0.5)
        row = np.floor(y)
        frac = y - row
        row = row.astype(np.intp)
        inside = (row >= 0) & (row < h - 1)
        row, frac, wt = row[inside], frac[inside], weights[inside]
        upper = wt * frac
        rows = np.bincount(row, wt - upper, minlength=h) + np.bincount(row + 1, upper, minlength=h)
        return float(np.dot(rows, rows))

    coarse = np.arange(-max_deg, max_deg + 1e-6, 0.5)
    best = float(coarse[int(np.argmax([sharpness(a) for a in coarse]))])
    fine = np.arange(best - 0.4, best + 0.41, 0.1)
    return float(fine[int(np.argmax([sharpness(a) for a in fine]))])


# ---------------------------------------------------------------- printed lines

def _line_mask(ink: np.ndarray) -> np.ndarray:
    """Long perfectly straight horizontal/vertical runs: printed rules, boxes, borders.

    Dotted and micro-printed rules are runs of flat pieces (at most about half a glyph tall)."""
    h, w = ink.shape
    u8 = ink.astype(np.uint8)
    run = cv2.getStructuringElement(cv2.MORPH_RECT, (max(20, w // 16), 1))
    horiz = cv2.morphologyEx(u8, cv2.MORPH_OPEN, run)
    # dotted / dashed / micro-printed rules: bridge the gaps, but only between flat pieces, so that
    # the connected baseline of cursive handwriting never turns into a "line"
    count, labels, stats = components_with_stats(u8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    glyph_h = float(np.median(heights[heights >= 4])) if (heights >= 4).any() else 10.0
    flat = np.zeros(count, dtype=np.uint8)
    flat[1:] = heights <= max(4.0, 0.4 * glyph_h)
    pieces = np.take(flat, labels)  # flat[labels], in half the time
    bridged = cv2.morphologyEx(pieces, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (7, 1)))
    dotted = cv2.morphologyEx(bridged, cv2.MORPH_OPEN, run) & pieces
    horiz = cv2.bitwise_or(horiz, dotted)
    vert = cv2.morphologyEx(u8, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(20, h // 7))))
    # the anti-aliased rims of a line are not part of the run: grow by one pixel vertically/horizontally
    horiz = cv2.dilate(horiz, np.ones((3, 3), np.uint8)) & u8
    vert = cv2.dilate(vert, np.ones((3, 3), np.uint8)) & u8
    # where a pen stroke crosses a rule, ink continues on both sides of it: keep those pixels as
    # ink, so the stroke stays in one piece (and the rule, cut there, joins nothing)
    horiz &= ~_crossings(u8 & ~horiz, (1, 9))
    vert &= ~_crossings(u8 & ~vert, (9, 1))
    return (horiz | vert) > 0


def _crossings(rest: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Pixels a closing of the non-rule ink fills: gaps the rule cut into strokes."""
    return cv2.morphologyEx(rest, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, size))


# ---------------------------------------------------------------- clusters and scoring

def _components(mask: np.ndarray, min_area: int):
    count, labels, stats = components_with_stats(mask)
    keep = np.zeros(count, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    return count, labels, stats, keep


def _printed_glyphs(stats: np.ndarray, keep: np.ndarray, labels: np.ndarray | None = None,
                    dark: np.ndarray | None = None) -> np.ndarray:
    """Components that sit in a typeset row: several others nearby share their height and baseline.

    Type puts glyphs of one size on one baseline to the pixel; handwriting almost never repeats
    both the height and the bottom of a piece three times in a row. Catches printed names under
    the signature line, "Please sign above", MICR digits, which otherwise join the signature.
    With the image at hand, a piece with only two such peers counts as type too if its edges
    run along the axes like a font's (short bold names: bitonal scans jitter the third peer)."""
    idx = np.nonzero(keep)[0]
    printed = np.zeros(len(keep), dtype=bool)
    if len(idx) < 4:
        return printed
    x = stats[idx, cv2.CC_STAT_LEFT].astype(np.float32)
    h = stats[idx, cv2.CC_STAT_HEIGHT].astype(np.float32)
    w = stats[idx, cv2.CC_STAT_WIDTH].astype(np.float32)
    bottom = stats[idx, cv2.CC_STAT_TOP] + h
    tol = np.maximum(1.0, 0.08 * h)
    same_h = np.abs(h[:, None] - h[None, :]) <= tol[:, None]
    same_b = np.abs(bottom[:, None] - bottom[None, :]) <= tol[:, None]
    near = np.abs(x[:, None] - x[None, :]) <= 8.0 * h[:, None]
    peers = (same_h & same_b & near).sum(axis=1) - 1
    # bold or bitonal type fuses neighbouring letters, hence pieces up to a few letters wide
    glyph_like = (h >= 5) & (w <= 6.0 * h)
    printed[idx[(peers >= 3) & glyph_like]] = True
    if labels is not None and dark is not None:
        for i in idx[(peers == 2) & glyph_like]:
            x0, y0, ww, hh = (int(v) for v in stats[i, :4])
            piece = _Cluster([int(i)], x0, y0, x0 + ww, y0 + hh, int(stats[i, 4]))
            printed[i] = _axis_aligned_fraction(dark, labels, piece) >= 0.55
        # the rest of a typeset row: fused letter groups with exactly a known glyph's height and baseline
        row_mates = (same_h & same_b & near)[:, printed[idx]].any(axis=1)
        printed[idx[row_mates & (h >= 5) & (w <= 12.0 * h)]] = True
    return printed


def _text_height(stats: np.ndarray, keep: np.ndarray) -> float:
    heights = stats[keep, cv2.CC_STAT_HEIGHT]
    heights = heights[heights >= 4]
    return float(np.median(heights)) if heights.size else 10.0


def _clusters(labels: np.ndarray, stats: np.ndarray, keep: np.ndarray, text_h: float) -> list[_Cluster]:
    """Components close enough (gaps under about one text height) form one cluster."""
    mask = np.take(keep, labels).view(np.uint8)
    kx, ky = max(3, int(round(1.3 * text_h))), max(3, int(round(0.5 * text_h)))
    grown = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kx, ky)))
    count, glabels = cv2.connectedComponents(grown, connectivity=8)
    # every pixel of a component lies inside one grown region: read the region under all of them at once
    kept = mask.view(bool)
    region = np.zeros(len(keep), dtype=glabels.dtype)
    region[labels[kept]] = glabels[kept]
    members: dict[int, list[int]] = {}
    for comp in np.nonzero(keep)[0]:
        members.setdefault(int(region[comp]), []).append(int(comp))
    out = []
    for comps in members.values():
        s = stats[comps]
        x1, y1 = int(s[:, 0].min()), int(s[:, 1].min())
        x2, y2 = int((s[:, 0] + s[:, 2]).max()), int((s[:, 1] + s[:, 3]).max())
        out.append(_Cluster(comps, x1, y1, x2, y2, int(s[:, 4].sum())))
    return out


def _own_pixels(labels: np.ndarray, c: _Cluster) -> np.ndarray:
    """The cluster's own pixels in its box (``np.isin`` by a lookup table: several times faster)."""
    patch = labels[c.y1:c.y2, c.x1:c.x2]
    mine = np.zeros(max(int(max(c.labels)), int(patch.max(initial=0))) + 1, dtype=bool)
    mine[c.labels] = True
    return mine[patch]


def _axis_aligned_fraction(dark: np.ndarray, labels: np.ndarray, c: _Cluster) -> float:
    """Share of edge energy at 0/90 degrees: fonts are built of axis strokes, handwriting is not.

    Only the cluster's own strokes count (not the background pattern inside its box)."""
    patch = dark[c.y1:c.y2, c.x1:c.x2].astype(np.float32)
    if patch.shape[0] < 3 or patch.shape[1] < 3:
        return 1.0
    own = cv2.dilate(_own_pixels(labels, c).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    gx = cv2.Sobel(patch, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(patch, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.hypot(gx, gy) * own
    strong = mag > 0.3 * max(float(mag.max()), 1.0)
    if not strong.any():
        return 1.0
    ang = np.degrees(np.arctan2(np.abs(gy[strong]), np.abs(gx[strong])))  # 0..90
    axis = (ang < 12) | (ang > 78)
    return float((mag[strong] * axis).sum() / mag[strong].sum())


def _page_extent(stats: np.ndarray, keep: np.ndarray, shape: tuple[int, int]) -> tuple[float, float, float, float]:
    """Where the cheque is in the frame (photos have a background): robust extent of the ink."""
    s = stats[keep]
    if len(s) < 5:
        return 0.0, 0.0, float(shape[1]), float(shape[0])
    x1 = float(np.percentile(s[:, 0], 1))
    y1 = float(np.percentile(s[:, 1], 1))
    x2 = float(np.percentile(s[:, 0] + s[:, 2], 99))
    y2 = float(np.percentile(s[:, 1] + s[:, 3], 99))
    return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)


def _position_prior(c: _Cluster, extent) -> float:
    """Soft lower-right prior (log-odds): every layout we know signs there, but it is not a rule.

    The bottom band is penalised hard: it holds the MICR / CMC-7 code line on every cheque."""
    ex1, ey1, ex2, ey2 = extent
    cx = ((c.x1 + c.x2) / 2 - ex1) / (ex2 - ex1)
    cy = ((c.y1 + c.y2) / 2 - ey1) / (ey2 - ey1)
    px = -6.0 * max(0.0, 0.5 - cx) - 1.0 * max(0.0, cx - 0.97)
    py = -10.0 * max(0.0, 0.6 - cy) - 30.0 * max(0.0, cy - 0.86)
    return 2.0 * (px + py)


def _shape_penalty(c: _Cluster, shape: tuple[int, int], text_h: float, extent) -> float:
    """Things that are not a signature whatever their strokes: frames, blocks, code lines, specks."""
    h, w = c.y2 - c.y1, c.x2 - c.x1
    density = c.area / max(h * w, 1)
    penalty = 0.0
    penalty += 40.0 * max(0.0, 0.035 - density)       # dashed borders and frames: huge, nearly empty
    penalty += 10.0 * max(0.0, density - 0.45)        # logos, filled boxes
    penalty += 0.5 * max(0.0, w / max(h, 1) - 9.0)    # a long single row: printed line of text or MICR
    penalty += 1.0 * max(0.0, h / max(w, 1) - 3.0)    # a tall narrow bar: a box side, a border
    penalty += 2.0 * max(0.0, h / shape[0] - 0.45)    # taller than any signature on a cheque
    penalty += 2.0 * max(0.0, w / shape[1] - 0.55)
    if c.x1 <= 1 or c.y1 <= 1 or c.x2 >= shape[1] - 1 or c.y2 >= shape[0] - 1:
        penalty += 1.5                                # cut by the frame: page border, table edge
    ex1, ey1, ex2, ey2 = extent
    margin_x, margin_y = 0.015 * (ex2 - ex1), 0.015 * (ey2 - ey1)
    if c.x1 <= ex1 + margin_x or c.x2 >= ex2 - margin_x or c.y2 >= ey2 - margin_y:
        penalty += 1.5                                # on the cheque's own edge: printed borders
    if h < 1.2 * text_h or w < 2.0 * text_h:          # too small to be a signature however curly
        penalty += 3.0
    return penalty


def _surround(c: _Cluster, ink_sum: np.ndarray) -> float:
    """Ink fraction in a ring around the cluster: a signature sits on open paper, a fragment of a
    dark security pattern sits inside a field of more fragments."""
    h, w = c.y2 - c.y1, c.x2 - c.x1
    H, W = ink_sum.shape[0] - 1, ink_sum.shape[1] - 1
    x1, y1 = max(0, c.x1 - w // 2), max(0, c.y1 - h // 2)
    x2, y2 = min(W, c.x2 + w // 2), min(H, c.y2 + h // 2)

    def total(a, b, cc, d):
        return float(ink_sum[d, cc] - ink_sum[b, cc] - ink_sum[d, a] + ink_sum[b, a])

    ring = total(x1, y1, x2, y2) - total(c.x1, c.y1, c.x2, c.y2)
    ring_area = (x2 - x1) * (y2 - y1) - w * h
    return ring / max(ring_area, 1)


def _rim_share(c: _Cluster, labels: np.ndarray) -> float:
    """Share of the ink lying in the outer tenth of its own box: a box corner or bracket left by
    rule removal is all rim, a signature has ink throughout."""
    own = _own_pixels(labels, c)
    h, w = own.shape
    my, mx = max(1, h // 10), max(1, w // 10)
    inner = own[my:h - my, mx:w - mx].sum()
    return 1.0 - float(inner) / max(int(own.sum()), 1)


def _score(c: _Cluster, stats: np.ndarray, labels: np.ndarray, dark: np.ndarray, text_h: float,
           extent, ink_sum: np.ndarray) -> float:
    s = stats[c.labels]
    h = c.y2 - c.y1
    w = c.x2 - c.x1
    tallest = float(s[:, 3].max())
    big_share = float(np.sort(s[:, 4])[-3:].sum()) / max(c.area, 1)    # cursive: ink in few pieces
    pieces_per_height = len(c.labels) / max(w / max(h, 1), 0.5)        # printed words: many glyphs
    tall = float(np.clip(np.log2(tallest / max(text_h, 1.0)), -1.0, 2.5))
    prior, penalty = _position_prior(c, extent), _shape_penalty(c, dark.shape, text_h, extent)
    surround = _surround(c, ink_sum)

    def total(axis_term: float) -> float:     # one expression, so the bound and the score add alike
        return (1.6 * tall + 2.0 * (big_share - 0.5) - 0.25 * max(0.0, pieces_per_height - 3.0) - axis_term
                + prior - penalty - 25.0 * max(0.0, surround - 0.08) - 1.0)

    # the stroke-angle term (the costliest) can only lower the score: a cluster already below the
    # lowest score any decision reads keeps that bound, and the angles are measured for the rest
    bound = total(0.0)
    if bound < _SCORE_FLOOR:
        return bound
    return total(8.0 * max(0.0, _axis_aligned_fraction(dark, labels, c) - 0.42))


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def _pen(c: _Cluster, labels: np.ndarray, dark: np.ndarray) -> tuple[float, float]:
    """(median darkness, stroke width) of a cluster's ink: one pen writes a whole signature."""
    own = np.isin(labels[c.y1:c.y2, c.x1:c.x2], c.labels)
    area = int(own.sum())
    if area == 0:
        return 0.0, 0.0
    rim = own & ~(cv2.erode(own.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    width = 2.0 * area / max(int(rim.sum()), 1)       # area / half the outline = stroke width
    return float(np.median(dark[c.y1:c.y2, c.x1:c.x2][own])), width


def _same_pen(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return abs(a[0] - b[0]) <= 25.0 and 0.7 <= (b[1] + 0.5) / (a[1] + 0.5) <= 1.45


def _grow(best: _Cluster, clusters: list[_Cluster], text_h: float, labels: np.ndarray,
          dark: np.ndarray) -> _Cluster:
    """Add neighbouring handwriting (second name, initials, dots) to the chosen cluster.

    A neighbour joins if it is handwriting-like and on the signature's row within a word gap
    (a second word), or small and inside the signature's own box (i-dots, accents, broken
    strokes), or near and written with the same pen (darkness, stroke width) even if it scores
    poorly alone (a fragment cut off by a rule). Rows and boxes are those of the best cluster,
    so the group cannot creep upwards field by field."""
    merged = _Cluster(list(best.labels), best.x1, best.y1, best.x2, best.y2, best.area, best.score)
    h = best.y2 - best.y1
    pen = _pen(best, labels, dark)
    taken = {id(best)}
    changed = True
    while changed:
        changed = False
        for c in clusters:
            if id(c) in taken or c.score < _GROW_MIN_SCORE:
                continue
            ch, cw = c.y2 - c.y1, c.x2 - c.x1
            gap_x = max(c.x1 - merged.x2, merged.x1 - c.x2, 0)
            # a word gap scales with the writing's size: the smaller neighbour's, not the flourish's
            reach_x = 1.1 * max(ch, 0.5 * h) + text_h
            row = _overlap(c.y1, c.y2, best.y1, best.y2) >= 0.5 * ch
            # the words of one signature are written at one scale: a much smaller neighbour on the
            # row is another field (a date, a place), not the signature's second word
            same_row = row and gap_x <= reach_x and ch >= 0.35 * h and c.score > _FOUND_THRESHOLD - 2.0
            inside = (_overlap(c.x1, c.x2, best.x1, best.x2) >= 0.8 * cw
                      and _overlap(c.y1, c.y2, best.y1 - 0.1 * h, best.y2 + 0.1 * h) >= 0.8 * ch
                      and ch <= 0.6 * h and c.score > _FOUND_THRESHOLD - 5.0)
            near = (_overlap(c.y1, c.y2, best.y1 - 0.25 * h, best.y2 + 0.25 * h) >= 0.6 * ch
                    and gap_x <= 0.6 * h + text_h and ch >= 0.25 * h)
            # some people leave a wide gap between first and last name: allowed with the same pen
            # (a slanted signature climbs: with the same pen, the row may drift by half a height)
            drifting_row = _overlap(c.y1, c.y2, best.y1 - 0.5 * h, best.y2 + 0.5 * h) >= 0.7 * ch
            far_word = (drifting_row and gap_x <= 2.0 * max(ch, 0.5 * h) + text_h and ch >= 0.35 * h
                        and c.score > _FOUND_THRESHOLD - 2.0)
            if same_row or inside or ((near or far_word) and _same_pen(pen, _pen(c, labels, dark))):
                taken.add(id(c))
                merged.labels += c.labels
                merged.x1, merged.y1 = min(merged.x1, c.x1), min(merged.y1, c.y1)
                merged.x2, merged.y2 = max(merged.x2, c.x2), max(merged.y2, c.y2)
                merged.area += c.area
                changed = True
    return merged


# ---------------------------------------------------------------- output

def _original_box(ys: np.ndarray, xs: np.ndarray, page: _Page) -> tuple[int, int, int, int]:
    """Working (deskewed) pixel coordinates -> axis-aligned box in original pixels."""
    wh, ww = page.ink.shape
    m = cv2.getRotationMatrix2D((ww / 2, wh / 2), page.angle, 1.0)
    inv = cv2.invertAffineTransform(m)
    pts = np.stack([xs + 0.5, ys + 0.5, np.ones_like(xs, dtype=np.float64)], axis=1)
    orig = pts @ inv.T / page.scale
    half = 0.5 / page.scale
    h, w = page.gray.shape
    x1 = int(np.clip(np.floor(orig[:, 0].min() - half), 0, w))
    y1 = int(np.clip(np.floor(orig[:, 1].min() - half), 0, h))
    x2 = int(np.clip(np.ceil(orig[:, 0].max() + half), 0, w))
    y2 = int(np.clip(np.ceil(orig[:, 1].max() + half), 0, h))
    return x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)


def _clean_crop(page: _Page, keep: np.ndarray, bbox: tuple[int, int, int, int]) -> np.ndarray:
    """Deskewed full-resolution crop with everything but the kept ink set to white."""
    x1, y1, x2, y2 = bbox
    s = page.scale
    pad = 2
    ox1, oy1 = int(np.floor(x1 / s)) - pad, int(np.floor(y1 / s)) - pad
    ox2, oy2 = int(np.ceil(x2 / s)) + pad, int(np.ceil(y2 / s)) + pad
    h, w = page.gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), page.angle, 1.0)
    m[:, 2] -= (ox1, oy1)
    cw, ch = ox2 - ox1, oy2 - oy1
    crop = cv2.warpAffine(page.gray, m, (cw, ch), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # kept ink of the working copy, brought to crop pixels; a one-pixel margin catches stroke rims
    wx1, wy1 = max(0, int(np.floor((ox1) * s))), max(0, int(np.floor(oy1 * s)))
    wx2, wy2 = min(keep.shape[1], int(np.ceil(ox2 * s)) + 1), min(keep.shape[0], int(np.ceil(oy2 * s)) + 1)
    sub = np.zeros((int(np.ceil(ch * s)) + 2, int(np.ceil(cw * s)) + 2), np.uint8)
    part = keep[wy1:wy2, wx1:wx2].astype(np.uint8)
    oy, ox = wy1 - int(np.floor(oy1 * s)), wx1 - int(np.floor(ox1 * s))
    sub[oy:oy + part.shape[0], ox:ox + part.shape[1]] = part[: sub.shape[0] - oy, : sub.shape[1] - ox]
    big = cv2.resize(sub, (int(round(sub.shape[1] / s)), int(round(sub.shape[0] / s))),
                     interpolation=cv2.INTER_NEAREST)[:ch, :cw]
    if big.shape != (ch, cw):
        big = np.pad(big, ((0, ch - big.shape[0]), (0, cw - big.shape[1])))
    r = max(1, int(round(1 / s)))
    big = cv2.dilate(big, np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0
    # inside that neighbourhood keep only pixels that really are darker than the paper
    paper = percentile_u8(crop, 90)
    ink = crop.astype(np.float32) < paper * (1.0 - page.thr_low / 255.0)
    return np.where(big & ink, crop, 255).astype(np.uint8)


def _crop_result(gray: np.ndarray, ink: np.ndarray) -> Extraction:
    h, w = gray.shape
    if _light_on_dark(gray):
        # light strokes on a dark screen (a tablet or phone signature in dark mode) is a signature
        # too: hand it on as dark ink on paper, nothing cut. (Otsu, not the page's hysteresis: screen
        # strokes are broad, the paper estimate would eat them.)
        negative = 255 - gray
        if _is_strokes_on_paper(ink_mask(negative)[0]):
            return Extraction(True, False, (0, 0, w, h), 1.0, negative, "light strokes on dark: inverted")
        return Extraction(False, False, None, 0.0, None, "the image is mostly dark: not a signature on paper")
    if int(ink.sum()) < 20:
        if float(np.median(gray)) < 80:
            return Extraction(False, False, None, 0.0, None, "the image is mostly dark: not a signature on paper")
        return Extraction(False, False, None, 0.0, None, "no ink found: the image looks blank")
    if not _is_strokes_on_paper(ink):
        return Extraction(False, False, None, 0.0, None,
                          "the image is mostly ink or noise: not a signature on paper")
    return Extraction(True, False, (0, 0, w, h), 1.0, gray.copy())


def _light_on_dark(gray: np.ndarray) -> bool:
    """The strokes are lighter than the background: the few extreme pixels lie above the median, not
    below it. A dim photo of dark ink (some Arabic-set captures: median 55) is still dark on light."""
    low, median, high = np.percentile(gray, (0.5, 50, 99.5))
    return median < 128 and (high - median) > max(20.0, 1.5 * (median - low))


def _is_strokes_on_paper(ink: np.ndarray) -> bool:
    """A signature is thin strokes on paper: some ink, far less ink than paper."""
    return int(ink.sum()) >= 20 and float(ink.mean()) <= 0.4


def _shrink_keeping_ink(gray: np.ndarray, scale: float) -> np.ndarray:
    """Downscale so that a thin pen stroke keeps its full darkness.

    Plain area averaging mixes a 1-2 px stroke with the paper beside it until it is no darker than
    the security pattern; a min filter over the pixels that fall into one working pixel first
    keeps each stroke's core value, while a pattern of light lines stays light."""
    k = int(np.floor(1.0 / scale))
    if k >= 2:
        gray = cv2.erode(gray, np.ones((k, k), np.uint8))
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _prepare(gray: np.ndarray) -> _Page:
    h, w = gray.shape
    scale = min(1.0, _WORK_LONG_SIDE / max(h, w))
    work = _shrink_keeping_ink(gray, scale) if scale < 1 else gray
    dark = _darkness(work)
    low, high = _thresholds(dark)
    ink = _hysteresis(dark, low, high)
    return _Page(gray, scale, dark, ink, 0.0, low, high)


def _deskew(page: _Page) -> None:
    angle = _estimate_skew(page.ink)
    if abs(angle) >= 0.1:
        page.dark = _rotate(page.dark, angle)
        page.ink = _hysteresis(page.dark, page.thr_low, page.thr_high)
        page.angle = angle


def _select(page: _Page):
    """Score clusters; returns (best grown cluster or None, labels, stats, second-best score)."""
    lines = _line_mask(page.ink)
    clean = page.ink & ~lines
    min_area = max(4, int(round(12 * page.scale ** 2 * 4)))
    _, labels, stats, keep = _components(clean, min_area)
    if not keep.any():
        return None, labels, stats, lines, -np.inf
    text_h = _text_height(stats, keep)
    extent = _page_extent(stats, keep, clean.shape)
    keep &= ~_printed_glyphs(stats, keep, labels, page.dark)
    if not keep.any():
        return None, labels, stats, lines, -np.inf
    clusters = _clusters(labels, stats, keep, text_h)
    ink_sum = cv2.integral(clean.astype(np.uint8))
    for c in clusters:
        c.score = _score(c, stats, labels, page.dark, text_h, extent, ink_sum)
        if c.score > _FOUND_THRESHOLD - 3.0:      # pixel-level checks only for real contenders
            c.score -= 10.0 * max(0.0, _rim_share(c, labels) - 0.75)
    clusters.sort(key=lambda c: -c.score)
    page.clusters, page.lines, page.stats, page.text_h = clusters, lines, stats, text_h
    best = _grow(clusters[0], clusters, text_h, labels, page.dark)
    runner_up = clusters[1].score if len(clusters) > 1 else -np.inf
    return best, labels, stats, lines, runner_up


def _without_margin_print(comps: list[int], stats: np.ndarray, text_h: float) -> list[int]:
    """Drop letter-sized pieces lying wholly above or below the signature's body.

    The printed holder's name and "Please sign above" sit just over or under the signature line,
    close enough to be grouped with it. The body is the vertical span of the signature's tall
    strokes; letter-sized pieces inside it are handwriting, i-dots are far smaller than letters."""
    s = stats[comps]
    tall = s[:, cv2.CC_STAT_HEIGHT] >= 2.0 * text_h
    if not tall.any():
        return comps
    top = s[tall, cv2.CC_STAT_TOP].min()
    bottom = (s[tall, cv2.CC_STAT_TOP] + s[tall, cv2.CC_STAT_HEIGHT]).max()
    h, w = s[:, cv2.CC_STAT_HEIGHT], s[:, cv2.CC_STAT_WIDTH]
    # small print is smaller than the page's median glyph; dots and specks are smaller still
    letter = (h >= 5) & (h <= 1.4 * text_h) & (w * h >= 40) & (w <= 8 * text_h)
    outside = (s[:, cv2.CC_STAT_TOP] >= bottom) | (s[:, cv2.CC_STAT_TOP] + h <= top)
    return np.asarray(comps)[~(letter & outside)].tolist()


def _kept_mask(page: _Page, best, labels, lines) -> np.ndarray:
    """Ink of the chosen components, plus printed-line pixels the signature strokes cross.

    Worked out in a window around the chosen components (wide enough for the rule test's margins and
    the bridging's reach), not over the whole page: the same mask, in a tenth of the time."""
    chosen = _without_margin_print(best.labels, page.stats, page.text_h)
    ids = np.zeros(int(labels.max()) + 1, dtype=bool)
    ids[chosen] = True
    s = page.stats[chosen]
    x1, y1 = int(s[:, cv2.CC_STAT_LEFT].min()), int(s[:, cv2.CC_STAT_TOP].min())
    x2 = int((s[:, cv2.CC_STAT_LEFT] + s[:, cv2.CC_STAT_WIDTH]).max())
    y2 = int((s[:, cv2.CC_STAT_TOP] + s[:, cv2.CC_STAT_HEIGHT]).max())
    reach = max(3, int(round(6 * page.scale * 2)))
    pad_x, pad_y = max(10, (x2 - x1) // 5) + 2 * reach, 2 * reach
    h, w = labels.shape
    wx1, wy1, wx2, wy2 = max(0, x1 - pad_x), max(0, y1 - pad_y), min(w, x2 + pad_x), min(h, y2 + pad_y)
    keep = _erase_rules_through(ids[labels[wy1:wy2, wx1:wx2]], lines[wy1:wy2, wx1:wx2])
    bridged = cv2.morphologyEx(keep.astype(np.uint8), cv2.MORPH_CLOSE,
                               cv2.getStructuringElement(cv2.MORPH_RECT, (1, reach)))
    out = np.zeros(labels.shape, dtype=bool)
    out[wy1:wy2, wx1:wx2] = keep | (bridged.astype(bool) & lines[wy1:wy2, wx1:wx2])
    return out


def _erase_rules_through(keep: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Follow a printed rule that runs on beside the signature through it, and erase its pieces there.

    Where a signature touches a (dotted, micro-printed) rule, the rule's pieces become part of the
    signature's components. A rule row is one where the line mask runs on outside the signature's
    box; inside the box, a column keeps its pixels on that row only if a stroke crosses it (ink
    just above or below the rule)."""
    ys, xs = np.nonzero(keep)
    if len(ys) == 0:
        return keep
    x1, x2, y1, y2 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    h, w = keep.shape
    margin = max(10, (x2 - x1) // 5)
    left = lines[y1:y2, max(0, x1 - margin):x1].sum(axis=1)
    right = lines[y1:y2, x2:min(w, x2 + margin)].sum(axis=1)
    rule_rows = (np.maximum(left, right) >= 0.5 * margin)
    if not rule_rows.any():
        return keep
    out = keep.copy()
    rows = np.nonzero(rule_rows)[0] + y1
    for band in np.split(rows, np.nonzero(np.diff(rows) > 1)[0] + 1):
        ya, yb = int(band[0]) - 1, int(band[-1]) + 2          # the rule and its anti-aliased rims
        above = keep[max(0, ya - 3):max(0, ya - 1), x1:x2].any(axis=0)
        below = keep[min(h, yb + 1):min(h, yb + 3), x1:x2].any(axis=0)
        crossing = above | below
        out[max(0, ya):min(h, yb), x1:x2] &= crossing[None, :]
    return out


def find_signature_details(gray: np.ndarray, dpi: float | None = None, want_mask: bool = True,
                           method: str = "auto") -> tuple[Extraction, np.ndarray | None]:
    """``find_signature`` plus the kept ink as a bool mask in original pixels (benchmarks, debugging).

    ``method``: "rules"; "learned" (the network alone; raises ``ModelError`` without its model);
    "hybrid" (the rules, and the network where the rules find nothing); "fused" (the rules and the
    network, the network judging where they disagree: ``_fused_result``); "auto": ``AUTO_METHOD``.
    "hybrid" and "fused" run the rules alone, said once in the log and by ``finder_notice``, when the
    model cannot be used."""
    if method not in FINDER_METHODS:
        raise ValueError(f"method must be one of {', '.join(FINDER_METHODS)}, not {method!r}")
    gray = to_gray(np.asarray(gray))
    if gray.size == 0 or min(gray.shape) < 8:
        return Extraction(False, False, None, 0.0, None, "image too small"), None
    page = _prepare(gray)
    ink_before = page.ink
    glyphs = _glyphs(page.dark > page.thr_high)          # counted on strong ink
    if _clearly_a_crop(glyphs):
        return _crop_result(gray, ink_before), None
    # deskew first: typeset rows only line up once the page is straight
    _deskew(page)
    # a page whose type already lines up while slightly turned is a printed form; only a page that
    # does not is counted again once straight (a second count costs ~2 ms of a turned cheque's time)
    printed = _looks_like_cheque(glyphs, ink_before)
    if not printed and page.angle:
        printed = _looks_like_cheque(_glyphs(page.dark > page.thr_high), page.ink)
    if not printed:
        return _crop_result(gray, ink_before), None
    method = AUTO_METHOD if method == "auto" else method
    learned = None if method == "rules" else learned_finder(required=method == "learned")
    if learned is not None and method == "learned":
        return _learned_result(learned.find(gray), gray, want_mask)
    result = _rules_result(page, want_mask)
    if learned is not None and method == "fused":
        return _fused_result(result, learned, gray, want_mask)
    if learned is not None and not result[0].found:
        # the rules' commonest failure on an unseen bank is a signed cheque called unsigned: the
        # network gets the last word on "unsigned" (hybrid, what "auto" runs with the model)
        answer = learned.find(gray, overrule=True)
        if answer.signed:
            return _learned_result(answer, gray, want_mask)
    return result


def _rules_result(page: _Page, want_mask: bool) -> tuple[Extraction, np.ndarray | None]:
    best, labels, stats, lines, runner_up = _select(page)
    if best is None or best.score < _FOUND_THRESHOLD:
        return Extraction(False, True, None, 0.0, None, _UNSIGNED, page.angle), None
    keep = _kept_mask(page, best, labels, lines)
    ys, xs = np.nonzero(keep)
    if len(ys) == 0:  # the candidate was nothing but pieces of a printed rule
        return Extraction(False, True, None, 0.0, None, _UNSIGNED, page.angle), None
    box = _original_box(ys, xs, page)
    work_box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    crop = _clean_crop(page, keep, work_box)
    # confidence: how clearly it beats "unsigned" and how clearly it beats the next candidate
    margin = min(best.score - _FOUND_THRESHOLD, 2.0 * (best.score - max(runner_up, _RUNNER_UP_CLAMP)))
    conf = float(1.0 / (1.0 + np.exp(-margin)))
    full_mask = _original_mask(page, keep, box) if want_mask else None
    return Extraction(True, True, box, round(conf, 3), crop, "", round(page.angle, 2)), full_mask


def _original_mask(page: _Page, keep: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The ink the crop keeps, in original pixels: the kept working-resolution strokes brought back
    (unrotated, upscaled, a pixel of slack) and, as in ``_clean_crop``, only pixels darker than paper."""
    h, w = page.gray.shape
    wh, ww = keep.shape
    m = cv2.getRotationMatrix2D((ww / 2, wh / 2), page.angle, 1.0)
    inv = cv2.invertAffineTransform(m)
    unrot = cv2.warpAffine(keep.astype(np.uint8) * 255, inv, (ww, wh), flags=cv2.INTER_LINEAR)
    near = cv2.resize(unrot, (w, h), interpolation=cv2.INTER_LINEAR) > 64
    x1, y1, x2, y2 = box
    paper = percentile_u8(page.gray[y1:y2, x1:x2], 90)
    return near & (page.gray.astype(np.float32) < paper * (1.0 - page.thr_low / 255.0))


def find_signature(gray: np.ndarray, dpi: float | None = None, method: str = "auto") -> Extraction:
    """Signature on a cheque (or a crop passed through). ``dpi`` is accepted for callers; the method
    measures everything relative to the page, so it is not needed."""
    return find_signature_details(gray, dpi, want_mask=False, method=method)[0]


# ---------------------------------------------------------------- the learned finder

FINDER_METHODS = ("auto", "learned", "rules", "hybrid", "fused")
# What the app runs: "fused" (the rules and the network; see ``_fused_result``). Measured side by side
# (bench/bench_extraction.py --n 150 --real, README, finder 2026.12.03-3): on generated cheques of
# layout families nobody trained or tuned on, hit 0.977 against the rules' 0.916 (the network alone
# 0.977); on the labelled real scans, which the rules were tuned on and the network never saw, 0.971
# like the rules (the network alone 0.857). An unseen bank is neither, and the rules alone found 0.54
# of the signatures on one (issue 12), mostly calling signed cheques unsigned: there the network has
# the last word.
AUTO_METHOD = "fused"
_UNSIGNED = "no handwriting that looks like a signature: the cheque appears unsigned"
_finder_state: dict = {}
_finder_lock = threading.Lock()
log = logging.getLogger(__name__)


def learned_finder(required: bool = False):
    """The learned finder, loaded once per process; None (and a notice, logged once) when its model is
    missing or damaged, so the app keeps working with the rule-based finder."""
    with _finder_lock:
        if "finder" not in _finder_state:
            from .finder import LearnedFinder
            from .model_trust import ModelError

            try:
                _finder_state["finder"] = LearnedFinder(_finder_state.get("path"))
                _finder_state["notice"] = None
            except ModelError as exc:
                _finder_state["finder"] = None
                _finder_state["error"] = exc
                _finder_state["notice"] = (f"The signature finder model could not be used ({exc}); "
                                           "signatures on cheques are found by the older rule-based finder.")
                log.warning("%s", _finder_state["notice"])
        if required and _finder_state["finder"] is None:
            raise _finder_state["error"]
        return _finder_state["finder"]


def finder_notice() -> str | None:
    """What to tell the user about the finder once (None: the learned finder is in use)."""
    learned_finder()
    return _finder_state.get("notice")


def reset_learned_finder(model_path: Path | None = None) -> None:
    """Forget the loaded finder (tests, or after an administrator replaced the model file); the next
    cheque loads ``model_path`` (benchmarks comparing finder models), or the bundled model."""
    with _finder_lock:
        _finder_state.clear()
        if model_path is not None:
            _finder_state["path"] = model_path


def _boxes_agree(a, b) -> bool:
    """The same signature: boxes overlapping by at least half (IoU; chosen on generated cheques of the
    training families, where a looser test let the rules keep a fragment or a neighbour)."""
    inter = _overlap(a[0], a[2], b[0], b[2]) * _overlap(a[1], a[3], b[1], b[3])
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return union > 0 and inter / union >= 0.5


def _fused_result(rules, learned, gray: np.ndarray, want_mask: bool) -> tuple[Extraction, np.ndarray | None]:
    """The rules and the network together. The rules cut the tighter, cleaner crop; the network has seen
    many more layouts and judges which handwriting is the signature. So: both mark the same place ->
    the rules' crop; they disagree -> the network's; the rules found nothing -> the network, but only
    from its stricter mass (as "hybrid"); the network found nothing -> the rules' answer stands (a
    signed cheque called unsigned costs a clerk more than a second look at an unsigned one)."""
    prob, geo = learned.probabilities(gray)
    if not rules[0].found:
        answer = learned.answer(prob, gray, geo, overrule=True)
        return _learned_result(answer, gray, want_mask) if answer.signed else rules
    answer = learned.answer(prob, gray, geo)
    if not answer.signed or _boxes_agree(rules[0].box, answer.box):
        return rules
    return _learned_result(answer, gray, want_mask)


def _learned_result(answer, gray: np.ndarray, want_mask: bool) -> tuple[Extraction, np.ndarray | None]:
    if not answer.signed:
        return Extraction(False, True, None, answer.confidence, None, _UNSIGNED), None
    x1, y1, x2, y2 = answer.box
    ink = answer.mask[y1:y2, x1:x2]
    crop = np.where(ink, gray[y1:y2, x1:x2], 255).astype(np.uint8)
    return Extraction(True, True, answer.box, answer.confidence, crop), (answer.mask if want_mask else None)
