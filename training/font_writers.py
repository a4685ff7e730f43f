"""Synthetic writers from handwriting typefaces, for training the verifier (issue 15).

Why: real writers with skilled forgeries are scarce here (CEDAR 55, SigComp2009 preview 12,
Arabic 10). A model trained on so few hands learns the letters more than the hand, which is
exactly what a skilled forgery copies. Synthetic writers give many hands writing names, with
*content-matched* negatives: a forgery writes the same name with another hand.

A writer is a name, a handwriting typeface (the Debian font packages of
``sigverify.synth.hand_fonts``; nothing is downloaded) and a fixed style: size, slant, width,
letter spacing, pen width, baseline wave, a smooth personal distortion of the letter shapes and
an optional flourish. Each genuine signature redraws that with small per-signature variation.
A skilled forgery writes the same name imitating the overall look (slant and width copied with
error) but with the forger's own letter shapes: another typeface, or the same one with another
personal distortion, and a less fluent, trembling stroke.

The output is a folder in the generic layout (``<writer>/genuine/*.png``, ``<writer>/forged/*.png``),
so training reads it like any signature set, through the app's own prepare:

    python -m training.font_writers --out runs/synth-fonts --writers 1200
    # then: --set data.extra_train=[crossmedia-chinese,generic:runs/synth-fonts] (training/cards/notes.md)
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from sigverify.core.normalize import thin
from sigverify.synth.hand_fonts import _font, font_files

# names of many countries: the text a customer signs (often a name, an initial, or a fragment)
FIRST = ("Anna", "James", "Maria", "Mohamed", "Li", "Priya", "John", "Sofia", "Ahmed", "Elena", "David",
         "Fatima", "Carlos", "Ingrid", "Kenji", "Olga", "Pierre", "Aisha", "Rahul", "Grace", "Tomas",
         "Yusuf", "Marta", "Henrik", "Lucia", "Peter", "Nadia", "Samuel", "Chloe", "Ravi", "Julia",
         "Omar", "Hannah", "Lars", "Irene", "Kofi", "Emma", "Diego", "Sara", "Viktor")
LAST = ("Smith", "Garcia", "Kumar", "Muller", "Rossi", "Nowak", "Okafor", "Tanaka", "Silva", "Dubois",
        "Hansen", "Ivanova", "Khan", "Brown", "Schmidt", "Martin", "Lopez", "Patel", "Wagner", "Jensen",
        "Moreau", "Novak", "Costa", "Haddad", "Fischer", "Kowalski", "Bianchi", "Andersen", "Mensah",
        "Romero", "Sato", "Weber", "Dimitrov", "Nielsen", "Ferreira", "Yilmaz", "Becker", "Walsh")


def signed_text(rng: np.random.Generator) -> str:
    """What a writer signs: full name, initial + surname, surname alone, or a short fragment."""
    first, last = str(rng.choice(FIRST)), str(rng.choice(LAST))
    form = rng.integers(0, 4)
    if form == 0:
        return f"{first} {last}"
    if form == 1:
        return f"{first[0]}. {last}"
    if form == 2:
        return last
    return f"{first[0]}{last[: int(rng.integers(2, 5))].lower()}"


def _smooth_field(rng: np.random.Generator, amplitude: float, cells: int = 4) -> np.ndarray:
    """A smooth random displacement, (2, cells, 2*cells) in units of the text height."""
    return rng.normal(0.0, amplitude, size=(2, cells, 2 * cells)).astype(np.float32)


@dataclass(frozen=True)
class Hand:
    """How one person (or one forger imitating them) writes: fixed across their signatures."""

    font: Path
    size: float  # glyph size in px
    slant: float  # shear, x per y
    aspect: float  # horizontal scale
    spacing: float  # letters overlap by this fraction of the size
    pen: int  # extra stroke width in px
    wave: float  # baseline wave amplitude, fraction of size
    wave_period: float  # px
    letter_var: float  # how much each letter's size and height wander
    field: np.ndarray  # personal distortion of the letter shapes (_smooth_field)
    flourish: np.ndarray | None  # control points of an underline/paraph, relative to the text box
    tremor: float  # stroke tremor, px (forgers: slow, shaky)
    stroke: float = 0.0  # "fine" style: pen width as a fraction of the letter size (0: the typeface's own)


def make_hand(rng: np.random.Generator, fonts: tuple[Path, ...], style: str = "bold") -> Hand:
    flourish = None
    if rng.random() < 0.45:
        n = int(rng.integers(3, 6))
        xs = np.sort(rng.uniform(-0.05, 1.1, n))
        ys = 1.0 + rng.uniform(-0.25, 0.35, n)
        flourish = np.stack([xs, ys], 1).astype(np.float32)
    return Hand(font=fonts[int(rng.integers(len(fonts)))], size=float(rng.uniform(38, 60)),
                slant=float(rng.uniform(-0.45, 0.2)), aspect=float(rng.uniform(0.7, 1.35)),
                spacing=float(rng.uniform(0.0, 0.12)), pen=int(rng.choice([0, 1, 1, 2])),
                wave=float(rng.uniform(0.0, 0.12)), wave_period=float(rng.uniform(25, 90)),
                letter_var=float(rng.uniform(0.03, 0.12)), field=_smooth_field(rng, rng.uniform(0.03, 0.1)),
                flourish=flourish, tremor=0.0,
                # "fine": a ballpoint's thin line, as on scanned paper signatures (typefaces are bolder)
                stroke=float(rng.uniform(0.03, 0.065)) if style == "fine" else 0.0)


def forger_of(hand: Hand, rng: np.random.Generator, fonts: tuple[Path, ...]) -> Hand:
    """A skilled imitator: the overall look copied with error, their own letter shapes."""
    other_font = fonts[int(rng.integers(len(fonts)))] if rng.random() < 0.6 else hand.font
    flourish = None
    if hand.flourish is not None:
        flourish = hand.flourish + rng.normal(0, 0.06, hand.flourish.shape).astype(np.float32)
    return Hand(font=other_font, size=hand.size * float(rng.uniform(0.9, 1.1)),
                slant=hand.slant + float(rng.normal(0, 0.08)), aspect=hand.aspect * float(rng.uniform(0.9, 1.1)),
                spacing=float(np.clip(hand.spacing + rng.normal(0, 0.03), 0, 0.15)),
                pen=int(np.clip(hand.pen + rng.integers(-1, 2), 0, 2)), wave=hand.wave * float(rng.uniform(0.5, 1.5)),
                wave_period=hand.wave_period, letter_var=hand.letter_var * float(rng.uniform(1.0, 1.6)),
                field=0.5 * hand.field + _smooth_field(rng, rng.uniform(0.03, 0.08)), flourish=flourish,
                tremor=float(rng.uniform(0.4, 1.2)),
                stroke=hand.stroke * float(rng.uniform(0.8, 1.25)) if hand.stroke else 0.0)


def _glyph_row(text: str, hand: Hand, rng: np.random.Generator) -> np.ndarray:
    """The text set letter by letter, each letter's size and height wandering a little."""
    size = hand.size * float(rng.uniform(0.96, 1.04))
    pieces, offsets = [], []
    for char in text:
        if char == " ":
            pieces.append(np.zeros((4, max(2, int(size * 0.3))), np.float32))
            offsets.append(0)
            continue
        font = _font(hand.font, max(8, int(size * (1 + hand.letter_var * rng.normal()))))
        left, top, right, bottom = font.getbbox(char, stroke_width=hand.pen)
        if right <= left or bottom <= top:
            continue
        img = Image.new("L", (right - left + 2, int(size * 2)), 0)
        ImageDraw.Draw(img).text((1 - left, int(size * 0.3)), char, fill=255, font=font,
                                 stroke_width=hand.pen, stroke_fill=255)
        pieces.append(np.asarray(img, np.float32) / 255.0)
        offsets.append(int(round(hand.letter_var * size * 0.4 * rng.normal())))
    h = int(size * 2) + 2 * int(size * 0.2)
    pad = int(size)
    width = sum(p.shape[1] for p in pieces) + 2 * pad
    row = np.zeros((h + 2 * pad, width), np.float32)
    x = pad
    for p, dy in zip(pieces, offsets, strict=True):
        y = pad + int(size * 0.2) + dy
        y = min(max(y, 0), row.shape[0] - p.shape[0])
        region = row[y:y + p.shape[0], x:x + p.shape[1]]
        np.maximum(region, p[:region.shape[0], :region.shape[1]], out=region)
        x += max(1, p.shape[1] - int(hand.spacing * size))
    return row


def _warp(ink: np.ndarray, hand: Hand, rng: np.random.Generator, jitter: float) -> np.ndarray:
    """Slant, width, baseline wave and the hand's personal (plus this signature's) distortion."""
    h, w = ink.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    field = hand.field + _smooth_field(rng, jitter)
    scale = hand.size
    dx = cv2.resize(field[0], (w, h), interpolation=cv2.INTER_CUBIC) * scale
    dy = cv2.resize(field[1], (w, h), interpolation=cv2.INTER_CUBIC) * scale
    slant = hand.slant + float(rng.normal(0, 0.03))
    aspect = hand.aspect * float(rng.uniform(0.96, 1.04))
    wave = hand.wave * scale * np.sin(xs / hand.wave_period + float(rng.uniform(0, 0.6)))
    map_x = (xs - w / 2) / aspect + w / 2 - slant * (ys - h / 2) + dx
    map_y = ys + wave + dy
    if hand.tremor > 0:  # a slow, shaky hand: fine high-frequency wobble of the stroke
        wob = cv2.resize(rng.normal(0, hand.tremor, size=(max(2, h // 6), max(2, w // 6))).astype(np.float32),
                         (w, h), interpolation=cv2.INTER_LINEAR)
        map_x = map_x + wob
        map_y = map_y + wob[::-1]
    return cv2.remap(ink, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR,
                     borderValue=0)


def _flourish(ink: np.ndarray, hand: Hand, rng: np.random.Generator) -> None:
    """The paraph/underline, drawn in place, relative to the written text's box."""
    if hand.flourish is None:
        return
    ys, xs = np.nonzero(ink > 0.3)
    if xs.size == 0:
        return
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    pts = hand.flourish + rng.normal(0, 0.02, hand.flourish.shape).astype(np.float32)
    px = x0 + pts[:, 0] * (x1 - x0)
    py = y0 + pts[:, 1] * (y1 - y0)
    t = np.linspace(0, 1, 60)
    # a smooth curve through the points: polynomial fit in the curve parameter
    u = np.linspace(0, 1, len(px))
    deg = min(3, len(px) - 1)
    cx = np.polyval(np.polyfit(u, px, deg), t)
    cy = np.polyval(np.polyfit(u, py, deg), t)
    poly = np.stack([cx, cy], 1).round().astype(np.int32)
    cv2.polylines(ink, [poly], False, 1.0, thickness=max(1, hand.pen + 1), lineType=cv2.LINE_AA)


def _thin_pen(ink: np.ndarray, hand: Hand, rng: np.random.Generator) -> np.ndarray:
    """Redraw the typeface's strokes with the hand's pen: thinned to a skeleton, drawn ``stroke`` of the
    letter size wide, the pressure (darkness) varying along the line as with a ballpoint."""
    skeleton = thin(ink > 0.5).astype(np.uint8)
    if not skeleton.any():
        return ink
    width = max(1, int(round(hand.stroke * hand.size)))
    pen = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))
    drawn = cv2.GaussianBlur(cv2.dilate(skeleton, pen).astype(np.float32), (3, 3), 0)
    h, w = ink.shape
    pressure = cv2.resize(rng.uniform(0.45, 1.0, size=(3, 6)).astype(np.float32), (w, h),
                          interpolation=cv2.INTER_CUBIC)
    return drawn * np.clip(pressure, 0.3, 1.0)


def draw(text: str, hand: Hand, rng: np.random.Generator, jitter: float = 0.03) -> np.ndarray:
    """One signature as a grayscale scan (uint8, dark ink on light paper)."""
    ink = _warp(_glyph_row(text, hand, rng), hand, rng, jitter)
    ink = cv2.copyMakeBorder(ink, 0, int(hand.size), 0, 0, cv2.BORDER_CONSTANT, value=0)  # room below
    _flourish(ink, hand, rng)
    if hand.stroke:
        ink = _thin_pen(ink, hand, rng)
    ys, xs = np.nonzero(ink > 0.05)
    if xs.size:
        pad = int(hand.size * 0.3)
        ink = ink[max(0, ys.min() - pad):ys.max() + pad, max(0, xs.min() - pad):xs.max() + pad]
    darkness = float(rng.uniform(0.55, 0.95))
    paper = float(rng.uniform(225, 250))
    page = paper - np.clip(ink, 0, 1) * darkness * paper + rng.normal(0, 2.0, ink.shape)
    return np.clip(page, 0, 255).astype(np.uint8)


def write_writer(out: Path, index: int, seed: int, genuine: int, forged: int, fonts: tuple[Path, ...],
                 style: str = "bold") -> None:
    rng = np.random.default_rng([seed, index])
    hand = make_hand(rng, fonts, style)
    text = signed_text(rng)
    folder = out / f"w{index:05d}"
    (folder / "genuine").mkdir(parents=True, exist_ok=True)
    (folder / "forged").mkdir(parents=True, exist_ok=True)
    for k in range(genuine):
        cv2.imwrite(str(folder / "genuine" / f"{k:02d}.png"), draw(text, hand, rng))
    forgers = [forger_of(hand, rng, fonts) for _ in range(max(1, forged // 2))]
    for k in range(forged):
        cv2.imwrite(str(folder / "forged" / f"{k:02d}.png"), draw(text, forgers[k % len(forgers)], rng))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/synth-fonts"))
    ap.add_argument("--writers", type=int, default=1200)
    ap.add_argument("--genuine", type=int, default=8)
    ap.add_argument("--forged", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--style", choices=("bold", "fine"), default="bold",
                    help="bold: the typefaces' own strokes; fine: thinned to a ballpoint's line, pressure varying")
    ap.add_argument("--shard", default="0/1", help="K/N: write writers K, K+N, K+2N, ...")
    args = ap.parse_args(argv)
    fonts = font_files("all")
    if not fonts:
        raise SystemExit("no handwriting typefaces installed (apt-get install fonts-breip fonts-kristi ...)")
    k, n = (int(v) for v in args.shard.split("/"))
    todo = range(k, args.writers, n)
    t0 = time.time()
    for i, w in enumerate(todo):
        if not (args.out / f"w{w:05d}" / "forged" / f"{args.forged - 1:02d}.png").exists():
            write_writer(args.out, w, args.seed, args.genuine, args.forged, fonts, args.style)
        if (i + 1) % 100 == 0:
            rate = (i + 1) / (time.time() - t0)
            print(f"{i + 1}/{len(todo)} writers, ETA {(len(todo) - i - 1) / rate / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
