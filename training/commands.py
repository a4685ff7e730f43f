"""The subcommands' bodies (argparse lives in __main__)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import numpy as np
import torch

from sigverify.core.model_trust import VERIFIER, ModelCard, ModelMetadata
from sigverify.core.paths import card_path_for

from .config import load_config
from .data import cached_dataset
from .embed import embed_images
from .evaluate import evaluate_named_sets
from .export import cpu_latency_ms, export_onnx, parity_check, read_metadata
from .model import build_model, count_macs, count_params
from .pipeline import norm_params, run_crossval, run_train


def cmd_train(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, args.overrides)
    summary = run_train(cfg, args.out, resume=args.resume)
    print(json.dumps(summary["results"], indent=1))
    return 0


def cmd_crossval(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, args.overrides)
    folds = [int(f) for f in args.folds.split(",")] if args.folds else None
    summary = run_crossval(cfg, args.out, folds, args.reevaluate)
    print(json.dumps({k: v for k, v in summary.items() if k != "folds"}, indent=1))
    return 0


def load_run_model(run: Path) -> tuple[torch.nn.Module, dict]:
    cfg = load_config(run / "config.yaml")
    model = build_model(cfg["model"])
    ck = torch.load(run / "best.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(ck["model"])
    return model.eval(), cfg


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


def cmd_export(args: argparse.Namespace) -> int:
    run: Path = args.run
    model, cfg = load_run_model(run)
    params = norm_params(cfg)
    th = json.loads((run / "thresholds.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    splits = json.loads((run / "splits.json").read_text())
    metrics = {"writer_disjoint": summary["results"]}
    if args.crossval:
        cv = json.loads(args.crossval.read_text())
        metrics["crossval_cedar"] = {k: v for k, v in cv.items() if k != "folds"}
    train_desc = (f"{', '.join(cfg['data']['train'])}: {len(splits['train'])} writers trained on, "
                  f"{len(splits['val'])} validation writers (thresholds, epoch choice); "
                  f"never trained on: {', '.join(cfg['data'].get('external_test', []))}")
    meta = ModelMetadata(
        version=args.version, normalization=params, embedding_size=int(cfg["model"]["embedding_size"]),
        tau_accept=float(th["tau_accept"]), tau_reject=float(th["tau_reject"]),
        threshold_notes=th["notes"], training_data=train_desc, metrics=metrics,
        created=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    out = export_onnx(model, meta, args.out)
    # parity on real validation signatures (cached) plus blank and random inputs
    val = cached_dataset(cfg["data"]["train"][0], params).subset(splits["val"])
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
