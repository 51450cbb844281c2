"""Subspace-wise linear maps of multivector features (CGENN ``MVLinear``, GLGENN ``QTLinear``)."""

from __future__ import annotations

import math

import torch
from torch import nn

from geomlayers.nn.clifford.base import AlgebraLike, _check_channels, _CliffordModule

__all__ = ["CliffordLinear"]


class CliffordLinear(_CliffordModule):
    """Subspace-wise channel mixing ``(..., C_in, 2^n)`` → ``(..., C_out, 2^n)``.

    ``y_o = Σ_c Σ_s w[o, c, s] <x_c>_s + b_o · 1``: CGENN's ``MVLinear`` (§4.1; ``'grade'``,
    or ``'none'`` for ``subspaces=False``) and GLGENN's ``QTLinear`` (§4; ``'type'``, which
    the authors use without bias). The bias sits on the scalar blade only, the one
    equivariant choice. Parameters ``C_out · C_in · S (+ C_out)``; init ``N(0, 1/C_in)``.
    """

    def __init__(self, algebra: AlgebraLike, in_channels: int, out_channels: int, *,
                 subspaces: str = "grade", bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(algebra, subspaces, device)
        _check_channels("in_channels", in_channels)
        _check_channels("out_channels", out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        kw = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, self.num_subspaces,
                                               **kw))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, **kw))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weights ``N(0, 1/C_in)`` (as CGENN/GLGENN), bias 0."""
        nn.init.normal_(self.weight, std=1 / math.sqrt(self.in_channels))
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(..., C_in, 2^n)`` → ``(..., C_out, 2^n)``."""
        self._check_x(x, self.in_channels)
        blade_weight = self.weight[..., self._blade_subspace]  # (C_out, C_in, 2^n)
        out = torch.einsum("...ci,oci->...oi", x, blade_weight)
        if self.bias is not None:
            out = torch.cat([out[..., :1] + self.bias.unsqueeze(-1), out[..., 1:]], dim=-1)
        return out

    def extra_repr(self) -> str:
        """Algebra, channels, subspaces (and paths/backend for products)."""
        return (f"{self.algebra}, {self.in_channels}, {self.out_channels}, "
                f"subspaces={self.subspaces!r}, bias={self.bias is not None}")
