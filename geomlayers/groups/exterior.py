"""The exterior powers of a matrix: the outermorphism that moves multivectors.

Kept apart from the group classes so that the representations
(:class:`~geomlayers.groups.representations.Multivectors`) and the groups
(:class:`~geomlayers.groups.PseudoOrthogonal`) both use it without importing each other.
"""

from __future__ import annotations

import itertools
import math

import torch

__all__ = ["outermorphism"]


def outermorphism(g: torch.Tensor) -> torch.Tensor:
    """The outermorphism ``Ω(A) = ⊕_k Λ^k A`` as ``(..., 2^n, 2^n)`` in short-lex blade order.

    ``Ω[I, J] = det(A[I, J])`` for blades ``I``, ``J`` of equal grade (``A[I, J]`` the rows
    ``I`` and columns ``J``), 0 across grades: ``Ω(e_J) = A e_{j_1} ∧ … ∧ A e_{j_k}``.

    >>> omega = outermorphism(torch.diag(torch.tensor([2.0, 3.0])).double())
    >>> omega.diagonal().tolist()
    [1.0, 2.0, 3.0, 6.0]
    """
    if g.dim() < 2 or g.shape[-1] != g.shape[-2]:
        raise ValueError(f"g must have shape (..., n, n), got {tuple(g.shape)}")
    n = g.shape[-1]
    batch = g.shape[:-2]
    out = g.new_zeros(*batch, 1 << n, 1 << n)
    out[..., 0, 0] = 1
    start = 1
    for k in range(1, n + 1):
        combos = torch.tensor(list(itertools.combinations(range(n), k)), device=g.device)
        rows = g[..., combos, :]  # (..., C, k, n)
        block = rows[..., combos].movedim(-2, -3)  # (..., C, k, C, k) -> (..., C, C, k, k)
        size = math.comb(n, k)
        out[..., start : start + size, start : start + size] = torch.linalg.det(block)
        start += size
    return out
