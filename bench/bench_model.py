"""Time the shipped model on one CPU thread: load, normalise, embed, compare.

    .venv/bin/python bench/bench_model.py [--model models/sigverify.onnx] [--images DIR]

Prints a table of median / p90 milliseconds per signature.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from sigverify.core.engine import Engine
from sigverify.core.normalize import normalize_signature
from sigverify.core.pipeline import prepare
from sigverify.synth.signatures import SyntheticWriter


def _stats(times: list[float]) -> str:
    a = np.array(times) * 1000
    return f"{np.median(a):8.2f} {np.percentile(a, 90):8.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--images", type=Path, default=None, help="folder of signature images (default: synthetic)")
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()
    t = time.perf_counter()
    engine = Engine(args.model, device="cpu", threads=1)
    load = time.perf_counter() - t
    meta = engine.metadata
    if args.images:
        files = sorted(p for p in args.images.rglob("*") if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
        files = files[: args.repeats]
    else:
        rng = np.random.default_rng(0)
        imgs = [SyntheticWriter(i).genuine(rng) for i in range(args.repeats)]
    ref = engine.embed(np.zeros((1, meta.input_height, meta.input_width), np.float32))[0]
    t_norm, t_embed, t_cmp, t_prep = [], [], [], []
    for i in range(args.repeats):
        if args.images:
            t = time.perf_counter()
            x = prepare(files[i % len(files)], engine.metadata.normalization).normalized
            t_prep.append(time.perf_counter() - t)
        else:
            t = time.perf_counter()
            x = normalize_signature(imgs[i], meta.normalization)
            t_norm.append(time.perf_counter() - t)
        t = time.perf_counter()
        e = engine.embed(x[None])[0]
        t_embed.append(time.perf_counter() - t)
        t = time.perf_counter()
        _ = float(e @ ref)
        t_cmp.append(time.perf_counter() - t)
    print(f"model {engine.path.name} version {meta.version}, providers {engine.providers}, 1 thread")
    print(f"load (once)                      {load * 1000:8.1f} ms")
    print(f"{'step':32s} {'median':>8s} {'p90':>8s}  ms")
    if t_prep:
        print(f"{'load+find+normalise (files)':32s} {_stats(t_prep)}")
    else:
        print(f"{'normalise (synthetic)':32s} {_stats(t_norm)}")
    print(f"{'embed':32s} {_stats(t_embed)}")
    print(f"{'compare':32s} {_stats(t_cmp)}")


if __name__ == "__main__":
    main()
