"""Fixture files written by the tests themselves (importable: conftest modules are not)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from sigverify.synth.signatures import SyntheticWriter


def write_signature(path: Path, writer_seed: int, sample_seed: int, forged: bool = False) -> Path:
    rng = np.random.default_rng(sample_seed)
    writer = SyntheticWriter(writer_seed)
    image = writer.forgery(rng) if forged else writer.genuine(rng)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image)
    return path
