"""sigverify evaluate ROOT [--references K]: accuracy of the model on a labelled folder.

ROOT/<writer>/genuine/* and ROOT/<writer>/forged/* (forgeries OF that writer). Every image
goes through the app's own path (load, find the signature, normalise, embed with the ONNX
engine). Per writer, K genuine signatures are references; the other genuine signatures, the
writer's forgeries (skilled) and the other writers' genuine signatures (random forgeries)
are queries, each scored by its best reference. EER and AUC are a-posteriori (threshold
chosen on this very data); FAR/FRR at the model's tau_accept show what the shipped
thresholds would do here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ...core import metrics
from ...core.pipeline import prepare
from ...core.signature_sets import Sample, read_generic
from ...core.verify import model_thresholds


def add_parser(subparsers, common) -> None:
    p = subparsers.add_parser("evaluate", parents=[common],
                              help="EER / FRR@FAR1%% / AUC on a folder ROOT/<writer>/genuine|forged")
    p.add_argument("root", help="folder with one subfolder per writer, each with genuine/ and forged/")
    p.add_argument("--references", type=int, default=1, metavar="K", help="genuine references per writer")
    p.add_argument("--seed", type=int, default=0, help="which references are drawn (default 0)")
    p.set_defaults(handler=run, runs_model=True)  # the CPU/CUDA note belongs here (and in info)


def read_folder(root: Path) -> list[Sample]:
    """Every labelled image of the generic layout, through the core's signature-set reader."""
    samples = read_generic(root)
    if not samples:
        raise ValueError(f"{root}: no ROOT/<writer>/genuine|forged/<image> files found")
    return samples


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2%}"


def run(args, ctx) -> int:
    if args.references < 1:
        raise ValueError("--references must be at least 1")
    items = read_folder(Path(args.root))
    engine = ctx.engine
    normalized, writers, genuine, skipped = [], [], [], []
    for sample in items:
        try:
            normalized.append(prepare(sample.path, engine.metadata.normalization).normalized)
        except Exception as exc:  # a bad file is counted and reported, not fatal for the evaluation
            skipped.append(f"{sample.path}: {exc}")
            continue
        writers.append(sample.writer)
        genuine.append(sample.genuine)
    if not normalized:
        raise ValueError("no image could be prepared")
    emb = engine.embed(np.stack(normalized))
    scores = metrics.protocol_scores(emb, writers, genuine, args.references, args.seed)
    if scores.writers == 0:
        raise ValueError(f"no writer has more than {args.references} genuine signatures")
    tau_accept = model_thresholds(engine.metadata).for_references(args.references).accept
    rep = metrics.report(scores, tau=tau_accept)
    data = {
        "eer_skilled": rep.eer_skilled,
        "eer_random": rep.eer_random,
        "frr_at_far_1pct": rep.frr_at_far_1pct,
        "auc": rep.auc,
        "writers": rep.writers,
        "queries": rep.queries,
        "references": rep.references,
        "genuine_queries": int(scores.genuine.size),
        "skilled_queries": int(scores.skilled.size),
        "random_queries": int(scores.random.size),
        "frr_at_far_1pct_random": rep.frr_at_far_1pct_random,
        "auc_random": rep.auc_random,
        "tau_accept": tau_accept,
        "far_skilled_at_tau_accept": rep.far_skilled_at_tau,
        "far_random_at_tau_accept": rep.far_random_at_tau,
        "frr_at_tau_accept": rep.frr_at_tau,
        "model_version": engine.metadata.version,
        "skipped": len(skipped),
    }
    for line in skipped[:20]:
        print(f"skipped {line}", file=sys.stderr)
    text = "\n".join([
        f"{rep.writers} writers, {rep.queries} queries, {rep.references} reference(s) per writer "
        f"(model {engine.metadata.version}; {len(skipped)} image(s) skipped)",
        f"skilled forgeries: EER {_pct(rep.eer_skilled)}, FRR at FAR 1% {_pct(rep.frr_at_far_1pct)}, "
        f"AUC {rep.auc:.4f}" if rep.auc is not None else "skilled forgeries: none",
        f"random forgeries:  EER {_pct(rep.eer_random)}, FRR at FAR 1% {_pct(rep.frr_at_far_1pct_random)}",
        f"at tau_accept {tau_accept:.3f}: FRR {_pct(rep.frr_at_tau)}, "
        f"FAR skilled {_pct(rep.far_skilled_at_tau)}, FAR random {_pct(rep.far_random_at_tau)}",
    ])
    ctx.emit(data, text)
    return 0
