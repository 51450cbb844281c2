"""Affine-group convolutions on Rⁿ ⋊ GL⁺(n,R) and Rⁿ ⋊ SL(n,R).

Mironenco & Forré, "Lie Group Decompositions for Equivariant Neural Networks" (ICLR 2024),
§5 (lifting and group convolution with kernels on the decomposed coordinates, Monte Carlo
integration over the group), with three deliberate changes (see ``docs/lie.md``):

* the group integral is importance weighted (``GroupSamples.weights``) so that it estimates
  the Haar integral, not an average under the proposal;
* the rotation enters kernel networks as ``(cos θ, sin θ)`` (n = 2) or the matrix entries
  (n ≥ 3), continuous on SO(n); the grid has no duplicated angle and is closed under a
  finite rotation group;
* group convolutions are *separable*: a group-mixing step (1×1 in space, kernel on
  ``h_a⁻¹ h̃_b``) followed by a per-sample spatial step (kernel ``ψ(h_a⁻¹ d)``). Both are
  group convolutions, so their composition is one; it costs ``O(C²N² + CNK)`` per pixel
  instead of ``O(C²N²K)`` (Knigge et al., ICML 2022, separable G-CNNs).

Feature maps are ``(B, C, N, *spatial)``: channels × group samples × ``n`` spatial axes.
Spatial coordinates are tensor-index coordinates (axis 0 first); a transform ``(A, t)`` of
the input acts on them. Works for ``n`` = 1, 2, 3 spatial axes.
"""
from __future__ import annotations

from geomlayers.nn._moved import moved_attribute
from geomlayers.nn.lie.conv import AffineGroupConv, AffineLifting
from geomlayers.nn.lie.kernels import KernelNet, RBFKernel
from geomlayers.nn.lie.pooling import GroupBatchNorm, GroupMaxProjection, GroupSpatialMaxPool
from geomlayers.nn.lie.sampling import GroupSampler

__all__ = [
    "GroupSampler",
    "KernelNet",
    "RBFKernel",
    "AffineLifting",
    "AffineGroupConv",
    "GroupBatchNorm",
    "GroupSpatialMaxPool",
    "GroupMaxProjection",
]




__getattr__ = moved_attribute("geomlayers.nn.lie", ('AffineInvariantCNN',))
