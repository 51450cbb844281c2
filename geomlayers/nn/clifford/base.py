"""Shared parts of the Clifford layers: argument checks and the subspace partition."""

from __future__ import annotations

import torch
from torch import nn

from geomlayers.clifford.algebra import CliffordAlgebra
from geomlayers.groups.pseudo_orthogonal import PseudoOrthogonal
from geomlayers.groups.representations import Multivectors
from geomlayers.validation import check_int

__all__ = ["SUBSPACES", "as_algebra"]

SUBSPACES = ("grade", "type", "none")

#: what a layer's ``algebra`` argument may be: the algebra, or the group whose algebra it is
AlgebraLike = CliffordAlgebra | PseudoOrthogonal


def as_algebra(algebra: AlgebraLike) -> CliffordAlgebra:
    """The algebra of a layer: a :class:`CliffordAlgebra` or the one of a ``PseudoOrthogonal``."""
    if isinstance(algebra, PseudoOrthogonal):
        return CliffordAlgebra.from_group(algebra)
    if not isinstance(algebra, CliffordAlgebra):
        raise TypeError(f"algebra must be a CliffordAlgebra or a PseudoOrthogonal group, got "
                        f"{type(algebra).__name__}")
    return algebra


def _check_channels(name: str, value) -> None:
    check_int(name, value, minimum=1)


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

    def __init__(self, algebra: AlgebraLike, subspaces: str, device=None) -> None:
        super().__init__()
        algebra = as_algebra(algebra)
        if subspaces not in SUBSPACES:
            raise ValueError(f"subspaces must be one of {SUBSPACES}, got {subspaces!r}")
        self.algebra = algebra
        #: the isometries whose outermorphisms commute with the layer (standard basis order)
        self.group = algebra.group if algebra.metric == algebra.default_metric else None
        self.subspaces = subspaces
        self.num_subspaces = algebra.num_subspaces(subspaces)
        self.register_buffer("_blade_subspace",
                             algebra.subspace_index(subspaces).to(device=device, copy=True),
                             persistent=False)

    def _check_x(self, x, channels: int) -> None:
        """Shape ``(..., channels, 2^n)`` and the dtype of the layer's parameters."""
        _check_input(x, self.algebra, channels)
        param = next(self.parameters(), None)
        if param is not None and x.dtype != param.dtype:
            raise TypeError(f"x has dtype {x.dtype} but the parameters of {type(self).__name__} "
                            f"are {param.dtype}: convert one of them (x.to({param.dtype}) or "
                            f"layer.to({x.dtype}))")

    @property
    def rep_in(self) -> Multivectors:
        """``Multivectors(channels=C_in)``: ``(..., C_in, 2^n)`` under the outermorphism."""
        return Multivectors(channels=getattr(self, "in_channels", None) or self.channels)

    @property
    def rep_out(self) -> Multivectors:
        """``Multivectors(channels=C_out)``: ``(..., C_out, 2^n)`` under the outermorphism."""
        return Multivectors(channels=getattr(self, "out_channels", None) or self.channels)
