"""Symmetric matrix functions with eigenvalue-stable gradients.

Every function here takes a batch of symmetric matrices ``(..., n, n)`` and works through one
batched ``torch.linalg.eigh``.  The backward pass is the Daleckii–Krein formula

    ∂ℓ/∂X = U (L ∘ (Uᵀ sym(∂ℓ/∂F) U)) Uᵀ,   L_ij = (f(σ_i) − f(σ_j)) / (σ_i − σ_j),

with the divided difference replaced by the derivative ``f'`` at the midpoint when two
eigenvalues are (nearly) equal (Daleckii & Krein 1965; Ionescu, Vantzos & Sminchisescu,
"Matrix backpropagation for deep networks with structured layers", ICCV 2015, §4; Brooks et al.,
NeurIPS 2019, §3).  It stays finite for exactly repeated eigenvalues, where the textbook
``1/(σ_i − σ_j)`` eigenvector gradient is infinite.

:func:`eig_kernel_apply` covers the other operator that SPD geometry needs: ``W ↦ U (K ∘ UᵀWU) Uᵀ``
with a kernel ``K_ij = k(σ_i, σ_j)`` of the eigenvalues of a matrix ``P`` (the Lyapunov solve of the
Bures–Wasserstein metric, its closed-form transports, the differentials of ``log``/``exp``/powers).
Its gradient with respect to ``P`` uses first divided differences of ``k`` (second-order
Daleckii–Krein), again with the derivative on (near-)ties.

All thresholds live in one object, :data:`config` (a :class:`SpectralConfig`), per dtype.

>>> import torch
>>> x = torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
>>> torch.allclose(sqrtm(x) @ sqrtm(x), x)
True
>>> torch.allclose(expm(logm(x)), x)
True
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import torch
from torch.autograd.function import once_differentiable

__all__ = [
    "SpectralConfig",
    "config",
    "sym",
    "sqrtm",
    "invsqrtm",
    "logm",
    "expm",
    "powm",
    "clampm",
    "spectral_apply",
    "eig_kernel_apply",
    "lyapunov",
    "Kernel",
    "SumPowerKernel",
    "LoewnerKernel",
    "check_spd",
    "floorm",
    "EigenvalueFloorWarning",
]


class EigenvalueFloorWarning(UserWarning):
    """A spectral function floored an eigenvalue by more than rounding (a singular input)."""


def _eps(dtype: torch.dtype) -> float:
    return float(torch.finfo(dtype).eps)


@dataclass
class SpectralConfig:
    """Thresholds of every spectral operation, per dtype (one object: :data:`config`).

    Attributes:
        eig_floor: relative floor ``r``: before ``log``, ``sqrt``, inverse square root and
            powers, the eigenvalues of each matrix are clamped at ``r · n · max|σ|`` (its own
            scale, so ``f(cX)`` follows ``f``'s scaling law for every ``c > 0``: e.g.
            ``logm(cX) = log c · I + logm X``); the derivative is zero below it.  The default
            ``eps(dtype)`` puts the floor at the eigensolver's rounding level, so a floor that
            moves an eigenvalue by more than rounding (a negative eigenvalue of a matrix that
            is singular to working precision) issues an :class:`EigenvalueFloorWarning`.
        tie_rtol: two eigenvalues count as equal in the Loewner matrix when
            ``|σ_i − σ_j| <= tie_rtol · max(|σ_i|, |σ_j|)``; the derivative at the midpoint is
            used instead of the divided difference.  Default ``eps^(1/3)``, which balances the
            cancellation error of the divided difference (``eps/gap``) against the error of the
            midpoint derivative (``gap²``).
        sym_rtol: inputs whose ``max|X − Xᵀ|`` exceeds ``sym_rtol · max|X|`` are rejected as
            not symmetric.
        psd_rtol: inputs to ``log``/``sqrt``/powers with an eigenvalue below
            ``−psd_rtol · max|σ|`` are rejected as not positive (semi)definite.
        validate: run the symmetry / finiteness / positivity checks (one host sync each).

    Unlisted dtypes (e.g. bfloat16) fall back to rules derived from ``torch.finfo(dtype).eps``.

    >>> config.floor(torch.float64) < config.floor(torch.float32)
    True
    >>> config.floor(torch.float64) == torch.finfo(torch.float64).eps
    True

    """

    eig_floor: dict = field(default_factory=dict)
    tie_rtol: dict = field(default_factory=dict)
    sym_rtol: dict = field(default_factory=dict)
    psd_rtol: dict = field(default_factory=dict)
    validate: bool = True

    def floor(self, dtype: torch.dtype) -> float:
        """Relative eigenvalue floor ``r`` for ``dtype`` (the floor is ``r · n · max|σ|``)."""
        return self.eig_floor.get(dtype, _eps(dtype))

    def floor_for(self, sigma: torch.Tensor) -> torch.Tensor:
        """Per-matrix floor ``(..., 1)`` for eigenvalues ``sigma`` ``(..., n)``."""
        top = sigma.detach().abs().amax(-1, keepdim=True)
        return (self.floor(sigma.dtype) * sigma.shape[-1] * top).clamp_min(
            torch.finfo(sigma.dtype).tiny)

    def tie(self, dtype: torch.dtype) -> float:
        """Relative tie tolerance of the Loewner matrix for ``dtype``."""
        return self.tie_rtol.get(dtype, _eps(dtype) ** (1.0 / 3.0))

    def sym_tol(self, dtype: torch.dtype) -> float:
        """Relative symmetry tolerance for ``dtype``."""
        return self.sym_rtol.get(dtype, _eps(dtype) ** 0.5)

    def psd_tol(self, dtype: torch.dtype) -> float:
        """Relative tolerance on negative eigenvalues for ``dtype``."""
        return self.psd_rtol.get(dtype, _eps(dtype) ** 0.5)


config = SpectralConfig()


def sym(x: torch.Tensor) -> torch.Tensor:
    """Symmetric part ``(X + Xᵀ)/2`` of a batch ``(..., n, n)``."""
    return 0.5 * (x + x.transpose(-1, -2))


def _check_matrix(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (..., n, n), got {type(x)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{name} must have shape (..., n, n) with square last two dims, "
                         f"got {tuple(x.shape)}")
    if _skip_checks() or x.numel() == 0:
        return sym(x)
    scale = x.detach().abs().amax(dim=(-1, -2))  # NaN / inf propagate through amax
    if not bool(torch.isfinite(scale).all()):
        raise ValueError(f"{name} contains NaN or infinite entries")
    scale = scale.clamp_min(torch.finfo(x.dtype).tiny)
    asym = (x.detach() - x.detach().transpose(-1, -2)).abs().amax(dim=(-1, -2))
    if bool((asym > config.sym_tol(x.dtype) * scale).any()):
        worst = float((asym / scale).max())
        raise ValueError(f"{name} must be symmetric: relative asymmetry {worst:.2e} exceeds "
                         f"{config.sym_tol(x.dtype):.1e} (pass sym({name}) to symmetrise)")
    return sym(x)


def _check_eigs(sigma: torch.Tensor, name: str) -> None:
    if _skip_checks() or sigma.numel() == 0:
        return
    scale = sigma.abs().amax(dim=-1).clamp_min(torch.finfo(sigma.dtype).tiny)
    low = sigma[..., 0]
    if bool((low < -config.psd_tol(sigma.dtype) * scale).any()):
        worst = float((low / scale).min())
        raise ValueError(f"{name} must be symmetric positive (semi)definite: smallest eigenvalue "
                         f"relative to the largest is {worst:.2e}")


def _skip_checks() -> bool:
    return not config.validate or torch.compiler.is_compiling()


def check_spd(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """Validate a batch of SPD matrices and return its symmetric part.

    Raises ``TypeError``/``ValueError`` naming ``name`` for non-tensors, non-square shapes,
    non-finite entries, asymmetry beyond :data:`config` ``.sym_tol`` and clearly negative
    eigenvalues (below ``−psd_tol · scale``).  The definiteness test is a Cholesky
    factorisation of ``X + psd_tol · max|X_ij| · I`` (a fraction of an eigendecomposition's
    cost); only a failing input pays for the eigenvalues that the message reports.  The
    checks are skipped while ``torch.compile`` traces (no graph break) and when
    ``config.validate`` is off.  Every SPD and Grassmann layer checks its input here.
    """
    x = _check_matrix(x, name)
    if _skip_checks() or x.numel() == 0:
        return x
    xd = x.detach()
    scale = xd.abs().amax(dim=(-1, -2)).clamp_min(torch.finfo(x.dtype).tiny)
    shift = (config.psd_tol(x.dtype) * scale)[..., None, None]
    eye = torch.eye(x.shape[-1], dtype=x.dtype, device=x.device)
    _, info = torch.linalg.cholesky_ex(xd + shift * eye)
    if bool((info != 0).any()):
        sigma = torch.linalg.eigvalsh(xd)
        _check_eigs(sigma, name)
        worst = float((sigma[..., 0] / sigma.abs().amax(-1).clamp_min(
            torch.finfo(x.dtype).tiny)).min())
        raise ValueError(f"{name} must be symmetric positive (semi)definite: smallest "
                         f"eigenvalue relative to the largest is {worst:.2e}")
    return x


# --------------------------------------------------------------------------------------------
# spectral functions f(X) = U f(σ) Uᵀ
# --------------------------------------------------------------------------------------------

# name -> (f(c, θ), f'(c, θ), ∂f/∂θ or None, needs positivity)
_SPECTRAL = {
    "sqrt": (lambda c, t: c.sqrt(), lambda c, t: 0.5 / c.sqrt(), None, True),
    "invsqrt": (lambda c, t: c.rsqrt(), lambda c, t: -0.5 * c.rsqrt() / c, None, True),
    "log": (lambda c, t: c.log(), lambda c, t: 1.0 / c, None, True),
    "exp": (lambda c, t: c.exp(), lambda c, t: c.exp(), None, False),
    "pow": (lambda c, t: c.pow(t), lambda c, t: t * c.pow(t - 1), lambda c, t: c.pow(t) * c.log(),
            True),
    "clamp": (lambda c, t: c, lambda c, t: torch.ones_like(c), None, False),
}


def _loewner(sigma, fc, kind, theta, floor, tie):
    """Loewner matrix of g = f∘clamp(·, floor) at eigenvalues ``sigma`` (…, n) → (…, n, n).

    ``floor`` is ``None``, a float or a per-matrix tensor ``(…, 1)``.
    """
    if isinstance(floor, torch.Tensor):
        floor = floor.unsqueeze(-1)
    df = _SPECTRAL[kind][1]
    si, sj = sigma.unsqueeze(-1), sigma.unsqueeze(-2)
    gap = si - sj
    scale = torch.maximum(si.abs(), sj.abs())
    tied = gap.abs() <= tie * scale + torch.finfo(sigma.dtype).tiny
    mid = 0.5 * (si + sj)
    if floor is None:
        dmid = df(mid, theta)
    else:
        dmid = torch.where(mid > floor, df(mid.clamp_min(floor), theta), torch.zeros_like(mid))
    safe_gap = torch.where(tied, torch.ones_like(gap), gap)
    divided = (fc.unsqueeze(-1) - fc.unsqueeze(-2)) / safe_gap
    return torch.where(tied, dmid, divided)


def _warn_floor(sigma, floor, name):
    """Warn when the relative floor moved an eigenvalue by more than rounding (σ < 0)."""
    if _skip_checks() or sigma.numel() == 0:
        return
    low = sigma[..., :1]
    if bool((low < 0).any()):
        worst = float((low / (floor / (config.floor(sigma.dtype) * sigma.shape[-1]))).min())
        warnings.warn(f"{name} is singular to working precision: an eigenvalue at {worst:.1e} "
                      "times the largest was raised to the floor (config.floor · n · max "
                      "eigenvalue); the result depends on that floor. Regularise the input "
                      "(e.g. shrinkage or a ridge).", EigenvalueFloorWarning, stacklevel=4)


class _Spectral(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, theta, kind, floor, name):
        sigma, u = torch.linalg.eigh(x)
        if _SPECTRAL[kind][3]:
            _check_eigs(sigma, name)
        if floor == "relative":
            floor = config.floor_for(sigma)
            if kind != "clamp":
                _warn_floor(sigma, floor, name)
        c = sigma if floor is None else sigma.clamp_min(floor)
        fc = _SPECTRAL[kind][0](c, theta)
        ctx.kind = kind
        ctx.floor = floor if not isinstance(floor, torch.Tensor) else None
        floor_t = floor if isinstance(floor, torch.Tensor) else torch.empty(0)
        ctx.save_for_backward(sigma, u, fc, theta, floor_t)
        return sym((u * fc.unsqueeze(-2)) @ u.transpose(-1, -2))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        sigma, u, fc, theta, floor_t = ctx.saved_tensors
        kind = ctx.kind
        floor = floor_t if floor_t.numel() else ctx.floor
        gh = u.transpose(-1, -2) @ sym(grad) @ u
        lw = _loewner(sigma, fc, kind, theta, floor, config.tie(sigma.dtype))
        gx = u @ (lw * gh) @ u.transpose(-1, -2)
        gtheta = None
        if ctx.needs_input_grad[1]:
            c = sigma if floor is None else sigma.clamp_min(floor)
            dtheta = _SPECTRAL[kind][2](c, theta)
            gtheta = (torch.diagonal(gh, dim1=-2, dim2=-1) * dtheta).sum().reshape(theta.shape)
        return gx, gtheta, None, None, None


def spectral_apply(x: torch.Tensor, kind: str, *, theta=None, floor=None,
                   name: str = "x") -> torch.Tensor:
    """``U g(σ) Uᵀ`` for ``g = f∘max(·, floor)``, Daleckii–Krein backward.

    ``f`` is one of ``sqrt, invsqrt, log, exp, pow, clamp`` (identity); for ``pow`` the
    backward also reaches ``theta``.

    Args:
        x: symmetric matrices ``(..., n, n)``.
        kind: name of ``f``.
        theta: exponent for ``pow`` (float or 0-d tensor, may require grad).
        floor: absolute eigenvalue clamp floor; ``None`` uses the relative floor of
            :data:`config` (``config.floor · n · max|σ|`` per matrix) for functions that need
            positive eigenvalues and no clamp for ``exp``.
        name: argument name used in error messages.

    Returns:
        ``(..., n, n)``, same dtype and device as ``x``.

    """
    if kind not in _SPECTRAL:
        raise ValueError(f"kind must be one of {sorted(_SPECTRAL)}, got {kind!r}")
    x = _check_matrix(x, name)
    if floor is None and _SPECTRAL[kind][3]:
        floor = "relative"
    if kind == "pow":
        if theta is None:
            raise ValueError("theta is required for kind='pow'")
        theta = torch.as_tensor(theta, dtype=x.dtype, device=x.device)
        if theta.numel() != 1:
            raise ValueError(f"theta must be a scalar, got shape {tuple(theta.shape)}")
        theta = theta.reshape(())
    else:
        theta = torch.zeros((), dtype=x.dtype, device=x.device)
    return _Spectral.apply(x, theta, kind, floor, name)


def sqrtm(x: torch.Tensor) -> torch.Tensor:
    """Principal square root ``X^{1/2}`` of SPD ``x`` ``(..., n, n)`` (eigenvalues floored)."""
    return spectral_apply(x, "sqrt")


def invsqrtm(x: torch.Tensor) -> torch.Tensor:
    """Inverse square root ``X^{-1/2}`` of SPD ``x`` ``(..., n, n)`` (eigenvalues floored)."""
    return spectral_apply(x, "invsqrt")


def logm(x: torch.Tensor) -> torch.Tensor:
    """Principal logarithm of SPD ``x`` ``(..., n, n)`` (eigenvalues floored)."""
    return spectral_apply(x, "log")


def expm(x: torch.Tensor) -> torch.Tensor:
    """Matrix exponential of symmetric ``x`` ``(..., n, n)`` via ``eigh``."""
    return spectral_apply(x, "exp")


def powm(x: torch.Tensor, theta) -> torch.Tensor:
    """``X^θ`` of SPD ``x`` ``(..., n, n)``; ``theta`` a float or a 0-d tensor (differentiable)."""
    return spectral_apply(x, "pow", theta=theta)


def clampm(x: torch.Tensor, threshold: float) -> torch.Tensor:
    """Eigenvalue rectification ``U max(σ, threshold) Uᵀ`` (SPDNet's ReEig), ``(..., n, n)``."""
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    return spectral_apply(x, "clamp", floor=float(threshold))


def floorm(x: torch.Tensor) -> torch.Tensor:
    """Nearest matrix with eigenvalues at least the relative floor (``config``), ``(..., n, n)``.

    ``U max(σ, config.floor · n · max|σ|) Uᵀ`` per matrix: a projection onto numerically SPD
    matrices that follows each matrix's own scale.
    """
    return spectral_apply(x, "clamp", floor="relative")


# --------------------------------------------------------------------------------------------
# kernel operators W ↦ U (K ∘ UᵀWU) Uᵀ, K_ij = k(σ_i, σ_j), σ, U from eigh(P)
# --------------------------------------------------------------------------------------------


class Kernel:
    """A symmetric kernel ``k(x, y) = k(y, x)`` of two eigenvalues and its ``∂k/∂x``."""

    def k(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Kernel values (broadcast)."""
        raise NotImplementedError

    def d1(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Partial derivative in the first argument (broadcast)."""
        raise NotImplementedError


@dataclass(frozen=True)
class SumPowerKernel(Kernel):
    """``k(x, y) = coef · (x + y)^power`` (Lyapunov solve: ``coef=1, power=-1``).

    >>> SumPowerKernel(1.0, -1.0).k(torch.tensor(1.0), torch.tensor(3.0))
    tensor(0.2500)
    """

    coef: float
    power: float

    def k(self, x, y):
        """``coef (x+y)^power``."""
        return self.coef * (x + y).pow(self.power)

    def d1(self, x, y):
        """``coef · power · (x+y)^(power-1)``."""
        return self.coef * self.power * (x + y).pow(self.power - 1)


@dataclass(frozen=True)
class LoewnerKernel(Kernel):
    """Divided difference ``(f(x) − f(y))/(x − y)`` of ``f = log | exp | pow(theta)``.

    With ``inverse=True`` its reciprocal.  The kernel of the Fréchet derivative ``Df_P``.

    >>> LoewnerKernel("log").k(torch.tensor(2.0), torch.tensor(2.0))
    tensor(0.5000)
    """

    kind: str
    theta: float = 1.0
    inverse: bool = False

    def _derivs(self, x):
        t = self.theta
        if self.kind == "log":
            return x.log(), 1 / x, -1 / x**2
        if self.kind == "exp":
            e = x.exp()
            return e, e, e
        if self.kind == "pow":
            return x.pow(t), t * x.pow(t - 1), t * (t - 1) * x.pow(t - 2)
        raise ValueError(f"kind must be 'log', 'exp' or 'pow', got {self.kind!r}")

    def _plain(self, x, y):
        x, y = torch.broadcast_tensors(x, y)
        gap = x - y
        tie = config.tie(x.dtype) * torch.maximum(x.abs(), y.abs())
        tied = gap.abs() <= tie + torch.finfo(x.dtype).tiny
        safe = torch.where(tied, torch.ones_like(gap), gap)
        fx, dfx, _ = self._derivs(x)
        fy, _, _ = self._derivs(y)
        _, dmid, d2mid = self._derivs(0.5 * (x + y))
        k = torch.where(tied, dmid, (fx - fy) / safe)
        # ∂k/∂x = (f'(x) − k) / (x − y); on ties f''(mid)/2 (use a wider tie: second difference)
        tied2 = gap.abs() <= config.tie(x.dtype) ** 0.5 * torch.maximum(x.abs(), y.abs())
        safe2 = torch.where(tied2, torch.ones_like(gap), gap)
        k_for_d1 = torch.where(tied2, dmid, (fx - fy) / safe2)
        d1 = torch.where(tied2, 0.5 * d2mid, (dfx - k_for_d1) / safe2)
        return k, d1

    def k(self, x, y):
        """Divided difference (or its reciprocal)."""
        k, _ = self._plain(x, y)
        return 1 / k if self.inverse else k

    def d1(self, x, y):
        """Partial derivative in ``x``."""
        k, d1 = self._plain(x, y)
        return -d1 / k**2 if self.inverse else d1


class _KernelOp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, p, w, kernel, positive, name):
        sigma, u = torch.linalg.eigh(p)
        if positive and not _skip_checks() and sigma.numel():
            low = sigma[..., 0] / sigma.abs().amax(-1).clamp_min(torch.finfo(sigma.dtype).tiny)
            if bool((low <= config.floor(sigma.dtype) * sigma.shape[-1]).any()):
                raise ValueError(f"{name} must be positive definite: smallest eigenvalue "
                                 f"relative to the largest is {float(low.min()):.2e} (singular "
                                 "to working precision), so the solution is not unique")
        kmat = kernel.k(sigma.unsqueeze(-1), sigma.unsqueeze(-2))
        wh = u.transpose(-1, -2) @ w @ u
        ctx.kernel = kernel
        ctx.p_shape, ctx.w_shape = p.shape, w.shape
        ctx.save_for_backward(sigma, u, kmat, wh)
        return sym(u @ (kmat * wh) @ u.transpose(-1, -2))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        sigma, u, kmat, wh = ctx.saved_tensors
        gh = u.transpose(-1, -2) @ sym(grad) @ u
        gw = gp = None
        if ctx.needs_input_grad[1]:
            gw = (u @ (kmat * gh) @ u.transpose(-1, -2)).sum_to_size(ctx.w_shape)
        if ctx.needs_input_grad[0]:
            d1 = _kernel_divided_difference(sigma, kmat, ctx.kernel)
            gh, wh = torch.broadcast_tensors(gh, wh)
            n = sigma.shape[-1]
            if len(ctx.p_shape) == 2:  # one shared P: contract the batch first (n³ memory)
                s = torch.einsum("bij,bkj->ikj", gh.reshape(-1, n, n), wh.reshape(-1, n, n))
            else:
                s = torch.einsum("...ij,...kj->...ikj", gh, wh)
                s = s.sum_to_size(*ctx.p_shape[:-2], n, n, n)
            a1 = (s * d1).sum(-1)
            gp = u @ (a1 + a1.transpose(-1, -2)) @ u.transpose(-1, -2)
        return gp, gw, None, None, None


def _kernel_divided_difference(sigma, kmat, kernel):
    """``D[i,k,j] = (K(σ_k, σ_j) − K(σ_i, σ_j)) / (σ_k − σ_i)``, ``∂₁K(mid, σ_j)`` on ties."""
    si = sigma.unsqueeze(-1).unsqueeze(-1)  # [..., i, 1, 1]
    sk = sigma.unsqueeze(-2).unsqueeze(-1)  # [..., 1, k, 1]
    sj = sigma.unsqueeze(-2).unsqueeze(-2)  # [..., 1, 1, j]
    gap = sk - si
    tied = gap.abs() <= config.tie(sigma.dtype) * torch.maximum(si.abs(), sk.abs())
    safe = torch.where(tied, torch.ones_like(gap), gap)
    diff = (kmat.unsqueeze(-3) - kmat.unsqueeze(-2)) / safe  # K[k,j] − K[i,j]
    return torch.where(tied, kernel.d1(0.5 * (si + sk), sj), diff)


def eig_kernel_apply(p: torch.Tensor, w: torch.Tensor, kernel: Kernel, *,
                     name: str = "p", positive: bool = False) -> torch.Tensor:
    """``U (K ∘ (Uᵀ W U)) Uᵀ`` with ``P = U diag(σ) Uᵀ`` and ``K_ij = kernel.k(σ_i, σ_j)``.

    Differentiable in ``p`` and ``w`` with a backward that stays finite for repeated
    eigenvalues of ``p`` (the map is smooth in ``p`` even where ``U`` is not).

    Args:
        p: symmetric ``(..., n, n)``; broadcast against ``w``.
        w: symmetric ``(..., n, n)``.
        kernel: a :class:`Kernel`.
        name: argument name for error messages.
        positive: refuse a ``p`` that is not positive definite to working precision (smallest
            eigenvalue at most ``config.floor · n`` times the largest).

    """
    p = _check_matrix(p, name)
    w = _check_matrix(w, "w")
    return _KernelOp.apply(p, w, kernel, positive, name)


_LYAPUNOV = SumPowerKernel(1.0, -1.0)


def lyapunov(p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The symmetric solution ``L`` of ``P L + L P = V`` for SPD ``p``, ``(..., n, n)``.

    Refuses a ``p`` that is singular to working precision (the solution is then not unique).

    >>> p = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
    >>> v = torch.tensor([[1.0, 0.0], [0.0, 3.0]], dtype=torch.float64)
    >>> l = lyapunov(p, v)
    >>> torch.allclose(p @ l + l @ p, v)
    True
    """
    return eig_kernel_apply(p, v, _LYAPUNOV, name="p", positive=True)
