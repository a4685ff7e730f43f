"""Does a calibration hold on writers it never saw? Calibrate on half the writers, measure on the rest.

    python bench/bench_calibration.py cedar|arabic-kaggle|nisdcc-preview|generic:/path [--references K]
        [--target-far 0.01] [--target-frr 0.01]

The dataset (``../shared/datasets``) is laid out as ``<writer>/genuine|forged`` (links in a temporary
folder), K genuine signatures per writer are registered as references in a temporary store, and
every other image is scored through the app's own path (``calibration_data.folder_scores``).
Writers are split in two halves (alternating, sorted by name): the first half is the bank's
"labelled history" that ``calibrate`` sees, the second half stands in for the customers to come.
Prints the proposal and, on the held-out half, FAR / FRR / refer rate at the model's thresholds
and at the proposed ones (exact 95 % intervals), for the customer-level bound ``calibrate`` uses
and for the earlier per-signature one. A refused side keeps the model's threshold. Note: the
shipped model was trained on 47 CEDAR writers, so its CEDAR scores are optimistic; arabic-kaggle and
nisdcc-preview were never trained on.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import numpy as np

from sigverify.core.calibration import RateEstimate, ThresholdPair, calibrate
from sigverify.core.calibration_data import folder_scores
from sigverify.core.calibration_report import report_lines
from sigverify.core.engine import Engine
from sigverify.core.store import Store
from sigverify.core.verify import Verifier

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def generic_links(spec: str, out: Path) -> Path:
    """``<writer>/genuine|forged/<file>`` links for the layouts under ../shared/datasets."""
    if spec.startswith("generic:"):
        return Path(spec.split(":", 1)[1])
    root = DATASETS / spec
    if spec == "arabic-kaggle":
        return root
    pairs = []
    if spec == "cedar":
        for sub, kind in (("full_org", "genuine"), ("full_forg", "forged")):
            for p in (root / sub).glob("*.png"):
                m = re.match(r"\w+?_(\d+)_\d+\.png$", p.name)
                if m:
                    pairs.append((p, f"{int(m.group(1)):03d}", kind))
    elif spec == "nisdcc-preview":
        for p in (root / "data").glob("*.png"):
            pairs.append((p, p.stem.split("_")[0][-3:], "genuine"))
        for p in (root / "data" / "forged").glob("*.png"):
            pairs.append((p, p.stem.split("_")[0][-3:], "forged"))
    else:
        raise SystemExit(f"unknown dataset {spec!r}")
    for path, writer, kind in pairs:
        link = out / writer / kind / path.name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(path)
    return out


def split(root: Path, out: Path) -> tuple[Path, Path]:
    """Alternate writers into a calibration half and a held-out half (links)."""
    halves = (out / "calibration", out / "held_out")
    for half in halves:
        half.mkdir(parents=True)
    for i, writer in enumerate(sorted(p for p in root.iterdir() if p.is_dir())):
        (halves[i % 2] / writer.name).symlink_to(writer.resolve(), target_is_directory=True)
    return halves


def register(verifier: Verifier, root: Path, k: int) -> None:
    for writer in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted((writer / "genuine").iterdir())[:k] if (writer / "genuine").is_dir() else []
        if files:
            verifier.register(writer.name, files)


def held_out_rates(samples, pair: ThresholdPair, label: str) -> str:
    g = np.array([s.score for s in samples if s.genuine is True])
    f = np.array([s.score for s in samples if s.genuine is False])
    allv = np.concatenate([g, f])
    far = RateEstimate.of(int(np.sum(f >= pair.accept)), f.size)
    frr = RateEstimate.of(int(np.sum(g < pair.reject)), g.size)
    refer = float(np.mean((allv < pair.accept) & (allv >= pair.reject)))
    return (f"| {label} | {pair.accept:.4f} / {pair.reject:.4f} | {far.rate:.2%} [{far.ci_low:.2%}, {far.ci_high:.2%}] "
            f"| {frr.rate:.2%} [{frr.ci_low:.2%}, {frr.ci_high:.2%}] | {refer:.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--references", type=int, default=1, metavar="K")
    parser.add_argument("--model", default=None)
    parser.add_argument("--target-far", type=float, default=0.01)
    parser.add_argument("--target-frr", type=float, default=0.01)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = generic_links(args.dataset, tmp / "links")
        calibration_root, held_out_root = split(root, tmp / "split")
        verifier = Verifier(Engine(args.model, device="cpu"), Store(f"sqlite:///{tmp / 'store.db'}"))
        register(verifier, root, args.references)
        seen = folder_scores(verifier, calibration_root)
        unseen = folder_scores(verifier, held_out_root)
        model = verifier.thresholds()
        current = ThresholdPair(model.accept, model.reject)
        settings = {"model_version": verifier.model_version, "source": seen.source, "label_policy": "folder",
                    "fingerprint": seen.fingerprint, "target_far": args.target_far, "target_frr": args.target_frr}
        result = calibrate(seen.samples, current, **settings)
        # the earlier rule, every signature counted as an independent trial, side by side
        per_signature = calibrate(seen.samples, current, customer_level=False, **settings)
        print(f"dataset {args.dataset}, K = {args.references}, model {verifier.model_version}")
        print("\n".join(report_lines(result)))
        print(f"\nheld-out writers: {unseen.genuine} genuine, {unseen.forged} forged queries\n")
        print("| thresholds | match / no match | FAR held-out [95 % CI] | FRR held-out [95 % CI] | refer |")
        print("|---|---|---|---|---|")
        print(held_out_rates(unseen.samples, current, "model's"))
        print(held_out_rates(unseen.samples, per_signature.overall.proposed, "per-signature bound (before)"))
        print(held_out_rates(unseen.samples, result.overall.proposed, "customer-level bound (now)"))


if __name__ == "__main__":
    main()
