"""Grassmann network layers: GrNet (Huang, Wu & Van Gool, AAAI 2018) and the gyro MLR.

Features are orthonormal bases ``(batch, channels, n, q)`` of q-dimensional subspaces (points of
:class:`~geomlayers.manifolds.grassmann.Grassmann`) or their projectors ``(batch, channels, n, n)``.

* :class:`FRMap` ``X ↦ WᵀX`` with ``W`` on the Stiefel manifold (GrNet §3.1, full-rank mapping).
* :class:`ReOrth` ``X ↦ Q`` of ``X = QR`` (GrNet §3.2), with an explicit QR backward.
* :class:`ProjMap` ``X ↦ XXᵀ`` (GrNet §3.3).
* :class:`ProjPooling` mean of projectors over channel groups or spatial windows (GrNet §3.4).
* :class:`OrthMap` top-q eigenvectors of a symmetric matrix (GrNet §3.5), with a backward that
  only uses the gap between kept and discarded eigenvalues (stable at repeated eigenvalues).
* :class:`GrassmannMLR` multinomial logistic regression with gyro hyperplanes
  ``logit_k(Y) = ⟨Log_Ĩ(⊖P_k ⊕ Y), W_k⟩`` (Nguyen & Yang, ICML 2023, §3.3-§4).
* :class:`GrNet` the GrNet architecture with a linear (projector) or gyro-MLR head.
"""

from __future__ import annotations

import math

import geoopt
import torch
from torch import nn
from torch.autograd.function import once_differentiable

from geomlayers.groups import Congruence, Subspaces
from geomlayers.linalg import check_finite, check_symmetric
from geomlayers.linalg import config as linalg_config
from geomlayers.manifolds.grassmann import gyro_translate, log_identity, qr_positive
from geomlayers.nn._declare import DeclaresOrthogonalGroup, check_matrix_size

__all__ = ["FRMap", "GrassmannMLR", "OrthMap", "ProjMap", "ProjPooling", "ReOrth", "orthmap",
           "reorth"]


def _t(x: torch.Tensor) -> torch.Tensor:
    return x.transpose(-1, -2)


def _check_rank4(x: torch.Tensor, name: str, what: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{name} must have shape {what}, got {tuple(x.shape)}")


# ---------------------------------------------------------------------------------------------
# Functions with explicit backward
# ---------------------------------------------------------------------------------------------

class _ReOrth(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        q, r = qr_positive(x)
        ctx.save_for_backward(q, r)
        return q

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_q):
        q, r = ctx.saved_tensors
        diag = torch.diagonal(r, dim1=-2, dim2=-1).abs()
        ratio = diag.amin(-1) / diag.amax(-1).clamp_min(torch.finfo(r.dtype).tiny)
        if bool((ratio <= r.shape[-2] * torch.finfo(r.dtype).eps).any()):
            raise ValueError("reorth: no gradient at a rank-deficient x (smallest |R_ii| / "
                             f"largest = {float(ratio.min()):.1e}): Q of the QR factorisation "
                             "does not depend smoothly on x there; give x full column rank")
        m = -_t(grad_q) @ q
        copyltu = torch.tril(m) + _t(torch.tril(m, -1))
        rhs = grad_q + q @ copyltu
        return torch.linalg.solve_triangular(_t(r), rhs, upper=False, left=False)


def reorth(x: torch.Tensor) -> torch.Tensor:
    """``Q`` of the thin QR ``X = QR`` with ``diag(R) > 0``; ``(..., n, q)``, ``n ≥ q``, full rank.

    Backward: ``X̄ = (Q̄ + Q copyltu(−Q̄ᵀQ)) R⁻ᵀ`` (Walter & Lehmann 2018; Liao et al., "Differentiable
    programming tensor networks", PRX 2019, eq. 5), one triangular solve, no inverse formed; it
    raises ``ValueError`` at an ``x`` that is rank-deficient to working precision.
    """
    return _ReOrth.apply(x)


class _OrthMap(torch.autograd.Function):
    @staticmethod
    def forward(ctx, s, q):
        sym = 0.5 * (s + _t(s))
        sigma, u = torch.linalg.eigh(sym)
        ctx.q = q
        ctx.save_for_backward(sigma, u)
        return u[..., -q:].flip(-1)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_u):
        sigma, u = ctx.saved_tensors
        q = ctx.q
        top, rest = u[..., -q:].flip(-1), u[..., :-q]
        gap = sigma[..., -q:].flip(-1).unsqueeze(-2) - sigma[..., :-q].unsqueeze(-1)
        # relative to the matrix's own scale (an absolute floor of 1 made the gradient of a
        # matrix at scale c ≪ 1 wrong: ∇L(cS) must be ∇L(S)/c)
        scale = sigma.abs().amax(-1, keepdim=True).unsqueeze(-1)
        gap = gap.clamp_min(linalg_config.tie(sigma.dtype) * scale + torch.finfo(sigma.dtype).tiny)
        grad = rest @ ((_t(rest) @ grad_u) / gap) @ _t(top)
        return 0.5 * (grad + _t(grad)), None


def orthmap(s: torch.Tensor, q: int) -> torch.Tensor:
    """Eigenvectors of the q largest eigenvalues of symmetric ``(..., n, n)`` → ``(..., n, q)``.

    The backward is the derivative of the invariant subspace: with kept eigenpairs ``(σ_i, u_i)``
    and discarded ``(σ_j, u_j)``, ``S̄ = sym(Σ_ij u_j (u_jᵀŪ_i)/(σ_i − σ_j) u_iᵀ)`` (Daleckii–Krein
    for spectral projectors; Ionescu et al., ICCV 2015, Prop. 2 restricted to the kept block). It is
    the exact gradient of every loss that depends on the output only through its span (what GrNet
    computes downstream: FRMap → ReOrth → ProjMap), and it needs no gap *inside* the kept or the
    discarded block, so repeated eigenvalues there do not produce inf/NaN. Gaps between the blocks
    below ``config.tie(dtype) · max|σ|`` (:data:`geomlayers.linalg.config`) are clamped.
    """
    s = check_symmetric(s, "s")
    n = s.shape[-1]
    if not isinstance(q, int) or not 1 <= q < n:
        raise ValueError(f"q must be an integer in 1..{n - 1} (matrix size {n}), got {q!r}")
    return _OrthMap.apply(s, q)


# ---------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------

class FRMap(nn.Module):
    """Full-rank mapping ``X_c ↦ W_cᵀ X_c`` (GrNet §3.1), ``W_c`` ``(n, d)`` column-orthonormal.

    Input ``(B, C, n, q)`` with ``C = channels`` (one map per channel) or ``C = 1`` (the same input
    through every map, GrNet's first layer); output ``(B, channels, d, q)`` — not orthonormal any
    more, follow it with :class:`ReOrth`. The weight is a ``geoopt.ManifoldParameter`` on
    ``geoopt.Stiefel()``: train with ``geoopt.optim.RiemannianAdam``/``RiemannianSGD``.

    Args:
        in_features: ``n``.
        out_features: ``d ≤ n``.
        channels: number of maps.
        device, dtype: of the weight.

    """

    def __init__(self, in_features: int, out_features: int, channels: int = 1, *,
                 device=None, dtype=None):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features),
                            ("channels", channels)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if out_features > in_features:
            raise ValueError(f"out_features ({out_features}) must be <= in_features "
                             f"({in_features}); FRMap reduces the ambient dimension")
        self.in_features, self.out_features, self.channels = in_features, out_features, channels
        self.weight = geoopt.ManifoldParameter(
            torch.empty(channels, in_features, out_features, device=device, dtype=dtype),
            manifold=geoopt.Stiefel())
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Haar-random orthonormal columns (Q of a Gaussian matrix)."""
        with torch.no_grad():
            self.weight.copy_(qr_positive(torch.randn_like(self.weight))[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, n, q) → (B, channels, d, q)``."""
        _check_rank4(x, "x", "(batch, channels, n, q)")
        check_finite(x, "x")
        if x.shape[-2] != self.in_features or x.shape[1] not in (1, self.channels):
            raise ValueError(f"x must have shape (batch, {self.channels} or 1, "
                             f"{self.in_features}, q), got {tuple(x.shape)}")
        return _t(self.weight).to(x.dtype) @ x

    def extra_repr(self) -> str:
        """Sizes and options."""
        return f"{self.in_features}, {self.out_features}, channels={self.channels}"


class ReOrth(DeclaresOrthogonalGroup, nn.Module):
    """Re-orthonormalisation ``X ↦ Q`` (positive-diagonal QR) of ``(..., n, q)`` (GrNet §3.2).

    Equivariant under ``O(n)`` on subspaces (``span(gX) = g span(X)``): declares
    ``group = OrthogonalGroup(n)`` (with ``n=``), ``rep_in = rep_out = Subspaces()``.
    """

    rep_in = Subspaces()
    rep_out = Subspaces()

    def __init__(self, *, n: int | None = None):
        super().__init__()
        self.n = check_matrix_size(n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., n, q) → (..., n, q)`` with ``QᵀQ = I``, same span."""
        if x.dim() < 2 or x.shape[-2] < x.shape[-1]:
            raise ValueError(f"x must have shape (..., n, q) with n >= q, got {tuple(x.shape)}")
        return reorth(check_finite(x, "x"))


class ProjMap(DeclaresOrthogonalGroup, nn.Module):
    """Projection mapping ``X ↦ XXᵀ`` (GrNet §3.3): basis-independent image of the subspace.

    ``O(n)``-equivariant from subspaces to congruence (``(gX)(gX)ᵀ = g XXᵀ gᵀ``).
    """

    rep_in = Subspaces()
    rep_out = Congruence()

    def __init__(self, *, n: int | None = None):
        super().__init__()
        self.n = check_matrix_size(n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., n, q) → (..., n, n)``."""
        if x.dim() < 2:
            raise ValueError(f"x must have shape (..., n, q), got {tuple(x.shape)}")
        check_finite(x, "x")
        return x @ _t(x)


class ProjPooling(nn.Module):
    """Mean pooling of projectors (GrNet §3.4).

    ``mode="channel"``: average groups of ``kernel_size`` consecutive channels,
    ``(B, C, n, n) → (B, C/k, n, n)`` (the A-ProjPooling of GyroBN's GrNet).
    ``mode="window"``: average ``k×k`` blocks of each matrix, ``(B, C, n, n) → (B, C, n/k, n/k)``
    (W-ProjPooling; ``(1/k²) PᵀXP`` with the block-sum matrix ``P``, so symmetric PSD stays so).
    The output is symmetric PSD but not a projector: follow it with :class:`OrthMap`.
    """

    def __init__(self, kernel_size: int = 2, mode: str = "channel"):
        super().__init__()
        if not isinstance(kernel_size, int) or kernel_size < 1:
            raise ValueError(f"kernel_size must be a positive integer, got {kernel_size!r}")
        if mode not in ("channel", "window"):
            raise ValueError(f"mode must be 'channel' or 'window', got {mode!r}")
        self.kernel_size, self.mode = kernel_size, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, n, n)`` → pooled, see the class docstring."""
        _check_rank4(x, "x", "(batch, channels, n, n)")
        check_symmetric(x, "x")
        k = self.kernel_size
        b, c, n, _ = x.shape
        if self.mode == "channel":
            if c % k:
                raise ValueError(f"channels ({c}) must be divisible by kernel_size ({k})")
            return x.reshape(b, c // k, k, n, n).mean(2)
        if n % k:
            raise ValueError(f"matrix size ({n}) must be divisible by kernel_size ({k})")
        return x.reshape(b, c, n // k, k, n // k, k).mean((3, 5))

    def extra_repr(self) -> str:
        """Sizes and options."""
        return f"kernel_size={self.kernel_size}, mode={self.mode!r}"


class OrthMap(DeclaresOrthogonalGroup, nn.Module):
    """Orthonormal mapping: top-q eigenvectors of symmetric ``(..., n, n)`` (GrNet §3.5).

    See :func:`orthmap` for the (span-exact, gap-only) backward.  ``O(n)``-equivariant from
    congruence to subspaces (the top eigenvectors of ``g S gᵀ`` span ``g`` times theirs).
    """

    rep_in = Congruence()

    def __init__(self, q: int, *, n: int | None = None):
        super().__init__()
        if not isinstance(q, int) or q < 1:
            raise ValueError(f"q must be a positive integer, got {q!r}")
        self.q = q
        self.n = check_matrix_size(n)

    @property
    def rep_out(self) -> Subspaces:
        """``Subspaces(p=q)``."""
        return Subspaces(p=self.q)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., n, n) → (..., n, q)``."""
        if self.n is not None and isinstance(x, torch.Tensor) and (
                x.dim() < 2 or x.shape[-1] != self.n or x.shape[-2] != self.n):
            raise ValueError(f"x must have shape (..., {self.n}, {self.n}) (the layer was built "
                             f"with n={self.n}), got {tuple(x.shape)}")
        return orthmap(check_symmetric(x, "x"), self.q)

    def extra_repr(self) -> str:
        """Sizes and options."""
        return f"q={self.q}"


class GrassmannMLR(nn.Module):
    """Gyro multinomial logistic regression on ``Gr(n, q)^C`` (Nguyen & Yang, ICML 2023, §3.3-§4).

    ``logit_k(Y) = Σ_c ⟨Log_Ĩ(⊖P_kc ⊕ Y_c), W_kc⟩`` — the signed gyro-distance (up to ‖W‖) to the
    gyro-hyperplane through ``P_kc`` with normal ``W_kc ∈ T_Ĩ``, summed over the channels (the
    product-manifold gyro inner product). ``P_kc = Exp_Ĩ([0; B_kc])`` and ``W_kc = [0; A_kc]`` are
    parametrised by Euclidean ``(n−q)×q`` blocks, so any torch optimiser works;
    ``⊖P ⊕ Y = exp(−Ω_B) Y`` is evaluated in closed form (:func:`gyro_translate`).

    Args:
        n, q: the Grassmannian ``Gr(n, q)``.
        num_classes: ``K``.
        channels: ``C``.
        bias: learn the offsets ``P_kc`` (the gyro analogue of a bias); ``False`` fixes ``P = Ĩ``.
        device, dtype: of the parameters.

    Input ``(B, C, n, q)`` orthonormal bases, output logits ``(B, K)``.

    """

    def __init__(self, n: int, q: int, num_classes: int, channels: int = 1, *, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        if not (isinstance(n, int) and isinstance(q, int) and 1 <= q < n):
            raise ValueError(f"need integers 1 <= q < n, got n={n!r}, q={q!r}")
        for name, value in (("num_classes", num_classes), ("channels", channels)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.n, self.q, self.num_classes, self.channels = n, q, num_classes, channels
        shape = (num_classes, channels, n - q, q)
        self.normal = nn.Parameter(torch.empty(shape, device=device, dtype=dtype))
        if bias:
            self.offset = nn.Parameter(torch.empty(shape, device=device, dtype=dtype))
        else:
            self.register_parameter("offset", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Normals uniform in ±1/√(C(n−q)q) (like ``nn.Linear``), offsets at Ĩ."""
        bound = 1.0 / math.sqrt(self.channels * (self.n - self.q) * self.q)
        nn.init.uniform_(self.normal, -bound, bound)
        if self.offset is not None:
            nn.init.zeros_(self.offset)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """``(B, C, n, q) → (B, K)``."""
        _check_rank4(y, "y", f"(batch, {self.channels}, {self.n}, {self.q})")
        check_finite(y, "y")
        if tuple(y.shape[1:]) != (self.channels, self.n, self.q):
            raise ValueError(f"y must have shape (batch, {self.channels}, {self.n}, {self.q}), "
                             f"got {tuple(y.shape)}")
        y = y.unsqueeze(1)  # (B, 1, C, n, q) against (K, C, ...)
        if self.offset is not None:
            y = gyro_translate(-self.offset.to(y.dtype), y)
        tangent = log_identity(y)  # (B, K or 1, C, n−q, q)
        return (tangent * self.normal.to(y.dtype)).sum(dim=(-1, -2, -3)).expand(
            -1, self.num_classes)

    def extra_repr(self) -> str:
        """Sizes and options."""
        return (f"n={self.n}, q={self.q}, num_classes={self.num_classes}, "
                f"channels={self.channels}, bias={self.offset is not None}")
