"""GL⁺(n,R), SL(n,R) and affine groups Rⁿ⋊G through the Cartan (polar) decomposition.

Mironenco & Forré, "Lie Group Decompositions for Equivariant Neural Networks" (ICLR 2024),
§3–4: every ``g ∈ GL⁺(n)`` factors uniquely as ``g = exp(X)·R`` with ``X`` symmetric
(trace-free for SL(n)) and ``R ∈ SO(n)``; ``(X, R)`` is a global chart, with inverse
``X = ½·log(g gᵀ)``, ``R = exp(-X)·g``.

Haar measure in these coordinates (derivation in ``docs/lie.md``): relative to the Lebesgue
measure ``dX`` on the coordinates of ``X`` in a Frobenius-orthonormal basis of Sym(n)
(Sym₀(n) for SL) times the normalised Haar measure ``dR`` of SO(n)::

    dμ(g) = J(X) dX dR,   J(X) = ∏_{i<j} sinh(|x_i - x_j|) / |x_i - x_j|,

``x_i`` the eigenvalues of ``X``. (It is the volume density of the symmetric space
GL⁺(n)/SO(n) ≅ SPD(n) in exponential coordinates, ∏_α (sinh α(X)/α(X))^{m_α}.) Both groups are
unimodular, so ``μ`` is left and right invariant.

Sampling (:meth:`GLPlus.sample_grid`): the proposal is ``X ~ N(0, σ²)`` i.i.d. in the
orthonormal Sym coordinates and ``R`` Haar on SO(n), independent; each sample carries the
importance weight ``w = J(X) / q(X)`` so that ``mean(w·φ(g))`` is an unbiased Monte Carlo
estimate of ``∫ φ dμ`` (``μ`` is infinite, so no proposal can *be* Haar). The samples are
arranged in orbits of a finite rotation group so that rotating the grid by an element of
that group permutes it (exact equivariance for those rotations).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import NamedTuple

import torch

from geomlayers import linalg
from geomlayers.groups.base import Group, as_generator
from geomlayers.groups.orthogonal import SpecialOrthogonalGroup
from geomlayers.groups.representations import Points, join_homogeneous, split_homogeneous
from geomlayers.validation import check_float, check_int

__all__ = [
    "GLPlus",
    "SL",
    "Affine",
    "GroupSamples",
    "sym_exp",
    "sym_log",
    "so_exp",
    "so_log",
    "sym_basis",
    "rotation_subgroup",
    "rotation_angle",
]


# --------------------------------------------------------------------------- matrix maps


def _check_square(name: str, a: torch.Tensor, n: int | None = None) -> None:
    if a.dim() < 2 or a.shape[-1] != a.shape[-2] or (n is not None and a.shape[-1] != n):
        want = f"{n}x{n}" if n is not None else "square"
        raise ValueError(f"{name} must be (..., n, n) {want} matrices, got {tuple(a.shape)}")


def sym_exp(x: torch.Tensor) -> torch.Tensor:
    """Matrix exponential of symmetric ``x`` ``(..., n, n)`` (an SPD matrix).

    :func:`geomlayers.linalg.expm` (one ``eigh``, Daleckii–Krein backward).
    """
    _check_square("x", x)
    return linalg.expm(0.5 * (x + x.transpose(-1, -2)))


def sym_log(p: torch.Tensor) -> torch.Tensor:
    """Matrix logarithm of SPD ``p`` ``(..., n, n)`` (a symmetric matrix).

    :func:`geomlayers.linalg.logm`; raises ``ValueError`` if ``p`` has a non-positive
    eigenvalue (at most the relative floor of :data:`geomlayers.linalg.config` times the
    largest).
    """
    _check_square("p", p)
    p = 0.5 * (p + p.transpose(-1, -2))
    lam = torch.linalg.eigvalsh(p.detach())
    floor = linalg.config.floor_for(lam)
    if bool((lam[..., :1] <= floor).any()):
        raise ValueError("p must be symmetric positive definite (all eigenvalues > 0)")
    return linalg.logm(p)


def so_exp(a: torch.Tensor) -> torch.Tensor:
    """Exponential ``so(n) → SO(n)`` of antisymmetric ``a`` ``(..., n, n)``."""
    _check_square("a", a)
    return torch.linalg.matrix_exp(0.5 * (a - a.transpose(-1, -2)))


def so_log(r: torch.Tensor) -> torch.Tensor:
    """Principal logarithm ``SO(n) → so(n)`` (rotation angles in ``(-π, π]``).

    n = 2 uses ``atan2`` (exact); n ≥ 3 uses a complex eigendecomposition, which is
    ill-conditioned for rotation angles at exactly π (the branch cut).
    """
    _check_square("r", r)
    n = r.shape[-1]
    if n == 1:
        return torch.zeros_like(r)
    if n == 2:
        theta = torch.atan2(r[..., 1, 0] - r[..., 0, 1], r[..., 0, 0] + r[..., 1, 1])
        out = torch.zeros_like(r)
        out[..., 1, 0], out[..., 0, 1] = theta, -theta
        return out
    lam, vec = torch.linalg.eig(r)
    log = (vec * torch.log(lam).unsqueeze(-2)) @ torch.linalg.inv(vec)
    log = log.real.to(r.dtype)
    return 0.5 * (log - log.transpose(-1, -2))


def sym_basis(
    n: int, traceless: bool, *, dtype: torch.dtype = torch.float64, device=None
) -> torch.Tensor:
    """Frobenius-orthonormal basis ``(d, n, n)`` of Sym(n) (``d = n(n+1)/2``) or Sym₀(n).

    Order: the diagonal part first (``E_ii``, or for Sym₀ the Helmert matrices
    ``diag(1,…,1,-k,0,…)/√(k(k+1))``), then ``(E_ij + E_ji)/√2`` for ``i < j``.
    """
    mats = []
    if traceless:
        for k in range(1, n):
            d = torch.zeros(n, dtype=torch.float64)
            d[:k], d[k] = 1.0, -float(k)
            mats.append(torch.diag(d / math.sqrt(k * (k + 1))))
    else:
        mats.extend(torch.diag(torch.eye(n, dtype=torch.float64)[i]) for i in range(n))
    for i, j in itertools.combinations(range(n), 2):
        m = torch.zeros(n, n, dtype=torch.float64)
        m[i, j] = m[j, i] = 1 / math.sqrt(2)
        mats.append(m)
    if not mats:
        return torch.zeros(0, n, n, dtype=dtype, device=device)
    return torch.stack(mats).to(dtype=dtype, device=device)


def rotation_subgroup(
    n: int, order: int, *, dtype: torch.dtype = torch.float64, device=None
) -> torch.Tensor:
    """A finite subgroup of SO(n) as ``(order, n, n)``, used to make sample grids closed.

    n = 2: the cyclic group of ``order`` rotations by ``2πk/order`` (no duplicated angle).
    n ≥ 3: ``order`` must be 1 (the identity) or ``2^{n-1}·n!`` (the rotations of the
    n-cube: signed permutation matrices of determinant 1, e.g. 24 for n = 3).
    """
    order = check_int("order", order, minimum=1)
    if n == 2:
        t = torch.arange(order, dtype=torch.float64) * (2 * math.pi / order)
        c, s = torch.cos(t), torch.sin(t)
        mats = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
        return mats.to(dtype=dtype, device=device)
    cube = math.factorial(n) * 2 ** (n - 1)
    if order == 1:
        return torch.eye(n, dtype=dtype, device=device).unsqueeze(0)
    if order != cube:
        raise ValueError(f"order must be 1 or {cube} (cube rotations) for n={n}, got {order}")
    mats = []
    for perm in itertools.permutations(range(n)):
        for signs in itertools.product((1.0, -1.0), repeat=n):
            m = torch.zeros(n, n, dtype=torch.float64)
            m[list(range(n)), list(perm)] = torch.tensor(signs, dtype=torch.float64)
            if torch.linalg.det(m) > 0:
                mats.append(m)
    return torch.stack(mats).to(dtype=dtype, device=device)


# --------------------------------------------------------------------------- samples


class GroupSamples(NamedTuple):
    """A weighted sample grid on GL⁺(n) / SL(n).

    Attributes:
        elements: ``(N, n, n)`` the group elements ``g_b = exp(X_b)·R_b``.
        sym: ``(N, n, n)`` the symmetric parts ``X_b``.
        rot: ``(N, n, n)`` the rotations ``R_b``.
        weights: ``(N,)`` Monte Carlo weights: ``Σ_b weights_b·φ(g_b)`` estimates ``∫ φ dμ``
            (importance weight ``J(X_b)/q(X_b)`` divided by ``N``).

    """

    elements: torch.Tensor
    sym: torch.Tensor
    rot: torch.Tensor
    weights: torch.Tensor

    def to(self, dtype: torch.dtype, device=None) -> GroupSamples:
        """The same samples at ``dtype`` / ``device``."""
        return GroupSamples(*(t.to(dtype=dtype, device=device) for t in self))

    def left_multiply(self, u: torch.Tensor, group: GLPlus) -> GroupSamples:
        """``{u·g_b}`` with the same weights (``u`` ``(n, n)`` in the group)."""
        elements = u.to(self.elements) @ self.elements
        sym, rot = group.decompose(elements)
        return GroupSamples(elements, sym, rot, self.weights)


# --------------------------------------------------------------------------- groups


@dataclass(frozen=True)
class GLPlus(Group):
    """GL⁺(n,R): real ``n x n`` matrices with ``det > 0`` (Mironenco & Forré 2024, §4.1).

    ``sample`` draws from the documented proposal (``X ~ N(0, 0.25²)`` in orthonormal Sym
    coordinates, ``R`` Haar); use :meth:`sample_grid` for weighted samples.

    >>> g = GLPlus(2).sample(3, generator=0)
    >>> x, r = GLPlus(2).decompose(g)
    >>> bool(torch.allclose(GLPlus(2).compose(x, r), g))
    True
    """

    n: int

    #: whether X is trace-free (SL) — a class-level constant, not a dataclass field
    traceless = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", check_int("n", self.n, minimum=1))

    def __str__(self) -> str:
        return f"{'SL' if self.traceless else 'GL+'}{self.n}"

    # ---- structure
    @property
    def is_finite(self) -> bool:
        """``False``."""
        return False

    def lie_algebra(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """Basis of gl(n) (all ``E_ij``) or sl(n) (Sym₀ basis plus ``E_ij - E_ji``)."""
        n = self.n
        if not self.traceless:
            return torch.eye(n * n, dtype=dtype, device=device).reshape(n * n, n, n)
        skew = []
        for i, j in itertools.combinations(range(n), 2):
            m = torch.zeros(n, n, dtype=torch.float64)
            m[i, j], m[j, i] = -1.0, 1.0
            skew.append(m)
        parts = [sym_basis(n, True)] + ([torch.stack(skew)] if skew else [])
        return torch.cat(parts).to(dtype=dtype, device=device)

    @property
    def sym_dimension(self) -> int:
        """Dimension of the symmetric factor (Sym(n) or Sym₀(n))."""
        return self.n * (self.n + 1) // 2 - (1 if self.traceless else 0)

    @property
    def rotation_dimension(self) -> int:
        """Dimension of SO(n)."""
        return self.n * (self.n - 1) // 2

    def contains(self, g: torch.Tensor, atol: float = 1e-8) -> bool:
        """Whether every matrix of ``g`` has ``det > atol`` (GL⁺) or ``|det - 1| <= atol`` (SL)."""
        if g.shape[-2:] != (self.n, self.n):
            return False
        det = torch.linalg.det(g.to(torch.float64))
        if self.traceless:
            return bool(torch.all((det - 1).abs() <= atol * self.n))
        return bool(torch.all(det > atol))

    # ---- decomposition
    def decompose(self, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``g = exp(X)·R`` → ``(X, R)``: ``X = ½ log(g gᵀ)`` symmetric, ``R = exp(-X) g``.

        Args:
            g: ``(..., n, n)`` with ``det g > 0``.

        Returns:
            ``X`` ``(..., n, n)`` symmetric (trace-free when ``det g = 1``) and ``R``
            ``(..., n, n)`` in SO(n).

        """
        _check_square("g", g, self.n)
        # SVD g = U Σ Vᵀ: X = U log Σ Uᵀ, R = U Vᵀ (better conditioned than eigh(g gᵀ))
        u, sigma, vh = torch.linalg.svd(g)
        if bool((sigma <= 0).any()) or bool((torch.linalg.det(g) <= 0).any()):
            raise ValueError("g must be invertible with det g > 0 (GL⁺(n))")
        x = (u * torch.log(sigma).unsqueeze(-2)) @ u.transpose(-1, -2)
        return 0.5 * (x + x.transpose(-1, -2)), u @ vh

    def compose(self, x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        """``(X, R) → exp(X)·R`` for symmetric ``X`` and ``R ∈ SO(n)``, both ``(..., n, n)``."""
        _check_square("x", x, self.n)
        _check_square("r", r, self.n)
        return sym_exp(x) @ r

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        """``g⁻¹ = Rᵀ·exp(-X)`` through the decomposition (no general matrix inverse)."""
        x, r = self.decompose(g)
        return r.transpose(-1, -2) @ sym_exp(-x)

    def sym_coordinates(self, x: torch.Tensor) -> torch.Tensor:
        """Coordinates ``(..., d)`` of symmetric ``X`` in the basis :func:`sym_basis`."""
        basis = sym_basis(self.n, self.traceless, dtype=x.dtype, device=x.device)
        return torch.einsum("...ij,dij->...d", x, basis)

    def sym_from_coordinates(self, c: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`sym_coordinates`: ``(..., d)`` → ``(..., n, n)``."""
        basis = sym_basis(self.n, self.traceless, dtype=c.dtype, device=c.device)
        if c.shape[-1] != len(basis):
            raise ValueError(f"c must end in {len(basis)} coordinates, got {tuple(c.shape)}")
        return torch.einsum("...d,dij->...ij", c, basis)

    def features(self, g: torch.Tensor) -> torch.Tensor:
        """Continuous chart features of ``g`` ``(..., n, n)`` for kernel networks.

        ``(Sym coordinates of X, rotation features of R)``: for n = 2 the rotation feature is
        ``(cos θ, sin θ)`` (no jump at θ = 2π); for n ≥ 3 the ``n²`` entries of ``R``.
        Output ``(..., d + 2)`` (n = 2) or ``(..., d + n²)``.
        """
        x, r = self.decompose(g)
        return torch.cat([self.sym_coordinates(x), _rotation_features(r)], dim=-1)

    @property
    def feature_dimension(self) -> int:
        """Length of :meth:`features`."""
        return self.sym_dimension + (2 if self.n == 2 else self.n * self.n)

    # ---- measure
    def log_haar_density(self, x: torch.Tensor) -> torch.Tensor:
        """``log J(X)``: Haar density relative to ``dX(orthonormal coords) × dR(normalised)``.

        ``J(X) = ∏_{i<j} sinh|x_i - x_j| / |x_i - x_j|`` with ``x_i`` the eigenvalues of ``X``
        ``(..., n, n)``; returns ``(...)``. Constant factors (the normalisation of μ) are
        dropped; the result is exactly 0 at ``X = 0``.
        """
        lam = torch.linalg.eigvalsh(x)
        i, j = torch.triu_indices(self.n, self.n, 1, device=x.device)
        gap = (lam[..., i] - lam[..., j]).abs()
        return _log_sinhc(gap).sum(-1)

    def log_proposal_density(self, x: torch.Tensor, scale: float) -> torch.Tensor:
        """Log density of the proposal ``N(0, scale²)`` on the Sym coordinates of ``X``."""
        c = self.sym_coordinates(x)
        d = c.shape[-1]
        return -0.5 * (c**2).sum(-1) / scale**2 - d * math.log(scale * math.sqrt(2 * math.pi))

    # ---- sampling
    def sample(self, m=1, generator=None, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """``m`` elements ``(m, n, n)`` from the proposal ``X ~ N(0, 0.25²)``, ``R`` Haar.

        This is not Haar (the Haar measure is infinite); see :meth:`sample_grid` for weights.
        """
        return self.sample_grid(m, generator=generator, dtype=dtype, device=device).elements

    def sample_grid(
        self,
        m: int,
        generator: torch.Generator | int | None = None,
        *,
        scale: float = 0.25,
        orbit: int = 1,
        dtype: torch.dtype = torch.float64,
        device=None,
    ) -> GroupSamples:
        """A weighted grid of ``m·orbit`` samples closed under a finite rotation group.

        Draws ``m`` seeds ``s_i = exp(X_i)·ρ_i`` (``X_i ~ N(0, scale²)`` in orthonormal Sym
        coordinates, ``ρ_i`` Haar on SO(n)) and returns ``{r_k·s_i}`` for the rotations
        ``r_k`` of :func:`rotation_subgroup` ``(n, orbit)`` (index ``b = i·orbit + k``).
        ``r_k s_i = exp(r_k X_i r_kᵀ)·(r_k ρ_i)``, and the proposal is conjugation invariant,
        so every sample has the marginal density ``q(X)·1`` and the weight
        ``J(X)/(q(X)·N)`` makes ``Σ w_b φ(g_b)`` unbiased for ``∫ φ dμ``.

        ``orbit = 1`` gives plain i.i.d. samples. Deterministic given ``generator``.
        """
        self._check_count(m)
        scale = check_float("scale", scale, positive=True)
        gen = as_generator(generator)
        coords = torch.randn(m, self.sym_dimension, generator=gen, dtype=torch.float64) * scale
        x0 = self.sym_from_coordinates(coords)
        rho = SpecialOrthogonalGroup(self.n).sample(m, generator=gen) if self.n > 1 else (
            torch.ones(m, 1, 1, dtype=torch.float64))
        rk = rotation_subgroup(self.n, orbit)
        x = torch.einsum("kab,ibc,kdc->ikad", rk, x0, rk).reshape(-1, self.n, self.n)
        r = torch.einsum("kab,ibc->ikac", rk, rho).reshape(-1, self.n, self.n)
        x = 0.5 * (x + x.transpose(-1, -2))
        log_w = self.log_haar_density(x) - self.log_proposal_density(x, scale)
        weights = torch.exp(log_w) / len(x)
        out = GroupSamples(sym_exp(x) @ r, x, r, weights)
        return out.to(dtype=dtype, device=device)


@dataclass(frozen=True)
class SL(GLPlus):
    """SL(n,R): ``det g = 1``; the symmetric factor ``X`` is trace-free (Sym₀(n)).

    >>> SL(2).dimension, SL(2).sym_dimension
    (3, 2)
    """

    n: int
    traceless = True


@dataclass(frozen=True)
class Affine(Group):
    """The affine group ``Rⁿ ⋊ G`` as homogeneous ``(n+1) x (n+1)`` matrices ``[[A, t], [0, 1]]``.

    ``self.n = G.n + 1`` (the defining representation is the homogeneous one);
    ``self.space_dim = G.n``. Haar measure: ``dt·dμ_G(A)/|det A|`` (left invariant).
    ``sample`` draws ``A`` from ``G.sample`` and ``t ~ N(0, translation_scale²)``.

    >>> Affine(SL(2)).n, Affine(SL(2)).dimension
    (3, 5)
    """

    linear: GLPlus
    translation_scale: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.linear, GLPlus):
            raise TypeError(f"linear must be GLPlus(n) or SL(n), got {self.linear!r}")
        object.__setattr__(self, "translation_scale",
                           check_float("translation_scale", self.translation_scale,
                                       positive=True))

    @property
    def n(self) -> int:  # type: ignore[override]
        """Size of the homogeneous matrices, ``G.n + 1``."""
        return self.linear.n + 1

    @property
    def space_dim(self) -> int:
        """Dimension of the space acted on, ``G.n``."""
        return self.linear.n

    @property
    def is_finite(self) -> bool:
        """``False``."""
        return False

    def lie_algebra(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """G's algebra in the top-left block plus the ``n`` translations ``E_{i,n}``."""
        d, k = self.space_dim, self.n
        lin = self.linear.lie_algebra(dtype=dtype, device=device)
        out = torch.zeros(len(lin) + d, k, k, dtype=dtype, device=device)
        out[: len(lin), :d, :d] = lin
        for i in range(d):
            out[len(lin) + i, i, d] = 1
        return out

    def join(self, a: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``A (..., n, n)``, ``t (..., n)`` → homogeneous ``(..., n+1, n+1)``."""
        _check_square("a", a, self.space_dim)
        return join_homogeneous(a, t)

    def split(self, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Homogeneous ``(..., n+1, n+1)`` → ``(A, t)`` (:func:`split_homogeneous`)."""
        _check_square("g", g, self.space_dim + 1)
        return split_homogeneous(g)

    def act_points(self, g: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """``A·p + t`` for ``g`` ``(n+1, n+1)`` or ``(m, n+1, n+1)`` and points ``(..., n)``.

        The same as ``self.act(g, points, Points())``.
        """
        return self.act(g, points, Points())

    def __str__(self) -> str:
        if self.translation_scale == 1.0:
            return f"Aff({self.linear})"
        return f"Aff({self.linear},translation_scale={self.translation_scale!r})"

    def sample(self, m=1, generator=None, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """``m`` homogeneous matrices: ``A`` from ``G.sample``, ``t ~ N(0, scale²)``."""
        self._check_count(m)
        gen = as_generator(generator)
        a = self.linear.sample(m, generator=gen)
        t = torch.randn(m, self.space_dim, generator=gen, dtype=torch.float64)
        return self.join(a, t * self.translation_scale).to(dtype=dtype, device=device)

    def contains(self, g: torch.Tensor, atol: float = 1e-8) -> bool:
        """Whether ``g`` is homogeneous with its linear block in ``G``."""
        if g.shape[-2:] != (self.n, self.n):
            return False
        d = self.space_dim
        last = torch.zeros(self.n, dtype=g.dtype, device=g.device)
        last[d] = 1
        if not torch.allclose(g[..., d, :], last.expand_as(g[..., d, :]), atol=atol, rtol=0):
            return False
        return self.linear.contains(g[..., :d, :d], atol=atol)


# --------------------------------------------------------------------------- helpers


def _log_sinhc(t: torch.Tensor) -> torch.Tensor:
    """``log(sinh t / t)`` for ``t >= 0``, stable at 0 (series) and for large ``t``."""
    small = t < 1e-3
    safe = torch.where(small, torch.ones_like(t), t)
    big = safe + torch.log1p(-torch.exp(-2 * safe)) - math.log(2) - torch.log(safe)
    return torch.where(small, t * t / 6, big)


def rotation_angle(r: torch.Tensor) -> torch.Tensor:
    """Geodesic angle to the identity of rotations ``r`` ``(..., n, n)``, n = 2 or 3: ``(...)``.

    In ``[0, π]``: ``|atan2(r₁₀, r₀₀)|`` for n = 2, ``arccos((tr r − 1)/2)`` for n = 3.
    """
    n = r.shape[-1]
    if n == 2:
        return torch.atan2(r[..., 1, 0], r[..., 0, 0]).abs()
    if n == 3:
        trace = r.diagonal(dim1=-2, dim2=-1).sum(-1)
        return torch.arccos(((trace - 1) / 2).clamp(-1.0, 1.0))
    raise ValueError(f"rotation_angle is defined here for n = 2 or 3, got n = {n}")


def _rotation_features(r: torch.Tensor) -> torch.Tensor:
    n = r.shape[-1]
    if n == 2:
        return torch.stack([r[..., 0, 0], r[..., 1, 0]], dim=-1)
    return r.reshape(*r.shape[:-2], n * n)
