"""Embedding an ImageSet with a torch model, and the validation/test protocol around it."""

from __future__ import annotations

import numpy as np
import torch

from sigverify.core import metrics

from .data import ImageSet


@torch.no_grad()
def embed_images(model: torch.nn.Module, images: np.ndarray, device: str = "cpu", batch: int = 128) -> np.ndarray:
    """uint8 (N,H,W) or float (N,H,W) in [0,1] -> (N,D) float32 embeddings (eval mode)."""
    was = model.training
    model.eval()
    out = []
    for i in range(0, len(images), batch):
        chunk = images[i : i + batch]
        x = chunk.astype(np.float32) / 255.0 if chunk.dtype == np.uint8 else chunk.astype(np.float32)
        out.append(model(torch.from_numpy(x)[:, None].to(device)).cpu().numpy())
    model.train(was)
    if not out:
        return np.zeros((0, getattr(model, "embedding_size", 0)), np.float32)
    return np.concatenate(out)


def protocol(data: ImageSet, emb: np.ndarray, references: int, seed: int = 0) -> metrics.ProtocolScores:
    return metrics.protocol_scores(
        emb, [s.writer for s in data.samples], [s.kind == "genuine" for s in data.samples], references, seed
    )


def choose_thresholds(scores: metrics.ProtocolScores, far_target: float = 0.01, frr_target: float = 0.01
                      ) -> tuple[float, float, dict]:
    """tau_accept: lowest threshold with FAR <= far_target on skilled forgeries (random when
    the set has none); tau_reject: highest threshold with FRR <= frr_target on genuine,
    clamped to tau_accept (a model good enough to need no referral band)."""
    impostors = scores.skilled if scores.skilled.size else scores.random
    tau_accept = metrics.threshold_at_far(impostors, far_target)
    tau_reject = min(metrics.threshold_at_frr(scores.genuine, frr_target), tau_accept)
    far_a, frr_a = metrics.far_frr(scores.genuine, impostors, tau_accept)
    far_r, frr_r = metrics.far_frr(scores.genuine, impostors, tau_reject)
    notes = {
        "set_on": "validation writers (never trained on), one reference per query (K=1)",
        "impostors": "skilled forgeries" if scores.skilled.size else "random forgeries",
        "tau_accept_rule": f"lowest threshold with FAR <= {far_target:.0%} on skilled forgeries",
        "tau_reject_rule": f"highest threshold with FRR <= {frr_target:.0%} on genuine signatures",
        "validation_at_tau_accept": {"far": far_a, "frr": frr_a},
        "validation_at_tau_reject": {"far": far_r, "frr": frr_r},
        "validation_writers": scores.writers,
        "validation_queries": scores.queries,
        "note": "best-of-K scores with K>1 references sit higher: FAR at tau_accept grows with K",
    }
    return float(tau_accept), float(tau_reject), notes
