"""Input checks of the scikit-learn estimators: covariance matrices and raw signals."""

from __future__ import annotations

import numpy as np
import scipy.sparse
import torch

#: smallest eigenvalue / largest eigenvalue below ``_RELATIVE_PD * d``: numerically singular
#: (``eigvalsh`` resolves eigenvalues only to about ``d · eps · λ_max``).
_RELATIVE_PD = 10 * np.finfo(np.float64).eps


def finite_float64(x, name: str, what: str) -> np.ndarray:
    """Dense, real, finite float64 array from ``x``, or an error naming ``what`` it must be."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if scipy.sparse.issparse(x):
        raise TypeError(f"sparse input is not supported: {name} must be dense {what}")
    x = np.asarray(x)
    if x.dtype.kind in "USV" or (x.dtype == object and any(
            isinstance(v, (str, bytes)) for v in x.flat)):
        raise TypeError(f"{name} must be a numeric array of {what}, got strings (dtype "
                        f"{x.dtype}); convert them to numbers first")
    if np.iscomplexobj(x):
        raise ValueError(f"Complex data not supported: {name} must be real {what}")
    try:
        x = x.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a numeric array of {what}: {error}") from error
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf")
    return x


def check_covariances(x, name: str = "X", d: int | None = None) -> np.ndarray:
    """Validate ``(n_trials, d, d)`` symmetric positive definite input; returns float64.

    Positive definiteness is judged relative to each matrix's own scale: a matrix whose
    smallest eigenvalue is below ``10 · d · eps · λ_max`` is numerically singular (rounding
    decides its sign) and is refused with the fix (shrinkage or a ridge), whatever the unit
    (V² or µV²) of the covariances.
    """
    x = finite_float64(x, name, "covariance matrices (n_trials, d, d)")
    if x.ndim != 3 or x.shape[1] != x.shape[2] or x.shape[1] < 2:
        raise ValueError(f"{name} must be covariance matrices of shape (n_trials, d, d) with "
                         f"d >= 2, got shape {x.shape}; estimate them first, e.g. with "
                         "geomlayers.data.eeg.covariances(signals, 'oas')")
    if x.shape[0] < 1:
        raise ValueError(f"{name} holds no trials (shape {x.shape})")
    if d is not None and x.shape[1] != d:
        raise ValueError(f"{name} has matrices of size {x.shape[1]}, but the estimator was "
                         f"fitted on size {d}")
    scale = np.abs(x).max(axis=(1, 2))
    asym = np.abs(x - np.swapaxes(x, 1, 2)).max(axis=(1, 2))
    bad = np.flatnonzero(asym > 1e-6 * np.maximum(scale, np.finfo(np.float64).tiny))
    if bad.size:
        raise ValueError(f"{name} must be symmetric: {name}[{bad[0]}] has max |X - Xᵀ| = "
                         f"{asym[bad[0]]:.2e} against max |X| = {scale[bad[0]]:.2e} "
                         f"({bad.size} such matrices)")
    w = np.linalg.eigvalsh(0.5 * (x + np.swapaxes(x, 1, 2)))
    low, high = w[:, 0], w[:, -1]
    threshold = _RELATIVE_PD * x.shape[1] * np.abs(high)
    bad = np.flatnonzero((low <= threshold) | (high <= 0))
    negative = np.flatnonzero(low < -np.sqrt(np.finfo(np.float64).eps) * np.abs(w).max(axis=1))
    if negative.size:
        i = negative[0]
        raise ValueError(
            f"{name} must be positive definite: {name}[{i}] has a negative eigenvalue "
            f"{low[i]:.3g} (largest {high[i]:.3g}; {negative.size} such matrices), so it is not "
            "a covariance matrix; check how the matrices were computed")
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"{name} must be positive definite: {name}[{i}] has smallest eigenvalue "
            f"{low[i]:.3g} against largest {high[i]:.3g} (ratio at or below "
            f"{_RELATIVE_PD * x.shape[1]:.1e}, the rounding level), {bad.size} such matrices; "
            "regularise the covariances: a "
            "shrinkage estimator (geomlayers.data.eeg.covariances(signals, 'oas'), or "
            "pyriemann Covariances('oas')) or a ridge X + c·(trace(X)/d)·I")
    return x


def check_signals(x, name: str = "X", shape: tuple[int, int] | None = None) -> np.ndarray:
    """Validate raw multichannel trials ``(n_trials, n_channels, n_times)``; returns float64."""
    x = finite_float64(x, name, "signals (n_trials, n_channels, n_times)")
    if x.ndim != 3 or x.shape[0] < 1 or x.shape[2] < 2:
        raise ValueError(f"{name} must be raw signals of shape (n_trials, n_channels, n_times) "
                         f"with n_times >= 2, got shape {x.shape} (e.g. mne Epochs.get_data())")
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"{name} has trials of shape {tuple(x.shape[1:])}, but the estimator "
                         f"was fitted on (n_channels, n_times) = {tuple(shape)}")
    return x


def check_groups(groups, n: int, name: str = "groups") -> np.ndarray | None:
    """Domain labels ``(n_trials,)`` (sessions, subjects) or ``None``."""
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(f"{name} must hold one domain label per trial, shape ({n},), got "
                         f"{groups.shape}")
    return groups
