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


def write_generic_layout(root: Path, signature_set: dict) -> Path:
    """``{writer: {"genuine": [...], "forged": [...]}}`` as ROOT/<writer>/genuine|forged/<n>.png."""
    for writer, kinds in signature_set.items():
        for kind in ("genuine", "forged"):
            (root / writer / kind).mkdir(parents=True)
            for i, image in enumerate(kinds[kind]):
                cv2.imwrite(str(root / writer / kind / f"{i}.png"), image)
    return root
