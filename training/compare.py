"""Table of several runs (e.g. one recipe each, same split or same left-out dataset):

    python -m training.compare RUN... [--set cedar:left-out]

Without --set every test set of each run gets its columns; the validation columns are what a
recipe is chosen by (with the left-out sets' columns: leave-one-dataset-out)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

METRICS = ("eer_skilled", "eer_random", "frr_at_far_1pct", "auc")


def row(run: Path, sets: list[str] | None = None) -> dict:
    s = json.loads((run / "summary.json").read_text())
    hist = s["history"]
    best = next((h for h in hist if h["epoch"] == s["best_epoch"]), hist[-1])
    out = {"run": run.name, "best_epoch": s["best_epoch"], "val_eer_skilled": best.get("val_eer_skilled"),
           "val_eer_random": best.get("val_eer_random"), "train_minutes": round(s["train_seconds"] / 60, 1)}
    for name, by_k in s["results"].items():
        if name == "val" or (sets and name not in sets):
            continue
        for k, r in by_k.items():
            for m in METRICS:
                out[f"{name} {k} {m}"] = r.get(m)
    return out


def markdown(rows: list[dict]) -> str:
    cols = list(dict.fromkeys(c for r in rows for c in r))

    def fmt(v) -> str:
        if v is None:
            return "–"
        if isinstance(v, float) and v <= 1:
            return f"{100 * v:.1f} %"
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m training.compare", description=__doc__)
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--set", dest="sets", action="append", default=None, help="only this test set (repeatable)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = [row(p, args.sets) for p in args.runs if (p / "summary.json").exists()]
    print(json.dumps(rows, indent=1) if args.json else markdown(rows))


if __name__ == "__main__":
    main()
