"""Runs: split writers, train, set thresholds on validation writers, evaluate test and
never-seen sets, write everything beside the resolved config. Also k-fold cross-validation."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from sigverify.core.normalize import NormalizationParams

from .config import load_config, save_config
from .data import ImageSet, Sample, cached_dataset, kfold_writers, split_writers
from .embed import choose_thresholds, embed_images, protocol
from .evaluate import evaluate_named_sets
from .model import load_run_model
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
            out[f"{name}:left-out"] = cached_dataset(name, params)
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
    for k in sorted({1, *ev["references"], *ev.get("threshold_references", [])}):
        sc = protocol(val_set, val_emb, k, int(ev["seed"]))
        if sc.writers and sc.genuine.size:
            by_k[k] = sc
    tau_a, tau_r, notes = choose_thresholds(by_k, float(ev["far_target"]), float(ev["frr_target"]))
    thresholds = {"tau_accept": tau_a, "tau_reject": tau_r, "notes": notes}
    (out_dir / "thresholds.json").write_text(json.dumps(thresholds, indent=1))
    bands = {int(k): (v["tau_accept"], v["tau_reject"]) for k, v in notes["by_references"].items()}
    results = evaluate_named_sets(lambda imgs: embed_images(model, imgs, device), test_sets,
                                  ev["references"], tau_a, out_dir, int(ev["seed"]), bands)
    summary = {"thresholds": thresholds, "results": results, **train_info}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def reevaluate_run(run: Path) -> dict:
    """Thresholds and test figures of a finished run again (e.g. after a protocol change),
    from its best.pt, config and splits, without training."""
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


def _per_dataset(value, name: str, default: int) -> int:
    """``val_writers``/``test_writers``: one count for every dataset, or a {dataset: count} map."""
    if isinstance(value, dict):
        return int(value.get(name, default))
    return int(value if value is not None else default)


def person_classes(data: ImageSet) -> ImageSet:
    """Each PERSON one class (all the names one person wrote), for sets whose folders are
    (person, name): the model then learns the hand, not the letters."""
    samples = [Sample(s.path, s.person or s.writer, s.kind, s.person) for s in data.samples]
    return ImageSet(data.images, samples)


def split_pool(cfg: dict, params: NormalizationParams) -> tuple[ImageSet, ImageSet, dict[str, ImageSet]]:
    """(train, validation, tests): every dataset in ``data.train`` split by owner (person) into
    fixed test / validation / training groups; ``extra_train`` sets train whole; each set in
    ``external_test`` (left out: leave-one-dataset-out) is a test set, never trained on."""
    dc = cfg["data"]
    train_parts, val_parts, tests = [], [], {}
    for name in dc["train"]:
        data = cached_dataset(name, params)
        owners = data.owners
        n_test = _per_dataset(dc.get("test_writers"), name, 0)
        n_val = _per_dataset(dc.get("val_writers"), name, 8)
        test_o, val_o, train_o = split_writers(owners, [n_test, n_val, len(owners) - n_test - n_val],
                                               int(dc.get("split_seed", 0)))
        train_parts.append(data.subset_owners(train_o))
        val_parts.append(data.subset_owners(val_o))
        if test_o:
            tests[f"{name}:test"] = data.subset_owners(test_o)
    for extra in dc.get("extra_train", []):
        data = cached_dataset(extra, params)
        train_parts.append(person_classes(data) if extra in dc.get("person_classes", []) else data)
    val = _concat(val_parts)
    tests["val"] = val  # a-posteriori figures on val, for reference only
    tests.update(_external(cfg, params))
    return _concat(train_parts), val, tests


def _concat(parts: list[ImageSet]) -> ImageSet:
    out = parts[0]
    for part in parts[1:]:
        out = out + part
    return out


def run_train(cfg: dict, out_dir: Path, resume: bool = False) -> dict:
    train_set, val_set, tests = split_pool(cfg, norm_params(cfg))
    return run_split(cfg, train_set, val_set, tests, out_dir, resume)


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
