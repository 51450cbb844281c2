"""Lifting and separable group convolutions on Rⁿ ⋊ G (Mironenco & Forré, ICLR 2024, §5)."""

from __future__ import annotations

import math

import torch
from torch import nn

from geomlayers.groups.affine import Affine, GLPlus, GroupSamples
from geomlayers.groups.images import Images, LiftedImages
from geomlayers.nn.lie.base import _check_conv_args, _check_dtype
from geomlayers.nn.lie.kernels import KernelNet, _conv, _SpatialKernel

__all__ = ["AffineLifting", "AffineGroupConv"]


class AffineLifting(nn.Module):
    """Lifting convolution: ``n``-D image → function on ``Rⁿ ⋊ G`` sampled at ``h_a``.

    ``F(x, h_a) = Σ_d f(x + d)·ψ(h_a⁻¹ d / ρ)·w(h_a⁻¹ d / ρ) / |det h_a|`` (Mironenco &
    Forré §5.1), ``ψ`` a :class:`KernelNet` ``Rⁿ → R^{C_out×C_in}``, ``w`` a smooth window of
    radius 1, so the kernel has support ``h_a·B(ρ)``.

    Shapes: ``(B, C_in, *spatial)`` → ``(B, C_out, N, *spatial)`` ("same" padding, zero or
    circular: with circular padding, cyclic shifts are exact symmetries).

    Declares ``group`` (``Rⁿ ⋊ G``), ``rep_in = Images(channels=C_in)`` and ``rep_out =
    LiftedImages(channels=C_out)`` (``geomlayers.groups.images``). On a grid of
    ``sample_grid(m, orbit=k)`` samples the layer is exactly equivariant (to rounding) to
    the rotations of the orbit that map the pixel lattice to itself (rot90 for ``k``
    divisible by 4; the cube rotations in 3-D) and, with circular padding, to integer
    translations: ``assert_equivariant`` checks these with ``LiftedImages(orbit=k)``. Other
    elements of ``G`` are matched only approximately (interpolation, Monte Carlo grid), see
    ``docs/lie.md``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        group: Affine | GLPlus,
        *,
        radius: float = 2.0,
        max_radius: int = 4,
        hidden: int = 32,
        spatial_basis: str = "rbf",
        padding_mode: str = "zeros",
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        (self.group, self.linear, self.in_channels, self.out_channels,
         self.padding_mode) = _check_conv_args(group, in_channels, out_channels, padding_mode)
        group, in_channels, out_channels = self.linear, self.in_channels, self.out_channels
        self.rep_in, self.rep_out = Images(channels=in_channels), LiftedImages(
            channels=out_channels)
        fan = in_channels * max(1, round(math.pi * radius**2))
        self.kernel = _SpatialKernel(group, out_channels * in_channels, radius, max_radius,
                                     hidden, fan, spatial_basis, device, dtype)
        self.bias = nn.Parameter(torch.empty(out_channels, device=device, dtype=dtype)) if bias \
            else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise the kernel network; zero bias."""
        self.kernel.net.reset_parameters()
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, samples: GroupSamples) -> torch.Tensor:
        """``x`` ``(B, C_in, *spatial)``, ``N`` samples → ``(B, C_out, N, *spatial)``."""
        n = self.linear.n
        if x.dim() != n + 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must be (B, {self.in_channels}, {n} spatial axes), "
                             f"got {tuple(x.shape)}")
        _check_dtype(self, x)
        samples = samples.to(x.dtype, x.device)
        values, r = self.kernel(samples)  # (N, K, C_out*C_in)
        num, k = values.shape[:2]
        w = values.reshape(num, k, self.out_channels, self.in_channels).permute(2, 0, 3, 1)
        w = w.reshape(self.out_channels * num, self.in_channels, *([2 * r + 1] * n))
        out = _conv(x, w, r, self.padding_mode)
        out = out.reshape(x.shape[0], self.out_channels, num, *x.shape[2:])
        if self.bias is not None:
            out = out + self.bias.reshape(1, -1, *([1] * (n + 1)))
        return out

    def extra_repr(self) -> str:
        """Hyper-parameters for ``repr``."""
        return (f"{self.in_channels}, {self.out_channels}, group={self.group}, "
                f"radius={self.kernel.radius}, max_radius={self.kernel.max_radius}, "
                f"padding_mode={self.padding_mode}, bias={self.bias is not None}")


class AffineGroupConv(nn.Module):
    """Separable group convolution on ``Rⁿ ⋊ G`` sampled at a grid ``{h_a}`` with weights ``c_b``.

    1. group mixing (1×1 in space):
       ``m(x, h_a) = Σ_b c_b·κ(ξ(h_a⁻¹ h̃_b))·e^{-|X(h_a⁻¹h̃_b)|²/2s²}·f(x, h̃_b)``,
       ``ξ`` = :meth:`GLPlus.features` (Sym coordinates, cos/sin of the angle);
    2. spatial, per sample and channel:
       ``out(x, h_a) = Σ_d m(x + d, h_a)·ψ(h_a⁻¹ d/ρ)·w / |det h_a|``.

    Each step is a group convolution with kernel ``δ(d)·κ(g)`` resp. ``ψ(d)·δ_e(g)``, hence
    equivariant; the sum over ``b`` is the importance-weighted Monte Carlo estimate of the Haar
    integral (Mironenco & Forré §5.2, Eq. for ``(f ⋆ k)(x, h)``).

    The importance-weighted sum has finite variance iff ``group_scale < √2·σ`` (``σ`` the
    sampler scale): the Gaussian decay must beat ``1/q``.

    Shapes: ``(B, C_in, N, *spatial)`` → ``(B, C_out, M, *spatial)`` (``M = N`` by default).

    Declares ``group``, ``rep_in = LiftedImages(channels=C_in)`` and ``rep_out =
    LiftedImages(channels=C_out)``; exact for the same elements as :class:`AffineLifting`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        group: Affine | GLPlus,
        *,
        radius: float = 2.0,
        max_radius: int = 4,
        group_scale: float = 0.3,
        hidden: int = 32,
        spatial: str = "full",
        spatial_basis: str = "rbf",
        padding_mode: str = "zeros",
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        (self.group, self.linear, self.in_channels, self.out_channels,
         self.padding_mode) = _check_conv_args(group, in_channels, out_channels, padding_mode)
        group, in_channels, out_channels = self.linear, self.in_channels, self.out_channels
        self.rep_in = LiftedImages(channels=in_channels)
        self.rep_out = LiftedImages(channels=out_channels)
        if not group_scale > 0:
            raise ValueError(f"group_scale must be > 0, got {group_scale}")
        self.group_scale = float(group_scale)
        self.group_net = KernelNet(group.feature_dimension, out_channels * in_channels, hidden,
                                   fan_in=in_channels, device=device, dtype=dtype)
        if spatial not in ("full", "depthwise"):
            raise ValueError(f"spatial must be 'full' or 'depthwise', got {spatial!r}")
        self.spatial = spatial
        width = out_channels if spatial == "full" else 1
        fan = width * max(1, round(math.pi * radius**2))
        self.kernel = _SpatialKernel(group, out_channels * width, radius, max_radius, hidden,
                                     fan, spatial_basis, device, dtype)
        self.bias = nn.Parameter(torch.empty(out_channels, device=device, dtype=dtype)) if bias \
            else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise both kernel networks; zero bias."""
        self.group_net.reset_parameters()
        self.kernel.net.reset_parameters()
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def mixing_matrix(
        self, samples: GroupSamples, out_samples: GroupSamples | None = None
    ) -> torch.Tensor:
        """Group-mixing weights ``(C_out, M, C_in, N)``: rows ``(o, a)``, columns ``(i, b)``.

        ``N`` input samples ``h̃_b`` (with their weights), ``M`` output samples ``h_a``
        (default: the input samples).
        """
        g = samples.elements
        h = g if out_samples is None else out_samples.elements
        rel = self.linear.inverse(h).unsqueeze(1) @ g.unsqueeze(0)  # h_a⁻¹ h̃_b (M, N, n, n)
        feats = self.linear.features(rel)
        sym = feats[..., : self.linear.sym_dimension]
        decay = torch.exp(-(sym * sym).sum(-1, keepdim=True) / (2 * self.group_scale**2))
        kappa = self.group_net(feats) * decay * samples.weights[None, :, None]
        kappa = kappa.reshape(len(h), len(g), self.out_channels, self.in_channels)
        return kappa.permute(2, 0, 3, 1)

    def forward(
        self, f: torch.Tensor, samples: GroupSamples, out_samples: GroupSamples | None = None
    ) -> torch.Tensor:
        """``f`` ``(B, C_in, N, *spatial)`` on ``samples`` → ``(B, C_out, M, *spatial)``.

        The output lives on ``out_samples`` (``M`` elements; default ``samples``).
        """
        n = self.linear.n
        _check_dtype(self, f)
        samples = samples.to(f.dtype, f.device)
        out_samples = samples if out_samples is None else out_samples.to(f.dtype, f.device)
        num, m_out = len(samples.elements), len(out_samples.elements)
        if f.dim() != n + 3 or f.shape[1] != self.in_channels or f.shape[2] != num:
            raise ValueError(f"f must be (B, {self.in_channels}, N={num}, {n} spatial axes), "
                             f"got {tuple(f.shape)}")
        batch, spatial = f.shape[0], f.shape[3:]
        mix = self.mixing_matrix(samples, out_samples)
        mix = mix.reshape(self.out_channels * m_out, self.in_channels * num)
        m = mix @ f.reshape(batch, self.in_channels * num, -1)
        values, r = self.kernel(out_samples)  # (M, K, C_out·C_s)
        c, ks = self.out_channels, [2 * r + 1] * n
        if self.spatial == "depthwise":
            w = values.permute(2, 0, 1).reshape(c * m_out, 1, *ks)
            out = _conv(m.reshape(batch, -1, *spatial), w, r, self.padding_mode,
                        groups=c * m_out)
            out = out.reshape(batch, c, m_out, *spatial)
        else:  # full channel mixing, one group per sample: weight (M·C_out, C_out, *ks)
            w = values.reshape(m_out, -1, c, c).permute(0, 2, 3, 1).reshape(m_out * c, c, *ks)
            per_sample = m.reshape(batch, c, m_out, -1).transpose(1, 2)
            out = _conv(per_sample.reshape(batch, m_out * c, *spatial), w, r, self.padding_mode,
                        groups=m_out)
            out = out.reshape(batch, m_out, c, *spatial).transpose(1, 2)
        if self.bias is not None:
            out = out + self.bias.reshape(1, -1, *([1] * (n + 1)))
        return out

    def extra_repr(self) -> str:
        """Hyper-parameters for ``repr``."""
        return (f"{self.in_channels}, {self.out_channels}, group={self.group}, "
                f"radius={self.kernel.radius}, max_radius={self.kernel.max_radius}, "
                f"group_scale={self.group_scale}, padding_mode={self.padding_mode}, "
                f"bias={self.bias is not None}")
