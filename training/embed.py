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
    """The verification protocol run within each dataset (writer ids are "<dataset>:<id>") and
    pooled: a random forgery is another writer of the SAME dataset, never an easy cross-dataset
    pair (another scanner, another script)."""
    writers = np.array([s.writer for s in data.samples])
    genuine = np.array([s.kind == "genuine" for s in data.samples])
    datasets = np.array([w.rsplit(":", 1)[0] for w in writers])
    parts = []
    for name in sorted(set(datasets.tolist())):
        idx = np.flatnonzero(datasets == name)
        parts.append(metrics.protocol_scores(emb[idx], writers[idx].tolist(), genuine[idx].tolist(),
                                             references, seed))
    if len(parts) == 1:
        return parts[0]
    return metrics.ProtocolScores(
        np.concatenate([p.genuine for p in parts]), np.concatenate([p.skilled for p in parts]),
        np.concatenate([p.random for p in parts]), sum(p.writers for p in parts), references)


def choose_thresholds(by_k: dict[int, metrics.ProtocolScores], far_target: float = 0.01,
                      frr_target: float = 0.01) -> tuple[float, float, dict]:
    """Thresholds from validation-writer scores, one protocol run per reference count K.

    The app scores a query by its best reference, so impostor scores rise with the number of
    references a customer has. Both thresholds are therefore set where they are safe for any
    K up to the largest validated (5 when the writers have enough genuine signatures):
    tau_accept = lowest threshold with FAR <= far_target on skilled forgeries at the LARGEST
    K (fewer references only lower the FAR); tau_reject = highest threshold with FRR <=
    frr_target at K = 1 (more references only lower the FRR). tau_reject is clamped to
    tau_accept. Per-K values are kept in the notes for an app that adapts to the count."""
    per_k = {}
    for k, sc in sorted(by_k.items()):
        imp = sc.skilled if sc.skilled.size else sc.random
        ta = metrics.threshold_at_far(imp, far_target)
        tr = metrics.threshold_at_frr(sc.genuine, frr_target)
        per_k[str(k)] = {"tau_accept": float(ta), "tau_reject": float(min(tr, ta)), "writers": sc.writers,
                         "queries": sc.queries}
    k_max, k_min = max(by_k), min(by_k)
    tau_accept = per_k[str(k_max)]["tau_accept"]
    tau_reject = min(metrics.threshold_at_frr(by_k[k_min].genuine, frr_target), tau_accept)
    at = {}
    for k, sc in sorted(by_k.items()):
        imp = sc.skilled if sc.skilled.size else sc.random
        far_a, frr_a = metrics.far_frr(sc.genuine, imp, tau_accept)
        far_r, frr_r = metrics.far_frr(sc.genuine, imp, tau_reject)
        at[str(k)] = {"far_at_tau_accept": far_a, "frr_at_tau_accept": frr_a,
                      "far_at_tau_reject": far_r, "frr_at_tau_reject": frr_r}
    has_skilled = bool(by_k[k_max].skilled.size)
    notes = {
        "set_on": "validation writers (never trained on); score = best of K references",
        "impostors": "skilled forgeries" if has_skilled else "random forgeries",
        "tau_accept_rule": f"lowest threshold with FAR <= {far_target:.0%} on "
                           f"{'skilled' if has_skilled else 'random'} forgeries with K={k_max} references "
                           f"(so FAR <= {far_target:.0%} for any K <= {k_max})",
        "tau_reject_rule": f"highest threshold with FRR <= {frr_target:.0%} on genuine signatures with "
                           f"K={k_min} reference (so FRR <= {frr_target:.0%} for any K)",
        "validation_at_thresholds": at,
        "by_references": per_k,
    }
    return float(tau_accept), float(tau_reject), notes
