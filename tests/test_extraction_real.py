"""Extraction on the real cheque scans against the hand labels in assets/labels (skips without data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sigverify.core.extraction import find_signature
from sigverify.core.imaging import load_image
from sigverify.core.paths import datasets_folder
from sigverify.core.x9 import read_x9

ROOT = Path(__file__).resolve().parents[1]
DATASETS = datasets_folder()
SCANS = DATASETS / "cheques" / "scans"
ALL_LABELS = json.loads((ROOT / "assets" / "labels" / "real_cheques.json").read_text())
LABELS = ALL_LABELS["scans"]
X9_LABELS = {k: v for k, v in ALL_LABELS.get("x9", {}).items() if "#" in k}

pytestmark = pytest.mark.skipif(not SCANS.is_dir(), reason=f"real cheque scans not found at {SCANS}")


def _load(name: str) -> np.ndarray:
    from PIL import Image

    return np.array(Image.open(SCANS / name).convert("L"))


def _iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union


def test_real_scans_match_hand_labels():
    ious, misses = [], []
    for name, label in LABELS.items():
        if not (SCANS / name).exists():
            continue
        result = find_signature(_load(name))
        assert result.is_cheque, name
        if label["box"] is None:
            assert not result.found, f"{name} is unsigned but got {result.box}"
            continue
        value = _iou(result.box, label["box"]) if result.found else 0.0
        ious.append(value)
        if value < 0.5:
            misses.append((name, result.box, label["box"]))
    assert ious, "no labelled scan found"
    assert np.mean(np.array(ious) >= 0.5) >= 0.9, misses
    assert np.median(ious) >= 0.85


def test_unsigned_real_cheque():
    if not (SCANS / "in-cts-4.tiff").exists():
        pytest.skip("in-cts-4.tiff not present")
    result = find_signature(_load("in-cts-4.tiff"))
    assert result.is_cheque and not result.found


def _x9_ious(method: str) -> dict[str, float]:
    ious = {}
    for key, label in X9_LABELS.items():
        file, index = key.split("#")
        path = DATASETS / "cheques" / "x9" / file
        if not path.exists():
            continue
        item = next(i for i in read_x9(path) if i.index == int(index))
        result = find_signature(load_image(item.front_image).gray, method=method)
        assert result.is_cheque, key
        ious[key] = _iou(result.box, label["box"]) if result.found else 0.0
    if not ious:
        pytest.skip("no X9.37 file present")
    return ious


def test_x9_fronts_match_hand_labels():
    # the rules were tuned with these fronts: the money order that signs on the left in a script font
    # is their one known miss
    ious = _x9_ious("rules")
    assert sum(v >= 0.5 for v in ious.values()) >= len(ious) - 1, ious
    # the app's finder: the handwritten fronts (moov, ASCII and EBCDIC) are found; on the return file,
    # whose "signatures" are set in a script font, the network may take another line of script for it
    # (measured: 1 of its 3 labelled fronts, README "Finding the signature on a cheque")
    ious = _x9_ious("auto")
    assert all(v >= 0.9 for k, v in ious.items() if k.startswith("moov")), ious
    assert sum(v >= 0.5 for v in ious.values()) >= len(ious) - 2, ious
