"""Evaluation per issue 3 item 5: K references per writer, best-reference score, skilled and
random forgeries, EER / FRR@FAR1% / AUC, fixed thresholds from validation, PNG curves."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from sigverify.core import metrics

from .data import ImageSet

Bands = dict[int, tuple[float, float]]  # K -> (tau_accept, tau_reject) the app applies for K references


def band_for(bands: Bands | None, k: int) -> tuple[float, float] | None:
    """The app's rule (pipeline.Thresholds.for_references): the largest listed K not above k."""
    usable = [kk for kk in sorted(bands or {}) if kk <= k]
    return bands[usable[-1]] if usable else None


def decision_shares(sc: metrics.ProtocolScores, accept: float, reject: float) -> dict:
    """What a clerk sees at these thresholds: where genuine signatures and forgeries land."""
    g, s, r = (np.asarray(x, np.float64) for x in (sc.genuine, sc.skilled, sc.random))

    def share(x: np.ndarray, lo: float, hi: float) -> float | None:
        return float(np.mean((x >= lo) & (x < hi))) if x.size else None

    inf = float("inf")
    return {"tau_accept": accept, "tau_reject": reject,
            "genuine_match": share(g, accept, inf), "genuine_refer": share(g, reject, accept),
            "genuine_no_match": share(g, -inf, reject),
            "skilled_match": share(s, accept, inf), "skilled_refer": share(s, reject, accept),
            "random_match": share(r, accept, inf)}


HISTOGRAM_EDGES = np.linspace(-1.0, 1.0, 51)  # cosine scores; one fixed axis for every card


def score_histogram(sc: metrics.ProtocolScores) -> dict:
    """Genuine and skilled-forgery score counts, for the app's plot of the score distributions."""
    return {"edges": [round(float(e), 4) for e in HISTOGRAM_EDGES],
            "genuine": np.histogram(np.clip(sc.genuine, -1, 1), HISTOGRAM_EDGES)[0].astype(int).tolist(),
            "skilled": np.histogram(np.clip(sc.skilled, -1, 1), HISTOGRAM_EDGES)[0].astype(int).tolist()}


def evaluate_embeddings(data: ImageSet, emb: np.ndarray, references: Sequence[int], seed: int = 0,
                        tau: float | None = None, bands: Bands | None = None
                        ) -> tuple[dict, dict[int, metrics.ProtocolScores]]:
    """{"k1": report dict, "k5": ...} and the raw scores per K (writers with too few genuine
    signatures for K references are left out and not counted). With ``bands`` (the thresholds
    the model ships per K) each K is judged at its own thresholds, and the decision shares added."""
    from .embed import protocol

    out, raw = {}, {}
    for k in references:
        sc = protocol(data, emb, k, seed)
        if sc.writers == 0 or sc.genuine.size == 0:
            continue
        band = band_for(bands, k)
        out[f"k{k}"] = metrics.report(sc, band[0] if band else tau).to_dict()
        if band:
            out[f"k{k}"]["decisions"] = decision_shares(sc, *band)
        out[f"k{k}"]["score_histogram"] = score_histogram(sc)  # Settings draws it with the thresholds
        raw[k] = sc
    return out, raw


def save_curves(scores: dict[str, metrics.ProtocolScores], out_prefix: Path, title: str = "") -> list[Path]:
    """ROC, DET and score histograms for each named protocol run -> PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, (ax_roc, ax_det) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name, sc in scores.items():
        for kind, imp in (("skilled", sc.skilled), ("random", sc.random)):
            if not imp.size:
                continue
            far, frr = metrics.det_points(sc.genuine, imp)
            label = f"{name} {kind} (EER {metrics.eer(sc.genuine, imp)[0]:.1%})"
            ax_roc.plot(far, 1 - frr, label=label)
            ax_det.plot(np.clip(far, 1e-4, 1), np.clip(frr, 1e-4, 1), label=label)
    ax_roc.set(xlabel="FAR", ylabel="1 - FRR", title=f"ROC {title}", xlim=(0, 1), ylim=(0, 1))
    ax_det.set(xlabel="FAR", ylabel="FRR", title=f"DET {title}", xscale="log", yscale="log",
               xlim=(1e-3, 1), ylim=(1e-3, 1))
    for ax in (ax_roc, ax_det):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    paths.append(_save(fig, out_prefix, "_roc_det.png"))
    fig, axes = plt.subplots(1, len(scores), figsize=(5 * len(scores), 3.6), squeeze=False)
    for ax, (name, sc) in zip(axes[0], scores.items(), strict=True):
        bins = np.linspace(-1, 1, 81)
        ax.hist(sc.genuine, bins, alpha=0.6, density=True, label="genuine")
        if sc.skilled.size:
            ax.hist(sc.skilled, bins, alpha=0.6, density=True, label="skilled forgery")
        ax.hist(sc.random, bins, alpha=0.4, density=True, label="random forgery")
        ax.set(title=f"{name} {title}", xlabel="best-reference cosine score")
        ax.legend(fontsize=7)
    paths.append(_save(fig, out_prefix, "_hist.png"))
    return paths


def evaluate_named_sets(embed_fn: Callable[[np.ndarray], np.ndarray], sets: dict[str, ImageSet],
                        references: Sequence[int], tau: float | None, out_dir: Path | None,
                        seed: int = 0, bands: Bands | None = None) -> dict:
    """Evaluate several named sets; optional PNG curves and a JSON under out_dir."""
    results = {}
    for name, data in sets.items():
        if not len(data.samples):
            continue
        emb = embed_fn(data.images)
        res, raw = evaluate_embeddings(data, emb, references, seed, tau, bands)
        results[name] = res
        if out_dir is not None and raw:
            save_curves({f"K={k}": sc for k, sc in raw.items()}, out_dir / name.replace(":", "_"), name)
    if out_dir is not None:
        (out_dir / "evaluation.json").write_text(json.dumps(results, indent=1))
    return results


def _save(fig, out_prefix: Path, suffix: str) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = out_prefix.with_name(out_prefix.name + suffix)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
