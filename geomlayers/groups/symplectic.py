"""The real symplectic group Sp(n) (n = 2m) in its defining representation on ``R^n``.

``Sp(n) = {g ∈ GL(n, R) : gᵀ J g = J}`` for a fixed non-degenerate antisymmetric form ``J``.
Two conventions for the basis ordering (both with ``J² = -I``, ``J⁻¹ = Jᵀ = -J``):

* ``form="interleaved"`` (default; Pearce-Crump, arXiv 2212.08630, §6, "symplectic basis"
  ``e_1, e_1', e_2, e_2', …``): ``J = diag([[0, 1], [-1, 0]], …)``; the partner of index
  ``a`` is ``a XOR 1``, ``J[a, a^1] = +1`` for even ``a`` and ``-1`` for odd ``a``.
* ``form="block"`` (EMLP's ``Sp(m)``, Finzi et al. 2021, ``emlp/groups.py``: coordinates
  ``(q_1..q_m, p_1..p_m)``): ``J = [[0, I_m], [-I_m, 0]]``; partner ``(a + m) mod n``,
  ``J[a, a+m] = +1`` for ``a < m`` and ``-1`` otherwise. Note that EMLP's ``Sp(m)`` is our
  ``SymplecticGroup(2m, form="block")``.

The two are conjugate by the permutation :meth:`SymplecticGroup.to_block` of the coordinates.
``Sp(n)`` is connected and non-compact, so there is no Haar probability measure; ``sample``
draws ``g = expm(σ J S_1) expm(σ J S_2)`` with independent symmetric Gaussian ``S_i`` (GOE:
``N(0, 1)`` diagonal, ``N(0, 1/2)`` off-diagonal) and ``σ = scale / sqrt(n)`` (default
``scale = 0.5``): ``J S`` is Hamiltonian and ``expm`` maps it into Sp(n). The Gaussian has
full support on the Lie algebra and every element is ``expm(K) expm(P)`` (polar / Cartan
decomposition: ``K`` in the maximal compact ``u(m)``, ``P`` symmetric Hamiltonian), so the
distribution has full support on Sp(n). Moderate ``σ`` keeps ``g`` well conditioned (large
Hamiltonians give ill-conditioned elements, and float64 equivariance tests then fail from
round-off alone; ``docs/brauer.md``).

Short strings: ``Sp4`` (interleaved form), ``Sp(4,block)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from geomlayers.groups.base import Group, as_generator
from geomlayers.validation import check_choice, check_float, check_int

__all__ = ["SymplecticGroup", "symplectic_form", "SYMPLECTIC_FORMS"]

SYMPLECTIC_FORMS = ("interleaved", "block")


def _partner_and_sign(n: int, form: str) -> tuple[list[int], list[int]]:
    """``J[a, partner[a]] = sign[a]`` (the only non-zero of row ``a``)."""
    if form == "interleaved":
        return [a ^ 1 for a in range(n)], [1 if a % 2 == 0 else -1 for a in range(n)]
    m = n // 2
    return [(a + m) % n for a in range(n)], [1 if a < m else -1 for a in range(n)]


def symplectic_form(
    n: int, form: str = "interleaved", *, dtype: torch.dtype = torch.float64, device=None
) -> torch.Tensor:
    """The ``(n, n)`` matrix ``J`` of the chosen convention (see the module docstring).

    >>> symplectic_form(4, "block").to(torch.int64)
    tensor([[ 0,  0,  1,  0],
            [ 0,  0,  0,  1],
            [-1,  0,  0,  0],
            [ 0, -1,  0,  0]])
    """
    n = _check_form(n, form)
    partner, sign = _partner_and_sign(n, form)
    out = torch.zeros(n, n, dtype=dtype, device=device)
    out[torch.arange(n), torch.tensor(partner)] = torch.tensor(sign, dtype=dtype, device=device)
    return out


def _check_form(n: object, form: object) -> int:
    n = check_int("n", n, minimum=2)
    if n % 2:
        raise ValueError(f"n must be an even int >= 2 for Sp(n) (n = 2m), got {n}")
    check_choice("form", form, SYMPLECTIC_FORMS)
    return n


@dataclass(frozen=True)
class SymplecticGroup(Group):
    """Sp(n), ``n = 2m``: real matrices with ``gᵀ J g = J`` (``J`` per ``form``).

    Args:
        n: even dimension of the defining representation.
        form: ``"interleaved"`` (Pearce-Crump's symplectic basis, default) or ``"block"``
            (EMLP's ``J = [[0, I], [-I, 0]]``).

    >>> SymplecticGroup(4).dimension  # m (2m + 1)
    10
    >>> g = SymplecticGroup(4, form="block").sample(2, generator=0)
    >>> SymplecticGroup(4, form="block").contains(g)
    True

    """

    n: int
    form: str = "interleaved"

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _check_form(self.n, self.form))

    def __str__(self) -> str:
        return f"Sp{self.n}" if self.form == "interleaved" else f"Sp({self.n},{self.form})"

    @property
    def is_finite(self) -> bool:
        """``False``."""
        return False

    @property
    def partner(self) -> tuple[int, ...]:
        """``partner[a]``: the column of the one non-zero of row ``a`` of ``J``."""
        return tuple(_partner_and_sign(self.n, self.form)[0])

    @property
    def partner_sign(self) -> tuple[int, ...]:
        """``J[a, partner[a]]`` (``±1``)."""
        return tuple(_partner_and_sign(self.n, self.form)[1])

    def form_matrix(self, *, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
        """The form ``J`` ``(n, n)``."""
        return symplectic_form(self.n, self.form, dtype=dtype, device=device)

    def to_block(self) -> tuple[int, ...]:
        """Permutation ``p`` with ``J_block = J[p][:, p]``: ``g_block = g[p][:, p]``.

        >>> SymplecticGroup(4).to_block()
        (0, 2, 1, 3)
        """
        m = self.n // 2
        if self.form == "block":
            return tuple(range(self.n))
        return tuple([2 * i for i in range(m)] + [2 * i + 1 for i in range(m)])

    def sample(
        self, m=1, generator=None, *, dtype=torch.float64, device=None, scale: float = 0.5
    ) -> torch.Tensor:
        """``m`` elements ``expm(σ J S_1) expm(σ J S_2)`` (``σ = scale/sqrt(n)``), ``(m, n, n)``.

        Not Haar (Sp(n) is non-compact); see the module docstring.
        """
        self._check_count(m)
        scale = check_float("scale", scale, positive=True)
        gen = as_generator(generator)
        n = self.n
        j = self.form_matrix()
        sigma = scale / math.sqrt(n)
        out = torch.eye(n, dtype=torch.float64).expand(m, n, n)
        for _ in range(2):
            gauss = torch.randn(m, n, n, generator=gen, dtype=torch.float64)
            sym = (gauss + gauss.transpose(-1, -2)) / 2
            out = out @ torch.linalg.matrix_exp(sigma * (j @ sym))
        return out.to(dtype=dtype, device=device)

    def contains(self, g: torch.Tensor, atol: float = 1e-8) -> bool:
        """Whether every matrix of ``g`` satisfies ``gᵀ J g = J`` (to ``atol``)."""
        n = self.n
        if g.shape[-2:] != (n, n):
            return False
        g = g.reshape(-1, n, n).to(torch.float64)
        j = self.form_matrix(device=g.device)
        return bool(torch.allclose(g.transpose(-1, -2) @ j @ g, j.expand_as(g), atol=atol, rtol=0))

    def lie_algebra(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """Hamiltonian matrices ``J S`` for ``S`` in the basis ``E_ii``, ``E_ij + E_ji`` (i<j).

        ``n (n + 1) / 2`` of them; each satisfies ``Xᵀ J + J X = 0``.
        """
        n = self.n
        pairs = [(i, j) for i in range(n) for j in range(i, n)]
        sym = torch.zeros(len(pairs), n, n, dtype=dtype, device=device)
        for a, (i, j) in enumerate(pairs):
            sym[a, i, j] = 1
            sym[a, j, i] = 1
        return self.form_matrix(dtype=dtype, device=device) @ sym
