"""The affine-invariant image classifier on Rⁿ ⋊ G (Mironenco & Forré, ICLR 2024, §6)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from geomlayers.groups.affine import Affine, GLPlus
from geomlayers.groups.images import Images
from geomlayers.groups.representations import Trivial
from geomlayers.nn.lie import (
    AffineGroupConv,
    AffineLifting,
    GroupBatchNorm,
    GroupMaxProjection,
    GroupSampler,
    GroupSpatialMaxPool,
)
from geomlayers.nn.lie.base import _check_group

__all__ = ["AffineInvariantCNN"]


class AffineInvariantCNN(nn.Module):
    """Affine-invariant classifier on ``Rⁿ ⋊ G`` (Mironenco & Forré 2024, §6, smaller).

    ``lift → [pool → norm → GELU → group conv] × (len(channels) - 1) → norm → GELU →
    max projection → Linear → GELU → Linear``. All layers share one :class:`GroupSampler`
    grid (fixed in eval mode, so logits are deterministic).

    ``resample=False`` (default) trains on that same fixed grid too. ``resample=True`` redraws
    the grid every training step (the authors' recipe); with one seed per grid the total
    importance weight of a grid varies several-fold between draws, which can stall training
    (``docs/lie.md``).

    ``max_angle`` (radians): pool only over the samples whose rotation is within that angle of
    the identity (:class:`GroupMaxProjection`); ``None`` (default) pools over the whole grid,
    so the logits are exactly invariant to the grid's rotations (rot90 included), which also
    merges classes that differ by a rotation (6 and 9).

    Shapes: ``(B, in_channels, *spatial)`` → ``(B, num_classes)``.

    Declares ``group`` (``Rⁿ ⋊ G``), ``rep_in = Images(channels=in_channels)`` and, without
    ``max_angle``, ``rep_out = Trivial()``: in eval mode the logits are exactly invariant (to
    rounding) to the grid's lattice rotations (rot90) and, with circular padding, to cyclic
    shifts by multiples of ``2^(len(channels) - 1)`` (the pooling), which
    ``assert_equivariant(model, elements=...)`` checks; other affine maps only approximately
    (``docs/lie.md``). With ``max_angle`` no ``rep_out`` is declared (invariant to those
    shifts only, by design).
    """

    def __init__(
        self,
        group: Affine | GLPlus,
        in_channels: int = 1,
        num_classes: int = 10,
        channels: tuple[int, ...] = (12, 24, 48),
        *,
        num_seeds: int = 1,
        orbit: int = 8,
        scale: float = 0.25,
        radius: float = 2.5,
        max_radius: int = 2,
        group_scale: float = 0.3,
        hidden: int = 32,
        head: int = 64,
        spatial_basis: str = "rbf",
        padding_mode: str = "zeros",
        resample: bool = False,
        max_angle: float | None = None,
        seed: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.group, self.linear = _check_group(group)
        self.rep_in = Images(channels=in_channels)
        self.rep_out = Trivial() if max_angle is None else None
        if len(channels) < 1:
            raise ValueError("channels must list at least one width")
        kw = {"device": device, "dtype": dtype}
        geo = {"radius": radius, "max_radius": max_radius, "hidden": hidden,
               "padding_mode": padding_mode, "spatial_basis": spatial_basis}
        self.sampler = GroupSampler(group, num_seeds, orbit, scale=scale, seed=seed,
                                    resample=resample)
        self.lift = AffineLifting(in_channels, channels[0], group, **geo, **kw)
        self.convs = nn.ModuleList(
            AffineGroupConv(a, b, group, group_scale=group_scale, **geo, **kw)
            for a, b in zip(channels[:-1], channels[1:], strict=True)
        )
        self.norms = nn.ModuleList(GroupBatchNorm(c, **kw) for c in channels)
        self.pool = GroupSpatialMaxPool(2)
        self.project = GroupMaxProjection(max_angle)
        self.head = nn.Sequential(nn.Linear(channels[-1], head, **kw), nn.GELU(),
                                  nn.Linear(head, num_classes, **kw))

    def reset_parameters(self) -> None:
        """Re-initialise every layer."""
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The invariant feature vector ``(B, channels[-1])``."""
        samples = self.sampler(x.dtype, x.device)
        f = self.lift(x, samples)
        for conv, norm in zip(self.convs, self.norms[:-1], strict=True):
            f = F.gelu(norm(self.pool(f)))
            f = conv(f, samples)
        return self.project(F.gelu(self.norms[-1](f)), samples)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)``."""
        return self.head(self.features(x))
