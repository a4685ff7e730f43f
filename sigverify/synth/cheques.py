"""Synthetic cheques with exact signature ground truth, for tests and the extraction benchmark.

A cheque is drawn as separate ink layers on paper (security background, printed form and
MICR line, handwritten fields, the signature), composed multiplicatively like ink on paper,
then put through the capture chain a bank sees: skew, phone-photo perspective and shadow,
blur, noise, JPEG, or bitonal 200 dpi (what CCITT G4 image cash letters hold).

The signature layer goes through exactly the same geometry as the page, so the returned ink
mask and box are exact in the final image's pixels. Signatures are CEDAR images when the
shared datasets folder is present (real handwriting, any writer), synthetic writers otherwise.

Layouts are loosely modelled on US, UK, Indian CTS-2010 and European (French-style) cheques;
positions and sizes are jittered per cheque so that no fixed coordinates can be learnt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from sigverify.core.paths import datasets_folder
from sigverify.synth import cheque_families, hand_fonts
from sigverify.synth.signatures import SyntheticWriter

LAYOUTS = ("us", "uk", "in_cts", "eu")

# physical size (inches) per layout: US personal, UK, Indian CTS-2010 (202 x 92 mm), French (175 x 80 mm)
_SIZES = {"us": (6.0, 2.75), "uk": (6.5, 3.0), "in_cts": (7.95, 3.62), "eu": (6.9, 3.15)}

_FIRST = ["JOHN", "MARY", "ANKIT", "PRIYA", "JAMES", "SOPHIE", "AHMED", "LUCIA", "RAVI", "EMMA", "PIERRE",
          "OLIVIA", "HANS", "FATIMA", "WEI", "CARLOS", "NIVAS", "GRACE", "OMAR", "INES"]
_LAST = ["SMITH", "KUMAR", "DUBOIS", "MULLER", "KHATAL", "GARCIA", "BROWN", "SHARMA", "ROSSI", "NGUYEN",
         "TAYLOR", "MARTIN", "SILVA", "KOWALSKI", "PATEL", "JONES", "BENALI", "SCHMIDT"]
_BANKS = ["FIRST NATIONAL BANK", "HDFC BANK", "BARCLAYS", "CREDIT AGRICOLE", "STATE BANK", "CITY TRUST",
          "UNION BANK", "NKGSB CO-OP BANK", "BANQUE POPULAIRE", "LLOYDS BANK", "ICICI BANK", "DEUTSCHE BANK"]
_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "hundred",
          "thousand", "and", "only", "fifty", "twenty", "forty", "dollars", "rupees", "euros", "cents"]
_SCRIPT_FONTS = (cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX)
_PRINT_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
                cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_PLAIN)


@dataclass
class GeneratedCheque:
    image: np.ndarray                      # uint8 gray, the captured cheque
    signed: bool
    box: tuple[int, int, int, int] | None  # exact signature ink bbox, exclusive end
    ink_mask: np.ndarray | None            # bool, signature ink pixels in `image`
    layout: str
    dpi: float
    effects: dict = field(default_factory=dict)


@dataclass
class _Canvas:
    """Ink layers (float32, 0..1 ink coverage) at the cheque's print resolution."""

    h: int
    w: int
    dpi: float
    printed: np.ndarray
    hand: np.ndarray
    sig: np.ndarray
    pattern: np.ndarray
    stamp: np.ndarray      # rubber stamps and seals (coloured ink, often over the signature)
    hand_fonts: tuple = ()  # handwriting typefaces for the fill-in (empty: Hershey fonts)


def _new_canvas(w: int, h: int, dpi: float) -> _Canvas:
    z = lambda: np.zeros((h, w), np.float32)  # noqa: E731
    return _Canvas(h, w, dpi, z(), z(), z(), z(), z())


# ---------------------------------------------------------------- drawing primitives

def _stamp(layer: np.ndarray, draw, strength: float = 1.0) -> None:
    """Draw with OpenCV on a white uint8 scratch canvas and add it to a float ink layer."""
    scratch = np.full(layer.shape, 255, np.uint8)
    draw(scratch)
    np.maximum(layer, (255 - scratch.astype(np.float32)) / 255.0 * strength, out=layer)


def _text(layer: np.ndarray, text: str, x: float, y: float, height_px: float, font: int,
          thickness: int = 1, strength: float = 1.0) -> tuple[int, int]:
    """Printed text, baseline-left at (x, y) pixels, cap height about ``height_px``; returns its size."""
    (_, ref_h), _ = cv2.getTextSize("H", font, 1.0, 1)
    scale = max(0.2, height_px / max(ref_h, 1))
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    _stamp(layer, lambda c: cv2.putText(c, text, (int(x), int(y)), font, scale, 0, thickness, cv2.LINE_AA),
           strength)
    return tw, th


def _line(layer, x1, y1, x2, y2, thickness: int = 1, strength: float = 1.0, dashed: bool = False) -> None:
    def draw(c):
        if not dashed:
            cv2.line(c, (int(x1), int(y1)), (int(x2), int(y2)), 0, thickness, cv2.LINE_AA)
            return
        for xs in np.arange(x1, x2, 8):
            cv2.line(c, (int(xs), int(y1)), (int(min(xs + 4, x2)), int(y2)), 0, thickness, cv2.LINE_AA)
    _stamp(layer, draw, strength)


def _rect(layer, x1, y1, x2, y2, thickness: int = 1, strength: float = 1.0) -> None:
    _stamp(layer, lambda c: cv2.rectangle(c, (int(x1), int(y1)), (int(x2), int(y2)), 0, thickness,
                                          cv2.LINE_AA), strength)


def _paste_alpha(layer: np.ndarray, alpha: np.ndarray, cx: float, cy: float) -> None:
    """Max-composite a small alpha image centred at (cx, cy), clipped to the layer."""
    h, w = alpha.shape
    x0, y0 = int(round(cx - w / 2)), int(round(cy - h / 2))
    lx0, ly0 = max(0, x0), max(0, y0)
    lx1, ly1 = min(layer.shape[1], x0 + w), min(layer.shape[0], y0 + h)
    if lx1 <= lx0 or ly1 <= ly0:
        return
    sub = alpha[ly0 - y0: ly1 - y0, lx0 - x0: lx1 - x0]
    np.maximum(layer[ly0:ly1, lx0:lx1], sub, out=layer[ly0:ly1, lx0:lx1])


def _handwriting(rng: np.random.Generator, text: str, height_px: float, fonts: tuple = ()) -> np.ndarray:
    """A handwritten field: script font with random slant, waviness and pen width (alpha image);
    mostly a real handwriting typeface where ``fonts`` offers some."""
    if fonts and rng.random() < 0.85:
        return hand_fonts.render(rng, text, height_px, fonts[int(rng.integers(len(fonts)))])
    font = _SCRIPT_FONTS[int(rng.integers(len(_SCRIPT_FONTS)))] if rng.random() < 0.6 else \
        _PRINT_FONTS[int(rng.integers(3))]
    (_, ref_h), _ = cv2.getTextSize("H", font, 1.0, 1)
    scale = height_px / ref_h
    thick = max(1, int(round(height_px / rng.uniform(9, 16))))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    pad = int(height_px)
    c = np.full((th + base + 2 * pad, tw + 2 * pad), 255, np.uint8)
    cv2.putText(c, text, (pad, pad + th), font, scale, 0, thick, cv2.LINE_AA)
    alpha = (255 - c.astype(np.float32)) / 255.0
    # slant (shear) and a gentle baseline wave: printed fonts stop looking printed
    shear = rng.uniform(-0.35, 0.1)
    m = np.float32([[1, shear, -shear * alpha.shape[0] / 2], [0, 1, 0]])
    alpha = cv2.warpAffine(alpha, m, (alpha.shape[1], alpha.shape[0]))
    ys, xs = np.mgrid[0:alpha.shape[0], 0:alpha.shape[1]].astype(np.float32)
    wave = rng.uniform(0, 0.08) * height_px * np.sin(xs / rng.uniform(20, 60) + rng.uniform(0, 6))
    alpha = cv2.remap(alpha, xs, ys + wave.astype(np.float32), cv2.INTER_LINEAR)
    return alpha


def _scribble(rng: np.random.Generator, height_px: float) -> np.ndarray:
    """Cursive handwriting from a synthetic writer (used for payee names: signature-like on purpose)."""
    img = SyntheticWriter(int(rng.integers(1 << 30))).genuine(rng, height=max(12, int(height_px)))
    return (255 - img.astype(np.float32)) / 255.0


# ---------------------------------------------------------------- security backgrounds

def _security_background(rng: np.random.Generator, cv: _Canvas) -> None:
    kind = rng.choice(["guilloche", "hatch", "microtext", "marble", "plain", "waves_dark"],
                      p=[0.25, 0.15, 0.15, 0.2, 0.1, 0.15])
    h, w = cv.h, cv.w
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    strength = rng.uniform(0.08, 0.3)
    if kind == "guilloche":
        period = rng.uniform(6, 14) * cv.dpi / 200
        phase = np.sin(xs / rng.uniform(30, 90)) * rng.uniform(5, 25) + np.sin(xs / rng.uniform(7, 20)) * 3
        cv.pattern[:] = (np.cos((ys + phase) * 2 * np.pi / period) > 0.75) * strength
    elif kind == "hatch":
        period = rng.uniform(4, 9) * cv.dpi / 200
        cv.pattern[:] = (np.cos((xs + ys * rng.choice([-1, 1])) * 2 * np.pi / period) > 0.6) * strength
    elif kind == "microtext":
        step = int(rng.uniform(8, 14) * cv.dpi / 200)
        for y in range(step, h, step):
            _text(cv.pattern, "SECURITYVOID" * 40, -rng.uniform(0, 50), y, step * 0.45,
                  cv2.FONT_HERSHEY_PLAIN, 1, strength)
    elif kind == "marble":
        noise = rng.random((max(2, h // 12), max(2, w // 12))).astype(np.float32)
        noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
        fine = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 1.2)
        cv.pattern[:] = np.clip(noise * 0.6 + fine * 0.8 - 0.4, 0, 1) * strength
    elif kind == "waves_dark":
        # a darker pantograph band in one corner (bitonal scans keep it as solid black lines)
        corner_x = rng.uniform(0, 0.4) * w
        band = np.exp(-(((xs - corner_x) / (0.25 * w)) ** 2)) * (ys > h * rng.uniform(0.4, 0.7))
        lines = np.abs(np.sin((ys + 20 * np.sin(xs / 40)) / rng.uniform(2, 4))) < 0.15
        cv.pattern[:] = lines * band * rng.uniform(0.5, 0.9)
    if rng.random() < 0.5:  # a faint tint gradient
        cv.pattern += (xs / w * rng.uniform(0, 0.08)).astype(np.float32)


# ---------------------------------------------------------------- layouts

@dataclass
class _Spec:
    """Where the form puts the signature: anchor centre and the signature line, in pixels."""

    sig_cx: float
    sig_cy: float
    line_y: float
    line_x1: float
    line_x2: float


def _name(rng) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def _amount_words(rng) -> str:
    return " ".join(rng.choice(_WORDS, size=int(rng.integers(2, 6)))).capitalize()


def _micr(rng, cv: _Canvas, y: float, x: float) -> None:
    """A MICR-like code line: heavy digits with the E-13B-ish special symbols as bar glyphs."""
    size = 0.12 * cv.dpi
    groups = [str(rng.integers(10 ** 5, 10 ** 6)), str(rng.integers(10 ** 8, 10 ** 9)),
              str(rng.integers(10 ** 5, 10 ** 6)), str(rng.integers(10, 99))]
    for g in groups:
        tw, _ = _text(cv.printed, g, x, y, size, cv2.FONT_HERSHEY_SIMPLEX, max(2, int(size / 8)))
        x += tw + size * 0.3
        _rect(cv.printed, x, y - size, x + size * 0.25, y - size * 0.4, -1)
        _rect(cv.printed, x + size * 0.4, y - size * 0.6, x + size * 0.6, y, -1)
        x += size * 1.2


def _printed_block(rng, cv: _Canvas, x: float, y: float, lines: list[str], size: float) -> None:
    font = _PRINT_FONTS[int(rng.integers(len(_PRINT_FONTS)))]
    for i, t in enumerate(lines):
        _text(cv.printed, t, x, y + i * size * 1.6, size, font, 1 if size < 0.1 * cv.dpi else 2)


def _hand_field(rng, cv: _Canvas, text: str, x: float, baseline: float, height: float,
                scribble: bool = False) -> None:
    alpha = _scribble(rng, height) if scribble else _handwriting(rng, text, height, cv.hand_fonts)
    max_w = cv.w * 0.6
    if alpha.shape[1] > max_w:
        f = max_w / alpha.shape[1]
        alpha = cv2.resize(alpha, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    _paste_alpha(cv.hand, alpha * rng.uniform(0.7, 1.0), x + alpha.shape[1] / 2, baseline - alpha.shape[0] * 0.35)


def _layout_us(rng, cv: _Canvas, j) -> _Spec:
    w, h, d = cv.w, cv.h, cv.dpi
    small, mid = 0.055 * d, 0.075 * d
    name = _name(rng)
    _printed_block(rng, cv, j(0.04) * w, j(0.1) * h, [name.title(), "1234 Main Street", "Springfield"], small)
    _text(cv.printed, str(rng.integers(100, 9999)), j(0.88) * w, j(0.1) * h, mid, cv2.FONT_HERSHEY_SIMPLEX, 2)
    dy = j(0.27) * h
    _text(cv.printed, "DATE", 0.58 * w, dy, small, cv2.FONT_HERSHEY_PLAIN)
    _line(cv.printed, 0.64 * w, dy + 3, 0.86 * w, dy + 3)
    _hand_field(rng, cv, f"{rng.integers(1, 12)}/{rng.integers(1, 28)}/2026", 0.66 * w, dy, 0.1 * d)
    py = j(0.44) * h
    _text(cv.printed, "PAY TO THE", 0.03 * w, py - small * 1.5, small * 0.8, cv2.FONT_HERSHEY_PLAIN)
    _text(cv.printed, "ORDER OF", 0.03 * w, py, small * 0.8, cv2.FONT_HERSHEY_PLAIN)
    _line(cv.printed, 0.15 * w, py + 3, 0.76 * w, py + 3)
    _hand_field(rng, cv, _name(rng).title(), 0.18 * w, py, 0.11 * d, scribble=rng.random() < 0.3)
    _text(cv.printed, "$", 0.78 * w, py, mid, cv2.FONT_HERSHEY_SIMPLEX, 2)
    _rect(cv.printed, 0.8 * w, py - 0.1 * d, 0.97 * w, py + 0.04 * d)
    _hand_field(rng, cv, f"{rng.integers(10, 9999)}.00", 0.82 * w, py, 0.1 * d)
    ay = j(0.6) * h
    _line(cv.printed, 0.03 * w, ay + 3, 0.8 * w, ay + 3)
    _text(cv.printed, "DOLLARS", 0.82 * w, ay, small, cv2.FONT_HERSHEY_COMPLEX)
    _hand_field(rng, cv, _amount_words(rng), 0.06 * w, ay, 0.1 * d)
    _printed_block(rng, cv, 0.03 * w, j(0.7) * h, [rng.choice(_BANKS)], small)
    sy = j(0.83) * h
    _text(cv.printed, "MEMO", 0.03 * w, sy, small * 0.8, cv2.FONT_HERSHEY_PLAIN)
    _line(cv.printed, 0.1 * w, sy + 3, 0.45 * w, sy + 3)
    if rng.random() < 0.6:
        _hand_field(rng, cv, rng.choice(["Rent", "Invoice 42", "Gift", "Books"]), 0.12 * w, sy, 0.09 * d)
    x1, x2 = j(0.55) * w, j(0.96) * w
    _line(cv.printed, x1, sy + 3, x2, sy + 3)
    _micr(rng, cv, 0.95 * h, 0.08 * w)
    return _Spec((x1 + x2) / 2, sy - 0.12 * d, sy + 3, x1, x2)


def _layout_uk(rng, cv: _Canvas, j) -> _Spec:
    w, h, d = cv.w, cv.h, cv.dpi
    small = 0.055 * d
    bank = rng.choice(_BANKS)
    _text(cv.printed, bank, j(0.05) * w, j(0.12) * h, 0.1 * d, cv2.FONT_HERSHEY_TRIPLEX, 2)
    _printed_block(rng, cv, 0.05 * w, 0.2 * h, ["High Street Branch", "London"], small * 0.8)
    _text(cv.printed, f"{rng.integers(10, 99)}-{rng.integers(10, 99)}-{rng.integers(10, 99)}",
          0.8 * w, 0.1 * h, small, cv2.FONT_HERSHEY_SIMPLEX)
    dy = j(0.2) * h
    _text(cv.printed, "Date", 0.62 * w, dy, small, cv2.FONT_HERSHEY_COMPLEX)
    for i in range(8):
        _rect(cv.printed, (0.68 + i * 0.035) * w, dy - 0.09 * d, (0.71 + i * 0.035) * w, dy + 0.02 * d)
    _hand_field(rng, cv, f"{rng.integers(10, 28)} {rng.integers(10, 12)} 2026", 0.69 * w, dy, 0.08 * d)
    py = j(0.38) * h
    _text(cv.printed, "Pay", 0.04 * w, py, small, cv2.FONT_HERSHEY_COMPLEX)
    _line(cv.printed, 0.1 * w, py + 3, 0.95 * w, py + 3)
    _hand_field(rng, cv, _name(rng).title(), 0.14 * w, py, 0.11 * d, scribble=rng.random() < 0.3)
    ay = j(0.52) * h
    _line(cv.printed, 0.04 * w, ay + 3, 0.62 * w, ay + 3)
    _line(cv.printed, 0.04 * w, ay + 0.2 * d, 0.62 * w, ay + 0.2 * d)
    _hand_field(rng, cv, _amount_words(rng), 0.06 * w, ay, 0.1 * d)
    _text(cv.printed, "£", 0.68 * w, ay + 0.1 * d, small, cv2.FONT_HERSHEY_COMPLEX)
    _rect(cv.printed, 0.7 * w, ay - 0.05 * d, 0.95 * w, ay + 0.15 * d, 2)
    _hand_field(rng, cv, f"{rng.integers(10, 9999)}.00", 0.73 * w, ay + 0.1 * d, 0.1 * d)
    sy = j(0.8) * h
    x1, x2 = j(0.6) * w, j(0.95) * w
    _line(cv.printed, x1, sy, x2, sy, dashed=rng.random() < 0.3)
    _text(cv.printed, _name(rng), x1 + 0.02 * w, sy + 0.09 * d, small, cv2.FONT_HERSHEY_SIMPLEX)
    _micr(rng, cv, 0.95 * h, 0.15 * w)
    return _Spec((x1 + x2) / 2, sy - 0.12 * d, sy, x1, x2)


def _layout_in(rng, cv: _Canvas, j) -> _Spec:
    w, h, d = cv.w, cv.h, cv.dpi
    small = 0.05 * d
    _rect(cv.printed, 0.02 * w, 0.03 * h, 0.2 * w, 0.11 * h, -1)
    _text(cv.printed, rng.choice(_BANKS), 0.04 * w, 0.095 * h, 0.06 * d, cv2.FONT_HERSHEY_DUPLEX, 2, 0.0)
    _printed_block(rng, cv, 0.02 * w, 0.15 * h, ["RING ROAD NEW DELHI", "RTGS / NEFT IFSC : HDFC0000247"], small)
    for i in range(8):
        _rect(cv.printed, (0.74 + i * 0.028) * w, 0.03 * h, (0.765 + i * 0.028) * w, 0.1 * h)
    _hand_field(rng, cv, f"{rng.integers(10, 28)}{rng.integers(10, 12)}2026", 0.745 * w, 0.09 * h, 0.07 * d)
    py = j(0.28) * h
    _text(cv.printed, "Pay", 0.02 * w, py, small, cv2.FONT_HERSHEY_SIMPLEX, 2)
    _line(cv.printed, 0.06 * w, py + 3, 0.84 * w, py + 3)
    _text(cv.printed, "Or Bearer", 0.86 * w, py, small, cv2.FONT_HERSHEY_SIMPLEX, 2)
    _hand_field(rng, cv, _name(rng).title(), 0.1 * w, py, 0.1 * d, scribble=rng.random() < 0.3)
    ry = j(0.4) * h
    _text(cv.printed, "Rupees", 0.02 * w, ry, small, cv2.FONT_HERSHEY_SIMPLEX, 2)
    _line(cv.printed, 0.1 * w, ry + 3, 0.95 * w, ry + 3)
    _line(cv.printed, 0.02 * w, ry + 0.22 * d, 0.68 * w, ry + 0.22 * d)
    _hand_field(rng, cv, _amount_words(rng), 0.14 * w, ry, 0.1 * d)
    bx1, by1 = 0.7 * w, ry + 0.07 * d
    _rect(cv.printed, bx1, by1, 0.95 * w, by1 + 0.22 * d, 2)
    _hand_field(rng, cv, f"{rng.integers(100, 99999)}/-", bx1 + 0.04 * w, by1 + 0.17 * d, 0.11 * d)
    _rect(cv.printed, 0.06 * w, 0.6 * h, 0.3 * w, 0.68 * h, 2)
    _text(cv.printed, str(rng.integers(10 ** 10, 10 ** 11)), 0.08 * w, 0.66 * h, 0.07 * d,
          cv2.FONT_HERSHEY_DUPLEX, 2)
    _printed_block(rng, cv, 0.06 * w, 0.74 * h, ["Payable at par at all branches"], small * 0.7)
    sy = j(0.82) * h
    x1, x2 = j(0.68) * w, j(0.97) * w
    if rng.random() < 0.7:
        _text(cv.printed, _name(rng), x1 + 0.1 * w, sy - 0.2 * d, small, cv2.FONT_HERSHEY_SIMPLEX, 2)
    _line(cv.printed, x1, sy, x2, sy)
    _text(cv.printed, rng.choice(["Please sign above", "AUTHORISED SIGNATORY"]), x1 + 0.05 * w,
          sy + 0.08 * d, small * 0.8, cv2.FONT_HERSHEY_SIMPLEX)
    _micr(rng, cv, 0.95 * h, 0.22 * w)
    return _Spec((x1 + x2) / 2, sy - 0.13 * d, sy, x1, x2)


def _layout_eu(rng, cv: _Canvas, j) -> _Spec:
    w, h, d = cv.w, cv.h, cv.dpi
    small = 0.05 * d
    _text(cv.printed, "Payez contre ce cheque", 0.03 * w, j(0.14) * h, small, cv2.FONT_HERSHEY_COMPLEX)
    _line(cv.printed, 0.32 * w, 0.14 * h + 3, 0.68 * w, 0.14 * h + 3)
    _hand_field(rng, cv, _amount_words(rng), 0.33 * w, 0.14 * h, 0.09 * d)
    _line(cv.printed, 0.03 * w, 0.27 * h, 0.68 * w, 0.27 * h)
    _rect(cv.printed, 0.72 * w, 0.06 * h, 0.97 * w, 0.24 * h, 2)
    _text(cv.printed, "EUR", 0.73 * w, 0.2 * h, small, cv2.FONT_HERSHEY_SIMPLEX)
    _hand_field(rng, cv, f"#{rng.integers(10, 9999)},00#", 0.78 * w, 0.2 * h, 0.1 * d)
    oy = j(0.38) * h
    _text(cv.printed, "a l'ordre de", 0.03 * w, oy, small, cv2.FONT_HERSHEY_COMPLEX)
    _line(cv.printed, 0.17 * w, oy + 3, 0.95 * w, oy + 3)
    _hand_field(rng, cv, _name(rng).title(), 0.2 * w, oy, 0.1 * d, scribble=rng.random() < 0.3)
    _printed_block(rng, cv, 0.03 * w, 0.5 * h, [rng.choice(_BANKS), "Agence Centre", "Tel 01 23 45 67"],
                   small * 0.9)
    _printed_block(rng, cv, 0.3 * w, 0.5 * h, ["Titulaire du compte", _name(rng), "12 rue de la Paix"],
                   small * 0.9)
    ly = j(0.5) * h
    _text(cv.printed, "A", 0.6 * w, ly, small, cv2.FONT_HERSHEY_COMPLEX)
    _hand_field(rng, cv, rng.choice(["Paris", "Lyon", "Tunis", "Lille"]), 0.63 * w, ly, 0.08 * d)
    _text(cv.printed, "le", 0.78 * w, ly, small, cv2.FONT_HERSHEY_COMPLEX)
    _hand_field(rng, cv, f"{rng.integers(1, 28)}/{rng.integers(1, 12)}/26", 0.81 * w, ly, 0.08 * d)
    bx1, by1 = j(0.56) * w, j(0.58) * h
    bx2, by2 = 0.97 * w, 0.86 * h
    if rng.random() < 0.6:
        _rect(cv.printed, bx1, by1, bx2, by2, 1)
        _text(cv.printed, "Signature", bx1 + 0.2 * w, by1 + 0.07 * d, small * 0.8, cv2.FONT_HERSHEY_PLAIN)
    _micr(rng, cv, 0.95 * h, 0.1 * w)
    return _Spec((bx1 + bx2) / 2, (by1 + by2) / 2 + 0.03 * d, by2, bx1, bx2)


_LAYOUT_FUNCS = {"us": _layout_us, "uk": _layout_uk, "in_cts": _layout_in, "eu": _layout_eu,
                 "us_business": cheque_families.layout_us_business, "in_cts_b": cheque_families.layout_in_cts_b,
                 "eu_de": cheque_families.layout_eu_de, "in_business": cheque_families.layout_in_business}
# Whole designs the learned finder trains on, and designs kept out of its training for testing.
TRAIN_FAMILIES = ("us", "uk", "in_cts", "eu", "in_business")
HELDOUT_FAMILIES = ("us_business", "in_cts_b", "eu_de")
_SIZES.update({"us_business": (8.0, 3.3), "in_cts_b": (7.95, 3.62), "eu_de": (6.7, 3.2),
               "in_business": (7.95, 3.62)})


# ---------------------------------------------------------------- signature source

def _cedar_files(datasets: Path | None) -> list[Path]:
    if datasets is None:
        return []
    files = sorted((datasets / "cedar" / "full_org").glob("*.png"))
    files += sorted((datasets / "cedar" / "full_forg").glob("*.png"))
    return files


def _writer_number(path: Path) -> int:
    return int(path.stem.split("_")[1])


def _pool_files(datasets: Path | None, writers: str) -> list[Path]:
    """Signature images of one writer pool.

    ``all``: every CEDAR image (tests, the rule-based benchmark). ``train``: the finder's training
    writers only, genuine signatures of CEDAR writers 1-35 and crossmedia-chinese persons
    e001-e060 (the verifier's validation and test writers are never among them). ``test``: writers
    the finder never trained on: CEDAR 36-55, NISDCC, the Arabic set, crossmedia e061-e100 and c*."""
    if writers == "all":
        return _cedar_files(datasets)
    if datasets is None:
        return []
    cedar = sorted((datasets / "cedar" / "full_org").glob("*.png"))
    chinese = sorted((datasets / "crossmedia-chinese").glob("*_n*/g_*.png"))
    if writers == "train":
        return ([f for f in cedar if _writer_number(f) <= 35]
                + [f for f in chinese if f.parent.name[0] == "e" and int(f.parent.name[1:4]) <= 60])
    if writers == "test":
        return ([f for f in cedar if _writer_number(f) > 35]
                + sorted((datasets / "nisdcc-preview" / "data").glob("*.png"))
                + sorted((datasets / "arabic-kaggle").glob("*/genuine/*.jp*g"))
                + [f for f in chinese if f.parent.name[0] == "c" or int(f.parent.name[1:4]) > 60])
    raise ValueError(f"writers must be all, train or test, not {writers!r}")


_CEDAR_CACHE: dict[str, list[Path]] = {}


def default_datasets_dir() -> Path | None:
    """``$SIGVERIFY_DATASETS`` or ``../shared/datasets`` beside the repository, if it exists."""
    path = datasets_folder()
    return path if path.is_dir() else None


def _signature_alpha(rng: np.random.Generator, datasets: Path | None, writers: str = "all") -> np.ndarray:
    """Ink coverage (0..1) of one signature, cropped to its ink."""
    key = f"{datasets}|{writers}"
    if key not in _CEDAR_CACHE:
        _CEDAR_CACHE[key] = _pool_files(datasets, writers)
    files = _CEDAR_CACHE[key]
    if files and rng.random() < 0.85:
        gray = cv2.imread(str(files[int(rng.integers(len(files)))]), cv2.IMREAD_GRAYSCALE)
        if gray is None:  # an unreadable file in the shared folder: a synthetic writer stands in
            gray = SyntheticWriter(int(rng.integers(1 << 30))).genuine(rng, height=100)
    else:
        gray = SyntheticWriter(int(rng.integers(1 << 30))).genuine(rng, height=int(rng.integers(60, 140)))
    g = gray.astype(np.float32)
    paper, ink = np.percentile(g, 90), np.percentile(g, 0.5)
    alpha = np.clip((paper - g) / max(paper - ink, 1.0), 0, 1)
    alpha[alpha < 0.2] = 0  # scanner dust and paper texture of the source scan are not signature ink
    ys, xs = np.nonzero(alpha > 0.5)
    if len(ys) == 0:
        return alpha
    return alpha[max(0, ys.min() - 2): ys.max() + 3, max(0, xs.min() - 2): xs.max() + 3]


def _place_signature(rng, cv: _Canvas, spec: _Spec, datasets: Path | None, writers: str = "all") -> None:
    alpha = _signature_alpha(rng, datasets, writers)
    target_h = rng.uniform(0.3, 0.75) * cv.dpi
    f = target_h / alpha.shape[0]
    max_w = rng.uniform(0.22, 0.42) * cv.w
    f = min(f, max_w / alpha.shape[1])
    if f < 0.75:
        # a pen's stroke width is physical: a small signature is not written with a thinner pen, so
        # thicken the source strokes by what the downscale will take away
        k = int(round(1.0 / f))
        alpha = cv2.dilate(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    alpha = cv2.resize(alpha, None, fx=f, fy=f, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    angle = rng.normal(0, 5)
    angle = float(np.clip(angle, -15, 15))
    hh, ww = alpha.shape
    diag = int(np.hypot(hh, ww)) + 4
    m = cv2.getRotationMatrix2D((ww / 2, hh / 2), angle, 1.0)
    m[:, 2] += ((diag - ww) / 2, (diag - hh) / 2)
    alpha = cv2.warpAffine(alpha, m, (diag, diag))
    cx = spec.sig_cx + rng.normal(0, 0.04) * cv.w
    cy = spec.sig_cy + rng.normal(0, 0.03) * cv.h
    if rng.random() < 0.1:  # sometimes the signature sits well away from where the form asks for it
        cx = rng.uniform(0.45, 0.85) * cv.w
        cy = rng.uniform(0.55, 0.8) * cv.h
    # keep it on the cheque but let it cross lines and printed text
    ys, xs = np.nonzero(alpha > 0.3)
    half_w = (xs.max() - xs.min()) / 2 if len(xs) else 0
    half_h = (ys.max() - ys.min()) / 2 if len(ys) else 0
    cx = float(np.clip(cx, half_w + 4, cv.w - half_w - 4))
    cy = float(np.clip(cy, half_h + 4, cv.h * 0.9 - half_h))
    _paste_alpha(cv.sig, alpha, cx, cy)


# ---------------------------------------------------------------- capture chain

def _compose(rng, cv: _Canvas) -> np.ndarray:
    """Ink layers on paper, multiplicative like real ink; returns float32 gray 0..255."""
    paper = rng.uniform(215, 250)
    img = np.full((cv.h, cv.w), paper, np.float32)
    img *= 1 - np.clip(cv.pattern, 0, 1) * rng.uniform(0.5, 0.9)
    img *= 1 - cv.printed * rng.uniform(0.75, 0.95)
    img *= 1 - cv.hand * rng.uniform(0.55, 0.9)
    img *= 1 - cv.sig * rng.uniform(0.55, 0.92)
    return img


# ink colours as absorbance per RGB channel: black, blue and violet pens, red and violet stamps
_PEN_COLOURS = ((0.9, 0.9, 0.9), (0.75, 0.55, 0.15), (0.35, 0.4, 0.1), (0.55, 0.75, 0.2))
_STAMP_COLOURS = ((0.1, 0.7, 0.6), (0.5, 0.6, 0.1), (0.35, 0.65, 0.2))
_TINTS = ((0.02, 0.04, 0.1), (0.1, 0.03, 0.06), (0.05, 0.02, 0.02), (0.03, 0.03, 0.03))


def _compose_colour(rng, cv: _Canvas) -> np.ndarray:
    """Like ``_compose`` but in colour (tinted paper, coloured pens and stamps), seen as gray the way
    the app sees a colour scan (``to_gray``): a blue pen on a pink pattern is not black on white."""
    paper = rng.uniform(215, 252)
    tint = np.array(_TINTS[int(rng.integers(len(_TINTS)))], np.float32) * rng.uniform(0.5, 2.0)
    pattern_colour = np.array(_TINTS[int(rng.integers(len(_TINTS)))], np.float32) * 6 + 0.1
    pen_sig = np.array(_PEN_COLOURS[int(rng.integers(len(_PEN_COLOURS)))], np.float32)
    pen_hand = np.array(_PEN_COLOURS[int(rng.integers(len(_PEN_COLOURS)))], np.float32)
    stamp_colour = np.array(_STAMP_COLOURS[int(rng.integers(len(_STAMP_COLOURS)))], np.float32)
    rgb = np.empty((cv.h, cv.w, 3), np.float32)
    for ch in range(3):
        img = np.full((cv.h, cv.w), paper * (1 - tint[ch]), np.float32)
        img *= 1 - np.clip(cv.pattern * min(pattern_colour[ch], 1.0), 0, 1) * rng.uniform(0.5, 0.9)
        img *= 1 - cv.printed * rng.uniform(0.75, 0.95)
        img *= 1 - cv.stamp * stamp_colour[ch]
        img *= 1 - cv.hand * pen_hand[ch] * rng.uniform(0.7, 1.0)
        img *= 1 - cv.sig * pen_sig[ch] * rng.uniform(0.7, 1.0)
        rgb[:, :, ch] = img
    return cv2.cvtColor(np.clip(rgb, 0, 255), cv2.COLOR_RGB2GRAY)


def _geometry(rng, img: np.ndarray, sig: np.ndarray, photo: bool, effects: dict) -> tuple:
    """Skew (and for phone photos: background, perspective); the same warp for image and signature."""
    h, w = img.shape
    angle = float(rng.uniform(-5, 5)) if rng.random() < 0.8 else 0.0
    effects["skew_deg"] = round(angle, 2)
    if photo:
        margin_x, margin_y = int(w * rng.uniform(0.03, 0.15)), int(h * rng.uniform(0.05, 0.3))
    else:
        margin_x = margin_y = int(abs(np.sin(np.radians(angle))) * max(h, w) / 2) + 2
    out_w, out_h = w + 2 * margin_x, h + 2 * margin_y
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    centred = src - (w / 2, h / 2)
    dst = centred @ np.float32([[c, -s], [s, c]]).T + (out_w / 2, out_h / 2)
    if photo:
        dst = dst + rng.normal(0, 0.012 * w, dst.shape)
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    background = float(rng.uniform(60, 200)) if photo else float(img[2, 2])
    effects["border"] = round(background)
    out = cv2.warpPerspective(img, m, (out_w, out_h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=background)
    sig_out = cv2.warpPerspective(sig, m, (out_w, out_h), flags=cv2.INTER_LINEAR)
    return out, sig_out


def _photometric(rng, img: np.ndarray, photo: bool, bitonal: bool, effects: dict) -> np.ndarray:
    h, w = img.shape
    if photo:  # uneven light: a broad gradient and a soft shadow
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        grad = 1 - rng.uniform(0, 0.35) * (xs / w if rng.random() < 0.5 else ys / h)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        shadow = 1 - rng.uniform(0, 0.3) * np.exp(-(((xs - cx) ** 2 + (ys - cy) ** 2) / (0.3 * w) ** 2))
        img = img * grad * shadow
    sigma = float(rng.uniform(0, 0.6 if bitonal else 1.1))
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    noise = float(rng.uniform(0, 7))
    img = img + rng.normal(0, noise, img.shape).astype(np.float32)
    effects.update(blur=round(sigma, 2), noise=round(noise, 1))
    out = np.clip(img, 0, 255).astype(np.uint8)
    if bitonal:
        # image cash letters: fixed-threshold black/white, as most capture devices do it
        thr = float(rng.uniform(0.7, 0.82)) * float(np.percentile(out, 90))
        effects["bitonal_threshold"] = round(thr)
        return np.where(out < thr, 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        q = int(rng.integers(40, 96))
        effects["jpeg"] = q
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])
        out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out


def generate_cheque(seed: int, *, signed: bool | None = None, layout: str | None = None,
                    datasets: Path | None | str = "auto", bitonal: bool | None = None,
                    photo: bool | None = None, dpi: float | None = None, extras: bool = False,
                    writers: str = "all", families: tuple[str, ...] | None = None) -> GeneratedCheque:
    """One synthetic captured cheque; every choice left as None is drawn from ``seed``.

    ``extras``: colour inks, stamps, logos, watermarks, printed names and designations around the
    signature, two signatory lines, handwritten distractors (the learned finder's training data).
    ``families``: the layout families to draw from (default: the four classic ones);
    ``writers``: the signature pool (all, train, test; see ``_pool_files``)."""
    rng = np.random.default_rng(seed)
    if datasets == "auto":
        datasets = default_datasets_dir()
    layout = layout or str(rng.choice(families or LAYOUTS))
    signed = bool(rng.random() < 0.85) if signed is None else signed
    bitonal = bool(rng.random() < 0.25) if bitonal is None else bitonal
    photo = (not bitonal and bool(rng.random() < 0.15)) if photo is None else photo
    if dpi is None:
        dpi = 200.0 if bitonal else float(rng.choice([200, 200, 240, 300]))
    w_in, h_in = _SIZES[layout]
    cv = _new_canvas(int(w_in * dpi), int(h_in * dpi), dpi)
    if extras:  # the finder's data: fill-in in real handwriting typefaces, split like the writers
        cv.hand_fonts = hand_fonts.font_files(writers)
    jitter = lambda v: v + rng.uniform(-0.02, 0.02)  # noqa: E731  (forms differ between banks)
    _security_background(rng, cv)
    specs = _LAYOUT_FUNCS[layout](rng, cv, jitter)
    specs = specs if isinstance(specs, list) else [specs]
    if extras:
        cheque_families.decorate(rng, cv, specs)
        _distractors(rng, cv, datasets, writers)
    data = Path(datasets) if datasets else None
    if signed:
        _place_signature(rng, cv, specs[0], data, writers)
        for spec in specs[1:]:  # the other signatories sign too, most of the time
            if rng.random() < 0.6:
                _place_signature(rng, cv, spec, data, writers)
    effects: dict = {"bitonal": bitonal, "photo": photo}
    if bitonal and rng.random() < 0.8:
        # most capture devices threshold adaptively and drop the light security background
        cv.pattern *= 0.4
    colour = extras and not bitonal and rng.random() < 0.6
    effects["colour"] = colour
    img = _compose_colour(rng, cv) if colour else _compose(rng, cv)
    img, sig = _geometry(rng, img, cv.sig, photo, effects)
    image = _photometric(rng, img, photo, bitonal, effects)
    box = mask = None
    if signed:
        mask = sig > 0.5
        ys, xs = np.nonzero(mask)
        if len(ys):
            box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        else:  # signature fully off-page (should not happen): report as unsigned
            signed, mask = False, None
    return GeneratedCheque(image=image, signed=signed, box=box, ink_mask=mask, layout=layout,
                           dpi=dpi, effects=effects)


def _distractors(rng, cv: _Canvas, datasets, writers: str) -> None:
    """Other handwriting in the other fields: initials by an amount, a note, a second name, some of it
    real signature strokes of another writer (not the signature: what the finder must leave alone)."""
    data = Path(datasets) if datasets else None
    for _ in range(int(rng.integers(0, 3))):
        alpha = _signature_alpha(rng, data, writers) if rng.random() < 0.5 else _scribble(rng, 0.1 * cv.dpi)
        f = rng.uniform(0.08, 0.16) * cv.dpi / max(alpha.shape[0], 1)
        alpha = cv2.resize(alpha, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        x = rng.uniform(0.05, 0.6) * cv.w
        y = rng.uniform(0.15, 0.65) * cv.h
        _paste_alpha(cv.hand, alpha * rng.uniform(0.7, 1.0), x, y)
