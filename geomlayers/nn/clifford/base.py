"""Shared parts of the Clifford layers: argument checks and the subspace partition."""

from __future__ import annotations

import torch
from torch import nn

from geomlayers.clifford.algebra import CliffordAlgebra

__all__ = ["SUBSPACES"]

SUBSPACES = ("grade", "type", "none")


def _check_algebra(algebra) -> None:
    if not isinstance(algebra, CliffordAlgebra):
        raise TypeError(f"algebra must be a CliffordAlgebra, got {type(algebra).__name__}")


def _check_channels(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")


def _check_input(x, algebra: CliffordAlgebra, channels: int) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point torch.Tensor, got {type(x).__name__}")
    if x.dim() < 2 or x.shape[-2:] != (channels, algebra.dim):
        raise ValueError(
            f"x must have shape (..., {channels}, {algebra.dim}) (channels, 2^n blades), "
            f"got {tuple(x.shape)}"
        )


class _CliffordModule(nn.Module):
    """Shared state: the algebra, the subspace partition and its blade index buffer."""

    def __init__(self, algebra: CliffordAlgebra, subspaces: str, device=None) -> None:
        super().__init__()
        _check_algebra(algebra)
        if subspaces not in SUBSPACES:
            raise ValueError(f"subspaces must be one of {SUBSPACES}, got {subspaces!r}")
        self.algebra = algebra
        self.subspaces = subspaces
        self.num_subspaces = algebra.num_subspaces(subspaces)
        self.register_buffer("_blade_subspace",
                             algebra.subspace_index(subspaces).to(device=device, copy=True),
                             persistent=False)
