"""Augmentations that keep a signature plausible, applied to a batch on the fly.

Deliberately mild: skilled forgeries differ from genuine signatures in fine stroke detail,
and heavy elastic/shear warps or stroke-width changes erase exactly that (issue 3 saw the
skilled-forgery EER go 19 % -> 29 % with them). Defaults: small rotation, scale, shift and
shear, ink-intensity gamma, and a little scanner noise on the ink only.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment_batch(x: torch.Tensor, generator: torch.Generator, cfg: dict) -> torch.Tensor:
    """x (N,1,H,W) in [0,1] ink bright -> same shape, randomly warped per sample."""
    if not cfg or not cfg.get("enabled", True):
        return x
    n = x.shape[0]

    def uni(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=generator)

    rot = uni(-1, 1) * math.radians(float(cfg.get("rotation_deg", 3.0)))
    s = float(cfg.get("scale", 0.06))
    scale = uni(1 - s, 1 + s)
    shear = uni(-1, 1) * float(cfg.get("shear", 0.05))
    sh = float(cfg.get("shift", 0.03)) * 2  # affine_grid coordinates span [-1, 1]
    tx, ty = uni(-sh, sh), uni(-sh, sh)
    cos, sin = torch.cos(rot) / scale, torch.sin(rot) / scale
    theta = torch.zeros(n, 2, 3)
    # the canvas is 2:1, so rotate in pixel-proportional coordinates
    h, w = x.shape[2], x.shape[3]
    ar = w / h
    theta[:, 0, 0] = cos
    theta[:, 0, 1] = -sin / ar + shear
    theta[:, 1, 0] = sin * ar
    theta[:, 1, 1] = cos
    theta[:, 0, 2] = tx
    theta[:, 1, 2] = ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    gamma = float(cfg.get("gamma", 0.25))
    if gamma > 0:
        g = torch.exp(uni(-gamma, gamma)).view(n, 1, 1, 1)
        out = out.clamp_min(0).pow(g)
    noise = float(cfg.get("noise", 0.03))
    if noise > 0:
        ink = out > 0.02
        out = out + ink * noise * torch.randn(out.shape, generator=generator)
    return out.clamp(0, 1)
