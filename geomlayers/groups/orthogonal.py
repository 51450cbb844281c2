"""Orthogonal groups O(n) and SO(n) in their defining representation.

Haar sampling follows Mezzadri, "How to generate random matrices from the classical compact
groups" (Notices AMS 2007): QR of a Gaussian matrix with the signs of ``diag(R)`` moved
into ``Q``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from geomlayers.groups.base import Group, as_generator
from geomlayers.groups.permutation import _check_n

__all__ = ["OrthogonalGroup", "SpecialOrthogonalGroup"]


def _haar_orthogonal(m: int, n: int, generator, dtype, device) -> torch.Tensor:
    gauss = torch.randn(m, n, n, generator=as_generator(generator), dtype=torch.float64)
    q, r = torch.linalg.qr(gauss)
    signs = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    signs[signs == 0] = 1
    return (q * signs.unsqueeze(-2)).to(dtype=dtype, device=device)


def _antisymmetric_basis(n: int, dtype, device) -> torch.Tensor:
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    basis = torch.zeros(len(pairs), n, n, dtype=dtype, device=device)
    for a, (i, j) in enumerate(pairs):
        basis[a, i, j], basis[a, j, i] = 1, -1
    return basis


def _is_orthogonal(g: torch.Tensor, n: int, atol: float) -> torch.Tensor | None:
    if g.shape[-2:] != (n, n):
        return None
    g = g.reshape(-1, n, n).to(torch.float64)
    eye = torch.eye(n, dtype=g.dtype, device=g.device)
    if not torch.allclose(g @ g.transpose(-1, -2), eye.expand_as(g), atol=atol, rtol=0):
        return None
    return torch.linalg.det(g)


class _OrthogonalFamily(Group):
    """What O(n) and SO(n) share: checks, Lie algebra so(n), non-finiteness."""

    n: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _check_n(self.n))

    def __str__(self) -> str:
        return f"{self._symbol}{self.n}"

    @property
    def is_finite(self) -> bool:
        """``False`` (O(1) = {±1} is treated as a Lie group of dimension 0)."""
        return False

    def lie_algebra(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """The ``n(n-1)/2`` elementary antisymmetric matrices ``E_ij - E_ji``."""
        return _antisymmetric_basis(self.n, dtype, device)


@dataclass(frozen=True)
class OrthogonalGroup(_OrthogonalFamily):
    """O(n): real ``n x n`` matrices with ``gᵀg = I``; ``sample`` is Haar (both components).

    >>> OrthogonalGroup(3).dimension, str(OrthogonalGroup(3))
    (3, 'O3')
    """

    n: int
    _symbol = "O"

    def sample(self, m=1, generator=None, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """``m`` Haar-random elements ``(m, n, n)``."""
        self._check_count(m)
        return _haar_orthogonal(m, self.n, generator, dtype, device)

    def contains(self, g: torch.Tensor, atol: float = 1e-8) -> bool:
        """Whether ``g`` is orthogonal."""
        return _is_orthogonal(g, self.n, atol) is not None

    def generators(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """The reflection ``diag(-1, 1, …, 1)`` (reaches the det -1 component)."""
        reflection = torch.eye(self.n, dtype=dtype, device=device)
        reflection[0, 0] = -1
        return reflection.unsqueeze(0)


@dataclass(frozen=True)
class SpecialOrthogonalGroup(_OrthogonalFamily):
    """SO(n): orthogonal matrices of determinant 1; ``sample`` is Haar.

    >>> SpecialOrthogonalGroup(2).dimension, str(SpecialOrthogonalGroup(2))
    (1, 'SO2')
    """

    n: int
    _symbol = "SO"

    def sample(self, m=1, generator=None, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """``m`` Haar-random rotations ``(m, n, n)`` (first column flipped where det = -1)."""
        self._check_count(m)
        q = _haar_orthogonal(m, self.n, generator, torch.float64, None)
        flip = torch.linalg.det(q) < 0
        q[flip, :, 0] *= -1
        return q.to(dtype=dtype, device=device)

    def contains(self, g: torch.Tensor, atol: float = 1e-8) -> bool:
        """Whether ``g`` is orthogonal with determinant 1."""
        det = _is_orthogonal(g, self.n, atol)
        return det is not None and bool(torch.all((det - 1).abs() <= atol * self.n))
