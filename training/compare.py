"""Table of several runs on the same split (e.g. one per loss): python -m training.compare RUN..."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def row(run: Path) -> dict:
    s = json.loads((run / "summary.json").read_text())
    hist = s["history"]
    best = next((h for h in hist if h["epoch"] == s["best_epoch"]), hist[-1])
    out = {"run": run.as_posix(), "best_epoch": s["best_epoch"], "val_eer_skilled": best.get("val_eer_skilled"),
           "val_eer_random": best.get("val_eer_random"), "train_seconds": s["train_seconds"]}
    for k, r in s["results"].get("test", {}).items():
        out[f"test_{k}_eer_skilled"] = r["eer_skilled"]
        out[f"test_{k}_eer_random"] = r["eer_random"]
        out[f"test_{k}_frr_at_far_1pct"] = r["frr_at_far_1pct"]
    return out


def markdown(rows: list[dict]) -> str:
    cols = list(rows[0])
    fmt = lambda v: f"{100 * v:.1f} %" if isinstance(v, float) and v <= 1 else str(v)  # noqa: E731
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    rows = [row(Path(p)) for p in sys.argv[1:]]
    print(markdown(rows))
    print(json.dumps(rows, indent=1))
