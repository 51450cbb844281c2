"""Shared parts of the SPD metrics: :class:`SPDManifold` and small helpers.

:class:`SPDManifold` holds the checks, projections, Fréchet means and batch-normalisation verbs;
the metrics are in :mod:`geomlayers.manifolds.spd` (see ``docs/spd.md``).
"""

from __future__ import annotations

import math
import warnings

import geoopt
import torch

from geomlayers import linalg
from geomlayers.linalg import LoewnerKernel, SumPowerKernel, sym

_DLOG = LoewnerKernel("log")
_DLOG_INV = LoewnerKernel("log", inverse=True)
_TO_ID = SumPowerKernel(math.sqrt(2.0), -0.5)  # Γ_{P→I}: √(2/(σ_i+σ_j))
_FROM_ID = SumPowerKernel(math.sqrt(0.5), 0.5)  # Γ_{I→P}: √((σ_i+σ_j)/2)
_LYAP_FROM_ID = SumPowerKernel(math.sqrt(0.5), -0.5)  # L_P ∘ Γ_{I→P}: 1/√(2(σ_i+σ_j))


class ConvergenceWarning(UserWarning):
    """An iterative Fréchet mean stopped at its iteration cap above its tolerance."""


def _tol(dtype: torch.dtype) -> float:
    return 1e-10 if dtype == torch.float64 else 1e-5


def _congr(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``sym(A X Aᵀ)`` for symmetric ``A`` (broadcast)."""
    return sym(a @ x @ a.transpose(-1, -2))


def _trace(x: torch.Tensor) -> torch.Tensor:
    return torch.diagonal(x, dim1=-2, dim2=-1).sum(-1)


def _keep(value: torch.Tensor, keepdim: bool) -> torch.Tensor:
    return value[..., None, None] if keepdim else value


def _frob_inner(u, v):
    return (u * v).sum((-1, -2))


def _weights(x: torch.Tensor, weights) -> torch.Tensor:
    n = x.shape[0]
    if weights is None:
        return torch.full((n,), 1.0 / n, dtype=x.dtype, device=x.device)
    w = torch.as_tensor(weights, dtype=x.dtype, device=x.device)
    if w.shape != (n,):
        raise ValueError(f"weights must have shape ({n},) (one per matrix along dim 0), "
                         f"got {tuple(w.shape)}")
    if bool((w < 0).any()) or not float(w.sum()) > 0:
        raise ValueError("weights must be non-negative with a positive sum")
    return w / w.sum()


def _wsum(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (w.reshape(-1, *[1] * (x.dim() - 1)) * x).sum(0)


class SPDManifold(geoopt.Manifold):
    """Shared parts of the SPD metrics: checks, projections, geodesics, means.

    Subclasses implement ``inner, egrad2rgrad, expmap, logmap, dist2, transp`` and
    ``mean_step``; they may override the batch-normalisation verbs :meth:`to_identity`,
    :meth:`from_identity` and :meth:`recenter` with closed forms.
    """

    ndim = 2
    reversible = False
    metric = "base"
    complete = True  # expmap is defined (and SPD) on the whole tangent space

    def __init__(self):
        super().__init__()

    # -- checks --------------------------------------------------------------------------
    def _check_point_on_manifold(self, x, *, atol=1e-5, rtol=1e-5):
        if not torch.allclose(x, x.transpose(-1, -2), atol=atol, rtol=rtol):
            return False, "x is not symmetric"
        if not bool((torch.linalg.eigvalsh(sym(x)) > 0).all()):
            return False, "x has non-positive eigenvalues"
        return True, None

    def _check_vector_on_tangent(self, x, u, *, atol=1e-5, rtol=1e-5):
        if not torch.allclose(u, u.transpose(-1, -2), atol=atol, rtol=rtol):
            return False, "u is not symmetric"
        return True, None

    # -- projections ----------------------------------------------------------------------
    def projx(self, x: torch.Tensor) -> torch.Tensor:
        """Nearest SPD matrix: symmetrise and floor the eigenvalues (:func:`linalg.floorm`)."""
        return linalg.floorm(sym(x))

    def proju(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Tangent space = symmetric matrices: ``sym(u)``."""
        return sym(u)

    def retr(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Retraction = the exponential map (SPD for every ``u`` in all four metrics)."""
        return self.expmap(x, u)

    def dist(self, x: torch.Tensor, y: torch.Tensor, *, keepdim=False) -> torch.Tensor:
        """Geodesic distance ``(...)`` (or ``(..., 1, 1)`` with ``keepdim``)."""
        d2 = self.dist2(x, y)
        return _keep(d2.clamp_min(torch.finfo(d2.dtype).tiny).sqrt(), keepdim)

    def norm(self, x, u, *, keepdim=False):
        """Riemannian norm of ``u`` at ``x``."""
        return self.inner(x, u, keepdim=keepdim).clamp_min(0).sqrt()

    def geodesic(self, x: torch.Tensor, y: torch.Tensor, t) -> torch.Tensor:
        """Point at time ``t`` on the geodesic from ``x`` (t=0) to ``y`` (t=1)."""
        return self.expmap(x, t * self.logmap(x, y))

    # -- means ----------------------------------------------------------------------------
    def mean_step(self, x: torch.Tensor, w: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """One step of the metric's Fréchet-mean fixed-point map from ``g`` ``(..., n, n)``.

        ``x`` ``(N, ..., n, n)`` points, ``w`` ``(N,)`` weights summing to one.
        """
        raise NotImplementedError

    def frechet_mean(self, x: torch.Tensor, weights=None, *, tol: float | None = None,
                     max_iter: int = 50, init: torch.Tensor | None = None,
                     return_iterations: bool = False, warn: bool = True,
                     validate: bool = True):
        """Weighted Fréchet mean of ``x`` ``(N, ..., n, n)`` over dim 0 → ``(..., n, n)``.

        Iterates the metric's fixed-point map (:meth:`mean_step`) from ``init`` (default: the
        weighted arithmetic mean) until the relative change (Frobenius) falls below ``tol``
        (default 1e-10 in float64, 1e-5 otherwise) or ``max_iter`` steps were taken.
        Differentiable (unrolled).  Stopping at ``max_iter`` above ``tol`` issues a
        :class:`ConvergenceWarning` naming the iteration count and the last relative change,
        unless ``warn=False`` (a deliberately truncated iteration, as in batch norm).
        ``validate=False`` skips the input check (for callers that checked ``x`` already).
        """
        x, w, tol, g = self._mean_setup(x, weights, tol, max_iter, init, validate)
        it, change = 0, 0.0
        for it in range(1, max_iter + 1):  # noqa: B007
            new = self.mean_step(x, w, g)
            step = (new - g).detach().norm(dim=(-1, -2)) / g.detach().norm(dim=(-1, -2))
            g = new
            change = float(step.max())
            if change < tol:
                break
        self._warn_mean(warn, max_iter, it, change, tol)
        return (g, it) if return_iterations else g

    def _mean_setup(self, x, weights, tol, max_iter, init, validate):
        """Checked ``(x, weights, tol, initial mean)`` of :meth:`frechet_mean`."""
        if not isinstance(x, torch.Tensor) or x.dim() < 3:
            raise ValueError("x must have shape (N, ..., n, n) with N matrices along dim 0, "
                             f"got {tuple(getattr(x, 'shape', ()))}")
        x = linalg.check_spd(x, "x") if validate else sym(x)
        if max_iter < 0:
            raise ValueError(f"max_iter must be >= 0, got {max_iter}")
        w = _weights(x, weights)
        tol = _tol(x.dtype) if tol is None else tol
        return x, w, tol, _wsum(w, x) if init is None else sym(init)

    def _warn_mean(self, warn: bool, max_iter: int, it: int, change: float, tol: float,
                   what: str = "relative change") -> None:
        if warn and max_iter > 0 and not change < tol:
            warnings.warn(f"{self.name} Fréchet mean did not converge: {what} "
                          f"{change:.2e} > tol {tol:.1e} after max_iter={it} iterations "
                          "(raise max_iter or tol)", ConvergenceWarning, stacklevel=3)

    def frechet_var(self, x: torch.Tensor, mean: torch.Tensor | None = None,
                    weights=None) -> torch.Tensor:
        """Weighted Fréchet variance ``Σ w_i d²(x_i, mean)`` over dim 0 → ``(...)``."""
        w = _weights(x, weights)
        mean = self.frechet_mean(x, w) if mean is None else mean
        return _wsum(w, self.dist2(x, mean.unsqueeze(0)))

    # -- batch normalisation ----------------------------------------------------------------
    def to_identity(self, g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``Γ_{G→I} Log_G X``: ``x`` seen from ``g``, carried to the tangent space at ``I``.

        ``g`` ``(n, n)`` (or broadcast), ``x`` ``(..., n, n)`` → symmetric ``(..., n, n)``.
        """
        eye = torch.eye(x.shape[-1], dtype=x.dtype, device=x.device)
        return self.transp(g, eye, self.logmap(g, x))

    def from_identity(self, b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """``Exp_B Γ_{I→B} W``: a tangent vector at ``I`` carried to ``b`` and mapped out."""
        eye = torch.eye(w.shape[-1], dtype=w.dtype, device=w.device)
        return self.expmap(b, self.transp(eye, b, w))

    def recenter(self, x: torch.Tensor, mean: torch.Tensor, bias: torch.Tensor | None = None,
                 factor=None) -> torch.Tensor:
        """Riemannian batch normalisation ``Exp_B Γ_{I→B}(s · Γ_{G→I} Log_G X)``.

        Moves a batch ``x`` ``(..., n, n)`` with Fréchet mean ``mean`` (G) to mean ``bias``
        (B; ``None``: ``I``) and multiplies its dispersion by ``factor`` (s; ``None``: 1), the
        map of Brooks et al. (NeurIPS 2019), Kobler et al. (NeurIPS 2022, §3), Chen et al.
        (LieBN, ICLR 2024) and Wang et al. (GBWBN, CVPR 2025, §4).
        """
        w = self.to_identity(mean, x)
        if factor is not None:
            w = w * factor
        if bias is None:
            bias = torch.eye(x.shape[-1], dtype=x.dtype, device=x.device)
        return self.from_identity(bias, w)

    # -- isometric chart (identity except for GBW) -------------------------------------------
    @property
    def base(self) -> SPDManifold:
        """The manifold in which :meth:`chart` coordinates live (``self`` by default)."""
        return self

    variance_scale = 1.0  # d² = variance_scale · d²_base(chart X, chart Y)

    def chart(self, x: torch.Tensor) -> torch.Tensor:
        """Isometry (up to :attr:`variance_scale`) onto :attr:`base`; the identity here."""
        return x

    def chart_inv(self, z: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`chart`."""
        return z

    # -- points -----------------------------------------------------------------------------
    def random(self, *size, dtype=None, device=None, generator=None, **kwargs) -> torch.Tensor:
        """``exp`` of a symmetric Gaussian matrix with entry std 0.5, shape ``size``."""
        tens = 0.5 * torch.randn(*size, dtype=dtype, device=device, generator=generator)
        return linalg.expm(sym(tens))

    def origin(self, *size, dtype=None, device=None, seed=42) -> torch.Tensor:
        """Identity matrices of shape ``size``."""
        eye = torch.eye(size[-1], dtype=dtype, device=device)
        return eye.expand(*size).clone()

    def extra_repr(self) -> str:
        """Metric name."""
        return f"metric={self.metric!r}"
