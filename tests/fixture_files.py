"""Fixture files written by the tests themselves (importable: conftest modules are not)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import insert

from sigverify.core.store import now_iso, verifications
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


def add_records(store, scores, final, by, k=1, model="test-1", customers=None):
    """Verification rows as the Verifier writes them (bulk: hundreds of them), spread over ``customers``
    (None: a customer of its own for each; calibration bounds its rates at the customer level)."""
    customers = customers or max(1, len(scores))
    rows = [{"customer_id": f"C-{i % customers + 1}", "score": float(s), "decision": "refer", "model_version": model,
             "user": "bob", "reference_scores": json.dumps([{"reference_id": j, "score": float(s)} for j in range(k)]),
             "created_at": now_iso(), "final_decision": final, "final_by": by} for i, s in enumerate(scores)]
    store.run(lambda conn: conn.execute(insert(verifications), rows))


def write_unsigned_cheque(path: Path, seed: int = 99) -> Path:
    """A generated whole cheque with no signature on it (the finder judges it unsigned)."""
    from sigverify.synth.cheques import generate_cheque

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), generate_cheque(seed, signed=False, datasets=None, photo=False, dpi=150.0).image)
    return path
