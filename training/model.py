"""Compact Siamese CNN: one set of weights maps a normalised signature to an L2-normalised
embedding; two signatures are compared by the dot product of their embeddings (cosine).

Sized for CPU inference (a few ms per signature on one core): the first convolution has
stride 2 because the normalised canvas (128x256) carries strokes 1-3 px wide, which a 5x5
stride-2 kernel still resolves; the head keeps a coarse 2x4 spatial layout (where the
strokes are matters for signatures) instead of a global average.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


def _block(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SigNetSmall(nn.Module):
    def __init__(self, embedding_size: int = 128, width: int = 32, dropout: float = 0.2):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            _block(1, w // 2, 5, stride=2),  # 64x128
            _block(w // 2, w, 3, stride=2),  # 32x64
            _block(w, w * 3 // 2),
            nn.MaxPool2d(2),  # 16x32
            _block(w * 3 // 2, w * 3),
            nn.MaxPool2d(2),  # 8x16
            _block(w * 3, w * 4),
            nn.AdaptiveAvgPool2d((2, 4)),
        )
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(w * 4 * 8, embedding_size)
        self.embedding_size = embedding_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N,1,H,W) float in [0,1], ink bright -> (N,D) unit vectors."""
        h = self.features(x).flatten(1)
        return F.normalize(self.fc(self.dropout(h)), dim=1)


class PairHead(nn.Module):
    """Logistic head on |f1 - f2| with one learned weight per embedding dimension (the design
    notes' binary-classification variant). Only used when training with the 'logistic' loss;
    the app keeps scoring with cosine similarity."""

    def __init__(self, embedding_size: int):
        super().__init__()
        self.linear = nn.Linear(embedding_size, 1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.linear((a - b).abs()).squeeze(1)  # logits


def build_model(cfg: dict) -> SigNetSmall:
    return SigNetSmall(
        embedding_size=int(cfg.get("embedding_size", 128)),
        width=int(cfg.get("width", 32)),
        dropout=float(cfg.get("dropout", 0.2)),
    )


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, height: int, width: int) -> int:
    """Multiply-accumulates of one forward pass (convolutions and linear layers)."""
    macs = 0

    def conv_hook(mod: nn.Conv2d, _inp, out):
        nonlocal macs
        kh, kw = mod.kernel_size
        macs += out.numel() // out.shape[0] * (mod.in_channels // mod.groups) * kh * kw

    def lin_hook(mod: nn.Linear, _inp, out):
        nonlocal macs
        macs += mod.in_features * mod.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, height, width))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return macs


def load_run_model(run: Path) -> tuple[SigNetSmall, dict]:
    """A finished run's best model (eval mode) and its resolved config."""
    from .config import load_config

    cfg = load_config(run / "config.yaml")
    model = build_model(cfg["model"])
    ck = torch.load(run / "best.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(ck["model"])
    return model.eval(), cfg
