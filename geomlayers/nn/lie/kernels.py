"""Continuous kernels on R^n and on the group (SIREN and RBF bases)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from geomlayers.groups.affine import GLPlus, GroupSamples
from geomlayers.validation import check_int

__all__ = ["KernelNet", "RBFKernel"]


class KernelNet(nn.Module):
    """Continuous kernel ``R^{in} → R^{out}``: a SIREN (Sitzmann et al. 2020) with 2 hidden layers.

    ``Linear → sin(ω₀·) → Linear → sin → Linear``; ``out_scale`` sets the init range of the
    last layer (the fan-in of the convolution the kernel feeds).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden: int = 32,
        *,
        omega: float = 3.0,
        fan_in: int = 1,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.omega, self.fan_in = omega, fan_in
        self.first = nn.Linear(in_features, hidden, **kw)
        self.hidden = nn.Linear(hidden, hidden, **kw)
        self.last = nn.Linear(hidden, out_features, **kw)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """SIREN init; the last layer scaled by ``1/√fan_in`` (variance-preserving conv)."""
        h = self.hidden.in_features
        nn.init.uniform_(self.first.weight, -1 / self.first.in_features, 1 / self.first.in_features)
        nn.init.uniform_(self.first.bias, -1, 1)
        bound = math.sqrt(6 / h) / self.omega
        nn.init.uniform_(self.hidden.weight, -bound, bound)
        nn.init.zeros_(self.hidden.bias)
        nn.init.uniform_(self.last.weight, -1, 1)
        with torch.no_grad():
            self.last.weight.mul_(math.sqrt(6 / h) / math.sqrt(self.fan_in))
        nn.init.zeros_(self.last.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z`` ``(..., in)`` → ``(..., out)``."""
        h = torch.sin(self.omega * self.first(z))
        h = torch.sin(self.omega * self.hidden(h))
        return self.last(h)


class RBFKernel(nn.Module):
    """Continuous kernel ``R^n → R^{out}``: Gaussian bumps on a grid of centres in the unit ball.

    ``k(z) = Σ_j W_j·exp(-|z - μ_j|²/2s²)`` with centres ``μ_j`` on the grid
    ``{-1, -1 + δ, …, 1}^n`` (spacing ``δ = 2/(per_axis - 1)``) inside ``|μ| ≤ 1`` and width
    ``s = δ/2`` (neighbouring bumps overlap by ``e^{-2}``, a well-conditioned basis). At the
    identity with ``radius = (per_axis - 1)/2`` pixels the centres sit on the pixel offsets,
    so the kernel is a smoothly interpolated free-form kernel: far better conditioned for
    gradient descent than an MLP kernel (which learns slowly on small supports).
    """

    def __init__(
        self, n: int, out_features: int, per_axis: int = 5, *, fan_in: int = 1, device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        per_axis = check_int("per_axis", per_axis, minimum=2)
        axis = torch.linspace(-1, 1, per_axis, dtype=torch.float64)
        grid = torch.stack(torch.meshgrid(*([axis] * n), indexing="ij"), -1).reshape(-1, n)
        centres = grid[(grid * grid).sum(-1) <= 1 + 1e-9]
        self.width = 1.0 / (per_axis - 1)  # half the spacing: bumps barely overlap
        self.fan_in = fan_in
        self.register_buffer("centres", centres.to(dtype=dtype or torch.get_default_dtype(),
                                                   device=device), persistent=False)
        self.weight = nn.Parameter(torch.empty(len(centres), out_features, device=device,
                                               dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``N(0, 1/(fan_in·#centres))`` weights."""
        nn.init.normal_(self.weight, std=1 / math.sqrt(self.fan_in * len(self.centres)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``z`` ``(..., n)`` → ``(..., out)``."""
        diff = z.unsqueeze(-2) - self.centres.to(z)
        bumps = torch.exp(-(diff * diff).sum(-1) / (2 * self.width**2))
        return bumps @ self.weight


def _offsets(radius: int, n: int, like: torch.Tensor) -> torch.Tensor:
    """Integer offsets ``((2r+1)^n, n)`` in the order of a conv kernel's spatial axes."""
    axis = torch.arange(-radius, radius + 1, dtype=like.dtype, device=like.device)
    grids = torch.meshgrid(*([axis] * n), indexing="ij")
    return torch.stack(grids, dim=-1).reshape(-1, n)


def _window(z: torch.Tensor) -> torch.Tensor:
    """Smooth compact window ``(1 - |z|²)²`` on ``|z| < 1``: ``(..., n)`` → ``(..., 1)``."""
    r2 = (z * z).sum(-1, keepdim=True)
    return torch.clamp(1 - r2, min=0) ** 2


def _conv(x: torch.Tensor, w: torch.Tensor, r: int, mode: str, groups: int = 1) -> torch.Tensor:
    """``n``-D cross-correlation with "same" zero or circular padding of ``r`` pixels."""
    conv = (F.conv1d, F.conv2d, F.conv3d)[w.dim() - 3]
    if mode == "circular":
        return conv(F.pad(x, [r] * (2 * (w.dim() - 2)), mode="circular"), w, groups=groups)
    return conv(x, w, padding=r, groups=groups)


class _SpatialKernel(nn.Module):
    """``ψ(h_a⁻¹ d / ρ)·window / |det h_a|`` on integer offsets ``d``: shared by both layers."""

    def __init__(self, linear: GLPlus, out_features, radius, max_radius, hidden, fan_in, basis,
                 device, dtype):
        super().__init__()
        n = linear.n
        self.linear = linear
        if not radius > 0:
            raise ValueError(f"radius must be > 0 (kernel support in pixels), got {radius}")
        max_radius = check_int("max_radius", max_radius, minimum=1)
        self.n, self.radius, self.max_radius = n, float(radius), max_radius
        if basis == "rbf":
            per_axis = 2 * max(1, round(radius)) + 1
            self.net = RBFKernel(n, out_features, per_axis, fan_in=fan_in, device=device,
                                 dtype=dtype)
        elif basis == "siren":
            self.net = KernelNet(n, out_features, hidden, fan_in=fan_in, device=device,
                                 dtype=dtype)
        else:
            raise ValueError(f"spatial_basis must be 'rbf' or 'siren', got {basis!r}")

    def support(self, samples: GroupSamples) -> int:
        """Pixel radius covering ``h_a·B(ρ)`` for all samples (capped at ``max_radius``)."""
        norm = torch.linalg.matrix_norm(samples.elements.detach(), ord=2).max()
        return int(min(self.max_radius, math.ceil(float(norm) * self.radius - 1e-9)))

    def forward(self, samples: GroupSamples) -> tuple[torch.Tensor, int]:
        """Kernel values ``(N, K, out)`` on the ``K = (2r+1)^n`` offsets, and ``r``."""
        r = self.support(samples)
        d = _offsets(r, self.n, samples.elements)
        inverse = self.linear.inverse(samples.elements)  # (N, n, n), through g = exp(X)·R
        z = self.linear.act(inverse, d.expand(len(inverse), *d.shape), order=1) / self.radius
        det = torch.linalg.det(samples.elements).abs()
        return self.net(z) * _window(z) / det[:, None, None], r
