"""How runs hold up when the QUERY arrives as a cheque image exchange delivers it:

    python -m training.degraded RUN... --data nisdcc-preview --data arabic-kaggle [--json OUT]

References stay the clean files (what an administrator registers); each query is made from its
original file as a bitonal image-exchange scan (half the resolution, Otsu threshold) and then goes
through the app's own prepare. K=1 skilled and random EER per run, clean queries beside bitonal
ones, on sets the runs never trained on. The degradation is done on the file, not by the training
augmentation, so a recipe cannot pass it by having seen the very same transform.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from sigverify.core import metrics
from sigverify.core.imaging import load_image
from sigverify.core.pipeline import prepare

from .data import read_dataset, to_uint8
from .embed import embed_images
from .model import load_run_model
from .pipeline import norm_params


def bitonal_scan(gray: np.ndarray) -> np.ndarray:
    """A 300-400 dpi grayscale scan as a 150-200 dpi bitonal one (the X9.37 front image)."""
    small = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    return cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]


def prepared_pairs(name: str, params) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(clean, bitonal) normalised images of one dataset, writers, genuine flags; images the app
    refuses in either form are left out of both."""
    clean, degraded, writers, genuine = [], [], [], []
    for s in read_dataset(name):
        try:
            gray = load_image(Path(s.path).read_bytes(), name=s.path).gray
            c = prepare(gray, params, keep=False).normalized
            d = prepare(bitonal_scan(gray), params, keep=False).normalized
        except ValueError:
            continue
        clean.append(to_uint8(c))
        degraded.append(to_uint8(d))
        writers.append(s.writer)
        genuine.append(s.kind == "genuine")
    return np.stack(clean), np.stack(degraded), np.array(writers), np.array(genuine)


def k1_scores(refs: np.ndarray, queries: np.ndarray, writers: np.ndarray, genuine: np.ndarray,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One clean reference per writer (drawn with ``seed``); genuine, skilled and random-forgery
    scores of the queries against it (random: the other writers' references as queries)."""
    rng = np.random.default_rng(seed)
    names = sorted(set(writers.tolist()))
    ref = {w: int(rng.choice(np.flatnonzero((writers == w) & genuine))) for w in names}
    index = np.arange(len(writers))
    g, s, r = [], [], []
    for w in names:
        e = refs[ref[w]]
        g.append(queries[(writers == w) & genuine & (index != ref[w])] @ e)
        s.append(queries[(writers == w) & ~genuine] @ e)
        r.append(queries[[ref[v] for v in names if v != w]] @ e)
    return np.concatenate(g), np.concatenate(s), np.concatenate(r)


def evaluate(runs: list[Path], datasets: list[str]) -> list[dict]:
    models = [load_run_model(run) for run in runs]
    rows = []
    for name in datasets:
        clean, degraded, writers, genuine = prepared_pairs(name, norm_params(models[0][1]))
        for run, (model, _cfg) in zip(runs, models, strict=True):
            e_clean, e_deg = embed_images(model, clean), embed_images(model, degraded)
            for label, queries in (("clean", e_clean), ("bitonal", e_deg)):
                g, s, r = k1_scores(e_clean, queries, writers, genuine)
                rows.append({"run": run.name, "set": name, "queries": label,
                             "eer_skilled": metrics.eer(g, s)[0] if s.size else None,
                             "eer_random": metrics.eer(g, r)[0], "mean_genuine": float(g.mean())})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--data", action="append", required=True, help="dataset the runs never trained on")
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args()
    rows = evaluate(args.runs, args.data)
    print("| run | set | queries | EER skilled | EER random | mean genuine score |\n|---|---|---|---|---|---|")
    for r in rows:
        skilled = "–" if r["eer_skilled"] is None else f"{100 * r['eer_skilled']:.1f} %"
        print(f"| {r['run']} | {r['set']} | {r['queries']} | {skilled} | {100 * r['eer_random']:.1f} % "
              f"| {r['mean_genuine']:.3f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
