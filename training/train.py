"""The training loop: writer-batch sampling, the configured loss, per-epoch validation EER,
plain-dict checkpoints (torch.load(weights_only=True)) and resume."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from sigverify.core import metrics

from . import losses
from .augment import augment_batch
from .data import ImageSet
from .embed import embed_images, protocol
from .model import PairHead, build_model
from .samplers import WriterIndex, writer_batch


def pick_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


@dataclass
class TrainResult:
    model: torch.nn.Module
    history: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    best_val: float = float("inf")


def _loss(cfg: dict, emb: torch.Tensor, b: int, head: PairHead | None) -> torch.Tensor:
    a, p, n = emb[:b], emb[b : 2 * b], emb[2 * b :]
    name = cfg["name"]
    margin = float(cfg.get("margin", 0.25))
    if name == "batch_hard":
        extra = n if cfg.get("use_forgeries", True) else None
        loss = losses.batch_hard_cosine_loss(a, p, margin, extra_negatives=extra)
        if cfg.get("symmetric", False):
            # the positives as anchors too: a second, free view of the same batch
            loss = loss + losses.batch_hard_cosine_loss(p, a, margin, extra_negatives=extra)
        w = float(cfg.get("skilled_weight", 0.0))
        if w > 0:
            # each anchor against its own writer's skilled forgery, not just as one column among many
            pos = (a * p).sum(dim=1)
            loss = loss + w * torch.relu(margin - pos + (a * n).sum(dim=1)).sum()
        return loss
    if name == "triplet_l2":
        return losses.triplet_l2_loss(a, p, n, margin)
    # pair losses: (a,p) same; (a,n) and (a, p of another writer) different
    x1 = torch.cat([a, a, a])
    x2 = torch.cat([p, n, p.roll(1, dims=0)])
    same = torch.cat([torch.ones(b), torch.zeros(2 * b)]).to(emb.device)
    if name == "contrastive":
        return losses.contrastive_loss(x1, x2, same, margin=margin)
    if name == "logistic":
        assert head is not None
        return losses.logistic_pair_loss(head(x1, x2), same)
    raise ValueError(f"unknown loss {name!r}")


def _forgery_loss(head: torch.nn.Module, emb: torch.Tensor, batch, device: str) -> torch.Tensor:
    """Binary cross-entropy of the forgery head: anchors and positives are genuine (0), a row's
    negative is 1 when it is a skilled forgery and 0 when it is another writer's genuine signature."""
    nb = len(batch.anchor)
    target = torch.cat([torch.zeros(2 * nb), torch.from_numpy(batch.negative_is_skilled.astype(np.float32))])
    logits = head(emb).squeeze(1)
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, target.to(device))


def writer_weights_for_epoch(data_cfg: dict, index: WriterIndex, epoch: int) -> np.ndarray | None:
    """How writers are drawn in this epoch: by ``data.dataset_share``, or, during an optional pre-training
    stage (``data.pretrain: {epochs: E, dataset_share: {...}}``, epochs before E), by the stage's own share
    (e.g. mostly synthetic writers first, then the real writers the model must end up knowing)."""
    pretrain = data_cfg.get("pretrain") or {}
    if epoch < int(pretrain.get("epochs", 0)):
        return index.writer_weights(pretrain.get("dataset_share"))
    return index.writer_weights(data_cfg.get("dataset_share"))


def validate(model: torch.nn.Module, val: ImageSet, device: str, draws: int = 1) -> dict:
    """K=1 EERs on the validation writers, averaged over ``draws`` random choices of each writer's
    reference: with a handful of validation writers one draw swings the EER by several points from
    epoch to epoch, and the epoch chosen would be the luckiest draw, not the best model."""
    emb = embed_images(model, val.images, device)
    skilled, random = [], []
    for seed in range(max(1, draws)):
        sc = protocol(val, emb, references=1, seed=seed)
        skilled.append(metrics.eer(sc.genuine, sc.skilled)[0] if sc.skilled.size else float("nan"))
        random.append(metrics.eer(sc.genuine, sc.random)[0])
    return {"val_eer_skilled": float(np.mean(skilled)), "val_eer_random": float(np.mean(random))}


def train(cfg: dict, train_set: ImageSet, val_set: ImageSet | None, out_dir: Path,
          resume: bool = False, progress: bool = True) -> TrainResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(int(cfg["seed"]))
    torch.set_num_threads(int(cfg.get("threads", 2)))
    device = pick_device(cfg.get("device", "auto"))
    # channels_last: oneDNN's CPU convolutions run ~30 % faster on NHWC (measured here)
    model = build_model(cfg["model"]).to(device, memory_format=torch.channels_last)
    head = PairHead(model.embedding_size).to(device) if cfg["loss"]["name"] == "logistic" else None
    index = WriterIndex.build(train_set)
    ce_weight = float(cfg["loss"].get("ce_weight", 0.0))
    # writer classification beside the metric loss: one learned unit vector per training writer
    # (cosine softmax), so every step also separates the batch from ALL training writers
    classes = torch.nn.Linear(model.embedding_size, len(index.writers), bias=False).to(device) \
        if ce_weight > 0 else None
    forgery_weight = float(cfg["loss"].get("forgery_weight", 0.0))
    # SigNet-F's forgery head: genuine vs skilled forgery read off the embedding, so the embedding
    # keeps what marks a forger's hand (hesitation, tremor, retouching) beside who wrote it
    forgery = torch.nn.Linear(model.embedding_size, 1).to(device) if forgery_weight > 0 else None
    params = list(model.parameters()) + (list(head.parameters()) if head else []) \
        + (list(classes.parameters()) if classes is not None else []) \
        + (list(forgery.parameters()) if forgery is not None else [])
    oc = cfg["optim"]
    opt = torch.optim.AdamW(params, lr=float(oc["lr"]), weight_decay=float(oc["weight_decay"]))
    epochs, steps = int(oc["epochs"]), int(oc["steps_per_epoch"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(oc["lr"]), total_steps=epochs * steps,
                                                pct_start=0.15)
    result = TrainResult(model)
    start_epoch = 0
    best_state = None
    ckpt_path = out_dir / "last.pt"
    if resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location=device, weights_only=True)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        if head and ck.get("head"):
            head.load_state_dict(ck["head"])
        if classes is not None and ck.get("classes"):
            classes.load_state_dict(ck["classes"])
        if forgery is not None and ck.get("forgery"):
            forgery.load_state_dict(ck["forgery"])
        start_epoch = int(ck["epoch"]) + 1
        result.history = json.loads(ck["history"])
        result.best_epoch, result.best_val = int(ck["best_epoch"]), float(ck["best_val"])
        best_path = out_dir / "best.pt"
        if best_path.exists():
            best_state = torch.load(best_path, map_location="cpu", weights_only=True)["model"]
    rng = np.random.default_rng(int(cfg["seed"]) + 1000 * start_epoch)
    gen = torch.Generator().manual_seed(int(cfg["seed"]) + start_epoch)
    images = torch.from_numpy(train_set.images)  # uint8, shared, no copy
    b = int(oc["batch_writers"])
    for epoch in range(start_epoch, epochs):
        weights = writer_weights_for_epoch(cfg["data"], index, epoch)
        model.train()
        t0 = time.time()
        total = 0.0
        bar = range(steps)
        if progress:
            from tqdm import tqdm

            bar = tqdm(bar, desc=f"epoch {epoch + 1}/{epochs}", leave=False)
        for _ in bar:
            batch = writer_batch(index, b, rng, float(cfg["loss"].get("skilled_fraction", 1.0)), weights)
            idx = torch.from_numpy(np.concatenate([batch.anchor, batch.positive, batch.negative]))
            x = images[idx].float().div_(255.0)[:, None]
            x = augment_batch(x, gen, cfg.get("augment", {})).to(device, memory_format=torch.channels_last)
            emb = model(x)
            loss = _loss(cfg["loss"], emb, len(batch.anchor), head)
            if classes is not None:
                nb = len(batch.anchor)
                logits = float(cfg["loss"].get("ce_scale", 16.0)) * torch.nn.functional.linear(
                    emb[: 2 * nb], torch.nn.functional.normalize(classes.weight, dim=1))
                target = torch.from_numpy(np.concatenate([batch.writer, batch.writer])).to(device)
                loss = loss + ce_weight * nb * torch.nn.functional.cross_entropy(logits, target)
            if forgery is not None:
                loss = loss + forgery_weight * len(batch.anchor) * _forgery_loss(forgery, emb, batch, device)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        row = {"epoch": epoch + 1, "loss": total / steps, "seconds": round(time.time() - t0, 1)}
        if val_set is not None and len(val_set.samples):
            row.update(validate(model, val_set, device, int(cfg.get("eval", {}).get("val_draws", 1))))
            # model selection on validation writers only: skilled EER, random EER breaks ties
            score = row["val_eer_skilled"] + 0.25 * row["val_eer_random"]
            if not np.isfinite(score):
                score = row["val_eer_random"]
            if score <= result.best_val:
                result.best_val, result.best_epoch = float(score), epoch + 1
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                torch.save({"model": best_state, "epoch": epoch, "model_cfg": json.dumps(cfg["model"])},
                           out_dir / "best.pt")
        result.history.append(row)
        per_epoch = float(np.mean([h["seconds"] for h in result.history[-3:]]))
        row["eta_min"] = round(per_epoch * (epochs - epoch - 1) / 60, 1)
        print(json.dumps(row), flush=True)
        torch.save(
            {
                "model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "head": head.state_dict() if head else {},
                "classes": classes.state_dict() if classes is not None else {},
                "forgery": forgery.state_dict() if forgery is not None else {}, "epoch": epoch,
                "history": json.dumps(result.history),
                "best_epoch": result.best_epoch, "best_val": result.best_val,
                "model_cfg": json.dumps(cfg["model"]),
            },
            ckpt_path,
        )
    if best_state is not None:
        model.load_state_dict(best_state)
    elif val_set is None or not len(val_set.samples):
        torch.save({"model": model.state_dict(), "epoch": epochs - 1, "model_cfg": json.dumps(cfg["model"])},
                   out_dir / "best.pt")
    (out_dir / "history.json").write_text(json.dumps(result.history, indent=1))
    model.eval()
    return result
