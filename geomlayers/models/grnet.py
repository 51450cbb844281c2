"""GrNet, a Grassmann network (Huang, Wu & Van Gool, AAAI 2018, §3-§4); ``docs/grassmann.md``."""

from __future__ import annotations

import torch
from torch import nn

from geomlayers.nn.grassmann.layers import (
    FRMap,
    GrassmannMLR,
    OrthMap,
    ProjMap,
    ProjPooling,
    ReOrth,
)

__all__ = ["GrNet"]


class GrNet(nn.Module):
    """GrNet (Huang, Wu & Van Gool, AAAI 2018, §3-§4) on subspaces ``(B, n, q)``/``(B, 1, n, q)``.

    Blocks ``FRMap(→ d_i, channels) → ReOrth → ProjMap → ProjPooling → OrthMap(q)`` for each
    ``d_i`` in ``dims``, then the head: ``"linear"`` (GrNet's ProjMap → flatten → fully connected)
    or ``"gyro"`` (:class:`GrassmannMLR` on the last subspaces).

    Args:
        in_features: ``n``.
        q: subspace dimension.
        num_classes: ``K``.
        dims: FRMap output sizes, decreasing, each ``> q``.
        channels: FRMap maps in the first block.
        pool: channel pooling factor after each block (1 = none); channels divide by it.
        head: ``"linear"`` or ``"gyro"``.
        device, dtype: of the parameters.

    """

    def __init__(self, in_features: int, q: int, num_classes: int, *, dims=(16,),
                 channels: int = 8, pool: int = 1, head: str = "linear", device=None, dtype=None):
        super().__init__()
        if head not in ("linear", "gyro"):
            raise ValueError(f"head must be 'linear' or 'gyro', got {head!r}")
        if not dims or any(d <= q for d in dims):
            raise ValueError(f"dims must be a non-empty sequence of sizes > q={q}, got {dims!r}")
        factory = {"device": device, "dtype": dtype}
        layers, prev, ch = [], in_features, channels
        for d in dims:
            layers += [FRMap(prev, d, ch, **factory), ReOrth(), ProjMap()]
            if pool > 1:
                layers.append(ProjPooling(pool))
                if ch % pool:
                    raise ValueError(f"channels ({ch}) must be divisible by pool ({pool})")
                ch //= pool
            layers.append(OrthMap(q))
            prev = d
        self.features = nn.Sequential(*layers)
        self.head_kind = head
        if head == "linear":
            self.head = nn.Sequential(ProjMap(), nn.Flatten(), nn.Linear(ch * prev * prev,
                                                                         num_classes, **factory))
        else:
            self.head = GrassmannMLR(prev, q, num_classes, ch, **factory)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, n, q)`` or ``(B, 1, n, q)`` orthonormal bases → logits ``(B, K)``."""
        if x.dim() == 3:
            x = x.unsqueeze(1)
        return self.head(self.features(x))

    def extra_repr(self) -> str:
        """Sizes and options."""
        return f"head={self.head_kind!r}"
