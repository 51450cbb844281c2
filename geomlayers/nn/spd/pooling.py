"""Covariance pooling of multichannel signals into SPD matrices (see ``docs/spd.md``)."""

from __future__ import annotations

import torch
from torch import nn

from geomlayers.linalg import check_finite, sym
from geomlayers.nn.spd.layers import _trace

__all__ = ["CovariancePooling"]


class CovariancePooling(nn.Module):
    """Sample covariance of multichannel signals, made SPD: ``(N, F, T) → (N, F, F)``.

    ``C = X_c X_cᵀ / (T − 1) + ε · (tr C / F) · I`` with ``X_c`` centred over time.  The ridge is
    relative to the mean eigenvalue, so the output is SPD (condition number at most
    ``1 + F/ε``) whatever the signal's scale or rank — a flat or rank-deficient window does
    not give a singular matrix.  Gradients flow to the signals (e.g. a learned convolutional
    front-end, as in the MAtt / GBWBN EEG networks).

    With ``normalize_trace=True`` the result is divided by its trace (as MAtt's ``signal2spd``
    does), which removes the trial's overall power and keeps only the shape of the covariance.

    Args:
        eps: relative ridge ``ε > 0``.
        normalize_trace: divide each covariance by its trace.

    >>> CovariancePooling()(torch.randn(2, 3, 50)).shape
    torch.Size([2, 3, 3])

    """

    def __init__(self, eps: float = 1e-4, normalize_trace: bool = False):
        super().__init__()
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.eps = float(eps)
        self.normalize_trace = bool(normalize_trace)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Covariances of the rows of each ``(F, T)`` signal."""
        if x.dim() != 3 or x.shape[-1] < 2:
            raise ValueError(f"x must have shape (N, F, T) with T >= 2 time samples, "
                             f"got {tuple(x.shape)}")
        check_finite(x, "x")
        centred = x - x.mean(-1, keepdim=True)
        cov = centred @ centred.transpose(-1, -2) / (x.shape[-1] - 1)
        ridge = self.eps * _trace(cov) / x.shape[1] + torch.finfo(x.dtype).tiny
        eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
        cov = sym(cov) + ridge[:, None, None] * eye
        return cov / _trace(cov)[:, None, None] if self.normalize_trace else cov

    def extra_repr(self) -> str:
        """Relative ridge and trace normalisation."""
        return f"eps={self.eps}, normalize_trace={self.normalize_trace}"
