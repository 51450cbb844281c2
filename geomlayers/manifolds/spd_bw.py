"""Bures–Wasserstein and generalized BW SPD metrics (see :mod:`geomlayers.manifolds.spd`).

References: Bhatia, Jain & Lim, Expo. Math. 2019; Álvarez-Esteban et al., J. Math. Anal. Appl.
2016, Thm 4.2 (barycentre fixed point); Han, Mishra, Jawanpuria & Gao, arXiv 2110.10464, §3
(GBW and the isometry ψ); Wang et al., GBWBN, CVPR 2025, §4 (power deformation).
"""

from __future__ import annotations

import math

import torch

from geomlayers import linalg
from geomlayers.linalg import LoewnerKernel, sym
from geomlayers.manifolds.spd_base import (
    _FROM_ID,
    _LYAP_FROM_ID,
    _TO_ID,
    SPDManifold,
    _congr,
    _frob_inner,
    _keep,
    _trace,
    _wsum,
)

__all__ = [
    "SPDBuresWasserstein",
    "SPDGeneralizedBuresWasserstein",
    "bw_barycenter_step",
    "bw_dist2",
    "bw_exp",
    "bw_from_identity",
    "bw_log",
    "bw_to_identity",
]


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
