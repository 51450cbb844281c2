"""Pseudo-orthogonal groups ``O(p, q, r)``: the isometries of a (possibly degenerate) metric.

``R^{p,q,r}`` carries ``q(x) = x_1² + … + x_p² - x_{p+1}² - … - x_{p+q}²`` (the last ``r``
coordinates span the radical, ``q = 0`` on them), with ``M = diag(1^p, (-1)^q, 0^r)``. The
group is ``{A ∈ GL(n) : AᵀMA = M}``. In block form (non-degenerate part first)

    A = [[R, 0], [B, C]],   RᵀηR = η (R ∈ O(p, q)),  B any r × (p+q),  C ∈ GL(r):

an isometry must keep the radical, may rescale it arbitrarily (``C``), and may add radical
components to the other vectors (``B``). These are exactly the maps whose outermorphism is an
automorphism of ``Cl(p, q, r)`` that commutes with the grade projections, so CGENN and
GLGENN layers are equivariant to all of them (Filimoshina & Shirokov, ICML 2025, Thm 3.4),
a group larger than the image of the Clifford group for ``r > 0``.

Short string ``O(p,q,r)`` (always three numbers, so ``O(3,0,0)`` differs from ``O3``).
:func:`outermorphism` gives the action on multivectors: ``Ω(A) = ⊕_k Λ^k A`` whose grade-k
block holds the ``k × k`` minors of ``A``, in the short-lex blade order of
:class:`geomlayers.clifford.CliffordAlgebra`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from geomlayers.groups.base import Group, as_generator
from geomlayers.groups.exterior import outermorphism
from geomlayers.groups.representations import Multivectors
from geomlayers.validation import check_int

__all__ = ["PseudoOrthogonal", "outermorphism", "reflection_matrix"]


def reflection_matrix(v: torch.Tensor, metric: torch.Tensor) -> torch.Tensor:
    """Reflection ``x ↦ x - 2 b(v, x) / q(v) · v`` along non-null ``v``: ``(..., n, n)``.

    Args:
        v: ``(..., n)`` vectors with ``q(v) ≠ 0``.
        metric: ``(n,)`` diagonal of the metric.

    """
    quad = (v * v * metric).sum(-1, keepdim=True)
    if bool((quad.abs() < 1e-12).any()):
        raise ValueError("v must be non-null (q(v) != 0) to define a reflection")
    eye = torch.eye(v.shape[-1], dtype=v.dtype, device=v.device)
    return eye - 2 * v.unsqueeze(-1) * (v * metric).unsqueeze(-2) / quad.unsqueeze(-1)


@dataclass(frozen=True)
class PseudoOrthogonal(Group):
    """``O(p, q, r)``: linear isometries of ``R^{p,q,r}`` (module docstring), both components.

    ``sample`` (documented, not Haar — the group is non-compact for ``q, r > 0``):

    * ``R``: a product of ``k`` reflections along Gaussian vectors ``v`` kept only when
      ``|q(v)| ≥ ½|v|²`` (bounded entries), ``k`` uniform in ``{m, m + 1}`` with
      ``m = p + q``, so proper and improper elements are equally likely;
    * ``B``: i.i.d. ``N(0, 1)``;  ``C = Q · diag(exp(z / 2))``, ``Q`` Haar on ``O(r)``,
      ``z ~ N(0, I_r)``.

    >>> group = PseudoOrthogonal(1, 3)
    >>> group.contains(group.sample(4, generator=0))
    True
    >>> PseudoOrthogonal(2, 0, 1).dimension  # so(2) + 2 translations of e3 + scaling of e3
    4
    """

    p: int
    q: int = 0
    r: int = 0

    def __post_init__(self) -> None:
        for name in ("p", "q", "r"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), minimum=0))
        if self.p + self.q + self.r < 1:
            raise ValueError(f"p + q + r must be >= 1 (the dimension), got p={self.p}, "
                             f"q={self.q}, r={self.r}")

    def __str__(self) -> str:
        return f"O({self.p},{self.q},{self.r})"

    @property
    def n(self) -> int:  # type: ignore[override]
        """Dimension ``p + q + r``."""
        return self.p + self.q + self.r

    @property
    def is_finite(self) -> bool:
        """``False``."""
        return False

    def metric(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """``(n,)`` diagonal ``(1^p, (-1)^q, 0^r)`` of ``M``."""
        values = [1.0] * self.p + [-1.0] * self.q + [0.0] * self.r
        return torch.tensor(values, dtype=dtype, device=device)

    def _reflections(self, m: int, gen) -> torch.Tensor:
        nondeg = self.p + self.q
        eta = self.metric()[:nondeg]
        out = torch.eye(nondeg, dtype=torch.float64).repeat(m, 1, 1)
        counts = nondeg + torch.randint(0, 2, (m,), generator=gen)
        for step in range(nondeg + 1):
            v = torch.randn(m, nondeg, generator=gen, dtype=torch.float64)
            bad = (v * v * eta).sum(-1).abs() < 0.5 * (v * v).sum(-1)
            while bool(bad.any()):
                v[bad] = torch.randn(int(bad.sum()), nondeg, generator=gen, dtype=torch.float64)
                bad = (v * v * eta).sum(-1).abs() < 0.5 * (v * v).sum(-1)
            use = (step < counts).to(torch.float64).reshape(m, 1, 1)
            refl = reflection_matrix(v, eta)
            out = use * (refl @ out) + (1 - use) * out
        return out

    def sample(self, m=1, generator=None, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """``m`` random isometries ``(m, n, n)`` with the distribution of the class docstring."""
        self._check_count(m)
        gen = as_generator(generator)
        nondeg, r = self.p + self.q, self.r
        out = torch.zeros(m, self.n, self.n, dtype=torch.float64)
        if nondeg:
            out[:, :nondeg, :nondeg] = self._reflections(m, gen)
        if r:
            out[:, nondeg:, :nondeg] = torch.randn(m, r, nondeg, generator=gen,
                                                   dtype=torch.float64)
            gauss = torch.randn(m, r, r, generator=gen, dtype=torch.float64)
            q, upper = torch.linalg.qr(gauss)
            signs = torch.sign(torch.diagonal(upper, dim1=-2, dim2=-1))
            signs[signs == 0] = 1
            scale = torch.exp(0.5 * torch.randn(m, r, generator=gen, dtype=torch.float64))
            out[:, nondeg:, nondeg:] = q * (signs * scale).unsqueeze(-2)
        return out.to(dtype=dtype, device=device)

    def contains(self, g: torch.Tensor, atol: float = 1e-8) -> bool:
        """Whether ``gᵀ M g = M`` (relative to ``|g|²``) and ``g`` is invertible."""
        if not isinstance(g, torch.Tensor) or g.shape[-2:] != (self.n, self.n):
            return False
        g = g.reshape(-1, self.n, self.n).to(torch.float64)
        metric = torch.diag(self.metric(device=g.device))
        gram = g.transpose(-1, -2) @ metric @ g
        scale = g.abs().amax(dim=(-1, -2)).clamp(min=1) ** 2
        ok = ((gram - metric).abs().amax(dim=(-1, -2)) <= atol * scale).all()
        invertible = (torch.linalg.svdvals(g)[..., -1] > atol).all()
        return bool(ok and invertible)

    def lie_algebra(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """Basis of ``{X : XᵀM + MX = 0}``.

        ``η(E_ij - E_ji)`` on the non-degenerate block, then ``E_ai`` (radical row ``a``, any
        column ``i``).
        """
        nondeg, n = self.p + self.q, self.n
        eta = self.metric()[:nondeg]
        basis = []
        for i, j in itertools.combinations(range(nondeg), 2):
            x = torch.zeros(n, n, dtype=torch.float64)
            x[i, j], x[j, i] = eta[i], -eta[j]
            basis.append(x)
        for a in range(nondeg, n):
            for i in range(n):
                x = torch.zeros(n, n, dtype=torch.float64)
                x[a, i] = 1
                basis.append(x)
        if not basis:
            return torch.empty(0, n, n, dtype=dtype, device=device)
        return torch.stack(basis).to(dtype=dtype, device=device)

    def generators(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """Coordinate reflections ``diag(…, -1, …)``, one per signature block present.

        With the Lie algebra they reach every connected component.
        """
        firsts = [start for start, size in ((0, self.p), (self.p, self.q),
                                            (self.p + self.q, self.r)) if size]
        out = torch.eye(self.n, dtype=dtype, device=device).repeat(len(firsts), 1, 1)
        for index, first in enumerate(firsts):
            out[index, first, first] = -1
        return out

    def act_multivector(self, g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Apply ``Ω(g)`` (:func:`outermorphism`) to multivectors ``x`` ``(..., 2^n)``.

        ``g`` is ``(n, n)`` or ``(m, n, n)`` with ``x.shape[0] == m``; the same as
        ``self.act(g, x, Multivectors())``.
        """
        if x.shape[-1] != 1 << self.n:
            raise ValueError(f"x must have shape (..., {1 << self.n}), got {tuple(x.shape)}")
        return self.act(g, x, Multivectors())
