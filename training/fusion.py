"""How to turn a query's K reference similarities into one score: compared on validation
writers (never test writers) before the app is told to use anything but the best cosine.

    python -m training.fusion RUN [--references 2 3 5]

Rules: ``max`` (the app's default), ``mean``, ``top2`` (mean of the two best), and ``spread``:
the best cosine measured against the customer's own reference spread, (best - m) / max(s, s0) with
m, s the mean and std of the cosines between the customer's references: a customer who signs
very consistently needs a higher raw score, a variable one a lower. Only meaningful for K >= 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sigverify.core import metrics

from .data import ImageSet

SPREAD_FLOOR = 0.05  # s0: a customer with near-identical references must not divide by ~0
RULES = ("max", "mean", "top2", "spread")


def fuse(sims: np.ndarray, ref_sims: np.ndarray, rule: str) -> np.ndarray:
    """sims (Q, K) query-to-reference cosines; ref_sims (K, K) between the references."""
    if rule == "max":
        return sims.max(axis=1)
    if rule == "mean":
        return sims.mean(axis=1)
    if rule == "top2":
        return np.sort(sims, axis=1)[:, -2:].mean(axis=1)
    if rule == "spread":
        pairs = ref_sims[np.triu_indices(len(ref_sims), 1)]
        return (sims.max(axis=1) - pairs.mean()) / max(float(pairs.std()), SPREAD_FLOOR)
    raise ValueError(f"unknown fusion rule {rule!r}")


def fused_protocol(data: ImageSet, emb: np.ndarray, k: int, rule: str, seed: int = 0) -> metrics.ProtocolScores:
    """metrics.protocol_scores with another fusion rule; the same references drawn (same seed
    order), random forgeries from the same dataset only."""
    writers = np.array([s.writer for s in data.samples])
    gen = np.array([s.kind == "genuine" for s in data.samples])
    datasets = np.array([w.rsplit(":", 1)[0] for w in writers])
    out = {"g": [], "s": [], "r": []}
    used = 0
    for name in sorted(set(datasets.tolist())):
        rng = np.random.default_rng(seed)
        in_set = datasets == name
        for w in sorted(set(writers[in_set].tolist())):
            g_idx = np.flatnonzero((writers == w) & gen)
            if g_idx.size <= k:
                continue
            used += 1
            refs = rng.choice(g_idx, size=k, replace=False)
            ref_e = emb[refs]
            ref_sims = ref_e @ ref_e.T
            queries = {"g": np.setdiff1d(g_idx, refs), "s": np.flatnonzero((writers == w) & ~gen),
                       "r": np.flatnonzero(in_set & (writers != w) & gen)}
            for key, q in queries.items():
                if q.size:
                    out[key].append(fuse(emb[q] @ ref_e.T, ref_sims, rule))
    cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0)  # noqa: E731
    return metrics.ProtocolScores(cat(out["g"]), cat(out["s"]), cat(out["r"]), used, k)


def compare_rules(data: ImageSet, emb: np.ndarray, ks: list[int], seed: int = 0) -> dict:
    table = {}
    for k in ks:
        for rule in RULES if k >= 2 else ("max",):
            sc = fused_protocol(data, emb, k, rule, seed)
            if not sc.genuine.size:
                continue
            rep = metrics.report(sc)
            table[f"K={k} {rule}"] = {"eer_skilled": rep.eer_skilled, "eer_random": rep.eer_random,
                                      "frr_at_far_1pct": rep.frr_at_far_1pct, "writers": sc.writers}
    return table


def main(argv: list[str] | None = None) -> None:
    from .embed import embed_images
    from .model import load_run_model
    from .pipeline import norm_params, split_pool

    ap = argparse.ArgumentParser(prog="python -m training.fusion", description=__doc__)
    ap.add_argument("run", type=Path)
    ap.add_argument("--references", type=int, nargs="+", default=[2, 3, 5])
    args = ap.parse_args(argv)
    model, cfg = load_run_model(args.run)
    _, val, _ = split_pool(cfg, norm_params(cfg))
    table = compare_rules(val, embed_images(model, val.images), args.references)
    (args.run / "fusion.json").write_text(json.dumps(table, indent=1))
    for name, row in table.items():
        print(f"{name:12s} " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                           for k, v in row.items()))


if __name__ == "__main__":
    main()
