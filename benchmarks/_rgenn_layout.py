"""A re-layout of the authors' affine G-CNN (mirceamironenco/rgenn @ df54466), for timing only.

Written from the description in shared/research/lie-clifford-frames.md §A.3–A.5 (no code
copied): per forward pass it redraws the group samples (log-normal SPD with variance 0.1 per
Sym coordinate × equidistant angles ``linspace(-π, π, N)``, duplicate included), evaluates a
SIREN kernel net (3 sine layers of width 60, ω₀ = 10) on every (output sample, input sample,
kernel tap) triple with input ``[h_a⁻¹·grid, ξ(h_a⁻¹ h̃_b)]`` (raw angle θ ∈ [0, 2π)), and
runs one dense ``conv2d`` over ``C_in·N → C_out·N`` channels with k×k kernels; LayerNorm over
(C, N, H, W); max pooling per sample; a global max; a Linear–LayerNorm–GELU–Linear head.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from geomlayers.groups.affine import GLPlus


class Siren(nn.Module):
    def __init__(self, d_in, d_out, hidden=60, omega=10.0):
        super().__init__()
        self.omega = omega
        self.layers = nn.ModuleList([nn.Linear(d_in, hidden), nn.Linear(hidden, hidden),
                                     nn.Linear(hidden, hidden)])
        self.out = nn.Linear(hidden, d_out)
        with torch.no_grad():
            self.layers[0].weight.uniform_(-1 / d_in, 1 / d_in)
            for layer in self.layers[1:]:
                b = math.sqrt(6 / hidden) / omega
                layer.weight.uniform_(-b, b)
            self.out.weight.mul_(0.1)

    def forward(self, z):
        for layer in self.layers:
            z = torch.sin(self.omega * layer(z))
        return self.out(z)


def sample_authors(group: GLPlus, num: int):
    """Log-normal SPD (σ² = 0.1 per coordinate) × equidistant angles incl. the ±π duplicate."""
    coords = torch.randn(num, group.sym_dimension, dtype=torch.float64) * math.sqrt(0.1)
    x = group.sym_from_coordinates(coords)
    theta = torch.linspace(-math.pi, math.pi, num, dtype=torch.float64)
    c, s = torch.cos(theta), torch.sin(theta)
    rot = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    lam, vec = torch.linalg.eigh(x)
    return (vec * torch.exp(lam).unsqueeze(-2)) @ vec.mT @ rot


def _xi(group: GLPlus, g):
    x, r = group.decompose(g)
    theta = torch.remainder(torch.atan2(r[..., 1, 0], r[..., 0, 0]), 2 * math.pi)
    return torch.cat([group.sym_coordinates(x), theta.unsqueeze(-1)], -1)


def _grid(k, dtype):
    axis = torch.linspace(-1, 1, k, dtype=dtype)
    return torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)


class AuthorsLift(nn.Module):
    def __init__(self, c_in, c_out, k=5):
        super().__init__()
        self.c_in, self.c_out, self.k = c_in, c_out, k
        self.net = Siren(2, c_in * c_out)

    def forward(self, x, g):
        num = len(g)
        z = torch.einsum("aij,kj->aki", torch.linalg.inv(g), _grid(self.k, torch.float64))
        mask = (z.norm(dim=-1, keepdim=True) <= 1).float()
        w = self.net(z.float()) * mask / torch.linalg.det(g).abs().float()[:, None, None]
        w = w.reshape(num, self.k, self.k, self.c_out, self.c_in).permute(3, 0, 4, 1, 2)
        w = w.reshape(self.c_out * num, self.c_in, self.k, self.k)
        out = F.conv2d(x, w, padding=self.k // 2)
        return out.reshape(x.shape[0], self.c_out, num, *out.shape[-2:])


class AuthorsGConv(nn.Module):
    def __init__(self, group, c_in, c_out, k=5):
        super().__init__()
        self.group, self.c_in, self.c_out, self.k = group, c_in, c_out, k
        self.net = Siren(2 + group.sym_dimension + 1, c_in * c_out)

    def forward(self, f, g):
        num, k = len(g), self.k
        inv = torch.linalg.inv(g)
        spatial = torch.einsum("aij,kj->aki", inv, _grid(k, torch.float64))  # (N, K, 2)
        xi = _xi(self.group, inv.unsqueeze(1) @ g.unsqueeze(0))  # (N, N, d)
        z = torch.cat([spatial[:, None].expand(num, num, k * k, 2),
                       xi[:, :, None].expand(num, num, k * k, xi.shape[-1])], -1)
        mask = (spatial.norm(dim=-1) <= 1).float()[:, None, :, None]
        w = self.net(z.float()) * mask / torch.linalg.det(g).abs().float()[None, :, None, None]
        w = w.reshape(num, num, k, k, self.c_out, self.c_in).permute(4, 0, 5, 1, 2, 3)
        w = w.reshape(self.c_out * num, self.c_in * num, k, k)
        out = F.conv2d(f.flatten(1, 2), w, padding=k // 2)
        return out.reshape(f.shape[0], self.c_out, num, *out.shape[-2:])


class AuthorsModel(nn.Module):
    """Same depth/widths/sample count as :class:`AffineInvariantCNN`, the authors' layout."""

    def __init__(self, group, channels=(12, 24, 48), num_samples=8, head=64, num_classes=10):
        super().__init__()
        self.group, self.num = group, num_samples
        self.lift = AuthorsLift(1, channels[0])
        self.convs = nn.ModuleList(AuthorsGConv(group, a, b)
                                   for a, b in zip(channels[:-1], channels[1:], strict=True))
        self.head = nn.Sequential(nn.Linear(channels[-1], head, bias=False), nn.LayerNorm(head),
                                  nn.GELU(), nn.Linear(head, num_classes))

    def forward(self, x):
        g = sample_authors(self.group, self.num)  # redrawn every call, also in eval
        f = self.lift(x, g)
        for conv in self.convs:
            f = F.max_pool2d(f.flatten(1, 2), 2).reshape(*f.shape[:3], *[s // 2 for s in
                                                                          f.shape[3:]])
            f = F.gelu(F.layer_norm(f, f.shape[1:]))
            f = conv(f, g)
        f = F.gelu(F.layer_norm(f, f.shape[1:]))
        return self.head(f.flatten(2).amax(-1))
