"""Runs: split writers, train, set thresholds on validation writers, evaluate test and
never-seen sets, write everything beside the resolved config. Also k-fold cross-validation."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from sigverify.core.normalize import NormalizationParams

from .config import load_config, save_config
from .data import ImageSet, cached_dataset, kfold_writers, split_writers
from .embed import choose_thresholds, embed_images, protocol
from .evaluate import evaluate_named_sets
from .train import pick_device, train


def norm_params(cfg: dict) -> NormalizationParams:
    return NormalizationParams(**cfg.get("normalization", {}))


def load_sets(names: list[str], params: NormalizationParams) -> ImageSet:
    sets = [cached_dataset(n, params) for n in names]
    out = sets[0]
    for s in sets[1:]:
        out = out + s
    return out


def _external(cfg: dict, params: NormalizationParams) -> dict[str, ImageSet]:
    out = {}
    for name in cfg["data"].get("external_test", []):
        try:
            out[name] = cached_dataset(name, params)
        except FileNotFoundError as exc:
            print(f"skipping external test set {name}: {exc}")
    return out


def run_split(cfg: dict, train_set: ImageSet, val_set: ImageSet, test_sets: dict[str, ImageSet],
              out_dir: Path, resume: bool = False, progress: bool = True) -> dict:
    """Train, thresholds on val, evaluate every test set with those thresholds."""
    out_dir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out_dir / "config.yaml")
    splits = {"train": train_set.writers, "val": val_set.writers,
              **{f"test:{k}": v.writers for k, v in test_sets.items()}}
    (out_dir / "splits.json").write_text(json.dumps(splits, indent=1))
    t0 = time.time()
    res = train(cfg, train_set, val_set, out_dir, resume=resume, progress=progress)
    train_info = {"best_epoch": res.best_epoch, "train_seconds": round(time.time() - t0, 1),
                  "history": res.history}
    return evaluate_split(cfg, res.model, val_set, test_sets, out_dir, train_info)


def evaluate_split(cfg: dict, model, val_set: ImageSet, test_sets: dict[str, ImageSet], out_dir: Path,
                   train_info: dict) -> dict:
    """Thresholds on the validation writers, then every test set judged with them."""
    device = pick_device(cfg.get("device", "auto"))
    ev = cfg["eval"]
    val_emb = embed_images(model, val_set.images, device)
    by_k = {}
    for k in sorted({1, *ev["references"]}):
        sc = protocol(val_set, val_emb, k, int(ev["seed"]))
        if sc.writers and sc.genuine.size:
            by_k[k] = sc
    tau_a, tau_r, notes = choose_thresholds(by_k, float(ev["far_target"]), float(ev["frr_target"]))
    thresholds = {"tau_accept": tau_a, "tau_reject": tau_r, "notes": notes}
    (out_dir / "thresholds.json").write_text(json.dumps(thresholds, indent=1))
    results = evaluate_named_sets(lambda imgs: embed_images(model, imgs, device), test_sets,
                                  ev["references"], tau_a, out_dir, int(ev["seed"]))
    summary = {"thresholds": thresholds, "results": results, **train_info}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def reevaluate_run(run: Path) -> dict:
    """Thresholds and test figures of a finished run again (e.g. after a protocol change),
    from its best.pt, config and splits, without training."""
    from .commands import load_run_model

    model, cfg = load_run_model(run)
    params = norm_params(cfg)
    splits = json.loads((run / "splits.json").read_text())
    pool = load_sets(cfg["data"]["train"], params)
    tests = {}
    for key, writers in splits.items():
        if not key.startswith("test:"):
            continue
        name = key[5:]
        src = pool if name in ("test", "val") else cached_dataset(name, params)
        tests[name] = src.subset(writers)
    old = json.loads((run / "summary.json").read_text())
    info = {k: old[k] for k in ("best_epoch", "train_seconds", "history") if k in old}
    return evaluate_split(cfg, model, pool.subset(splits["val"]), tests, run, info)


def run_train(cfg: dict, out_dir: Path, resume: bool = False) -> dict:
    params = norm_params(cfg)
    dc = cfg["data"]
    pool = load_sets(dc["train"], params)
    n = len(pool.writers)
    n_test, n_val = int(dc.get("test_writers", 0)), int(dc.get("val_writers", 8))
    test_w, val_w, train_w = split_writers(pool.writers, [n_test, n_val, n - n_test - n_val],
                                           int(dc.get("split_seed", 0)))
    train_set = pool.subset(train_w)
    for extra in dc.get("extra_train", []):
        train_set = train_set + cached_dataset(extra, params)
    tests = {}
    if test_w:
        tests["test"] = pool.subset(test_w)
    tests["val"] = pool.subset(val_w)  # a-posteriori figures on val, for reference only
    tests.update(_external(cfg, params))
    return run_split(cfg, train_set, pool.subset(val_w), tests, out_dir, resume)


def _mean_std(values: list[float]) -> dict:
    arr = np.array([v for v in values if v is not None], dtype=float)
    if not arr.size:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
            "n": int(arr.size)}


def run_crossval(cfg: dict, out_dir: Path, folds_to_run: list[int] | None = None,
                 reevaluate: bool = False) -> dict:
    """Writer-disjoint k-fold: fold f's writers are the test set, ``crossval.val_writers`` of
    the rest set thresholds and pick the epoch, the remainder trains."""
    params = norm_params(cfg)
    cv = cfg["crossval"]
    pool = load_sets(cfg["data"]["train"], params)
    folds = kfold_writers(pool.writers, int(cv["folds"]), int(cv["seed"]))
    per_fold = {}
    for f, test_w in enumerate(folds):
        fold_dir = out_dir / f"fold{f}"
        if reevaluate:
            per_fold[f] = reevaluate_run(fold_dir)
            continue
        if folds_to_run is not None and f not in folds_to_run:
            if (fold_dir / "summary.json").exists():
                per_fold[f] = json.loads((fold_dir / "summary.json").read_text())
            continue
        rest = [w for w in pool.writers if w not in set(test_w)]
        val_w, train_w = split_writers(rest, [int(cv["val_writers"]), len(rest) - int(cv["val_writers"])],
                                       int(cv["seed"]) + f)
        print(f"fold {f}: train {len(train_w)} val {len(val_w)} test {len(test_w)} writers", flush=True)
        per_fold[f] = run_split(cfg, pool.subset(train_w), pool.subset(val_w), {"test": pool.subset(test_w)},
                                fold_dir, progress=False)
    cfg = load_config(out_dir / "config.yaml") if reevaluate else cfg
    summary = aggregate(per_fold)
    summary["folds"] = {f: {"results": s["results"], "thresholds": s["thresholds"], "best_epoch": s["best_epoch"],
                            "train_seconds": s["train_seconds"]} for f, s in per_fold.items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out_dir / "config.yaml")
    (out_dir / "crossval.json").write_text(json.dumps(summary, indent=1))
    return summary


KEYS = ("eer_skilled", "eer_random", "frr_at_far_1pct", "frr_at_far_1pct_random", "auc", "auc_random",
        "far_skilled_at_tau", "frr_at_tau", "far_random_at_tau")


def aggregate(per_fold: dict) -> dict:
    out: dict = {"n_folds": len(per_fold)}
    ks = sorted({k for s in per_fold.values() for k in s["results"].get("test", {})})
    for k in ks:
        rows = [s["results"]["test"][k] for s in per_fold.values() if k in s["results"].get("test", {})]
        out[k] = {key: _mean_std([r.get(key) for r in rows]) for key in KEYS}
        out[k]["writers"] = int(sum(r["writers"] for r in rows))
        out[k]["queries"] = int(sum(r["queries"] for r in rows))
    return out
