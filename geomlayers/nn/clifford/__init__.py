"""CGENN and GLGENN layers on multivector features ``(batch, channels, 2^n)`` of ``Cl(p, q, r)``.

Every layer takes ``subspaces``: the blocks of blades that share one weight.

* ``'grade'``: the ``n + 1`` grades — Clifford group equivariant networks (CGENN; Ruhe,
  Brandstetter & Forré, NeurIPS 2023, §4: ``MVLinear``, ``SteerableGeometricProductLayer``,
  ``NormalizationLayer``, ``MVSiLU``, ``MVLayerNorm``);
* ``'type'``: the four quaternion types ``Cl^{k̄} = ⊕_{g ≡ k mod 4} Cl^g`` — generalized
  Lipschitz group equivariant networks (GLGENN; Filimoshina & Shirokov, ICML 2025, §4:
  ``QTLinear``, ``QTGeometricProduct``, ``QTNormalization``), whose weight sharing cuts the
  parameters for ``n ≥ 4``;
* ``'none'``: one weight for all blades (CGENN's ``subspaces=False`` input embedding).

All layers commute with the outermorphism of every isometry of the metric
(:class:`geomlayers.groups.pseudo_orthogonal.PseudoOrthogonal`, degenerate metrics included):
subspace projections, geometric products and the invariant ``q`` are preserved by it.

The geometric product runs by index gather (``geomlayers.clifford.algebra``): the per-path
weights become a ``(channels, 2^n, 2^n)`` kernel ``W[c, A, C]`` (left blade ``A``, output
``C``, right blade ``A xor C``) and ``out = Σ_A x_A W[c, A, C] y_{A xor C}``; the authors'
code forms a ``(channels, 2^n, 2^n, 2^n)`` weighted Cayley tensor and contracts it densely.
"""
from __future__ import annotations

from geomlayers.nn._moved import moved_attribute
from geomlayers.nn.clifford.base import SUBSPACES
from geomlayers.nn.clifford.linear import CliffordLinear
from geomlayers.nn.clifford.norms import CliffordLayerNorm, CliffordNormalization, CliffordSiLU
from geomlayers.nn.clifford.product import CliffordGeometricProduct

__all__ = [
    "CliffordLinear",
    "CliffordNormalization",
    "CliffordGeometricProduct",
    "CliffordSiLU",
    "CliffordLayerNorm",
    "SUBSPACES",
]




__getattr__ = moved_attribute("geomlayers.nn.clifford", ('O5RegressionNet', 'ConvexHullNet'))
