"""The Grassmann manifold Gr(n, p) in the orthonormal-basis representation, as a geoopt manifold.

A point is the column span of ``X`` ``(..., n, p)`` with ``XᵀX = I``; ``X`` and ``XQ`` (``Q``
orthogonal) are the same point. Tangent vectors are horizontal lifts ``U`` with ``XᵀU = 0`` and the
metric is ``⟨U, V⟩ = tr(UᵀV)`` (Edelman, Arias & Smith, "The geometry of algorithms with
orthogonality constraints", SIAM J. Matrix Anal. Appl. 1998, §2.5; Bendokat, Zimmermann & Absil,
"A Grassmann manifold handbook", arXiv 2011.13699, §3-§5).

The geodesic formulas are written without an SVD: with ``S = UᵀU`` (p×p, eigenvalues σ_i²),

* ``Exp_X(U) = X cos(√S) + U sinc(√S)``,
* ``Log_X(Y) = M atan(√(MᵀM))/√(MᵀM)`` with ``M = (I − XXᵀ) Y (XᵀY)⁻¹``,
* parallel transport along ``t ↦ Exp_X(tH)`` to ``t = 1``:
  ``Δ ↦ Δ + H c(HᵀH) HᵀΔ − X sinc(√(HᵀH)) HᵀΔ``, ``c(λ) = (cos√λ − 1)/λ``
  (Edelman et al. Thm 2.4 rewritten as functions of ``HᵀH``),

each function entire or smooth in the eigenvalue, applied through one ``eigh`` with a
Daleckii–Krein backward, so gradients stay finite when principal angles coincide (where the
SVD-based formulas divide by ``σ_i − σ_j``).
"""

from __future__ import annotations

import math
import warnings

import geoopt
import torch

from geomlayers.linalg import NonFiniteError, check_finite, spectral_fn
from geomlayers.linalg import config as linalg_config

__all__ = [
    "Grassmann",
    "exp_identity",
    "grassmann_identity",
    "gyro_translate",
    "log_identity",
    "qr_positive",
    "spectral_fn",
    "check_basis",
]


def _sqrt_pos(lam):
    return lam.clamp_min(0.0).sqrt()


def _series_or(lam, small, exact, cut):
    """``exact(lam)`` where ``|lam| > cut``, the Taylor polynomial ``small(lam)`` elsewhere."""
    near = lam.abs() <= cut
    return torch.where(near, small(lam), exact(torch.where(near, torch.ones_like(lam), lam)))


def _cos_sqrt(lam):
    return torch.cos(_sqrt_pos(lam))


def _d_cos_sqrt(lam):  # d/dλ cos√λ = −sinc(√λ)/2
    return -0.5 * _sinc_sqrt(lam)


def _sinc_sqrt(lam):  # sin(√λ)/√λ
    return _series_or(lam, lambda x: 1 - x / 6 + x * x / 120 - x ** 3 / 5040,
                      lambda x: torch.sin(_sqrt_pos(x)) / _sqrt_pos(x), 1e-3)


def _d_sinc_sqrt(lam):  # (cos√λ − sinc√λ) / (2λ)
    return _series_or(lam, lambda x: -1 / 6 + x / 60 - x * x / 1680 + x ** 3 / 90720,
                      lambda x: (torch.cos(_sqrt_pos(x)) - _sinc_sqrt(x)) / (2 * x), 1e-2)


def _cosm1_over(lam):  # (cos√λ − 1)/λ
    return _series_or(lam, lambda x: -0.5 + x / 24 - x * x / 720 + x ** 3 / 40320,
                      lambda x: (torch.cos(_sqrt_pos(x)) - 1) / x, 1e-2)


def _d_cosm1_over(lam):  # (−sinc(√λ)/2 − c(λ)) / λ
    return _series_or(lam, lambda x: 1 / 24 - x / 360 + x * x / 13440 - x ** 3 / 907200,
                      lambda x: (-0.5 * _sinc_sqrt(x) - _cosm1_over(x)) / x, 3e-2)


def _atan_sqrt_over(lam):  # atan(√λ)/√λ
    return _series_or(lam, lambda x: 1 - x / 3 + x * x / 5 - x ** 3 / 7,
                      lambda x: torch.atan(_sqrt_pos(x)) / _sqrt_pos(x), 1e-4)


def _d_atan_sqrt_over(lam):  # (1/(1+λ) − atan(√λ)/√λ) / (2λ)
    return _series_or(lam, lambda x: -1 / 3 + 2 * x / 5 - 3 * x * x / 7 + 4 * x ** 3 / 9,
                      lambda x: (1 / (1 + x) - _atan_sqrt_over(x)) / (2 * x), 1e-4)


# ---------------------------------------------------------------------------------------------
# QR with a positive diagonal (unique), used by retr / projx / ReOrth
# ---------------------------------------------------------------------------------------------

def qr_positive(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Thin QR ``x = QR`` of ``(..., n, p)``, ``n ≥ p``, with ``diag(R) > 0`` (Gram–Schmidt's)."""
    q, r = torch.linalg.qr(x)
    sign = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    return q * sign.unsqueeze(-2), r * sign.unsqueeze(-1)


def grassmann_identity(n: int, p: int, *, dtype=None, device=None) -> torch.Tensor:
    """The base point ``Ĩ = [I_p; 0]`` ``(n, p)`` (span of the first p coordinate axes)."""
    return torch.eye(n, p, dtype=dtype, device=device)


# ---------------------------------------------------------------------------------------------
# The manifold
# ---------------------------------------------------------------------------------------------

def _t(x: torch.Tensor) -> torch.Tensor:
    return x.transpose(-1, -2)


def check_basis(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """Refuse anything but orthonormal bases ``(..., n, p)``, ``n ≥ p`` (``XᵀX = I``).

    ``max|XᵀX − I|`` must be at most ``eps(dtype)^0.3`` (2e-5 in float64, 9e-3 in float32:
    loose enough for finite-difference checks and float32 training, tight enough to refuse a
    scaled, shifted or rank-deficient basis).  Skipped while ``torch.compile`` traces and
    when ``linalg.config.validate`` is off.  Raises ``TypeError`` / ``ValueError`` naming
    ``name`` and the fix.
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point torch.Tensor (..., n, p), "
                        f"got {type(x).__name__}")
    if x.dim() < 2 or x.shape[-2] < x.shape[-1]:
        raise ValueError(f"{name} must have shape (..., n, p) with n >= p, got {tuple(x.shape)}")
    if not linalg_config.validate or torch.compiler.is_compiling() or x.numel() == 0:
        return x
    xd = x.detach()
    if not bool(torch.isfinite(xd).all()):
        raise NonFiniteError(f"{name} contains NaN or infinite entries")
    eye = torch.eye(x.shape[-1], dtype=x.dtype, device=x.device)
    off = (_t(xd) @ xd - eye).abs().amax()
    tol = torch.finfo(x.dtype).eps ** 0.3
    if not float(off) <= tol:
        raise ValueError(f"{name} must have orthonormal columns (XᵀX = I): max |XᵀX − I| is "
                         f"{float(off):.2e} > {tol:.1e}; orthonormalise with Grassmann().projx("
                         f"{name}) (a rank-deficient basis spans no p-dimensional subspace)")
    return x


class Grassmann(geoopt.Manifold):
    r"""Grassmann manifold ``Gr(n, p)``: ``p``-dimensional subspaces of ``ℝⁿ`` as orthonormal bases.

    Points ``(..., n, p)`` with ``XᵀX = I`` (any orthonormal basis of the subspace); tangent vectors
    ``(..., n, p)`` with ``XᵀU = 0``; metric ``tr(UᵀV)`` (half the Frobenius metric of the
    projectors). geoopt's optimisers work unchanged on a ``geoopt.ManifoldParameter(x,
    manifold=Grassmann())``.

    Verbs: ``projx`` (positive-diagonal QR), ``proju`` / ``egrad2rgrad`` (``U − X XᵀU``), ``retr``
    (QR of ``X + U``), ``expmap`` / ``logmap`` (geodesics), ``dist`` (2-norm of the principal
    angles), ``transp`` (parallel transport along the minimising geodesic),
    ``frechet_mean`` (Karcher flow). References: module docstring.

    >>> import torch
    >>> gr = Grassmann()
    >>> x, y = gr.random(2, 5, 2, dtype=torch.float64)
    >>> bool(torch.allclose(gr.dist(x, gr.expmap(x, gr.logmap(x, y)) ), gr.dist(x, y)))
    True
    """

    name = "Grassmann"
    ndim = 2
    reversible = False

    # -- checks ------------------------------------------------------------------------------
    def _check_shape(self, shape, name):
        ok, reason = super()._check_shape(shape, name)
        if ok and shape[-2] < shape[-1]:
            return False, f"`{name}` must have n >= p, got shape (..., {shape[-2]}, {shape[-1]})"
        return ok, reason

    def _check_point_on_manifold(self, x, *, atol=1e-5, rtol=1e-5):
        eye = torch.eye(x.shape[-1], dtype=x.dtype, device=x.device)
        if not torch.allclose(_t(x) @ x, eye, atol=atol, rtol=rtol):
            return False, f"`XᵀX != I` with atol={atol}, rtol={rtol}"
        return True, None

    def _check_vector_on_tangent(self, x, u, *, atol=1e-5, rtol=1e-5):
        if not torch.allclose(_t(x) @ u, torch.zeros((), dtype=x.dtype, device=x.device),
                              atol=atol, rtol=rtol):
            return False, f"`XᵀU != 0` with atol={atol}, rtol={rtol}"
        return True, None

    # -- projections -------------------------------------------------------------------------
    def projx(self, x: torch.Tensor) -> torch.Tensor:
        """Orthonormal basis of the span of ``x`` (full column rank) by positive-diagonal QR."""
        return qr_positive(x)[0]

    def proju(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Horizontal projection ``U − X XᵀU``."""
        return u - x @ (_t(x) @ u)

    egrad2rgrad = proju

    def inner(self, x, u, v=None, *, keepdim=False) -> torch.Tensor:
        """``tr(UᵀV)``."""
        v = u if v is None else v
        return (u * v).sum(dim=(-1, -2), keepdim=keepdim)

    def component_inner(self, x, u, v=None) -> torch.Tensor:
        """Elementwise ``U ⊙ V`` (the metric is the Euclidean one on horizontal vectors)."""
        return u * (u if v is None else v)

    def norm(self, x, u, *, keepdim=False) -> torch.Tensor:
        """Frobenius norm of the horizontal vector."""
        return u.pow(2).sum(dim=(-1, -2), keepdim=keepdim).sqrt()

    # -- geodesics ---------------------------------------------------------------------------
    def retr(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """QR retraction ``qf(X + U)`` (Absil, Mahony & Sepulchre 2008, Ex. 4.1.3)."""
        return qr_positive(x + u)[0]

    def expmap(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """``Exp_X(U) = X cos(√(UᵀU)) + U sinc(√(UᵀU))`` (Edelman et al. 1998, Thm 2.3)."""
        s = _t(u) @ u
        return x @ spectral_fn(s, _cos_sqrt, _d_cos_sqrt) + u @ spectral_fn(
            s, _sinc_sqrt, _d_sinc_sqrt)

    def logmap(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Horizontal ``U`` with ``Exp_X(U) = span(Y)``, all principal angles < π/2.

        ``M = (I − XXᵀ) Y (XᵀY)⁻¹``, ``Log = M atan(√(MᵀM))/√(MᵀM)`` (Edelman et al. 1998, §2.5.4;
        ``XᵀY`` must be invertible, i.e. ``Y`` not on the cut locus of ``X``: a ``ValueError``
        names that precondition when a principal angle is π/2 to working precision).
        """
        check_basis(x, "x")
        check_basis(y, "y")
        xty = _t(x) @ y
        if linalg_config.validate and not torch.compiler.is_compiling() and xty.numel():
            cos = torch.linalg.svdvals(xty.detach())[..., -1]
            limit = 10 * x.shape[-2] * torch.finfo(x.dtype).eps
            if bool((cos <= limit).any()):
                raise ValueError("logmap(x, y) needs every principal angle between span(x) and "
                                 "span(y) below pi/2 (XᵀY invertible): y lies on the cut locus "
                                 f"of x (smallest cos of a principal angle {float(cos.min()):.1e})"
                                 "; the geodesic there is not unique (dist is still defined)")
        m = _t(torch.linalg.solve(_t(xty), _t(y - x @ xty)))
        return m @ spectral_fn(_t(m) @ m, _atan_sqrt_over, _d_atan_sqrt_over)

    def principal_angles(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Principal angles ``(..., p)`` in ``[0, π/2]``, ascending (Björck & Golub 1973).

        ``θ_i = atan2(s_i, c_i)`` with ``c`` the singular values of ``XᵀY`` (descending) and ``s``
        those of ``(I − XXᵀ)Y`` (ascending): accurate for small and for near-right angles.
        """
        check_basis(x, "x")
        check_basis(y, "y")
        xty = _t(x) @ y
        cos = torch.linalg.svdvals(xty)
        sin = torch.linalg.svdvals(y - x @ xty).flip(-1)
        return torch.atan2(sin, cos)

    def dist(self, x: torch.Tensor, y: torch.Tensor, *, keepdim=False) -> torch.Tensor:
        """Geodesic distance ``‖θ‖₂`` (θ: principal angles)."""
        theta = self.principal_angles(x, y)
        out = theta.pow(2).sum(-1).sqrt()
        return out[..., None, None] if keepdim else out

    def dist2(self, x: torch.Tensor, y: torch.Tensor, *, keepdim=False) -> torch.Tensor:
        """``‖θ‖₂²``."""
        out = self.principal_angles(x, y).pow(2).sum(-1)
        return out[..., None, None] if keepdim else out

    # -- transport ---------------------------------------------------------------------------
    def transp_follow_expmap(self, x: torch.Tensor, u: torch.Tensor, v: torch.Tensor
                             ) -> torch.Tensor:
        """Parallel transport of ``v`` along ``t ↦ Exp_X(tU)`` to ``t = 1``.

        The result is the horizontal lift at the basis ``expmap(x, u)`` (Edelman et al. 1998,
        Thm 2.4).
        """
        s = _t(u) @ u
        utv = _t(u) @ v
        return (v + u @ (spectral_fn(s, _cosm1_over, _d_cosm1_over) @ utv)
                - x @ (spectral_fn(s, _sinc_sqrt, _d_sinc_sqrt) @ utv))

    def transp(self, x: torch.Tensor, y: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Parallel transport of ``v ∈ T_X`` to ``T_Y`` along the minimising geodesic.

        The result is the horizontal lift at the given basis ``y`` (``YᵀV = 0``).
        """
        u = self.logmap(x, y)
        moved = self.transp_follow_expmap(x, u, v)
        rotation = _t(self.expmap(x, u)) @ y  # orthogonal: basis change to the given y
        return moved @ rotation

    def expmap_transp(self, x, u, v):
        """``(Exp_X(U), parallel transport of V along it)``."""
        return self.expmap(x, u), self.transp_follow_expmap(x, u, v)

    def retr_transp(self, x, u, v):
        """QR retraction with projection vector transport (what the optimisers call)."""
        y = self.retr(x, u)
        return y, self.proju(y, v)

    def transp_follow_retr(self, x, u, v):
        """Projection vector transport to ``retr(x, u)``."""
        return self.proju(self.retr(x, u), v)

    # -- means and sampling --------------------------------------------------------------------
    def frechet_mean(self, x: torch.Tensor, weights: torch.Tensor | None = None, *,
                     max_iter: int = 50, tol: float | None = None,
                     warn: bool = True) -> torch.Tensor:
        """Karcher mean of ``x`` ``(N, n, p)`` by Riemannian gradient descent (Karcher flow).

        ``G ← Exp_G(Σ w_i Log_G X_i)`` from the extrinsic (projector) mean's top-p eigenvectors
        until ``‖Σ w_i Log_G X_i‖ ≤ tol`` (default ``√eps``) or ``max_iter`` iterations;
        stopping at ``max_iter`` above ``tol`` issues a
        :class:`~geomlayers.manifolds.spd.ConvergenceWarning` with the iteration count and the
        residual (unless ``warn=False``).
        """
        from geomlayers.manifolds.spd_base import ConvergenceWarning

        if not isinstance(x, torch.Tensor) or x.dim() != 3:
            raise ValueError(f"x must have shape (N, n, p), got {tuple(getattr(x, 'shape', ()))}")
        check_finite(x, "x")
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {max_iter}")
        w = (torch.full((x.shape[0],), 1.0 / x.shape[0], dtype=x.dtype, device=x.device)
             if weights is None else weights / weights.sum())
        tol = float(torch.finfo(x.dtype).eps) ** 0.5 if tol is None else tol
        projectors = torch.einsum("i,inp,imp->nm", w, x, x)
        g = torch.linalg.eigh(projectors)[1][:, -x.shape[-1]:].flip(-1)
        residual, it = math.inf, 0
        for it in range(1, max_iter + 1):  # noqa: B007
            step = (w[:, None, None] * self.logmap(g.expand_as(x), x)).sum(0)
            g = self.expmap(g, step)
            residual = float(step.norm())
            if residual <= tol:
                break
        if warn and not residual <= tol:
            warnings.warn(f"{self.name} Fréchet mean did not converge: residual "
                          f"‖Σ w Log_G X‖ {residual:.2e} > tol {tol:.1e} after max_iter={it} "
                          "iterations (raise max_iter or tol)", ConvergenceWarning, stacklevel=2)
        return g

    def random(self, *size, dtype=None, device=None, generator=None) -> torch.Tensor:
        """Haar-uniform points: Q factor of a Gaussian ``(..., n, p)`` matrix."""
        shape = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        self._assert_check_shape(tuple(shape), "x")
        gauss = torch.randn(*shape, dtype=dtype, device=device, generator=generator)
        return qr_positive(gauss)[0]

    def origin(self, *size, dtype=None, device=None, seed=42) -> torch.Tensor:
        """``[I_p; 0]`` broadcast to ``size``."""
        shape = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        self._assert_check_shape(tuple(shape), "x")
        return torch.eye(shape[-2], shape[-1], dtype=dtype, device=device).expand(*shape).clone()


# ---------------------------------------------------------------------------------------------
# Gyrovector structure at the identity Ĩ = [I_p; 0] (Nguyen & Yang, ICML 2023, §3.2; Chen et al.,
# GyroBN, ICLR 2025, §5.1): a tangent vector at Ĩ is [0; B] with B (n−p)×p, and
# Exp_Ĩ([0; B]) = exp(Ω_B) Ĩ with the skew matrix Ω_B = [[0, −Bᵀ], [B, 0]].
# ---------------------------------------------------------------------------------------------

def _split(y: torch.Tensor, p: int) -> tuple[torch.Tensor, torch.Tensor]:
    return y[..., :p, :], y[..., p:, :]


def gyro_translate(b: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``exp(Ω_B) Y`` for ``B`` ``(..., n−p, p)`` and ``Y`` ``(..., n, k)``, without the n×n exp.

    With ``c = cos√(BᵀB)``, ``s = sinc√(BᵀB)``, ``f = (cos√(BᵀB) − I)(BᵀB)⁻¹`` (p×p spectral
    functions): ``exp(Ω_B) = [[c, −s Bᵀ], [B s, I + B f Bᵀ]]``. With ``P = exp_identity(B)`` this
    is the gyro-addition ``P ⊕ Y``; ``gyro_translate(−B, ·)`` is ``⊖P ⊕ ·`` (Nguyen & Yang 2023,
    Def. 3.6 in the ONB form of Chen et al. 2025, App. C).
    """
    p = b.shape[-1]
    s_mat = _t(b) @ b
    c = spectral_fn(s_mat, _cos_sqrt, _d_cos_sqrt)
    s = spectral_fn(s_mat, _sinc_sqrt, _d_sinc_sqrt)
    f = spectral_fn(s_mat, _cosm1_over, _d_cosm1_over)
    y1, y2 = _split(y, p)
    bty2 = _t(b) @ y2
    top = c @ y1 - s @ bty2
    bottom = b @ (s @ y1) + y2 + b @ (f @ bty2)
    return torch.cat([top, bottom], dim=-2)


def exp_identity(b: torch.Tensor) -> torch.Tensor:
    """``Exp_Ĩ([0; B]) = [cos√(BᵀB); B sinc√(BᵀB)]`` ``(..., n, p)`` for ``B`` ``(..., n−p, p)``."""
    s_mat = _t(b) @ b
    return torch.cat([spectral_fn(s_mat, _cos_sqrt, _d_cos_sqrt),
                      b @ spectral_fn(s_mat, _sinc_sqrt, _d_sinc_sqrt)], dim=-2)


def log_identity(y: torch.Tensor) -> torch.Tensor:
    """The block ``B`` of ``Log_Ĩ(Y) = [0; B]`` ``(..., n−p, p)``; invariant to ``Y → YQ``.

    ``M = Y₂ Y₁⁻¹``, ``B = M atan(√(MᵀM))/√(MᵀM)`` (``Y₁`` = first p rows, invertible unless the
    span of ``Y`` is on the cut locus of Ĩ).
    """
    p = y.shape[-1]
    y1, y2 = _split(y, p)
    m = _t(torch.linalg.solve(_t(y1), _t(y2)))
    return m @ spectral_fn(_t(m) @ m, _atan_sqrt_over, _d_atan_sqrt_over)
