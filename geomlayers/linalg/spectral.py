"""Spectral functions ``f(X) = U f(σ) Uᵀ`` with the Daleckii–Krein backward (see package doc)."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch.autograd.function import once_differentiable

from geomlayers.linalg.checks import (
    EigenvalueFloorWarning,
    _check_eigs,
    _check_matrix,
    _skip_checks,
    config,
    sym,
)

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


def _warn_floor(sigma, floor, name, kind, theta):
    """Warn when the relative floor moved an eigenvalue by more than the rounding level.

    The floor is at the eigensolver's rounding level (``config.floor · n · max|σ|``).  For
    ``log``, ``invsqrt`` and negative powers, which are unbounded at 0, an eigenvalue below it
    (of either sign: it is not resolved) makes the result depend on the floor, e.g.
    ``logm(diag(1, 1e-17))`` returns ``log(2 eps)`` in place of ``log(1e-17)``: warn.  For
    ``sqrt`` and non-negative powers, continuous at 0, raising an unresolved eigenvalue to the
    floor changes the result by no more than the input's own rounding does; warn only for an
    eigenvalue below ``−floor`` (moved by more than rounding).
    """
    if _skip_checks() or sigma.numel() == 0:
        return
    low = sigma[..., :1]
    bounded = kind == "sqrt" or (kind == "pow" and float(theta) >= 0)
    if bool((low < (-floor if bounded else floor)).any()):
        top = sigma.abs().amax(-1, keepdim=True).clamp_min(torch.finfo(sigma.dtype).tiny)
        worst = float((low / top).min())
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
        ctx.mean_floor = floor == "mean"
        if floor == "relative":
            floor = config.floor_for(sigma)
            if kind != "clamp":
                _warn_floor(sigma, floor, name, kind, theta)
        elif ctx.mean_floor:  # θ · mean eigenvalue = θ · tr(X)/n per matrix (clamp only)
            floor = (theta * sigma.mean(-1, keepdim=True)).clamp_min(torch.finfo(sigma.dtype).tiny)
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
        if ctx.mean_floor:  # clamped eigenvalues equal θ tr(X)/n, whose gradient is (θ/n) I
            n = sigma.shape[-1]
            held = (sigma < floor) & (floor > torch.finfo(sigma.dtype).tiny)
            pull = (torch.diagonal(gh, dim1=-2, dim2=-1) * held).sum(-1) * (theta / n)
            gx = gx + pull[..., None, None] * torch.eye(n, dtype=gx.dtype, device=gx.device)
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
            positive eigenvalues and no clamp for ``exp``; ``"mean"`` (``clamp`` only) floors
            at ``theta · tr(X)/n`` per matrix, with the floor's own gradient in the backward.
        name: argument name used in error messages.

    Returns:
        ``(..., n, n)``, same dtype and device as ``x``.

    """
    if kind not in _SPECTRAL:
        raise ValueError(f"kind must be one of {sorted(_SPECTRAL)}, got {kind!r}")
    x = _check_matrix(x, name)
    if floor is None and _SPECTRAL[kind][3]:
        floor = "relative"
    if floor == "mean" and kind != "clamp":
        raise ValueError(f"floor='mean' is for kind='clamp', got kind={kind!r}")
    if kind == "pow" or floor == "mean":
        if theta is None:
            raise ValueError(f"theta is required for kind={kind!r}, floor={floor!r}")
        theta = torch.as_tensor(theta, dtype=x.dtype, device=x.device)
        if theta.numel() != 1:
            raise ValueError(f"theta must be a scalar, got shape {tuple(theta.shape)}")
        theta = theta.reshape(())
        if not _skip_checks() and not bool(torch.isfinite(theta.detach())):
            raise ValueError(f"theta must be finite, got {float(theta)}")
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


def clampm(x: torch.Tensor, threshold: float, *, relative: bool = False) -> torch.Tensor:
    """Eigenvalue rectification ``U max(σ, τ) Uᵀ`` (SPDNet's ReEig), ``(..., n, n)``.

    ``τ = threshold`` (absolute, as in Huang & Van Gool, AAAI 2017, §3.2), or with
    ``relative=True`` ``τ = threshold · tr(X)/n`` per matrix (the mean eigenvalue), so that
    ``clampm(c·X) = c·clampm(X)`` for every ``c > 0``; the backward then includes the floor's
    own dependence on ``X``.
    """
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold}")
    if relative:
        x = _check_matrix(x, "x")
        if not _skip_checks() and x.numel() and bool(
                (torch.diagonal(x.detach(), dim1=-2, dim2=-1).sum(-1) <= 0).any()):
            raise ValueError("x must have a positive trace for the relative floor "
                             "threshold · tr(x)/n (got tr(x) <= 0, e.g. a zero matrix); pass "
                             "relative=False for an absolute floor")
        return spectral_apply(x, "clamp", floor="mean", theta=float(threshold))
    return spectral_apply(x, "clamp", floor=float(threshold))


def floorm(x: torch.Tensor) -> torch.Tensor:
    """Nearest matrix with eigenvalues at least the relative floor (``config``), ``(..., n, n)``.

    ``U max(σ, config.floor · n · max|σ|) Uᵀ`` per matrix: a projection onto numerically SPD
    matrices that follows each matrix's own scale.
    """
    return spectral_apply(x, "clamp", floor="relative")


# --------------------------------------------------------------------------------------------
# a symmetric-matrix function with a Daleckii–Krein backward for arbitrary smooth f
# --------------------------------------------------------------------------------------------

class _SpectralFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, s, f, df):
        s = 0.5 * (s + s.transpose(-1, -2))
        lam, u = torch.linalg.eigh(s)
        flam = f(lam)
        ctx.f, ctx.df = f, df
        ctx.save_for_backward(lam, u, flam)
        return (u * flam.unsqueeze(-2)) @ u.transpose(-1, -2)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        lam, u, flam = ctx.saved_tensors
        li, lj = lam.unsqueeze(-1), lam.unsqueeze(-2)
        gap = li - lj
        # relative tie of geomlayers.linalg.config, on a scale of at least 1: the functions used
        # here are smooth at 0, where a relative test would divide rounding noise by tiny gaps
        scale = torch.maximum(li.abs(), lj.abs()).clamp_min(1.0)
        tied = gap.abs() <= config.tie(lam.dtype) * scale
        divided = (flam.unsqueeze(-1) - flam.unsqueeze(-2)) / torch.where(tied, 1.0, gap)
        loewner = torch.where(tied, ctx.df(0.5 * (li + lj)), divided)
        inner = u.transpose(-1, -2) @ (0.5 * (grad + grad.transpose(-1, -2))) @ u
        return u @ (loewner * inner) @ u.transpose(-1, -2), None, None


def spectral_fn(s: torch.Tensor, f: Callable, df: Callable) -> torch.Tensor:
    """``U f(Λ) Uᵀ`` for symmetric ``s = U Λ Uᵀ`` ``(..., p, p)``, Daleckii–Krein backward.

    ``f`` and its derivative ``df`` act elementwise on eigenvalue tensors; on (near-)equal
    eigenvalues (``|λ_i − λ_j| ≤ config.tie(dtype) · max(|λ_i|, |λ_j|, 1)``, the threshold of
    :data:`config`) the divided difference is replaced by ``df`` at the
    midpoint (the limit), so the gradient is finite for repeated eigenvalues. It complements
    :func:`spectral_apply`, whose functions are a fixed list (used by the Grassmann
    geodesics, :mod:`geomlayers.manifolds.grassmann`).
    """
    return _SpectralFn.apply(s, f, df)
