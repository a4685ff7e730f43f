"""The subcommands' bodies (argparse lives in __main__)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import numpy as np

from sigverify.core.model_trust import VERIFIER, ModelCard, ModelMetadata
from sigverify.core.paths import card_path_for
from sigverify.core.signature_sets import set_name

from .card import crossval_figures
from .config import load_config
from .data import cached_dataset
from .embed import embed_images
from .evaluate import evaluate_named_sets
from .export import cpu_latency_ms, export_onnx, parity_check, read_metadata
from .model import count_macs, count_params, load_run_model
from .pipeline import norm_params, reevaluate_train_run, run_crossval, run_train


def cmd_train(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, args.overrides)
    summary = run_train(cfg, args.out, resume=args.resume)
    print(json.dumps(summary["results"], indent=1))
    return 0


def cmd_reevaluate(args: argparse.Namespace) -> int:
    summary = reevaluate_train_run(args.run)
    print(json.dumps({name: {k: {m: r[m] for m in ("eer_skilled", "eer_random", "writers")} for k, r in by_k.items()}
                      for name, by_k in summary["results"].items()}, indent=1))
    return 0


def cmd_crossval(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, args.overrides)
    folds = [int(f) for f in args.folds.split(",")] if args.folds else None
    summary = run_crossval(cfg, args.out, folds, args.reevaluate)
    print(json.dumps({k: v for k, v in summary.items() if k != "folds"}, indent=1))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    refs = args.references or [1, 5]
    if args.model.suffix == ".onnx":
        from .export import ort_session

        meta = read_metadata(args.model)
        sess = ort_session(args.model, threads=2)
        params = meta.normalization
        tau = meta.tau_accept

        def embed(images: np.ndarray) -> np.ndarray:
            x = images.astype(np.float32)[:, None] / 255.0
            return np.concatenate([sess.run(None, {meta.input_name: x[i : i + 64]})[0]
                                   for i in range(0, len(x), 64)])
    else:
        model, cfg = load_run_model(args.model)
        params = norm_params(cfg)
        th = json.loads((args.model / "thresholds.json").read_text())
        tau = th["tau_accept"]

        def embed(images: np.ndarray) -> np.ndarray:
            return embed_images(model, images)

    sets = {name: cached_dataset(name, params) for name in args.data}
    results = evaluate_named_sets(embed, sets, refs, tau, args.out)
    print(json.dumps(results, indent=1))
    return 0


def lodo_results(runs: list[Path]) -> dict:
    """{left-out set: {"k1": ..., "trained_on": ...}} from leave-one-dataset-out run folders."""
    out = {}
    for run in runs:
        summary = json.loads((run / "summary.json").read_text())
        cfg = load_config(run / "config.yaml")
        for name, by_k in summary["results"].items():
            if name.endswith(":left-out"):
                out[name.removesuffix(":left-out")] = {
                    **by_k, "trained_on": training_description(cfg, json.loads((run / "splits.json").read_text())),
                    "run": run.name}
    return out


def training_description(cfg: dict, splits: dict) -> str:
    """Which writers of which datasets trained, validated and tested this model, in words."""
    dc = cfg["data"]

    def count(key: str, name: str) -> int:
        return sum(1 for w in splits.get(key, []) if w.rsplit(":", 1)[0] == name)

    parts = [f"{name}: {count('train', name)} writer classes trained on, {count('val', name)} validation, "
             f"{count(f'test:{name}:test', name)} test writers" for name in dc["train"]]
    parts += [f"{name}: all trained on ({'one class per person, ' if name in dc.get('person_classes', []) else ''}"
              f"{count('train', set_name(name))} classes)"
              for name in dc.get("extra_train", [])]
    left = dc.get("external_test", [])
    return "; ".join(parts) + (f"; never trained on: {', '.join(left)}" if left else "")


def cmd_export(args: argparse.Namespace) -> int:
    run: Path = args.run
    model, cfg = load_run_model(run)
    params = norm_params(cfg)
    th = json.loads((run / "thresholds.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    splits = json.loads((run / "splits.json").read_text())
    metrics = {"writer_disjoint": summary["results"]}
    if args.crossval:
        metrics["crossval_cedar"] = crossval_figures(args.crossval)
    if getattr(args, "lodo", None):
        metrics["leave_one_dataset_out"] = lodo_results(args.lodo)
    if getattr(args, "recipes", None):
        from .compare import row

        metrics["recipe_choice"] = [row(r) for r in args.recipes]
    if (run / "fusion.json").exists():
        metrics["fusion_on_validation"] = json.loads((run / "fusion.json").read_text())
    train_desc = training_description(cfg, splits)
    meta = ModelMetadata(
        version=args.version, normalization=params, embedding_size=int(cfg["model"]["embedding_size"]),
        tau_accept=float(th["tau_accept"]), tau_reject=float(th["tau_reject"]),
        threshold_notes=th["notes"], training_data=train_desc, metrics=metrics,
        # the app applies these per reference count (pipeline.Thresholds.for_references)
        thresholds_by_references={k: {"tau_accept": v["tau_accept"], "tau_reject": v["tau_reject"]}
                                  for k, v in th["notes"].get("by_references", {}).items()},
        created=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    out = export_onnx(model, meta, args.out)
    # parity on real validation signatures (cached) plus blank and random inputs
    val = cached_dataset(cfg["data"]["train"][0], params).subset(splits["val"])
    if not len(val.samples):
        raise ValueError("no validation signatures of the first training set to check parity on")
    rng = np.random.default_rng(0)
    pick = rng.choice(len(val.images), size=min(32, len(val.images)), replace=False)
    imgs = np.concatenate([val.as_float(np.sort(pick)), np.zeros((1, params.height, params.width), np.float32),
                           rng.random((2, params.height, params.width), dtype=np.float32)])
    parity = parity_check(model, out, imgs)
    print("parity:", parity.to_dict())
    if not parity.ok:
        print("PARITY FAILED: onnxruntime and torch disagree")
        return 1
    speed = cpu_latency_ms(out, params.height, params.width)
    card = ModelCard.for_file(
        out, kind=VERIFIER, version=meta.version, created=meta.created, training_data=meta.training_data,
        metrics=metrics,
        architecture={"name": "SigNetSmall", **cfg["model"], "params": count_params(model),
                      "macs": count_macs(model, params.height, params.width)},
        input={"name": meta.input_name, "shape": [None, 1, params.height, params.width],
               "normalization": params.to_dict()},
        output={"name": meta.output_name, "shape": [None, meta.embedding_size], "l2_normalised": True},
        score="cosine similarity (dot product of embeddings); best over references",
        tau_accept=meta.tau_accept, tau_reject=meta.tau_reject, threshold_notes=meta.threshold_notes,
        config=cfg, parity=parity.to_dict(), cpu_speed=speed,
    )
    card.write(card_path_for(out))
    summary = card.to_dict()
    print(json.dumps({k: summary[k] for k in ("sha256", "size_bytes", "version", "tau_accept", "tau_reject",
                                           "cpu_speed")}, indent=1))
    return 0
