"""Train the finder on cached generated cheques; checkpoints every epoch and resumes; prints an ETA.

Loss: per-cell binary cross-entropy (signature cells weighted up: they are ~1 % of the page) plus a
soft Dice term on signed cheques, so that the whole signature is marked, not only its core.
The signed/unsigned threshold is fixed afterwards on the validation cheques (training families,
other seeds), never on a test split.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from training.finder.data import load_cache
from training.finder.model import DEFAULT_ARCHITECTURE, build_finder, checkpoint_architecture


@dataclass
class FinderTrainConfig:
    cache: Path = Path("runs/finder/cache")
    out: Path = Path("runs/finder")
    epochs: int = 4
    batch: int = 16
    lr: float = 3e-3
    threads: int = 2
    seed: int = 0
    pos_weight: float = 4.0
    architecture: str = DEFAULT_ARCHITECTURE   # training.finder.model.ARCHITECTURES


def _loss(logits: torch.Tensor, target: torch.Tensor, pos_weight: float) -> torch.Tensor:
    bce = nn.functional.binary_cross_entropy_with_logits(
        logits, target, pos_weight=torch.tensor(pos_weight))
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum(dim=(1, 2, 3))
    total = prob.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3))
    signed = target.sum(dim=(1, 2, 3)) > 0
    dice = (1 - (2 * inter + 1) / (total + 1))[signed].mean() if signed.any() else logits.sum() * 0
    return bce + 0.5 * dice


def _augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pens, scanners and lighting differ: contrast and noise, and for some cheques a broader pen
    (grey dilation: bitonal 200 dpi scans thicken every stroke) or a softer focus (blur)."""
    x = x.astype(np.float32) / 255.0
    for i in range(len(x)):
        if rng.random() < 0.25:
            x[i] = cv2.dilate(x[i], np.ones((2, 2), np.uint8))
        if rng.random() < 0.2:
            x[i] = cv2.GaussianBlur(x[i], (3, 3), rng.uniform(0.5, 1.0))
    gain = rng.uniform(0.6, 1.4, (len(x), 1, 1)).astype(np.float32)
    x = np.clip(x * gain + rng.normal(0, rng.uniform(0, 0.04), x.shape).astype(np.float32), 0, 1)
    return x


def predict(model: nn.Module, x: np.ndarray, batch: int = 32) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i:i + batch].astype(np.float32) / 255.0)[:, None]
            out.append(model(xb)[:, 0].numpy())
    return np.concatenate(out)


def cell_metrics(logits: np.ndarray, y: np.ndarray, signed: np.ndarray) -> dict:
    """Quick validation figures at cell level: box IoU of the hot cells, peak-probability separation."""
    prob = 1 / (1 + np.exp(-logits))
    peaks = prob.reshape(len(prob), -1).max(axis=1)
    ious = []
    for p, t, s in zip(prob, y, signed, strict=True):
        if not s:
            continue
        hot = p > 0.5
        if not hot.any():
            ious.append(0.0)
            continue
        a = _box(hot)
        b = _box(t > 0)
        ious.append(_iou(a, b))
    ious = np.array(ious)
    return {"cell_iou_median": float(np.median(ious)), "cell_hit_0.3": float(np.mean(ious >= 0.3)),
            "peak_signed_p1": float(np.percentile(peaks[signed], 1)),
            "peak_unsigned_p90": float(np.percentile(peaks[~signed], 90)) if (~signed).any() else float("nan")}


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union if union else 0.0


def train(cfg: FinderTrainConfig) -> Path:
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    x, y, signed, _ = load_cache(cfg.cache, "train")
    vx, vy, vsigned, _ = load_cache(cfg.cache, "val")
    model = build_finder(cfg.architecture)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    steps_per_epoch = len(x) // cfg.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.epochs * steps_per_epoch)
    cfg.out.mkdir(parents=True, exist_ok=True)
    ckpt = cfg.out / "finder_ckpt.pt"
    epoch0, step0 = 0, 0
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        saved = checkpoint_architecture(state)
        if saved != cfg.architecture:
            raise ValueError(f"{ckpt} holds a {saved!r} finder, not {cfg.architecture!r}: resume with "
                             f"--architecture {saved}, or train into another folder")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        epoch0, step0 = state["epoch"], state.get("next_step", steps_per_epoch)
        if step0 >= steps_per_epoch:
            epoch0, step0 = epoch0 + 1, 0
        print(f"resumed at epoch {epoch0 + 1} step {step0}", flush=True)
    started, done_steps = time.time(), 0
    total_steps = (cfg.epochs - epoch0) * steps_per_epoch - step0
    for epoch in range(epoch0, cfg.epochs):
        model.train()
        # one permutation per epoch from the seed: a resumed epoch continues the same order
        rng = np.random.default_rng([cfg.seed, epoch])
        order = rng.permutation(len(x))
        losses = []
        for step in range(step0 if epoch == epoch0 else 0, steps_per_epoch):
            idx = order[step * cfg.batch:(step + 1) * cfg.batch]
            xb = torch.from_numpy(_augment(x[idx], rng))[:, None]
            yb = torch.from_numpy(y[idx].astype(np.float32))[:, None]
            loss = _loss(model(xb), yb, cfg.pos_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            done_steps += 1
            if step % 25 == 0:
                eta = (time.time() - started) / done_steps * (total_steps - done_steps)
                print(f"epoch {epoch + 1}/{cfg.epochs} step {step}/{steps_per_epoch} loss "
                      f"{np.mean(losses[-25:]):.4f} ETA {eta / 60:.1f} min", flush=True)
                _save(ckpt, model, opt, sched, epoch, step + 1, None, cfg)
        metrics = cell_metrics(predict(model, vx), vy, vsigned)
        print(f"epoch {epoch + 1} done: loss {np.mean(losses):.4f} val {metrics}", flush=True)
        _save(ckpt, model, opt, sched, epoch, steps_per_epoch, metrics, cfg)
    return ckpt


def _save(ckpt: Path, model, opt, sched, epoch: int, next_step: int, metrics, cfg: FinderTrainConfig) -> None:
    tmp = ckpt.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                "epoch": epoch, "next_step": next_step, "val": metrics, "config": cfg.__dict__}, tmp)
    tmp.replace(ckpt)   # a kill while saving never leaves a broken checkpoint
