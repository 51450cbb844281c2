"""Spectral settings (:data:`config`) and the one SPD input check of the library.

Every SPD / Grassmann layer and manifold validates its inputs with :func:`check_spd` (or the
symmetric-matrix check of the spectral functions), so the messages are the same everywhere.
See ``docs/spd.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


class EigenvalueFloorWarning(UserWarning):
    """A spectral function floored an eigenvalue by more than rounding (a singular input)."""


class NonFiniteError(ValueError):
    """An input check met NaN or infinite entries (inside training: diverged weights)."""


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
        raise NonFiniteError(f"{name} contains NaN or infinite entries")
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


def check_symmetric(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """Validate a batch of symmetric matrices ``(..., n, n)`` and return its symmetric part.

    The checks of :func:`check_spd` without definiteness (same messages).
    """
    return _check_matrix(x, name)


def check_finite(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """Refuse a non-tensor, a non-floating tensor, or NaN / infinite entries (same message)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if not _skip_checks() and x.numel() and not bool(torch.isfinite(x.detach()).all()):
        raise NonFiniteError(f"{name} contains NaN or infinite entries")
    return x


def check_spd(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """Validate a batch of SPD matrices and return its symmetric part.

    Raises ``TypeError``/``ValueError`` naming ``name`` for non-tensors, non-square shapes,
    non-finite entries, asymmetry beyond :data:`config` ``.sym_tol``, negative eigenvalues
    and matrices that are singular to working precision: smallest eigenvalue at most
    ``config.floor · n`` times the largest (the rule of the eigenvalue floor of the spectral
    functions and of :func:`~geomlayers.linalg.lyapunov`), which includes the zero matrix.
    The test is relative to each matrix's own scale, so covariances in V² (eigenvalues near
    1e-12) pass exactly as the same covariances in µV².  It is a Cholesky factorisation of
    ``X − config.floor · n · max|X_ij| · I`` (a fraction of an eigendecomposition's cost);
    only a matrix that fails it pays for the eigenvalues that decide and that the message
    reports.  The checks are skipped while ``torch.compile`` traces (no graph break) and when
    ``config.validate`` is off.  Every SPD layer checks its input here.
    """
    x = _check_matrix(x, name)
    if _skip_checks() or x.numel() == 0:
        return x
    xd = x.detach()
    n = x.shape[-1]
    rel = config.floor(x.dtype) * n
    tiny = torch.finfo(x.dtype).tiny
    scale = xd.abs().amax(dim=(-1, -2))
    eye = torch.eye(n, dtype=x.dtype, device=x.device)
    _, info = torch.linalg.cholesky_ex(xd - (rel * scale)[..., None, None] * eye)
    if bool((info != 0).any()) or bool((scale <= tiny).any()):
        sigma = torch.linalg.eigvalsh(xd)
        top = sigma.abs().amax(-1).clamp_min(tiny)
        ratio = sigma[..., 0] / top
        if bool(((ratio <= rel) | (sigma[..., -1] <= tiny)).any()):
            worst = float(ratio.min())
            if worst < -config.psd_tol(x.dtype):
                what = "it has a negative eigenvalue"
            else:
                what = (f"singular to working precision (at most {rel:.1e}, config.floor · n); "
                        "regularise it, e.g. shrinkage or a ridge X + c·(tr X / n)·I")
            raise ValueError(f"{name} must be symmetric positive definite: smallest eigenvalue "
                             f"relative to the largest is {worst:.2e}: {what}")
    return x
