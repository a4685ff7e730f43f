"""Image loading as banks have the files: formats, odd modes, bombs, damage."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from sigverify.core.imaging import ImageLoadError, load_image


def _signature_like(h=120, w=300) -> np.ndarray:
    image = np.full((h, w), 245, np.uint8)
    image[50:60, 40:260] = 20
    return image


def _save(tmp_path, name, image: Image.Image, **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


@pytest.mark.parametrize("name,mode,kwargs", [
    ("a.png", "L", {}),
    ("a.jpg", "RGB", {"quality": 90}),
    ("a.bmp", "RGB", {}),
    ("a.tif", "1", {"compression": "group4"}),
    ("p.png", "P", {}),
    ("c.jpg", "CMYK", {}),
    ("rgba.png", "RGBA", {}),
    ("i16.png", "I;16", {}),
])
def test_formats_decode_to_the_same_dark_stroke(tmp_path, name, mode, kwargs):
    base = Image.fromarray(_signature_like())
    if mode == "I;16":
        image = Image.fromarray(_signature_like().astype(np.uint16) * 257)
    else:
        image = base.convert(mode)
    loaded = load_image(_save(tmp_path, name, image, **kwargs))
    assert loaded.gray.shape == (120, 300)
    assert loaded.gray[55, 150] < 80 and loaded.gray[10, 10] > 200
    assert loaded.rgb.shape == (120, 300, 3)
    # what the clerk is shown is what is judged: the gray levels are the shown picture's luma
    shown = Image.fromarray(loaded.rgb).convert("L")
    assert np.array_equal(np.asarray(shown), loaded.gray)


def test_transparent_background_is_paper_not_black(tmp_path):
    rgba = np.zeros((60, 200, 4), np.uint8)
    rgba[25:35, 20:180] = (0, 0, 0, 255)  # only the stroke is opaque
    loaded = load_image(_save(tmp_path, "t.png", Image.fromarray(rgba, "RGBA")))
    assert loaded.gray[5, 5] == 255 and loaded.gray[30, 100] == 0


def test_exif_orientation_is_applied(tmp_path):
    image = Image.fromarray(_signature_like(100, 300))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    path = tmp_path / "rot.jpg"
    image.save(path, exif=exif)
    assert load_image(path).gray.shape == (300, 100)


def test_dpi_and_pages(tmp_path):
    pages = [Image.fromarray(_signature_like()), Image.fromarray(255 - _signature_like())]
    path = tmp_path / "multi.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:], dpi=(200, 200))
    first = load_image(path)
    assert first.dpi == pytest.approx(200) and first.page_count == 2
    assert load_image(path, page=1).gray[10, 10] < 50
    with pytest.raises(ImageLoadError, match="page 3"):
        load_image(path, page=2)


def _png_header_claiming(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    # a few bytes of real deflate data: the file is tiny, the claimed image is 10 gigapixels
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) \
        + chunk(b"IEND", b"")


@pytest.mark.parametrize("width,height", [(100_000, 100_000), (9_000, 9_000)])
def test_decompression_bomb_rejected_from_header(tmp_path, width, height):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_claiming(width, height))
    with pytest.raises(ImageLoadError, match="bomb.png.*(budget|too large)"):
        load_image(path)


def test_tiff_header_claiming_huge_size(tmp_path):
    path = tmp_path / "bomb.tif"
    Image.new("1", (64, 64)).save(path, compression="group4")
    data = bytearray(path.read_bytes())
    # patch ImageWidth (256) and ImageLength (257) tags in the first IFD to 100,000
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * i
        tag, kind = struct.unpack_from("<HH", data, entry)
        if tag in (256, 257):
            fmt = "<H" if kind == 3 else "<I"
            struct.pack_into(fmt, data, entry + 8, 100_000 if kind == 4 else 60_000)
    path.write_bytes(bytes(data))
    with pytest.raises(ImageLoadError, match="bomb.tif"):
        load_image(path)


@pytest.mark.parametrize("content,reason", [
    (b"", "empty"),
    (b"this is not an image at all", "not an image"),
])
def test_non_images_named_in_error(tmp_path, content, reason):
    path = tmp_path / "cheque 01.png"
    path.write_bytes(content)
    with pytest.raises(ImageLoadError, match=f"cheque 01.png.*{reason}"):
        load_image(path)


def test_truncated_file(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (400, 400), np.uint8)).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageLoadError, match="cut.png.*(damaged|truncated)"):
        load_image(path)


def test_tiny_and_missing(tmp_path):
    path = _save(tmp_path, "one.png", Image.new("L", (1, 1)))
    with pytest.raises(ImageLoadError, match="too small"):
        load_image(path)
    with pytest.raises(ImageLoadError, match="not found"):
        load_image(tmp_path / "nope.png")


def test_wrong_extension_still_decodes(tmp_path):
    path = _save(tmp_path, "really_a_png.jpg", Image.fromarray(_signature_like()), format="PNG")
    assert load_image(path).format == "PNG"
