"""Whole networks of the CGENN and GLGENN papers on the synthetic O(n) tasks."""

from __future__ import annotations

import torch
from torch import nn

from geomlayers.clifford.algebra import CliffordAlgebra
from geomlayers.groups.representations import Trivial, Vectors
from geomlayers.nn.clifford import CliffordGeometricProduct, CliffordLinear
from geomlayers.nn.clifford.base import _check_channels

__all__ = ["O5RegressionNet", "ConvexHullNet"]


def _check_kind(kind: str) -> str:
    if kind not in ("cgenn", "glgenn"):
        raise ValueError(f"kind must be 'cgenn' or 'glgenn', got {kind!r}")
    return kind


def _gp_layer(kind: str, algebra, channels: int, kw) -> CliffordGeometricProduct:
    if kind == "cgenn":
        return CliffordGeometricProduct(algebra, channels, subspaces="grade", first_order=True,
                                        **kw)
    return CliffordGeometricProduct(algebra, channels, subspaces="type", first_order=False, **kw)


def _embedding(kind: str, algebra, in_channels: int, out_channels: int, kw) -> CliffordLinear:
    if kind == "cgenn":  # MVLinear(subspaces=False) with bias
        return CliffordLinear(algebra, in_channels, out_channels, subspaces="none", **kw)
    return CliffordLinear(algebra, in_channels, out_channels, subspaces="type", bias=False, **kw)


class _VectorModel(nn.Module):
    def _embed_vectors(self, x: torch.Tensor, count: int) -> torch.Tensor:
        n = self.algebra.n
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"x must be a floating-point torch.Tensor, got {type(x).__name__}")
        if x.dim() != 3 or x.shape[1:] != (count, n):
            raise ValueError(f"x must have shape (batch, {count}, {n}), got {tuple(x.shape)}")
        return self.algebra.embed_grade(x, 1)

    def clifford_parameters(self) -> int:
        """Number of parameters of the Clifford block (embedding and geometric products)."""
        return sum(p.numel() for p in self.clifford.parameters())


class O5RegressionNet(_VectorModel):
    """The O(5) regression models of CGENN (§5.1) and GLGENN (§5): ``(B, 2, 5)`` → ``(B,)``.

    Embedding of the two vectors into 8 channels, one geometric-product layer, the scalar
    blade of each channel (invariant) and an MLP ``8 → w → w → 1`` (ReLU). Clifford block:
    1,296 parameters for ``'cgenn'`` (``MVLinear(2→8, subspaces=False)`` +
    ``SteerableGP(8)``), 608 for ``'glgenn'`` (``QTLinear(2→8)`` + ``QTGP(8)``).
    """

    def __init__(self, kind: str = "glgenn", *, hidden: int = 8, mlp_width: int = 380,
                 device=None, dtype=None) -> None:
        super().__init__()
        kind = _check_kind(kind)
        kw = {"device": device, "dtype": dtype}
        self.kind, self.algebra = kind, CliffordAlgebra(5)
        #: O(5) = PseudoOrthogonal(5) acting on the two input vectors; the output is invariant
        self.group, self.rep_in, self.rep_out = self.algebra.group, Vectors(channels=2), Trivial()
        self.clifford = nn.Sequential(_embedding(kind, self.algebra, 2, hidden, kw),
                                      _gp_layer(kind, self.algebra, hidden, kw))
        self.mlp = nn.Sequential(nn.Linear(hidden, mlp_width, **kw), nn.ReLU(),
                                 nn.Linear(mlp_width, mlp_width, **kw), nn.ReLU(),
                                 nn.Linear(mlp_width, 1, **kw))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, 2, 5)`` → ``(B,)`` (O(5)-invariant)."""
        features = self.clifford(self._embed_vectors(x, 2))[..., 0]
        return self.mlp(features).squeeze(-1)


class ConvexHullNet(_VectorModel):
    """The convex-hull volume models of CGENN (§5.1) and GLGENN (§5): ``(B, K, n)`` → ``(B,)``.

    Embedding ``K → hidden`` channels, ``num_layers`` geometric-product layers, the invariant
    norm ``sqrt|q|`` of each channel, MLP ``hidden → hidden → 1`` (SiLU). With the papers'
    ``n = 5, K = 16, hidden = 32, num_layers = 4``: 58,849 parameters (``'cgenn'``) and
    24,129 (``'glgenn'``).
    """

    def __init__(self, kind: str = "glgenn", *, n: int = 5, points: int = 16, hidden: int = 32,
                 num_layers: int = 4, device=None, dtype=None) -> None:
        super().__init__()
        kind = _check_kind(kind)
        _check_channels("num_layers", num_layers)
        kw = {"device": device, "dtype": dtype}
        self.kind, self.algebra, self.points = kind, CliffordAlgebra(n), points
        #: O(n) acting on the K input points (about the origin); the output is invariant
        self.group, self.rep_in, self.rep_out = (self.algebra.group, Vectors(channels=points),
                                                 Trivial())
        layers = [_embedding(kind, self.algebra, points, hidden, kw)]
        layers += [_gp_layer(kind, self.algebra, hidden, kw) for _ in range(num_layers)]
        self.clifford = nn.Sequential(*layers)
        self.mlp = nn.Sequential(nn.Linear(hidden, hidden, **kw), nn.SiLU(),
                                 nn.Linear(hidden, 1, **kw))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, K, n)`` points → ``(B,)`` (O(n)-invariant)."""
        features = self.algebra.norm(self.clifford(self._embed_vectors(x, self.points)))
        return self.mlp(features).squeeze(-1)
