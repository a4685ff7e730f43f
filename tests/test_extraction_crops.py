"""Every signature image of every signature set in ../shared is taken as a crop, untouched (issue 12, item 3).

An administrator registers clean crops: not one may be refused as "unsigned", treated as a cheque,
or cut. Runs over all of them (about 7,000, some 25 s of CPU); skips when the data is absent."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from sigverify.core.extraction import find_signature

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("SIGVERIFY_DATASETS", ROOT.parent / "shared" / "datasets"))
SETS = {"cedar": "**/*.png", "nisdcc-preview": "**/*.png", "arabic-kaggle": "**/*.jp*g",
        "crossmedia-chinese": "**/*.png"}


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_signature_image_is_a_crop_taken_whole(name):
    from PIL import Image

    folder = DATASETS / name
    if not folder.is_dir():
        pytest.skip(f"signature set {name} not found at {folder}")
    files = sorted(folder.glob(SETS[name]))
    assert files, f"no images in {folder}"
    problems = []
    for path in files:
        gray = np.array(Image.open(path).convert("L"))
        result = find_signature(gray)
        h, w = gray.shape
        if not result.found or result.is_cheque or result.box != (0, 0, w, h) or result.crop.shape != (h, w):
            problems.append((path.relative_to(folder).as_posix(), result.found, result.is_cheque, result.reason))
    assert not problems, f"{len(problems)} of {len(files)} refused or cut: {problems[:10]}"


def test_light_strokes_on_a_dark_screen_are_a_signature_as_dark_ink():
    """A tablet signature in dark mode is accepted whole and handed on as dark ink on paper."""
    screen = np.full((200, 500), 30, np.uint8)
    for k in range(5):
        x = 60 + 80 * k
        screen[60:150, x:x + 6] = 110            # broad grey strokes, as the crossmedia tablet captures are
        screen[100:106, x:x + 60] = 110
    result = find_signature(screen)
    assert result.found and not result.is_cheque and result.box == (0, 0, 500, 200)
    assert np.median(result.crop) > 200 and result.crop.min() < 160   # paper light, strokes dark
