"""Decode any scan a bank has, safely: formats, pixel budget, EXIF orientation, DPI.

Pillow does the decoding (it reads CCITT G4 TIFF, CMYK, palette, 16-bit and multi-page files
that OpenCV does not). The pixel budget is checked on the header, before any pixel is decoded,
so a 100,000 x 100,000 "decompression bomb" costs nothing.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# 60 megapixels: an A4 page at 600 dpi is 35 MP; nothing a bank scans is larger
DEFAULT_PIXEL_BUDGET = 60_000_000
MAX_FILE_BYTES = 200 * 1024 * 1024
MIN_SIDE = 8


class ImageLoadError(ValueError):
    """The file cannot be used as an image; the message names the file and the reason."""


@dataclass(frozen=True)
class LoadedImage:
    gray: np.ndarray  # uint8 (H, W)
    # the decoded page as Pillow gave it (orientation applied), from which ``rgb`` is made on demand
    decoded: Image.Image = field(repr=False, compare=False)
    dpi: float | None
    format: str
    source: str
    page_count: int = 1

    @cached_property
    def rgb(self) -> np.ndarray:
        """uint8 (H, W, 3), for display. Made on first use: only the GUI shows the image, and turning a
        gray scan into RGB and back cost half the time of loading a cheque."""
        return np.ascontiguousarray(np.asarray(_rgb_picture(self.decoded)))


def printable_name(text: str) -> str:
    """A file name fit for messages and the database: a non-UTF-8 name (Linux passes its bytes
    through as surrogates) would otherwise fail later, when printed or stored, far from the cause."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _describe(source: str | Path | bytes, name: str | None) -> str:
    if name:
        return printable_name(name)
    return "<bytes>" if isinstance(source, bytes | bytearray) else printable_name(str(source))


def read_file_bytes(source: str | Path | bytes, label: str) -> bytes:
    """The file's bytes, size-capped, with an ImageLoadError that names the file on failure."""
    if isinstance(source, bytes | bytearray):
        return bytes(source)
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImageLoadError(f"{label}: file is {size // 2**20} MiB, larger than any scan we accept")
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ImageLoadError(f"{label}: file not found") from exc
    except IsADirectoryError as exc:
        raise ImageLoadError(f"{label}: is a folder, not an image file") from exc
    except OSError as exc:
        raise ImageLoadError(f"{label}: cannot be read ({exc.strerror or exc})") from exc
    return data


def load_image(
    source: str | Path | bytes,
    *,
    name: str | None = None,
    page: int = 0,
    pixel_budget: int = DEFAULT_PIXEL_BUDGET,
) -> LoadedImage:
    """Decode ``source`` (path or bytes) to grayscale + RGB; raises ImageLoadError with a reason."""
    label = _describe(source, name)
    data = read_file_bytes(source, label)
    if not data:
        raise ImageLoadError(f"{label}: the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            return _decode(image, label, page, pixel_budget)
    except ImageLoadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if isinstance(exc, UnidentifiedImageError):
            raise ImageLoadError(f"{label}: not an image file, or a format sigverify cannot read") from exc
        raise ImageLoadError(f"{label}: the image is too large to be a scanned cheque; it may be damaged, "
                             "or not a scan") from exc
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, MemoryError) as exc:
        raise ImageLoadError(f"{label}: the image is damaged or truncated ({exc})") from exc


def _decode(image: Image.Image, label: str, page: int, pixel_budget: int) -> LoadedImage:
    page_count = getattr(image, "n_frames", 1)
    if page:
        if page >= page_count:
            raise ImageLoadError(f"{label}: has {page_count} page(s), page {page + 1} asked for")
        image.seek(page)
    width, height = image.size
    if width * height > pixel_budget:
        raise ImageLoadError(
            f"{label}: {width} x {height} pixels is too large to be a scanned cheque (at most "
            f"{pixel_budget // 1_000_000} megapixels); scan it again at 300 dpi"
        )
    if min(width, height) < MIN_SIDE:
        raise ImageLoadError(f"{label}: {width} x {height} pixels is too small to hold a signature")
    fmt = image.format or "unknown"
    dpi = _dpi(image)
    image.load()  # decode now so truncation surfaces here, inside the error handling
    ImageOps.exif_transpose(image, in_place=True)   # no copy of an upright page
    return LoadedImage(gray=_to_gray(image), dpi=dpi, format=fmt, source=label, page_count=page_count,
                       decoded=image)


def _to_gray(image: Image.Image) -> np.ndarray:
    """The page's gray levels: Pillow's luma of the RGB picture ``_rgb_picture`` makes. An 8-bit gray page
    is its own luma (Pillow's weights sum to exactly 1 in fixed point), so it is taken as it is."""
    if image.mode == "L":
        return np.array(image)
    return np.array(_rgb_picture(image).convert("L"))


def _dpi(image: Image.Image) -> float | None:
    dpi = image.info.get("dpi")
    if not dpi:
        return None
    try:
        value = float(dpi[0])
    except (TypeError, ValueError, IndexError):
        return None
    return value if 20 <= value <= 4800 else None


def _rgb_picture(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit / float scans: stretch to 8 bits by the actual range, not by a fixed shift
        values = np.asarray(image, dtype=np.float64)
        lo, hi = float(values.min()), float(values.max())
        scaled = np.zeros_like(values) if hi <= lo else (values - lo) / (hi - lo) * 255.0
        image = Image.fromarray(scaled.astype(np.uint8), "L")
    elif mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        # transparent pixels are paper: composite on white, not on black
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")
