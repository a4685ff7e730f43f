"""Augmentations that keep a signature plausible, applied to a batch on the fly.

Deliberately mild: skilled forgeries differ from genuine signatures in fine stroke detail,
and heavy elastic/shear warps or stroke-width changes erase exactly that (issue 3 saw the
skilled-forgery EER go 19 % -> 29 % with them). Defaults: small rotation, scale, shift and
shear, ink-intensity gamma, and a little scanner noise on the ink only.

``query`` (off unless configured, see ``query_like``) imitates how a signature cut from a
cheque reaches the app, on the normalised canvas: bitonal image-exchange scans, a lower
scan resolution, blur, a pen one step wider, and a printed rule crossing the strokes.
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
    out = out.clamp(0, 1)
    if cfg.get("query"):
        out = query_like(out, generator, cfg["query"])
    return out


def _chosen(n: int, p: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(n, generator=generator) < p).view(n, 1, 1, 1)


def query_like(x: torch.Tensor, generator: torch.Generator, cfg: dict) -> torch.Tensor:
    """Each degradation applied to a sample with its own probability (``*_p`` keys)."""
    n = x.shape[0]
    out = x
    p = float(cfg.get("lowres_p", 0.0))
    if p > 0:  # a 100-150 dpi scan: detail lost, then the app's resize back to the canvas
        small = F.interpolate(out, scale_factor=0.5, mode="area")
        low = F.interpolate(small, size=out.shape[2:], mode="bilinear", align_corners=False)
        out = torch.where(_chosen(n, p, generator), low, out)
    p = float(cfg.get("blur_p", 0.0))
    if p > 0:  # out-of-focus phone photo or JPEG smoothing: 3x3 binomial kernel
        k = torch.tensor([1.0, 2.0, 1.0])
        k = (k[:, None] * k[None, :] / 16).view(1, 1, 3, 3)
        out = torch.where(_chosen(n, p, generator), F.conv2d(out, k, padding=1), out)
    p = float(cfg.get("width_p", 0.0))
    if p > 0:  # a broader pen: half-way to a 3x3 dilation, so the stroke shape survives
        wide = 0.5 * (out + F.max_pool2d(out, 3, stride=1, padding=1))
        out = torch.where(_chosen(n, p, generator), wide, out)
    p = float(cfg.get("rule_p", 0.0))
    if p > 0:  # the cheque's printed signature line crossing the lower strokes
        rows = torch.arange(out.shape[2]).view(1, 1, -1, 1)
        y = (0.55 + 0.35 * torch.rand(n, generator=generator)).mul(out.shape[2]).long().view(n, 1, 1, 1)
        level = (0.3 + 0.5 * torch.rand(n, generator=generator)).view(n, 1, 1, 1)
        line = ((rows >= y) & (rows <= y + 1)).float() * level
        out = torch.where(_chosen(n, p, generator), torch.maximum(out, line.expand_as(out)), out)
    p = float(cfg.get("bitonal_p", 0.0))
    if p > 0:  # bitonal image-exchange scan: every ink pixel one level, faint ink dropped
        cut = (0.1 + 0.25 * torch.rand(n, generator=generator)).view(n, 1, 1, 1)
        level = (0.7 + 0.3 * torch.rand(n, generator=generator)).view(n, 1, 1, 1)
        out = torch.where(_chosen(n, p, generator), (out > cut).float() * level, out)
    return out.clamp(0, 1)
