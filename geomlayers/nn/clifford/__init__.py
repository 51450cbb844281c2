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


# Whole networks moved to geomlayers.models (deprecated aliases for one release): imported
# lazily by name, on access only, so this package never imports geomlayers.models or
# geomlayers.nn.
_MOVED = {"O5RegressionNet": "geomlayers.models.clifford",
          "ConvexHullNet": "geomlayers.models.clifford"}


def __getattr__(name: str):
    """Deprecated aliases of the whole networks now in :mod:`geomlayers.models`."""
    if name in _MOVED:
        import importlib
        import warnings

        warnings.warn(f"geomlayers.nn.clifford.{name} moved to geomlayers.models.{name}; import it "
                      "from there (this alias goes in the next release)", DeprecationWarning,
                      stacklevel=2)
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'geomlayers.nn.clifford' has no attribute {name!r}")
