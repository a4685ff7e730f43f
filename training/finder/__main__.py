"""python -m training.finder cache|train|export  (see training/finder/README in the card)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")


def main(argv: list[str] | None = None) -> int:
    import cv2

    cv2.setNumThreads(1)
    ap = argparse.ArgumentParser(prog="python -m training.finder", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("cache", help="draw and cache the generated training and validation cheques")
    c.add_argument("--train", type=int, default=3000)
    c.add_argument("--val", type=int, default=300)
    c.add_argument("--cache", type=Path, default=Path("runs/finder/cache"))
    c.add_argument("--shard", default="0/1", help="K/N: this process draws every N-th chunk from the K-th "
                   "(run N processes with K = 0..N-1 to use N cores)")
    t = sub.add_parser("train", help="train (resumes from OUT/finder_ckpt.pt)")
    t.add_argument("--epochs", type=int, default=4)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--architecture", default=None, help="training.finder.model.ARCHITECTURES (default: "
                   "the smaller, faster one)")
    t.add_argument("--cache", type=Path, default=Path("runs/finder/cache"))
    t.add_argument("--out", type=Path, default=Path("runs/finder"), help="checkpoint folder (resumes from it)")
    e = sub.add_parser("export", help="ONNX with metadata + card")
    e.add_argument("--ckpt", type=Path, default=Path("runs/finder/finder_ckpt.pt"))
    e.add_argument("--out", type=Path, default=Path("models/finder.onnx"))
    e.add_argument("--version", required=True)
    args = ap.parse_args(argv)
    if args.command == "cache":
        from training.finder.data import build_cache

        k, n = (int(v) for v in args.shard.split("/"))
        build_cache(args.cache, "val", args.val, (k, n))
        build_cache(args.cache, "train", args.train, (k, n))
    elif args.command == "train":
        from training.finder.model import DEFAULT_ARCHITECTURE
        from training.finder.train import FinderTrainConfig, train

        print(train(FinderTrainConfig(cache=args.cache, out=args.out, epochs=args.epochs, threads=args.threads,
                                      architecture=args.architecture or DEFAULT_ARCHITECTURE)))
    else:
        from training.finder.export import export

        print(export(args.ckpt, args.out, args.version))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
