"""SPD manifolds as geoopt ``Manifold`` subclasses: AIM, LEM, Bures–Wasserstein, generalized BW.

Points are batches of symmetric positive definite matrices ``(..., n, n)``; tangent vectors are
symmetric matrices of the same shape.  All four classes implement geoopt's verbs (``projx``,
``proju``, ``egrad2rgrad``, ``inner``, ``retr``, ``expmap``, ``logmap``, ``dist``, ``transp``)
so ``geoopt.ManifoldParameter(x, manifold=SPDBuresWasserstein())`` trains with
``geoopt.optim.RiemannianAdam`` unchanged, and add ``geodesic``, ``frechet_mean`` (over
dim 0, with weights, a tolerance and an iteration cap) and ``frechet_var``.

Every matrix function goes through :mod:`geomlayers.linalg` (stable eigen-gradients).

References:
    * AIM: Pennec, Fillard & Ayache, "A Riemannian framework for tensor computing", IJCV 2006.
    * LEM: Arsigny et al., "Log-Euclidean metrics for fast and simple calculus on diffusion
      tensors", MRM 2006.
    * BW: Bhatia, Jain & Lim, "On the Bures–Wasserstein distance between positive definite
      matrices", Expo. Math. 2019; Malagò, Montrucchio & Pistone, Inf. Geom. 2018;
      barycentre fixed point: Álvarez-Esteban et al., J. Math. Anal. Appl. 2016, Thm 4.2.
    * GBW: Han, Mishra, Jawanpuria & Gao, "Generalized Bures–Wasserstein geometry for positive
      definite matrices", arXiv 2110.10464, §3 (isometry ``X ↦ M^{-1/2} X M^{-1/2}`` to BW);
      power deformation ``X ↦ X^θ``: Thanwerdas & Pennec 2019; GBWBN (Wang et al., CVPR 2025).

>>> import torch
>>> m = SPDBuresWasserstein()
>>> x = torch.eye(2, dtype=torch.float64) * 4
>>> round(float(m.dist(torch.eye(2, dtype=torch.float64), x) ** 2), 10)  # ||X^½ − I||² = 2
2.0

"""

from __future__ import annotations

import math
import warnings

import geoopt
import torch

from geomlayers import linalg
from geomlayers.linalg import LoewnerKernel, SumPowerKernel, sym

__all__ = [
    "SPDManifold",
    "SPDAffineInvariant",
    "SPDLogEuclidean",
    "SPDBuresWasserstein",
    "SPDGeneralizedBuresWasserstein",
    "spd_manifold",
    "ConvergenceWarning",
]

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
        if x.dim() < 3:
            raise ValueError("x must have shape (N, ..., n, n) with N matrices along dim 0, "
                             f"got {tuple(x.shape)}")
        x = linalg.check_spd(x, "x") if validate else sym(x)
        if max_iter < 0:
            raise ValueError(f"max_iter must be >= 0, got {max_iter}")
        w = _weights(x, weights)
        tol = _tol(x.dtype) if tol is None else tol
        g = _wsum(w, x) if init is None else sym(init)
        it, change = 0, 0.0
        for it in range(1, max_iter + 1):  # noqa: B007
            new = self.mean_step(x, w, g)
            step = (new - g).detach().norm(dim=(-1, -2)) / g.detach().norm(dim=(-1, -2))
            g = new
            change = float(step.max())
            if change < tol:
                break
        if warn and max_iter > 0 and not change < tol:
            warnings.warn(f"{self.name} Fréchet mean did not converge: relative change "
                          f"{change:.2e} > tol {tol:.1e} after max_iter={it} iterations "
                          "(raise max_iter or tol)", ConvergenceWarning, stacklevel=2)
        return (g, it) if return_iterations else g

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


class SPDAffineInvariant(SPDManifold):
    """Affine-invariant metric ``g_X(U, V) = tr(X⁻¹ U X⁻¹ V)`` (Pennec et al. 2006).

    ``d(X, Y) = ||log(X^{-1/2} Y X^{-1/2})||_F``, invariant under ``X ↦ A X Aᵀ`` for any
    invertible ``A``; mean by Karcher flow (unit step).
    """

    name = "SPD(AIM)"
    metric = "aim"

    def inner(self, x, u, v=None, *, keepdim=False):
        """``tr(X⁻¹ U X⁻¹ V)``."""
        v = u if v is None else v
        a = torch.linalg.solve(x, u)
        b = torch.linalg.solve(x, v)
        return _keep(_trace(a @ b), keepdim)

    def egrad2rgrad(self, x, u):
        """``X sym(∇) X``."""
        return _congr(x, sym(u))

    def expmap(self, x, u):
        """``X^{1/2} exp(X^{-1/2} U X^{-1/2}) X^{1/2}``."""
        s, si = linalg.sqrtm(x), linalg.invsqrtm(x)
        return _congr(s, linalg.expm(_congr(si, u)))

    def logmap(self, x, y):
        """``X^{1/2} log(X^{-1/2} Y X^{-1/2}) X^{1/2}``."""
        s, si = linalg.sqrtm(x), linalg.invsqrtm(x)
        return _congr(s, linalg.logm(_congr(si, y)))

    def dist2(self, x, y):
        """``||log(X^{-1/2} Y X^{-1/2})||_F²``."""
        si = linalg.invsqrtm(x)
        return linalg.logm(_congr(si, y)).pow(2).sum((-1, -2))

    def transp(self, x, y, v):
        """Parallel transport along the geodesic: ``E V Eᵀ``, ``E = (Y X⁻¹)^{1/2}``."""
        s, si = linalg.sqrtm(x), linalg.invsqrtm(x)
        e = s @ linalg.sqrtm(_congr(si, y)) @ si
        return sym(e @ v @ e.transpose(-1, -2))

    def mean_step(self, x, w, g):
        """Karcher flow, unit step: ``G^{1/2} exp(Σ w_i log(G^{-1/2} X_i G^{-1/2})) G^{1/2}``."""
        s, si = linalg.sqrtm(g), linalg.invsqrtm(g)
        return _congr(s, linalg.expm(sym(_wsum(w, linalg.logm(_congr(si, x))))))

    def geodesic(self, x, y, t):
        """``X^{1/2} (X^{-1/2} Y X^{-1/2})^t X^{1/2}``."""
        s, si = linalg.sqrtm(x), linalg.invsqrtm(x)
        return _congr(s, linalg.powm(_congr(si, y), t))

    def to_identity(self, g, x):
        """``log(G^{-1/2} X G^{-1/2})``."""
        return linalg.logm(_congr(linalg.invsqrtm(g), x))

    def from_identity(self, b, w):
        """``B^{1/2} exp(W) B^{1/2}``."""
        return _congr(linalg.sqrtm(b), linalg.expm(w))

    def recenter(self, x, mean, bias=None, factor=None):
        """``B^{1/2} (G^{-1/2} X G^{-1/2})^s B^{1/2}`` (Brooks et al. 2019; Kobler et al. 2022)."""
        y = _congr(linalg.invsqrtm(mean), x)
        if factor is not None:
            y = linalg.powm(y, factor)
        return y if bias is None else _congr(linalg.sqrtm(bias), y)


class SPDLogEuclidean(SPDManifold):
    """Log-Euclidean metric ``g_X(U, V) = ⟨D log_X[U], D log_X[V]⟩`` (Arsigny et al. 2006).

    ``d(X, Y) = ||log X − log Y||_F``; closed-form mean ``exp(Σ w_i log X_i)``.
    """

    name = "SPD(LEM)"
    metric = "lem"

    def inner(self, x, u, v=None, *, keepdim=False):
        """``⟨D log_X[U], D log_X[V]⟩``."""
        du = linalg.eig_kernel_apply(x, u, _DLOG)
        dv = du if v is None else linalg.eig_kernel_apply(x, v, _DLOG)
        return _keep(_frob_inner(du, dv), keepdim)

    def egrad2rgrad(self, x, u):
        """``(D log_X)^{-2}[sym ∇]``."""
        once = linalg.eig_kernel_apply(x, sym(u), _DLOG_INV)
        return linalg.eig_kernel_apply(x, once, _DLOG_INV)

    def expmap(self, x, u):
        """``exp(log X + D log_X[U])``."""
        return linalg.expm(linalg.logm(x) + linalg.eig_kernel_apply(x, u, _DLOG))

    def logmap(self, x, y):
        """``(D log_X)^{-1}[log Y − log X]``."""
        return linalg.eig_kernel_apply(x, linalg.logm(y) - linalg.logm(x), _DLOG_INV)

    def dist2(self, x, y):
        """``||log X − log Y||_F²``."""
        return (linalg.logm(x) - linalg.logm(y)).pow(2).sum((-1, -2))

    def transp(self, x, y, v):
        """Parallel transport (flat in log coordinates): ``(D log_Y)^{-1} D log_X [V]``."""
        return linalg.eig_kernel_apply(y, linalg.eig_kernel_apply(x, v, _DLOG), _DLOG_INV)

    def mean_step(self, x, w, g):
        """The closed-form mean ``exp(Σ w_i log X_i)`` (independent of ``g``)."""
        return linalg.expm(sym(_wsum(w, linalg.logm(x))))

    def frechet_mean(self, x, weights=None, *, tol=None, max_iter=50, init=None,
                     return_iterations=False, warn=True, validate=True):
        """Closed form ``exp(Σ w_i log X_i)`` over dim 0 (one step, exact)."""
        x = linalg.check_spd(x, "x") if validate else x
        mean = self.mean_step(x, _weights(x, weights), None)
        return (mean, 1) if return_iterations else mean

    def geodesic(self, x, y, t):
        """``exp((1 − t) log X + t log Y)``."""
        lx = linalg.logm(x)
        return linalg.expm(lx + t * (linalg.logm(y) - lx))

    def to_identity(self, g, x):
        """``log X − log G``."""
        return linalg.logm(x) - linalg.logm(g)

    def from_identity(self, b, w):
        """``exp(log B + W)``."""
        return linalg.expm(linalg.logm(b) + w)

    def recenter(self, x, mean, bias=None, factor=None):
        """``exp(log B + s (log X − log G))`` (the Log-Euclidean LieBN of Chen et al. 2024)."""
        w = linalg.logm(x) - linalg.logm(mean)
        if factor is not None:
            w = w * factor
        return linalg.expm(w if bias is None else linalg.logm(bias) + w)


# ---------------------------------------------------------------------------------------------
# Bures–Wasserstein
# ---------------------------------------------------------------------------------------------


def bw_dist2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``tr X + tr Y − 2 tr (X^{1/2} Y X^{1/2})^{1/2}`` (≥ 0), ``(...)``."""
    s = linalg.sqrtm(x)
    d2 = _trace(x) + _trace(y) - 2 * _trace(linalg.sqrtm(_congr(s, y)))
    return d2.clamp_min(0)


def bw_exp(p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``(I + L_P[V]) P (I + L_P[V])`` (a geodesic while ``I + L_P[V] ≻ 0``)."""
    a = linalg.lyapunov(p, v)
    a = a + torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    return _congr(a, p)


def bw_log(p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``C + Cᵀ − 2P``, ``C = P^{1/2} (P^{1/2} X P^{1/2})^{1/2} P^{-1/2}`` (= (PX)^{1/2})."""
    s, si = linalg.sqrtm(p), linalg.invsqrtm(p)
    c = s @ linalg.sqrtm(_congr(s, x)) @ si
    return c + c.transpose(-1, -2) - 2 * p


def bw_to_identity(p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Closed-form transport ``T_P → T_I`` (P and I commute): ``√(2/(σ_i+σ_j))`` in P's basis."""
    return linalg.eig_kernel_apply(p, v, _TO_ID)


def bw_from_identity(p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Closed-form transport ``T_I → T_P``: ``√((σ_i+σ_j)/2)`` in P's eigenbasis."""
    return linalg.eig_kernel_apply(p, v, _FROM_ID)


def bw_barycenter_step(x: torch.Tensor, w: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """One fixed-point step ``G^{-1/2} (Σ w_i (G^{1/2} X_i G^{1/2})^{1/2})² G^{-1/2}``."""
    s, si = linalg.sqrtm(g), linalg.invsqrtm(g)
    inner = _wsum(w, linalg.sqrtm(_congr(s, x)))
    return _congr(si, inner @ inner)


class SPDBuresWasserstein(SPDManifold):
    """Bures–Wasserstein metric ``g_P(U, V) = ½ tr(L_P[U] V)``, ``P L + L P = U``.

    ``d²(X, Y) = tr X + tr Y − 2 tr (X^{1/2} Y X^{1/2})^{1/2}`` (the 2-Wasserstein distance of
    centred Gaussians), invariant under orthogonal congruence.  ``expmap`` is
    ``(I + L_P[V]) P (I + L_P[V])`` (a geodesic while ``I + L_P[V] ≻ 0``; BW is incomplete),
    ``transp`` goes through the identity with the closed commuting-case transports (exact
    parallel transport when ``x`` and ``y`` commute; an isometric vector transport otherwise).
    Mean: the barycentre fixed point of Álvarez-Esteban et al. (2016).
    """

    name = "SPD(BW)"
    metric = "bw"
    complete = False  # Exp_P(V) is singular where I + L_P[V] is

    def inner(self, x, u, v=None, *, keepdim=False):
        """``½ tr(L_X[U] V)``."""
        v = u if v is None else v
        return _keep(0.5 * _frob_inner(linalg.lyapunov(x, u), v), keepdim)

    def egrad2rgrad(self, x, u):
        """``2 (X G + G X)`` with ``G = sym(∇)`` (so that ``g_X(rgrad, V) = ⟨∇, V⟩``)."""
        g = sym(u)
        return 2 * (x @ g + g @ x)

    def expmap(self, x, u):
        """``(I + L_X[U]) X (I + L_X[U])``."""
        return bw_exp(x, u)

    def logmap(self, x, y):
        """``(XY)^{1/2} + (YX)^{1/2} − 2X``."""
        return bw_log(x, y)

    def dist2(self, x, y):
        """Squared BW distance."""
        return bw_dist2(x, y)

    def transp(self, x, y, v):
        """``Γ_{I→Y} Γ_{X→I} V`` (closed commuting-case transports)."""
        return bw_from_identity(y, bw_to_identity(x, v))

    def mean_step(self, x, w, g):
        """The barycentre fixed point of Álvarez-Esteban et al. (2016, Thm 4.2)."""
        return bw_barycenter_step(x, w, g)

    def geodesic(self, x, y, t):
        """``(1−t)² X + t² Y + t(1−t)[(XY)^{1/2} + (YX)^{1/2}]``."""
        return sym(self.expmap(x, t * bw_log(x, y)))

    def to_identity(self, g, x):
        """``Γ_{G→I} Log_G X`` with the closed commuting-case transport."""
        return bw_to_identity(g, bw_log(g, x))

    def from_identity(self, b, w):
        """``(I + L_B[Γ_{I→B} W]) B (I + L_B[Γ_{I→B} W])``."""
        a = linalg.eig_kernel_apply(b, w, _LYAP_FROM_ID)
        a = a + torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
        return _congr(a, b)


class SPDGeneralizedBuresWasserstein(SPDManifold):
    """Generalized BW metric with SPD parameter ``M`` and power deformation ``θ``.

    Defined as the pull-back of BW by ``ψ(X) = M^{-1/2} X^θ M^{-1/2}`` scaled by ``θ⁻²``
    (Han et al. 2021, §3: ``ψ`` is an isometry GBW_M → BW for θ = 1; power deformation as in
    GBWBN, Wang et al. CVPR 2025, §4).  ``d(X, Y) = |θ|⁻¹ d_BW(ψX, ψY)``; every operation is
    ``ψ⁻¹ ∘ (BW operation) ∘ ψ`` with ``dψ`` on tangent vectors.  ``M = I, θ = 1`` is BW.

    Args:
        m: SPD ``(n, n)`` metric parameter (stored as a buffer), ``None`` for the identity.
        theta: non-zero power.

    """

    name = "SPD(GBW)"
    metric = "gbw"
    complete = False

    def __init__(self, m: torch.Tensor | None = None, theta: float | torch.Tensor = 1.0):
        super().__init__()
        if isinstance(theta, torch.Tensor) and theta.requires_grad:
            if theta.numel() != 1:
                raise ValueError(f"theta must be a scalar, got shape {tuple(theta.shape)}")
            self._theta_fixed = None  # a learnable power (GBWBN's θ)
        else:
            theta = float(theta)
            if not torch.compiler.is_compiling() and (not theta != 0
                                                      or not math.isfinite(theta)):
                raise ValueError(f"theta must be a finite non-zero float, got {theta}")
            self._theta_fixed = theta
        self.theta = theta
        if m is not None:
            if not (isinstance(m, torch.Tensor) and m.requires_grad):
                m = linalg.check_spd(m, "m")
            if m.dim() != 2:
                raise ValueError(f"m must have shape (n, n), got {tuple(m.shape)}")
        self.register_buffer("m", m)
        self._mh_cache = None

    def _theta_one(self) -> bool:
        return self._theta_fixed == 1.0

    def _theta_for(self, x):
        return self.theta if self._theta_fixed is not None else self.theta.to(x.dtype)

    def _mh(self, x):
        """(M^{1/2}, M^{-1/2}) following x's dtype/device, or None for the identity."""
        if self.m is None:
            return None
        if torch.compiler.is_compiling():
            m = self.m.to(dtype=x.dtype, device=x.device)
            return linalg.sqrtm(m), linalg.invsqrtm(m)
        key = (self.m.data_ptr(), self.m._version, x.dtype, x.device, torch.is_grad_enabled())
        if self._mh_cache is None or self._mh_cache[0] != key:
            m = self.m.to(dtype=x.dtype, device=x.device)
            self._mh_cache = (key, (linalg.sqrtm(m), linalg.invsqrtm(m)))
        return self._mh_cache[1]

    def psi(self, x: torch.Tensor) -> torch.Tensor:
        """``M^{-1/2} X^θ M^{-1/2}`` (the isometry onto BW, Han et al. 2021, §3)."""
        y = x if self._theta_one() else linalg.powm(x, self._theta_for(x))
        mh = self._mh(x)
        return y if mh is None else _congr(mh[1], y)

    def psi_inv(self, z: torch.Tensor) -> torch.Tensor:
        """``(M^{1/2} Z M^{1/2})^{1/θ}``."""
        mh = self._mh(z)
        y = z if mh is None else _congr(mh[0], z)
        return y if self._theta_one() else linalg.powm(y, 1.0 / self._theta_for(z))

    def _pow_kernel(self, inverse=False):
        return LoewnerKernel("pow", float(self.theta), inverse=inverse)

    def dpsi(self, x, u):
        """``dψ_X[U] = M^{-1/2} D(·)^θ_X[U] M^{-1/2}``."""
        if not self._theta_one():
            u = linalg.eig_kernel_apply(x, u, self._pow_kernel())
        mh = self._mh(x)
        return u if mh is None else _congr(mh[1], u)

    def dpsi_inv(self, x, a):
        """``(dψ_X)^{-1}[A]``."""
        mh = self._mh(x)
        a = a if mh is None else _congr(mh[0], a)
        if not self._theta_one():
            a = linalg.eig_kernel_apply(x, a, self._pow_kernel(inverse=True))
        return a

    def _dpsi_adjoint_inv(self, x, g):
        if not self._theta_one():
            g = linalg.eig_kernel_apply(x, g, self._pow_kernel(inverse=True))
        mh = self._mh(x)
        return g if mh is None else _congr(mh[0], g)

    # the isometric chart: every GBW operation is ψ⁻¹ ∘ (BW operation) ∘ ψ
    @property
    def base(self) -> SPDManifold:
        """Bures–Wasserstein: ψ maps GBW onto it (distances scaled by ``|θ|``)."""
        return _BW

    @property
    def variance_scale(self):
        """``θ⁻²``."""
        return 1.0 / self.theta**2

    def chart(self, x):
        """``ψ(X)``."""
        return self.psi(x)

    def chart_inv(self, z):
        """``ψ⁻¹(Z)``."""
        return self.psi_inv(z)

    def geodesic(self, x, y, t):
        """``ψ⁻¹`` of the BW geodesic between ``ψX`` and ``ψY``."""
        return self.psi_inv(_BW.geodesic(self.psi(x), self.psi(y), t))

    def recenter(self, x, mean, bias=None, factor=None):
        """``ψ⁻¹`` of the BW batch normalisation of ``ψX`` (GBWBN, Wang et al. 2025, §4)."""
        b = None if bias is None else self.psi(bias)
        return self.psi_inv(_BW.recenter(self.psi(x), self.psi(mean), b, factor))

    def inner(self, x, u, v=None, *, keepdim=False):
        """``θ⁻² g^BW_{ψX}(dψ U, dψ V)``."""
        z = self.psi(x)
        du = self.dpsi(x, u)
        dv = du if v is None else self.dpsi(x, v)
        return _keep(0.5 * _frob_inner(linalg.lyapunov(z, du), dv) * self.variance_scale,
                     keepdim)

    def egrad2rgrad(self, x, u):
        """``(dψ)^{-1}[2θ² (Z H + H Z)]``, ``Z = ψX``, ``H = (dψ*)^{-1}[sym ∇]``."""
        z = self.psi(x)
        h = self._dpsi_adjoint_inv(x, sym(u))
        return self.dpsi_inv(x, 2 * self.theta**2 * (z @ h + h @ z))

    def expmap(self, x, u):
        """``ψ⁻¹(Exp^BW_{ψX}(dψ_X U))``."""
        return self.psi_inv(bw_exp(self.psi(x), self.dpsi(x, u)))

    def logmap(self, x, y):
        """``(dψ_X)^{-1} Log^BW_{ψX}(ψY)``."""
        return self.dpsi_inv(x, bw_log(self.psi(x), self.psi(y)))

    def dist2(self, x, y):
        """``θ⁻² d²_BW(ψX, ψY)``."""
        return bw_dist2(self.psi(x), self.psi(y)) * self.variance_scale

    def transp(self, x, y, v):
        """``(dψ_Y)^{-1} Γ^BW_{ψX→ψY} dψ_X[V]``."""
        moved = bw_from_identity(self.psi(y), bw_to_identity(self.psi(x), self.dpsi(x, v)))
        return self.dpsi_inv(y, moved)

    def mean_step(self, x, w, g):
        """``ψ⁻¹`` of one BW barycentre step in ψ coordinates."""
        return self.psi_inv(_BW.mean_step(self.psi(x), w, self.psi(g)))

    def frechet_mean(self, x, weights=None, *, tol=None, max_iter=50, init=None,
                     return_iterations=False, warn=True, validate=True):
        """``ψ⁻¹`` of the BW barycentre of ``ψ(x_i)`` (ψ is an isometry up to ``θ⁻²``)."""
        x = linalg.check_spd(x, "x") if validate else x
        z0 = None if init is None else self.psi(init)
        out = _BW.frechet_mean(self.psi(x), weights, tol=tol, max_iter=max_iter, init=z0,
                               return_iterations=True, warn=warn, validate=False)
        mean = self.psi_inv(out[0])
        return (mean, out[1]) if return_iterations else mean

    def extra_repr(self) -> str:
        """Metric, θ and whether M is the identity."""
        return f"metric='gbw', theta={float(self.theta)}, m={'I' if self.m is None else 'SPD'}"


_BW = SPDBuresWasserstein()


def spd_manifold(metric: str, **kwargs) -> SPDManifold:
    """Factory: ``"aim" | "lem" | "bw" | "gbw"`` → manifold instance (kwargs go to GBW).

    >>> spd_manifold("aim")
    SPD(AIM)(metric='aim') manifold
    """
    table = {"aim": SPDAffineInvariant, "lem": SPDLogEuclidean, "bw": SPDBuresWasserstein,
             "gbw": SPDGeneralizedBuresWasserstein}
    if metric not in table:
        raise ValueError(f"metric must be one of {sorted(table)}, got {metric!r}")
    return table[metric](**kwargs)
