"""Exact dimensions ``dim Hom_G((R^n)^{⊗k}, (R^n)^{⊗l})`` without building a basis.

The dimension depends on ``r = k + l`` only (every group here has ``V ≅ V*``); it is the
multiplicity of the trivial representation in ``V^{⊗r}``, ``∫_G χ_V(g)^r dg``.

* S_n: ``Σ_{t <= n} S(r, t)``; A_n adds ``S(r, n) + S(r, n-1)`` (Pearce-Crump, arXiv
  2212.08648 and 2301.10152; docs/bases.md).
* Other permutation groups: Burnside's lemma, ``|G|^{-1} Σ_g fix(g)^r`` (groups of order up
  to :data:`MAX_BURNSIDE_ORDER`).
* SO(n), Sp(n): Weyl's integration formula over the maximal torus (D. Bump, *Lie Groups*, 2nd ed.,
  Springer 2013): with ``x_j = cos θ_j`` the integrand is a polynomial of known degree in each
  ``x_j``, integrated exactly by a product Gauss–Chebyshev rule (``M`` nodes are exact up to
  degree ``2M - 1``) and rounded to the nearest integer (refused unless it is within 1e-3).
* O(n): the mean of the two components. For odd ``n``, ``O(n) = SO(n) × {±I}``; for even
  ``n = 2m`` the other component's eigenvalues are ``±1`` and ``m - 1`` conjugate pairs
  distributed as for ``Sp(2m - 2)`` (Katz & Sarnak, *Random Matrices, Frobenius Eigenvalues,
  and Monodromy*, AMS 1999), so its integral is the ``Sp(2m - 2)`` one.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from geomlayers.diagrams.partitions import count_partitions
from geomlayers.groups.base import Group
from geomlayers.groups.orthogonal import OrthogonalGroup, SpecialOrthogonalGroup
from geomlayers.groups.permutation import (
    AlternatingGroup,
    FinitePermutationGroup,
    SymmetricGroup,
)
from geomlayers.groups.symplectic import SymplecticGroup

__all__ = ["equivariant_dimension", "MAX_BURNSIDE_ORDER", "MAX_WEYL_NODES"]

#: Burnside's lemma sums over the group; larger permutation groups get ``None``.
MAX_BURNSIDE_ORDER = 20_000
#: largest product grid of the Weyl integration (``M^rank`` nodes).
MAX_WEYL_NODES = 20_000_000


def equivariant_dimension(group: Group, k: int, l: int) -> int | None:  # noqa: E741
    """``dim Hom_G((R^n)^{⊗k}, (R^n)^{⊗l})`` for ``r = k + l``, or ``None`` when not computable.

    >>> from geomlayers.groups import OrthogonalGroup, SymmetricGroup
    >>> equivariant_dimension(SymmetricGroup(2), 2, 2)
    8
    >>> equivariant_dimension(OrthogonalGroup(3), 4, 4)
    91
    """
    r = k + l
    n = group.n
    if isinstance(group, SymmetricGroup):
        return count_partitions(r, max_blocks=n)
    if isinstance(group, AlternatingGroup):
        extra = 0 if n == 1 else count_partitions(r, min_blocks=n - 1, max_blocks=n)
        return count_partitions(r, max_blocks=n) + extra
    if isinstance(group, FinitePermutationGroup):
        return _burnside(group, r)
    if isinstance(group, SpecialOrthogonalGroup):
        return _weyl("SO", n, r)
    if isinstance(group, OrthogonalGroup):
        if n % 2:
            return 0 if r % 2 else _weyl("SO", n, r)
        return (_weyl("SO", n, r) + _weyl("Sp", n - 2, r)) // 2
    if isinstance(group, SymplecticGroup):
        return _weyl("Sp", n, r)
    return None


@functools.lru_cache(maxsize=256)
def _burnside(group: FinitePermutationGroup, r: int) -> int | None:
    order = group.order()
    if order > MAX_BURNSIDE_ORDER:
        return None
    from sympy.combinatorics import Permutation
    from sympy.combinatorics import PermutationGroup as SympyGroup

    images = group.generator_images() or (tuple(range(group.n)),)
    total = 0
    for g in SympyGroup([Permutation(list(i)) for i in images]).generate():
        total += (group.n - len(g.support())) ** r
    return total // order


@functools.lru_cache(maxsize=512)
def _weyl(kind: str, n: int, r: int) -> int | None:
    """``∫ χ^r`` over SO(n) (``kind="SO"``) or Sp(n) (``kind="Sp"``, ``n`` even)."""
    if r == 0:
        return 1
    m = n // 2
    if m == 0:  # SO(1), Sp(0): the trivial group on R^n
        return n**r
    odd = kind == "SO" and n % 2 == 1
    degree = r + 2 * (m - 1) + (2 if kind == "Sp" else 1 if odd else 0)
    nodes = degree // 2 + 1
    if nodes**m > MAX_WEYL_NODES:
        return None
    x = np.cos(np.pi * (np.arange(nodes, dtype=np.longdouble) + 0.5) / nodes)
    grids = np.meshgrid(*([x] * m), indexing="ij", sparse=False)
    character = 2 * sum(grids) + (1 if odd else 0)
    density = np.ones_like(character)
    for i, j in itertools.combinations(range(m), 2):
        density = density * (grids[i] - grids[j]) ** 2
    for g in grids:
        if kind == "Sp":
            density = density * (1 - g * g)
        elif odd:
            density = density * (1 - g)
    value = (character**r * density).sum() / density.sum()
    rounded = round(float(value))
    if abs(float(value) - rounded) > 1e-3 or rounded < 0:
        raise ArithmeticError(
            f"Weyl integration for {kind}({n}), r={r} gave {float(value)}, not an integer"
        )
    return rounded

