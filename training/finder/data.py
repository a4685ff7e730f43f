"""Training and validation data for the finder: generated cheques, cached once as network inputs.

Every sample is drawn by ``sigverify.synth.cheques.generate_cheque`` with ``extras`` (colour, stamps,
logos, names and designations around the signature, distractor handwriting), from the TRAINING
layout families only and signatures of the training writers only (``writers="train"``); the
input goes through the app's own ``finder_input``. The target is 1 where a cell of the output
grid holds signature ink.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from sigverify.core.finder import finder_input
from sigverify.synth.cheques import TRAIN_FAMILIES, generate_cheque

WIDTH, HEIGHT, STRIDE = 384, 192, 2
# seeds far from the benchmark's (which start at 0 and use held-out families anyway)
TRAIN_SEED0, VAL_SEED0 = 10_000_000, 20_000_000


def target_cells(mask: np.ndarray | None, geo, width: int = WIDTH, height: int = HEIGHT,
                 stride: int = STRIDE) -> np.ndarray:
    """(height/stride, width/stride) uint8: 1 where a cell holds signature ink."""
    out_h, out_w = height // stride, width // stride
    if mask is None:
        return np.zeros((out_h, out_w), np.uint8)
    nw, nh = max(1, int(round(geo.width * geo.scale))), max(1, int(round(geo.height * geo.scale)))
    small = cv2.resize(mask.astype(np.float32), (nw, nh), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((height, width), np.float32)
    canvas[geo.offset_y:geo.offset_y + nh, geo.offset_x:geo.offset_x + nw] = small
    cells = canvas.reshape(out_h, stride, out_w, stride).max(axis=(1, 3))
    return (cells > 0.08).astype(np.uint8)


def sample(seed: int, families=TRAIN_FAMILIES, writers: str = "train"):
    rng = np.random.default_rng(seed)
    dpi = None if rng.random() < 0.3 else float(rng.choice([150, 200]))   # lower dpi: faster to draw
    cheque = generate_cheque(seed, extras=True, families=families, writers=writers, dpi=dpi,
                             signed=bool(rng.random() < 0.8))
    x, geo = finder_input(cheque.image, WIDTH, HEIGHT)
    return (np.round(x[0, 0] * 255).astype(np.uint8), target_cells(cheque.ink_mask, geo), cheque.signed,
            cheque.layout)


def build_cache(folder: Path, split: str, n: int, shard: tuple[int, int] = (0, 1), chunk: int = 250) -> Path:
    """Write ``<split>_<start>.npz`` chunks (inputs, targets, signed, family), ``n`` samples in all;
    resumable. ``shard`` (k, of): this process draws every ``of``-th chunk from the ``k``-th, so that
    one process per core can fill the cache together."""
    folder.mkdir(parents=True, exist_ok=True)
    seed0 = TRAIN_SEED0 if split == "train" else VAL_SEED0
    mine = [start for start in range(0, n, chunk) if (start // chunk) % shard[1] == shard[0]]
    todo = [start for start in mine if not (folder / f"{split}_{start:06d}.npz").exists()]
    started = time.time()
    for done, start in enumerate(todo, 1):
        part = folder / f"{split}_{start:06d}.npz"
        rows = [sample(seed0 + i) for i in range(start, min(n, start + chunk))]
        tmp = part.with_name(part.stem + ".tmp.npz")   # a reader never sees half a chunk
        np.savez_compressed(tmp, x=np.stack([r[0] for r in rows]), y=np.stack([r[1] for r in rows]),
                            signed=np.array([r[2] for r in rows]), family=np.array([r[3] for r in rows]))
        tmp.replace(part)
        eta = (time.time() - started) / done * (len(todo) - done)
        print(f"{split}: chunk {done}/{len(todo)} of this process written, ETA {eta / 60:.1f} min", flush=True)
    return folder


def load_cache(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    parts = sorted(p for p in folder.glob(f"{split}_*.npz") if not p.name.endswith(".tmp.npz"))
    if not parts:
        raise FileNotFoundError(f"no cached {split} samples in {folder}: run `python -m training.finder cache`")
    data = [np.load(p) for p in parts]
    return tuple(np.concatenate([d[k] for d in data]) for k in ("x", "y", "signed", "family"))
