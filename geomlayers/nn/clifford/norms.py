"""Normalisations and the gated nonlinearity of multivector features (CGENN §4.2, GLGENN §4)."""

from __future__ import annotations

import torch
from torch import nn

from geomlayers.nn.clifford.base import AlgebraLike, _check_channels, _CliffordModule

__all__ = ["CliffordNormalization", "CliffordSiLU", "CliffordLayerNorm"]


class CliffordNormalization(_CliffordModule):
    """Learned per-subspace normalisation ``<x_c>_s / (σ(a_{c,s}) (‖<x_c>_s‖ - 1) + 1 + ε)``.

    ``‖·‖ = (q² + 1e-16)^{1/4}`` is the smooth ``sqrt|q|`` (invariant, also for indefinite
    and degenerate metrics). CGENN ``NormalizationLayer`` (§4.2) for ``'grade'``, GLGENN
    ``QTNormalization`` for ``'type'``. ``a`` starts at ``init`` (σ(0) = ½).
    Parameters ``channels · S``.
    """

    def __init__(self, algebra: AlgebraLike, channels: int, *, subspaces: str = "grade",
                 init: float = 0.0, eps: float = 1e-6, device=None, dtype=None) -> None:
        super().__init__(algebra, subspaces, device)
        _check_channels("channels", channels)
        self.channels, self.init, self.eps = channels, float(init), float(eps)
        self.a = nn.Parameter(torch.empty(channels, self.num_subspaces, device=device,
                                          dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``a = init``."""
        nn.init.constant_(self.a, self.init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(..., C, 2^n)`` → same shape."""
        self._check_x(x, self.channels)
        norms = self.algebra.norm(x, self.subspaces)  # (..., C, S)
        denom = torch.sigmoid(self.a) * (norms - 1) + 1 + self.eps
        return x / denom[..., self._blade_subspace]

    def extra_repr(self) -> str:
        """Algebra, channels, subspaces (and paths/backend for products)."""
        return f"{self.algebra}, {self.channels}, subspaces={self.subspaces!r}"


class CliffordSiLU(_CliffordModule):
    """Invariant-gated SiLU: ``<x_c>_s ← σ(a_{c,s} · s_{c,s} + b_{c,s}) <x_c>_s``.

    The gate input is the invariant ``s_{c,s} = q(<x_c>_s)``, except for the subspace holding
    the scalar, where the scalar enters linearly: ``x_0 + q(<x_c>_s - x_0)`` (CGENN
    ``MVSiLU``, "mag2" invariant, §4.2; for ``'type'`` the same gate per quaternion type,
    our extension — the GLGENN code has no nonlinearity of its own). Parameters ``2 C S``.
    """

    def __init__(self, algebra: AlgebraLike, channels: int, *, subspaces: str = "grade",
                 device=None, dtype=None) -> None:
        super().__init__(algebra, subspaces, device)
        _check_channels("channels", channels)
        self.channels = channels
        kw = {"device": device, "dtype": dtype}
        self.a = nn.Parameter(torch.empty(channels, self.num_subspaces, **kw))
        self.b = nn.Parameter(torch.empty(channels, self.num_subspaces, **kw))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``a = 1``, ``b = 0``."""
        nn.init.ones_(self.a)
        nn.init.zeros_(self.b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(..., C, 2^n)`` → same shape."""
        self._check_x(x, self.channels)
        invariant = self.algebra.quadratic_form(x, self.subspaces)
        scalar = x[..., 0]
        first = invariant[..., 0] - scalar * scalar + scalar
        invariant = torch.cat([first.unsqueeze(-1), invariant[..., 1:]], dim=-1)
        gate = torch.sigmoid(self.a * invariant + self.b)
        return x * gate[..., self._blade_subspace]

    def extra_repr(self) -> str:
        """Algebra, channels, subspaces (and paths/backend for products)."""
        return f"{self.algebra}, {self.channels}, subspaces={self.subspaces!r}"


class CliffordLayerNorm(_CliffordModule):
    """Channel layer norm ``x_c ← γ_c x_c / (mean_{c'} ‖x_{c'}‖ + ε)``.

    ``‖·‖`` is the smooth invariant norm ``(q(x)² + 1e-16)^{1/4}`` of the whole multivector
    (CGENN ``MVLayerNorm``, §4.2).

    Shapes ``(..., C, 2^n)`` → same. Parameters ``C`` (``γ``, init 1).
    """

    def __init__(self, algebra: AlgebraLike, channels: int, *, eps: float = 1e-6,
                 device=None, dtype=None) -> None:
        super().__init__(algebra, "none", device)
        _check_channels("channels", channels)
        self.channels, self.eps = channels, float(eps)
        self.gamma = nn.Parameter(torch.empty(channels, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``γ = 1``."""
        nn.init.ones_(self.gamma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(..., C, 2^n)`` → same shape."""
        self._check_x(x, self.channels)
        scale = self.algebra.norm(x).mean(-1, keepdim=True) + self.eps  # (..., 1)
        return x * (self.gamma / scale).unsqueeze(-1)

    def extra_repr(self) -> str:
        """Algebra, channels, subspaces (and paths/backend for products)."""
        return f"{self.algebra}, {self.channels}"
