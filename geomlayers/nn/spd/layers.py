"""SPDNet layers: BiMap, ReEig, LogEig, ExpEig and the isometric vectorisation.

Huang & Van Gool, "A Riemannian network for SPD matrix learning", AAAI 2017, §3 (BiMap,
ReEig, LogEig); multi-channel BiMap as in Brooks et al., NeurIPS 2019.  Eigen-functions go
through :mod:`geomlayers.linalg` (Daleckii–Krein backward); see ``docs/spd.md``.
"""

from __future__ import annotations

import math

import geoopt
import torch
from torch import nn

from geomlayers import linalg
from geomlayers.groups import Congruence
from geomlayers.linalg import sym
from geomlayers.nn._declare import DeclaresOrthogonalGroup, check_matrix_size

__all__ = ["BiMap", "ReEig", "LogEig", "ExpEig", "OrthogonalCongruence", "sym_to_vec",
           "vec_to_sym"]


def _trace(x: torch.Tensor) -> torch.Tensor:
    return torch.diagonal(x, dim1=-2, dim2=-1).sum(-1)


def _check_spd_input(x, n: int, name: str = "x") -> torch.Tensor:
    """Shape ``(N, n, n)`` / ``(N, C, n, n)``, then :func:`geomlayers.linalg.check_spd`."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x)}")
    if x.dim() not in (3, 4) or x.shape[-1] != n or x.shape[-2] != n:
        raise ValueError(f"{name} must have shape (N, {n}, {n}) or (N, C, {n}, {n}), "
                         f"got {tuple(x.shape)}")
    linalg.check_spd(x, name)
    return x


def _check_declared_size(x, n: int | None, name: str = "x") -> None:
    """A layer built with ``n=`` takes ``(..., n, n)`` only (the size its group declares)."""
    if n is not None and isinstance(x, torch.Tensor) and (
            x.dim() < 2 or x.shape[-1] != n or x.shape[-2] != n):
        raise ValueError(f"{name} must have shape (..., {n}, {n}) (the layer was built with "
                         f"n={n}), got {tuple(x.shape)}")


def sym_to_vec(x: torch.Tensor) -> torch.Tensor:
    """Isometric vectorisation ``(..., n, n) → (..., n(n+1)/2)``.

    The upper triangle row by row, off-diagonal entries times √2 (so ``||vec X|| = ||X||_F``).

    >>> sym_to_vec(torch.tensor([[1.0, 2.0], [2.0, 3.0]]))
    tensor([1.0000, 2.8284, 3.0000])
    """
    n = x.shape[-1]
    rows, cols = torch.triu_indices(n, n, device=x.device)
    scale = torch.where(rows == cols, 1.0, math.sqrt(2.0)).to(x.dtype)
    return x[..., rows, cols] * scale


def vec_to_sym(v: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`sym_to_vec`: ``(..., n(n+1)/2) → (..., n, n)``."""
    m = v.shape[-1]
    n = int(round((math.sqrt(8 * m + 1) - 1) / 2))
    if n * (n + 1) // 2 != m:
        raise ValueError(f"v's last dim must be n(n+1)/2 for some n, got {m}")
    rows, cols = torch.triu_indices(n, n, device=v.device)
    scale = torch.where(rows == cols, 1.0, math.sqrt(0.5)).to(v.dtype)
    out = v.new_zeros(*v.shape[:-1], n, n)
    out[..., rows, cols] = v * scale
    out[..., cols, rows] = v * scale
    return out


class OrthogonalCongruence(DeclaresOrthogonalGroup):
    """Declares equivariance under ``O(n)`` acting by congruence ``X ↦ Q X Qᵀ``.

    Spectral functions ``f(X) = U f(Λ) Uᵀ`` commute with orthogonal congruence:
    ``f(Q X Qᵀ) = Q f(X) Qᵀ``.  ``group`` is ``OrthogonalGroup(n)`` once the layer knows its
    matrix size ``n`` (the ``n=`` argument); ``rep_in`` / ``rep_out`` are
    :class:`~geomlayers.groups.Congruence`, so ``geomlayers.testing.assert_equivariant(layer)``
    checks it.
    """

    rep_in = Congruence()
    rep_out = Congruence()


class BiMap(nn.Module):
    """Bilinear map ``X ↦ Wᵀ X W`` with ``W ∈ St(in_dim, out_dim)`` (SPDNet §3.1).

    BiMap declares no group: ``Wᵀ (g X gᵀ) W`` is not ``g' (Wᵀ X W) g'ᵀ`` for a fixed ``W``
    (it is equivariant only jointly with ``W ↦ gᵀ W``).

    With channels, ``Y_o = Σ_i W_{oi}ᵀ X_i W_{oi}`` (Brooks et al. 2019).  The weight is a
    geoopt ``ManifoldParameter`` on the Stiefel manifold (orthonormal columns), so
    ``RiemannianAdam`` keeps it there.

    Shapes: ``(N, in_dim, in_dim) → (N, out_dim, out_dim)``; with channels
    ``(N, in_channels, in_dim, in_dim) → (N, out_channels, out_dim, out_dim)``.

    >>> layer = BiMap(4, 2, dtype=torch.float64)
    >>> layer(torch.eye(4, dtype=torch.float64).expand(3, 4, 4)).shape
    torch.Size([3, 2, 2])
    """

    def __init__(self, in_dim: int, out_dim: int, *, in_channels: int | None = None,
                 out_channels: int | None = None, device=None, dtype=None):
        super().__init__()
        if not (isinstance(in_dim, int) and isinstance(out_dim, int) and 1 <= out_dim <= in_dim):
            raise ValueError(f"need integers 1 <= out_dim <= in_dim, got in_dim={in_dim}, "
                             f"out_dim={out_dim}")
        if (in_channels is None) != (out_channels is None):
            raise ValueError("give both in_channels and out_channels, or neither")
        for name, c in (("in_channels", in_channels), ("out_channels", out_channels)):
            if c is not None and not (isinstance(c, int) and c >= 1):
                raise ValueError(f"{name} must be a positive int, got {c}")
        self.in_dim, self.out_dim = in_dim, out_dim
        self.in_channels, self.out_channels = in_channels, out_channels
        lead = () if in_channels is None else (out_channels, in_channels)
        self.weight = geoopt.ManifoldParameter(
            torch.empty(*lead, in_dim, out_dim, device=device, dtype=dtype),
            manifold=geoopt.Stiefel())
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Haar-random orthonormal columns (QR of a Gaussian matrix, signs fixed)."""
        with torch.no_grad():
            gauss = torch.randn(self.weight.shape, dtype=torch.float64)
            q, r = torch.linalg.qr(gauss)
            q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
            self.weight.copy_(q.to(self.weight.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``Wᵀ X W`` (summed over input channels)."""
        _check_spd_input(x, self.in_dim)
        w = self.weight
        if self.in_channels is None:
            if x.dim() != 3:
                raise ValueError(f"x must have shape (N, {self.in_dim}, {self.in_dim}) "
                                 f"(no channels configured), got {tuple(x.shape)}")
            return sym(w.transpose(-1, -2) @ x @ w)
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (N, {self.in_channels}, {self.in_dim}, "
                             f"{self.in_dim}), got {tuple(x.shape)}")
        y = w.transpose(-1, -2) @ x.unsqueeze(1) @ w  # (N, C_out, C_in, out, out)
        return sym(y.sum(2))

    def extra_repr(self) -> str:
        """Dimensions and channels."""
        ch = "" if self.in_channels is None else (
            f", in_channels={self.in_channels}, out_channels={self.out_channels}")
        return f"in_dim={self.in_dim}, out_dim={self.out_dim}{ch}"


class ReEig(OrthogonalCongruence, nn.Module):
    """Eigenvalue rectification ``U max(σ, τ) Uᵀ`` (SPDNet §3.2), ``(..., n, n)``.

    Huang & Van Gool ("A Riemannian network for SPD matrix learning", AAAI 2017, §3.2) use an
    absolute ``τ = ε``.  Here, by default (``relative=True``), ``τ = threshold · tr(X)/n`` per
    matrix (``threshold`` times the mean eigenvalue), so ``ReEig(c·X) = c·ReEig(X)`` for every
    ``c > 0``: EEG covariances in V² (eigenvalues near 1e-12) are rectified exactly as the same
    covariances in µV².  For matrices scaled to trace ``n`` (mean eigenvalue 1) this is the
    absolute floor ``threshold``; ``relative=False`` restores the absolute one.  The backward
    includes the floor's gradient ``(threshold/n)·I`` for the clamped eigenvalues
    (:func:`geomlayers.linalg.clampm`).  ``O(n)``-congruence equivariant
    (:class:`OrthogonalCongruence`, with ``n=``).

    Args:
        threshold: ``ε > 0``; relative to the mean eigenvalue, or absolute.
        relative: scale the floor with each matrix's mean eigenvalue (default).
        n: matrix size, to declare the ``O(n)`` symmetry.

    """

    def __init__(self, threshold: float = 1e-4, *, relative: bool = True, n: int | None = None):
        super().__init__()
        if not threshold > 0:
            raise ValueError(f"threshold must be > 0, got {threshold}")
        self.threshold = float(threshold)
        self.relative = bool(relative)
        self.n = check_matrix_size(n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rectify eigenvalues of symmetric ``x`` ``(..., n, n)`` (indefinite input allowed)."""
        _check_declared_size(x, self.n)
        return linalg.clampm(x, self.threshold, relative=self.relative)

    def extra_repr(self) -> str:
        """Threshold and whether it is relative."""
        return f"threshold={self.threshold}, relative={self.relative}"


class LogEig(OrthogonalCongruence, nn.Module):
    """Matrix logarithm (SPDNet §3.3): ``(..., n, n) → (..., n, n)``.

    With ``vectorize=True`` the isometric upper-triangle vector ``(..., n(n+1)/2)`` (then no
    output representation is declared).  ``O(n)``-congruence equivariant
    (:class:`OrthogonalCongruence`, with ``n=``).
    """

    def __init__(self, vectorize: bool = False, *, n: int | None = None):
        super().__init__()
        self.vectorize = bool(vectorize)
        self.n = check_matrix_size(n)

    @property
    def rep_out(self):
        """Congruence (not declared for the vectorised output)."""
        if self.vectorize:
            raise AttributeError("LogEig(vectorize=True) returns vectors, which O(n) moves by "
                                 "a representation not declared here")
        return Congruence()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``log X`` of SPD ``x`` ``(..., n, n)`` (optionally vectorised).

        ``x`` is checked by :func:`geomlayers.linalg.check_spd` (a singular matrix is refused,
        not floored: its logarithm would depend on the floor).
        """
        _check_declared_size(x, self.n)
        y = linalg.logm(linalg.check_spd(x, "x"))
        return sym_to_vec(y) if self.vectorize else y

    def extra_repr(self) -> str:
        """Vectorisation flag."""
        return f"vectorize={self.vectorize}"


class ExpEig(OrthogonalCongruence, nn.Module):
    """Matrix exponential of symmetric matrices ``(..., n, n)`` (inverse of :class:`LogEig`).

    ``O(n)``-congruence equivariant (:class:`OrthogonalCongruence`, with ``n=``).
    """

    def __init__(self, *, n: int | None = None):
        super().__init__()
        self.n = check_matrix_size(n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``exp X`` of symmetric ``x`` ``(..., n, n)``."""
        _check_declared_size(x, self.n)
        return linalg.expm(x)
