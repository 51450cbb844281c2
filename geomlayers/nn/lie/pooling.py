"""Normalisation, pooling and the invariant projection of features on Rⁿ ⋊ G."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from geomlayers.groups.affine import GroupSamples, rotation_angle
from geomlayers.groups.images import LiftedImages
from geomlayers.groups.representations import Trivial
from geomlayers.nn.lie.base import _check_channels

__all__ = ["GroupBatchNorm", "GroupSpatialMaxPool", "GroupMaxProjection"]


class GroupBatchNorm(nn.Module):
    """Batch norm per channel over (batch, group samples, space), running stats in eval.

    The statistics are symmetric in the sample and pixel axes, so the layer commutes with
    any permutation of them (grid rotations, cyclic shifts); in eval mode it is a pointwise
    affine map, hence exactly equivariant, and independent of the canvas size.

    Shapes: ``(B, C, N, *spatial)`` → same.

    Declares ``rep_in = rep_out = LiftedImages(channels=C)`` and ``group = None`` (it works
    for any grid and group): in eval mode it commutes with every action of ``LiftedImages``.
    """

    group = None

    def __init__(
        self, channels: int, *, eps: float = 1e-5, momentum: float = 0.1, device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(_check_channels("channels", channels), eps=eps,
                                   momentum=momentum, device=device, dtype=dtype)
        self.rep_in = self.rep_out = LiftedImages(channels=self.norm.num_features)

    def reset_parameters(self) -> None:
        """Unit scale, zero shift, fresh running statistics."""
        self.norm.reset_parameters()

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """Normalise every channel."""
        return self.norm(f.flatten(2)).reshape(f.shape)


class GroupSpatialMaxPool(nn.Module):
    """Spatial max pooling (kernel = stride = ``size``) per channel and group sample.

    Equivariant for transforms mapping pooling cells to pooling cells: rot90 of an image
    with side divisible by ``size`` exactly (declared: ``rep_in = rep_out = LiftedImages()``,
    ``group = None``). A translation by ``size·t`` becomes one by ``t``, a different element,
    so translations are not an equivariance in the declared sense.
    """

    group = None
    rep_in = rep_out = LiftedImages()

    def __init__(self, size: int = 2) -> None:
        super().__init__()
        self.size = _check_channels("size", size)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """``(B, C, N, *spatial)`` → ``(B, C, N, *spatial // size)``."""
        n = f.dim() - 3
        pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[n - 1]
        out = pool(f.flatten(1, 2), self.size)
        return out.reshape(*f.shape[:3], *out.shape[2:])

    def extra_repr(self) -> str:
        """Hyper-parameters for ``repr``."""
        return f"size={self.size}"


class GroupMaxProjection(nn.Module):
    """Invariant projection: max over group samples and space, ``(B, C, N, *spatial)`` → ``(B, C)``.

    The continuum ``sup_{x,h}`` is invariant; on a grid closed under the transform it is
    exact, otherwise its error shrinks as the grid densifies.

    ``max_angle`` (radians, n = 2 or 3) restricts the max to the samples whose rotation part
    ``R_b`` is within that angle of the identity: a local sup over ``{exp(X)·R : ∠R ≤ max_angle}``,
    invariant to rotations only approximately and only up to about ``max_angle``, so that
    orientation still tells classes apart (a 6 from a 9). ``None``: the full max.

    Declares ``rep_in = LiftedImages()``, ``group = None`` and ``rep_out = Trivial()`` for
    the full max; with ``max_angle`` it declares no ``rep_out``: the output is invariant to
    translations only (check it with ``TranslationGroup(d)`` and ``rep_out="trivial"``).
    """

    group = None
    rep_in = LiftedImages()

    def __init__(self, max_angle: float | None = None) -> None:
        super().__init__()
        if max_angle is not None and not (isinstance(max_angle, (int, float))
                                          and 0 < max_angle <= math.pi):
            raise ValueError(f"max_angle must be None or in (0, π] radians, got {max_angle!r}")
        self.max_angle = max_angle
        self.rep_out = Trivial() if max_angle is None else None

    def forward(self, f: torch.Tensor, samples: GroupSamples | None = None) -> torch.Tensor:
        """``f`` ``(B, C, N, *spatial)`` → ``(B, C)``; ``samples`` needed with ``max_angle``."""
        if self.max_angle is None:
            return f.flatten(2).amax(-1)
        if samples is None:
            raise ValueError("GroupMaxProjection(max_angle=...) needs the samples of f")
        keep = rotation_angle(samples.rot) <= self.max_angle + 1e-9
        if not bool(keep.any()):
            raise ValueError(f"no sample has a rotation within max_angle={self.max_angle}; "
                             "raise max_angle or the grid's orbit")
        return f[:, :, keep.to(f.device)].flatten(2).amax(-1)

    def extra_repr(self) -> str:
        """Hyper-parameters for ``repr``."""
        return "" if self.max_angle is None else f"max_angle={self.max_angle:.4g}"
