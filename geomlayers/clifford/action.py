"""Group actions on multivectors: outermorphisms, versors and twisted conjugation.

* :class:`OutermorphismGroup` wraps a matrix group ``G ⊂ GL(n)`` as the group of its
  outermorphisms ``Ω(A) ⊂ GL(2^n)``, so :func:`geomlayers.testing.assert_equivariant` tests
  Clifford layers with ``in_order=1`` on the blade axis.
* :func:`twisted_conjugation` is the Clifford-group action ``ρ(w)(x) = w α^{|w|}(x) w^{-1}``
  of CGENN (Ruhe et al., NeurIPS 2023, §3); for a versor ``w = v_1 ⋯ v_k`` it equals
  ``Ω(S_{v_1} ⋯ S_{v_k})`` with ``S_v`` the reflection along ``v``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from geomlayers.clifford.algebra import CliffordAlgebra
from geomlayers.groups.base import Group
from geomlayers.groups.parse import register_family
from geomlayers.groups.pseudo_orthogonal import outermorphism

__all__ = ["OutermorphismGroup", "versor", "twisted_conjugation"]


@dataclass(frozen=True)
class OutermorphismGroup(Group):
    """``{Ω(A) : A ∈ base}`` acting on ``R^{2^n}`` (multivector coefficients, short-lex).

    ``sample`` maps ``base.sample`` through :func:`outermorphism`.

    >>> from geomlayers.groups.orthogonal import OrthogonalGroup
    >>> OutermorphismGroup(OrthogonalGroup(3)).n
    8
    >>> from geomlayers.groups import parse_group
    >>> str(OutermorphismGroup(OrthogonalGroup(3))), parse_group("Outer(O3)").n
    ('Outer(O3)', 8)
    """

    base: Group

    def __post_init__(self) -> None:
        if not isinstance(self.base, Group):
            raise TypeError(f"base must be a Group, got {type(self.base).__name__}")

    def __str__(self) -> str:
        return f"Outer({self.base})"

    @property
    def n(self) -> int:  # type: ignore[override]
        """``2^{base.n}``."""
        return 1 << self.base.n

    @property
    def is_finite(self) -> bool:
        """As the base group."""
        return self.base.is_finite

    def sample(self, m=1, generator=None, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """``Ω`` of ``m`` base samples: ``(m, 2^n, 2^n)``."""
        base = self.base.sample(m, generator, dtype=torch.float64)
        return outermorphism(base).to(dtype=dtype, device=device)

    def contains(self, g: torch.Tensor, atol: float = 1e-8) -> bool:
        """Whether ``g = Ω(A)`` with ``A`` (its grade-1 block) in the base group."""
        if not isinstance(g, torch.Tensor) or g.shape[-2:] != (self.n, self.n):
            return False
        g = g.reshape(-1, self.n, self.n).to(torch.float64)
        vectors = g[:, 1 : 1 + self.base.n, 1 : 1 + self.base.n]
        scale = g.abs().amax().clamp(min=1)
        close = (outermorphism(vectors) - g).abs().amax() <= atol * scale
        return bool(close) and self.base.contains(vectors, atol)


register_family("Outer", OutermorphismGroup)


def versor(algebra: CliffordAlgebra, vectors: torch.Tensor) -> torch.Tensor:
    """The product ``v_1 v_2 ⋯ v_k`` of vectors ``(..., k, n)`` as multivectors ``(..., 2^n)``."""
    if vectors.dim() < 2 or vectors.shape[-1] != algebra.n:
        raise ValueError(f"vectors must have shape (..., k, {algebra.n}), got "
                         f"{tuple(vectors.shape)}")
    mv = algebra.embed_grade(vectors, 1)
    out = mv[..., 0, :]
    for i in range(1, vectors.shape[-2]):
        out = algebra.geometric_product(out, mv[..., i, :])
    return out


def twisted_conjugation(algebra: CliffordAlgebra, w: torch.Tensor, x: torch.Tensor,
                        parity: int) -> torch.Tensor:
    """``ρ(w)(x) = w α^{parity}(x) w^{-1}`` for a parity-homogeneous versor ``w`` ``(..., 2^n)``.

    ``parity`` is 0 for even ``w`` and 1 for odd ``w``; ``w^{-1} = β(w)/q(w)`` (raises for
    null ``w``).
    """
    if parity not in (0, 1):
        raise ValueError(f"parity must be 0 (even versor) or 1 (odd), got {parity!r}")
    moved = algebra.grade_involution(x) if parity else x
    inverse = algebra.reverse_norm_inverse(w)
    return algebra.geometric_product(algebra.geometric_product(w, moved), inverse)
