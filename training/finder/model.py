"""A compact U-Net: the whole cheque in, a signature-ink logit per cell (half the input resolution) out.

Two coordinate channels are added inside the network (signatures sit where forms ask for them, but
where that is varies by bank, so position is an input, not a rule), and a pooled page summary is
broadcast at the bottleneck so each cell knows what else is on the page.

Two sizes (``ARCHITECTURES``): "unet-12" (finder 2026.12.03-2) and "unet-8-squeeze", which does the
same at half the CPU time (4.8 ms against 9.5 ms on one core, measured side by side in ONNX Runtime):
almost all of the time goes to the half-resolution layers, so those get 8 channels instead of 12
(ONNX Runtime's convolutions also run better on multiples of 8) and the last decoder stage squeezes
its input with a 1x1 convolution before one 3x3 instead of two 3x3 on the full width.
"""

from __future__ import annotations

import torch
from torch import nn

ARCHITECTURES = {
    "unet-12": {"widths": (12, 20, 32, 48, 64), "top": "double"},
    "unet-8-squeeze": {"widths": (8, 16, 32, 48, 64), "top": "squeeze"},
}
DEFAULT_ARCHITECTURE = "unet-8-squeeze"


def _squeeze_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _block(cin: int, cout: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False), nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class FinderNet(nn.Module):
    def __init__(self, height: int = 192, width: int = 384, widths=(12, 20, 32, 48, 64), top: str = "double"):
        super().__init__()
        c0, c1, c2, c3, c4 = widths
        # coordinates at the stem's (half) resolution: a quarter of the constant's size in the file
        h2, w2 = (height + 1) // 2, (width + 1) // 2
        ys = torch.linspace(-1, 1, h2).view(1, 1, h2, 1).expand(1, 1, h2, w2)
        xs = torch.linspace(-1, 1, w2).view(1, 1, 1, w2).expand(1, 1, h2, w2)
        self.register_buffer("coords", torch.cat([ys, xs], 1).contiguous(), persistent=False)
        self.stem = nn.Sequential(nn.Conv2d(1, c0, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c0),
                                  nn.ReLU(inplace=True))
        self.stem2 = nn.Sequential(nn.Conv2d(c0 + 2, c0, 3, padding=1, bias=False), nn.BatchNorm2d(c0),
                                   nn.ReLU(inplace=True))
        self.enc1, self.enc2, self.enc3 = _block(c0, c1), _block(c1, c2), _block(c2, c3)
        self.bottom = _block(c3, c4, dilation=2)
        self.context = nn.Sequential(nn.Linear(c4, c4), nn.ReLU(inplace=True))
        self.dec3, self.dec2 = _block(c4 * 2 + c3, c3), _block(c3 + c2, c2)
        self.dec1 = _block(c2 + c1, c1)
        self.dec0 = _squeeze_block(c1 + c0, c0) if top == "squeeze" else _block(c1 + c0, c0)
        self.head = nn.Conv2d(c0, 1, 1)
        self.pool = nn.MaxPool2d(2)

    @staticmethod
    def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return nn.functional.interpolate(x, size=like.shape[-2:], mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e0 = self.stem(x)                       # 1/2
        e0 = self.stem2(torch.cat([e0, self.coords.expand(x.shape[0], -1, -1, -1)], 1))
        e1 = self.enc1(self.pool(e0))           # 1/4
        e2 = self.enc2(self.pool(e1))           # 1/8
        e3 = self.enc3(self.pool(e2))           # 1/16
        b = self.bottom(self.pool(e3))          # 1/32
        page = self.context(b.mean(dim=(2, 3)))[:, :, None, None].expand_as(b)
        d3 = self.dec3(torch.cat([self._up(torch.cat([b, page], 1), e3), e3], 1))
        d2 = self.dec2(torch.cat([self._up(d3, e2), e2], 1))
        d1 = self.dec1(torch.cat([self._up(d2, e1), e1], 1))
        d0 = self.dec0(torch.cat([self._up(d1, e0), e0], 1))
        return self.head(d0)


def checkpoint_architecture(state: dict) -> str:
    """The architecture a training checkpoint holds; checkpoints from before the choice are "unet-12"."""
    return state.get("config", {}).get("architecture", "unet-12")


def build_finder(architecture: str = DEFAULT_ARCHITECTURE) -> FinderNet:
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown finder architecture {architecture!r}: one of {', '.join(ARCHITECTURES)}")
    return FinderNet(**ARCHITECTURES[architecture])
