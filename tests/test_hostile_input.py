"""Hostile and broken input through the CLI: a clear error, a non-zero exit, no traceback, nothing written.

Most cases call ``main`` in this process (an uncaught exception fails the test exactly as a
traceback would, and it is ten times faster); the cases that depend on a real process (argv
bytes, a lock held by another program) run the installed entry point.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_factory import build_test_model
from PIL import Image
from test_cli import sigverify
from test_security_cli import cli

from sigverify.core.imaging import ImageLoadError, load_image
from sigverify.core.model_trust import sha256_file
from sigverify.core.paths import card_path_for

TABLES = ("customers", "reference_signatures", "verifications", "audit_log", "users", "settings")


# --- crafted files -----------------------------------------------------------------------------
def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header for a huge image, and almost no pixel data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + png_chunk(b"IEND", b""))


def tiff_claiming(width: int, height: int) -> bytes:
    """A little-endian baseline TIFF directory for a huge 8-bit image, with no strips to speak of."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8),
               (277, 3, 1), (278, 4, height), (279, 4, 0xFFFFFFF0)]
    body = b"".join(struct.pack("<HHII", tag, kind, 1, value) if kind == 4 else
                    struct.pack("<HHIHH", tag, kind, 1, value, 0) for tag, kind, value in entries)
    return b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries)) + body + struct.pack("<I", 0)


def encoded(fmt: str, size: tuple[int, int] = (48, 32)) -> bytes:
    rng = np.random.default_rng(len(fmt))
    image = Image.fromarray(rng.integers(0, 255, (size[1], size[0]), dtype=np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture
def common(test_model, db_url):
    return ["--db", db_url, "--model", str(test_model), "--device", "cpu"]


@pytest.fixture
def ready(common, signature_files, monkeypatch):
    """A store with customer C-1 (first-time administrator: no users yet)."""
    assert cli("register", "C-1", signature_files["a0"], *common, monkeypatch=monkeypatch)[0] == 0
    return common


def snapshot(db_url: str) -> dict:
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def assert_refused(result, *words, code=None):
    rc, out, err = result
    assert rc != 0 and (code is None or rc == code), (rc, err)
    assert "error:" in err and "Traceback" not in err, err
    for word in words:
        assert word in err, err


# --- images ------------------------------------------------------------------------------------
def hostile_images(folder: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, words the error must contain)."""
    data = good.read_bytes()
    cases = {
        "zero_byte": ("empty.png", b"", "empty (0 bytes)"),
        "truncated": ("half.png", data[: len(data) // 2], "damaged or truncated"),
        "corrupt": ("noise.png", np.random.default_rng(1).bytes(4000), "not an image"),
        "corrupt_pixels": ("garbled.png", data[:60] + bytes(b ^ 0x5A for b in data[60:]), "damaged"),
        "wrong_extension": ("letter.png", b"%PDF-1.4 not a scan\n" * 20, "not an image"),
        "png_100k": ("bomb.png", png_claiming(100_000, 100_000), "too large"),
        "tiff_100k": ("bomb.tif", tiff_claiming(100_000, 100_000), "too large"),
        "one_pixel": ("dot.png", encoded("PNG", (1, 1)), "too small"),
    }
    folder.mkdir(exist_ok=True)
    out = {}
    for key, (name, content, words) in cases.items():
        path = folder / name
        path.write_bytes(content)
        out[key] = (path, words)
    (folder / "a folder.png").mkdir()
    out["folder"] = (folder / "a folder.png", "is a folder")
    out["missing"] = (folder / "nowhere.png", "not found")
    out["long_name"] = (folder / ("x" * 300 + ".png"), "cannot be read")
    return out


CASES = ["zero_byte", "truncated", "corrupt", "corrupt_pixels", "wrong_extension", "png_100k", "tiff_100k",
         "one_pixel", "folder", "missing", "long_name"]


@pytest.mark.parametrize("case", CASES)
def test_hostile_image_is_refused_and_nothing_written(case, ready, db_url, signature_files, tmp_path, monkeypatch):
    path, words = hostile_images(tmp_path / "hostile", signature_files["a1"])[case]
    before = snapshot(db_url)
    assert_refused(cli("register", "C-NEW", path, *ready, monkeypatch=monkeypatch), words, code=4)
    assert_refused(cli("verify", "C-1", path, *ready, monkeypatch=monkeypatch), words, code=4)
    assert snapshot(db_url) == before


def test_awkward_but_valid_names_work(ready, db_url, signature_files, tmp_path, monkeypatch):
    folder = tmp_path / "scans with spaces"
    folder.mkdir()
    data = signature_files["a1"].read_bytes()
    for name in ("cheque 1 of 2.png", "png-content-named.tif", "y" * 250 + ".png"):
        (folder / name).write_bytes(data)
        rc, _, err = cli("verify", "C-1", folder / name, *ready, monkeypatch=monkeypatch)
        assert rc == 0, (name, err)
    assert snapshot(db_url)["verifications"] == 3


@pytest.mark.skipif(sys.platform != "linux", reason="file names are bytes only on Linux")
def test_non_utf8_file_name_through_the_real_entry_point(ready, db_url, signature_files, tmp_path):
    raw_name = os.fsencode(tmp_path) + b"/\xff\xfe signature.png"
    with open(raw_name, "wb") as handle:
        handle.write(signature_files["a1"].read_bytes())
    name = os.fsdecode(raw_name)
    ok = sigverify("register", "C-2", name, "--json", *ready)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["files"][0].endswith("\\xff\\xfe signature.png")  # readable, not mojibake
    missing = sigverify("verify", "C-1", os.fsdecode(raw_name + b".gone"), *ready)
    assert missing.returncode == 4 and "not found" in missing.stderr and "Traceback" not in missing.stderr


# --- the model file ----------------------------------------------------------------------------
def test_truncated_or_swapped_model_is_refused_and_nothing_written(ready, db_url, test_model, signature_files,
                                                                  tmp_path, monkeypatch):
    data = test_model.read_bytes()
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(data[: len(data) // 2])
    with_card = tmp_path / "carded.onnx"
    with_card.write_bytes(data[: len(data) // 2])
    card_path_for(with_card).write_text(f'{{"sha256": "{sha256_file(test_model)}"}}', encoding="utf-8")
    foreign = build_test_model(tmp_path / "foreign.onnx", with_metadata=False)
    swapped = build_test_model(tmp_path / "swapped.onnx", seed=9)
    card_path_for(swapped).write_text(f'{{"sha256": "{sha256_file(test_model)}"}}', encoding="utf-8")
    before = snapshot(db_url)
    for model, words in ((truncated, "not a loadable ONNX model"), (with_card, "does not match its card"),
                         (foreign, "not a sigverify model"), (swapped, "does not match its card")):
        args = ["--db", db_url, "--model", model, "--device", "cpu"]
        assert_refused(cli("verify", "C-1", signature_files["a1"], *args, monkeypatch=monkeypatch), words, code=6)
    assert snapshot(db_url) == before


# --- the database ------------------------------------------------------------------------------
HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO settings (key, value) VALUES ('held', '1')")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


def test_database_locked_by_another_process(ready, db_url, signature_files):
    before = snapshot(db_url)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, db_url.removeprefix("sqlite:///"), "30"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        result = sigverify("register", "C-3", signature_files["a1"], *ready)
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 7 and "locked by another program" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and waited >= 2  # it retried before giving up
    assert snapshot(db_url) == before


# --- property test over the image loader -------------------------------------------------------
SEEDS = [encoded(fmt) for fmt in ("PNG", "JPEG", "TIFF", "BMP", "GIF")] + [
    png_claiming(9000, 9000), tiff_claiming(30, 30)]


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int) -> bytes:
    buffer = bytearray(data)
    for position, value in edits:
        buffer[position % len(buffer)] = value
    return bytes(buffer[: max(1, len(buffer) - cut)])


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=512),
    st.builds(mutate, st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)),
                                                        max_size=8), st.integers(0, 64)),
))
def test_image_loader_raises_only_image_load_error(data):
    try:
        image = load_image(data, name="fuzz")
    except ImageLoadError:
        return
    assert image.gray.ndim == 2 and image.gray.dtype == np.uint8


def test_loader_accepts_what_a_scanner_writes(tmp_path):
    path = tmp_path / "scan.png"
    cv2.imwrite(str(path), np.full((64, 128), 200, np.uint8))
    assert load_image(path).gray.shape == (64, 128)
