"""python -m training {train,evaluate,export,crossval} ..."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "default.yaml"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="YAML config")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set optim.epochs=3 (repeatable)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("train", help="train one model: writer-disjoint train/val, thresholds on val")
    _common(p)
    p.add_argument("--out", type=Path, required=True, help="run folder (config, checkpoints, results)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p = sub.add_parser("crossval", help="writer-disjoint k-fold cross-validation")
    _common(p)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--folds", type=str, default=None, help="comma list of folds to (re)run, others reused")
    p.add_argument("--reevaluate", action="store_true",
                   help="no training: thresholds and test figures again from each fold's best.pt")
    p = sub.add_parser("evaluate", help="evaluate a run's or an ONNX model on datasets")
    p.add_argument("model", type=Path, help="run folder (best.pt) or .onnx file")
    p.add_argument("--data", action="append", required=True,
                   help="dataset: cedar | nisdcc-preview | arabic-kaggle | generic:/path | cedar:/path")
    p.add_argument("--references", type=int, action="append", default=None)
    p.add_argument("--out", type=Path, default=None, help="folder for evaluation.json and PNG curves")
    p = sub.add_parser("export", help="export a run to ONNX with metadata, check and parity")
    p.add_argument("run", type=Path, help="run folder from `train`")
    p.add_argument("--out", type=Path, default=Path("models/sigverify.onnx"))
    p.add_argument("--version", required=True, help='model version, e.g. "2026.11.22-1"')
    p.add_argument("--crossval", type=Path, default=None, help="crossval.json to put in the card")
    p.add_argument("--lodo", type=Path, action="append", default=[],
                   help="a leave-one-dataset-out run folder (same recipe, sets left out): its figures go in the card")
    p.add_argument("--recipes", type=Path, action="append", default=[],
                   help="a recipe-choice run folder: its validation and left-out figures go in the card")
    args = ap.parse_args(argv)

    from . import commands  # torch import deferred until a command runs

    if args.cmd == "train":
        return commands.cmd_train(args)
    if args.cmd == "crossval":
        return commands.cmd_crossval(args)
    if args.cmd == "evaluate":
        return commands.cmd_evaluate(args)
    if args.cmd == "export":
        return commands.cmd_export(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
