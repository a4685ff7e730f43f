"""Handwritten fill-in (payee, amount, date, memo) drawn with real handwriting typefaces.

Why: OpenCV's Hershey "script" fonts look like no pen on earth, so a finder trained on them learns
"Hershey = not the signature, any other handwriting = the signature" and, on a real cheque, marks
the handwritten amount and date. Handwriting typefaces from the operating system's font packages
(Debian: fonts-breip, fonts-dkg-handwriting, fonts-bwht, fonts-sjfonts, fonts-kristi, ...), rendered
with random slant, baseline wave, letter-size jitter and pen width, are much closer to how clerks
and customers fill in cheques.

Fonts are split like writers: ``train`` fonts draw the finder's training cheques, ``test`` fonts (whole
typefaces never trained on) draw the benchmark's held-out cheques. Where none is installed (CI, a
Windows PC) the caller falls back to the Hershey fonts; nothing is downloaded.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))

# file-name stems of handwriting typefaces (lower case) and which pool each belongs to
TRAIN_FONTS = ("breip", "breipfont", "dkg", "dkgbd", "dkgit", "dkgbi", "femkeklaver", "humor-sans", "kristi",
               "rufscript010", "stevehand", "ecolier-court", "dancingscript-regular", "comicneue-regular",
               "comicneue-italic", "comicneue-bold", "becausewebuild-regular", "becausewelearn-regular",
               "becauseweorganize-regular", "kleeone-regular")
TEST_FONTS = ("delphine", "kaushanscript-regular", "yuseimagic-regular", "becausewementor-regular",
              "becauseweconnect-regular", "becausewecreate-regular")


@lru_cache(maxsize=4)
def font_files(pool: str) -> tuple[Path, ...]:
    """Installed handwriting fonts of one pool (``train``, ``test`` or ``all``), sorted; may be empty."""
    wanted = {"train": set(TRAIN_FONTS), "test": set(TEST_FONTS), "all": set(TRAIN_FONTS) | set(TEST_FONTS)}
    if pool not in wanted:
        raise ValueError(f"font pool must be train, test or all, not {pool!r}")
    found = []
    for folder in FONT_DIRS:
        if folder.is_dir():
            found += [p for p in folder.rglob("*") if p.suffix.lower() in (".ttf", ".otf")
                      and p.stem.lower() in wanted[pool]]
    return tuple(sorted(set(found)))


@lru_cache(maxsize=64)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def render(rng: np.random.Generator, text: str, height_px: float, font_path: Path) -> np.ndarray:
    """Ink coverage (float32 0..1) of ``text`` handwritten at about ``height_px`` capital height."""
    size = max(8, int(round(height_px * rng.uniform(1.2, 1.6))))
    pen = int(rng.choice([0, 0, 1, 1, 2])) if height_px > 24 else int(rng.integers(0, 2))
    pad = int(height_px)
    pieces = []
    for char in text:   # each letter a little bigger or smaller and higher or lower: a hand, not a font
        if char == " ":
            pieces.append(np.zeros((1, max(2, size // 3)), np.float32))
            continue
        font = _font(font_path, max(6, int(size * rng.uniform(0.88, 1.12))))
        left, top, right, bottom = font.getbbox(char, stroke_width=pen)
        if right <= left or bottom <= top:
            continue
        img = Image.new("L", (right - left + 2, size * 2), 0)
        ImageDraw.Draw(img).text((1 - left, int(size * 0.3 + rng.normal(0, size * 0.03))), char, fill=255,
                                 font=font, stroke_width=pen, stroke_fill=255)
        pieces.append(np.asarray(img, np.float32) / 255.0)
    if not pieces:
        return np.zeros((int(height_px), int(height_px)), np.float32)
    h = max(p.shape[0] for p in pieces)
    width = sum(p.shape[1] for p in pieces)
    alpha = np.zeros((h + 2 * pad, width + 2 * pad), np.float32)
    x = pad
    for p in pieces:
        alpha[pad:pad + p.shape[0], x:x + p.shape[1]] = np.maximum(alpha[pad:pad + p.shape[0], x:x + p.shape[1]], p)
        x += p.shape[1] - int(rng.integers(0, max(1, size // 12) + 1))
    shear = rng.uniform(-0.3, 0.15)
    m = np.float32([[1, shear, -shear * alpha.shape[0] / 2], [0, 1, 0]])
    alpha = cv2.warpAffine(alpha, m, (alpha.shape[1], alpha.shape[0]))
    ys, xs = np.mgrid[0:alpha.shape[0], 0:alpha.shape[1]].astype(np.float32)
    wave = rng.uniform(0, 0.1) * height_px * np.sin(xs / rng.uniform(20, 80) + rng.uniform(0, 6))
    return cv2.remap(alpha, xs, ys + wave.astype(np.float32), cv2.INTER_LINEAR)
