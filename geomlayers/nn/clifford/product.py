"""The weighted geometric-product layer (CGENN SteerableGeometricProductLayer, GLGENN QTGP)."""

from __future__ import annotations

import math

import torch
from torch import nn

from geomlayers.clifford.algebra import _gather_pairs
from geomlayers.nn.clifford.base import AlgebraLike, _check_channels, _CliffordModule
from geomlayers.nn.clifford.linear import CliffordLinear
from geomlayers.nn.clifford.norms import CliffordNormalization

__all__ = ["CliffordGeometricProduct"]


class CliffordGeometricProduct(_CliffordModule):
    """Channel-wise weighted geometric product with a linear "right" branch.

    ``y = N(L_R(x))`` (``L_R`` a :class:`CliffordLinear` without bias, ``N`` a
    :class:`CliffordNormalization`), then per channel

        ``z_c = Σ_{(s, t, u) ∈ P} w[c, (s,t,u)] <<x_c>_s <y_c>_t>_u``

    over the admissible subspace triples ``P`` (:meth:`CliffordAlgebra.product_paths`).
    CGENN ``SteerableGeometricProductLayer`` (§4.2, ``'grade'``, ``first_order=True``):
    ``out = (L_L(x) + z) / √2``. GLGENN ``QTGeometricProduct`` (§4, ``'type'``,
    ``first_order=False``): ``out = z``. ``bias`` is the scalar bias of ``L_L``.

    Shapes: ``(..., C, 2^n)`` → ``(..., C, 2^n)``. Parameters: ``C²S`` (right) ``+ CS``
    (normalisation) ``+ C|P|`` ``[+ C²S + C]`` (left, first order).
    """

    def __init__(self, algebra: AlgebraLike, channels: int, *, subspaces: str = "grade",
                 first_order: bool = True, normalization: bool = True, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__(algebra, subspaces, device)
        algebra = self.algebra
        _check_channels("channels", channels)
        self.channels, self.first_order = channels, bool(first_order)
        kw = {"device": device, "dtype": dtype}
        self.linear_right = CliffordLinear(algebra, channels, channels, subspaces=subspaces,
                                           bias=False, **kw)
        self.linear_left = (CliffordLinear(algebra, channels, channels, subspaces=subspaces,
                                           bias=bias, **kw) if first_order else None)
        self.normalization = (CliffordNormalization(algebra, channels, subspaces=subspaces, **kw)
                              if normalization else None)
        paths = algebra.product_paths(subspaces)
        self.num_paths = int(paths.sum())
        self.weight = nn.Parameter(torch.empty(channels, self.num_paths, **kw))
        self._register_tables(paths, device)
        self.reset_parameters()

    def _register_tables(self, paths: torch.Tensor, device) -> None:
        algebra, index = self.algebra, self.algebra.subspace_index(self.subspaces)
        path_id = torch.full(paths.shape, -1, dtype=torch.int64)
        path_id[paths] = torch.arange(self.num_paths)
        right = algebra.table("right")
        left_sub = index.unsqueeze(1).expand_as(right)
        out_sub = index.unsqueeze(0).expand_as(right)
        kernel_path = path_id[left_sub, index[right], out_sub]
        sign = algebra.table("sign")
        if bool((kernel_path[sign != 0] < 0).any()):  # pragma: no cover - construction bug
            raise RuntimeError("a non-zero blade product has no path")
        self.register_buffer("_kernel_path", kernel_path.clamp(min=0).to(device),
                             persistent=False)
        self.register_buffer("_sign", sign.to(device=device, dtype=torch.int8), persistent=False)
        self.register_buffer("_right", right.flatten().to(device), persistent=False)

    def reset_parameters(self) -> None:
        """Path weights ``N(0, 1/(n+1))`` as CGENN; sub-layers reset themselves."""
        nn.init.normal_(self.weight, std=1 / math.sqrt(self.algebra.n + 1))
        for module in (self.linear_right, self.linear_left, self.normalization):
            if module is not None:
                module.reset_parameters()

    def kernel(self, dtype: torch.dtype) -> torch.Tensor:
        """``(C, 2^n, 2^n)`` signed path weights ``W[c, A, C]``."""
        return self.weight[:, self._kernel_path].to(dtype) * self._sign.to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(..., C, 2^n)`` → ``(..., C, 2^n)``."""
        self._check_x(x, self.channels)
        y = self.linear_right(x)
        if self.normalization is not None:
            y = self.normalization(y)
        pairs = x.unsqueeze(-1) * _gather_pairs(y, self._right)  # (..., C, A, C_out)
        out = (pairs * self.kernel(x.dtype)).sum(-2)
        if self.linear_left is not None:
            out = (self.linear_left(x) + out) / math.sqrt(2)
        return out

    def extra_repr(self) -> str:
        """Algebra, channels, subspaces (and paths/backend for products)."""
        return (f"{self.algebra}, {self.channels}, subspaces={self.subspaces!r}, "
                f"paths={self.num_paths}, first_order={self.first_order}, backend='gather'")
