"""CGENN and GLGENN layers on multivector features ``(batch, channels, 2^n)`` of ``Cl(p, q, r)``.

Every layer takes ``subspaces``: the blocks of blades that share one weight.

* ``'grade'``: the ``n + 1`` grades — Clifford group equivariant networks (CGENN; Ruhe,
  Brandstetter & Forré, NeurIPS 2023, §4: ``MVLinear``, ``SteerableGeometricProductLayer``,
  ``NormalizationLayer``, ``MVSiLU``, ``MVLayerNorm``);
* ``'type'``: the four quaternion types ``Cl^{k̄} = ⊕_{g ≡ k mod 4} Cl^g`` — generalized
  Lipschitz group equivariant networks (GLGENN; Filimoshina & Shirokov, ICML 2025, §4:
  ``QTLinear``, ``QTGeometricProduct``, ``QTNormalization``), whose weight sharing cuts the
  parameters for ``n ≥ 4``;
* ``'none'``: one weight for all blades (CGENN's ``subspaces=False`` input embedding).

All layers commute with the outermorphism of every isometry of the metric
(:class:`geomlayers.groups.pseudo_orthogonal.PseudoOrthogonal`, degenerate metrics included):
subspace projections, geometric products and the invariant ``q`` are preserved by it.

The geometric product runs by index gather (``geomlayers.clifford.algebra``): the per-path
weights become a ``(channels, 2^n, 2^n)`` kernel ``W[c, A, C]`` (left blade ``A``, output
``C``, right blade ``A xor C``) and ``out = Σ_A x_A W[c, A, C] y_{A xor C}``; the authors'
code forms a ``(channels, 2^n, 2^n, 2^n)`` weighted Cayley tensor and contracts it densely.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from geomlayers.clifford.algebra import CliffordAlgebra, _gather_pairs

__all__ = [
    "CliffordLinear",
    "CliffordNormalization",
    "CliffordGeometricProduct",
    "CliffordSiLU",
    "CliffordLayerNorm",
    "O5RegressionNet",
    "ConvexHullNet",
    "SUBSPACES",
]

SUBSPACES = ("grade", "type", "none")


def _check_algebra(algebra) -> None:
    if not isinstance(algebra, CliffordAlgebra):
        raise TypeError(f"algebra must be a CliffordAlgebra, got {type(algebra).__name__}")


def _check_channels(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")


def _check_input(x, algebra: CliffordAlgebra, channels: int) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point torch.Tensor, got {type(x).__name__}")
    if x.dim() < 2 or x.shape[-2:] != (channels, algebra.dim):
        raise ValueError(
            f"x must have shape (..., {channels}, {algebra.dim}) (channels, 2^n blades), "
            f"got {tuple(x.shape)}"
        )


class _CliffordModule(nn.Module):
    """Shared state: the algebra, the subspace partition and its blade index buffer."""

    def __init__(self, algebra: CliffordAlgebra, subspaces: str, device=None) -> None:
        super().__init__()
        _check_algebra(algebra)
        if subspaces not in SUBSPACES:
            raise ValueError(f"subspaces must be one of {SUBSPACES}, got {subspaces!r}")
        self.algebra = algebra
        self.subspaces = subspaces
        self.num_subspaces = algebra.num_subspaces(subspaces)
        self.register_buffer("_blade_subspace",
                             algebra.subspace_index(subspaces).to(device=device, copy=True),
                             persistent=False)


class CliffordLinear(_CliffordModule):
    """Subspace-wise channel mixing ``(..., C_in, 2^n)`` → ``(..., C_out, 2^n)``.

    ``y_o = Σ_c Σ_s w[o, c, s] <x_c>_s + b_o · 1``: CGENN's ``MVLinear`` (§4.1; ``'grade'``,
    or ``'none'`` for ``subspaces=False``) and GLGENN's ``QTLinear`` (§4; ``'type'``, which
    the authors use without bias). The bias sits on the scalar blade only, the one
    equivariant choice. Parameters ``C_out · C_in · S (+ C_out)``; init ``N(0, 1/C_in)``.
    """

    def __init__(self, algebra: CliffordAlgebra, in_channels: int, out_channels: int, *,
                 subspaces: str = "grade", bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(algebra, subspaces, device)
        _check_channels("in_channels", in_channels)
        _check_channels("out_channels", out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        kw = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, self.num_subspaces,
                                               **kw))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, **kw))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Weights ``N(0, 1/C_in)`` (as CGENN/GLGENN), bias 0."""
        nn.init.normal_(self.weight, std=1 / math.sqrt(self.in_channels))
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(..., C_in, 2^n)`` → ``(..., C_out, 2^n)``."""
        _check_input(x, self.algebra, self.in_channels)
        blade_weight = self.weight[..., self._blade_subspace]  # (C_out, C_in, 2^n)
        out = torch.einsum("...ci,oci->...oi", x, blade_weight)
        if self.bias is not None:
            out = torch.cat([out[..., :1] + self.bias.unsqueeze(-1), out[..., 1:]], dim=-1)
        return out

    def extra_repr(self) -> str:
        """Algebra, channels, subspaces (and paths/backend for products)."""
        return (f"{self.algebra}, {self.in_channels}, {self.out_channels}, "
                f"subspaces={self.subspaces!r}, bias={self.bias is not None}")


class CliffordNormalization(_CliffordModule):
    """Learned per-subspace normalisation ``<x_c>_s / (σ(a_{c,s}) (‖<x_c>_s‖ - 1) + 1 + ε)``.

    ``‖·‖ = (q² + 1e-16)^{1/4}`` is the smooth ``sqrt|q|`` (invariant, also for indefinite
    and degenerate metrics). CGENN ``NormalizationLayer`` (§4.2) for ``'grade'``, GLGENN
    ``QTNormalization`` for ``'type'``. ``a`` starts at ``init`` (σ(0) = ½).
    Parameters ``channels · S``.
    """

    def __init__(self, algebra: CliffordAlgebra, channels: int, *, subspaces: str = "grade",
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
        _check_input(x, self.algebra, self.channels)
        norms = self.algebra.norm(x, self.subspaces)  # (..., C, S)
        denom = torch.sigmoid(self.a) * (norms - 1) + 1 + self.eps
        return x / denom[..., self._blade_subspace]

    def extra_repr(self) -> str:
        """Algebra, channels, subspaces (and paths/backend for products)."""
        return f"{self.algebra}, {self.channels}, subspaces={self.subspaces!r}"


class CliffordGeometricProduct(_CliffordModule):
    """Channel-wise weighted geometric product with a linear "right" branch.

    ``y = N(L_R(x))`` (``L_R`` a :class:`CliffordLinear` without bias, ``N`` a
    :class:`CliffordNormalization`), then per channel

        ``z_c = Σ_{(s, t, u) ∈ P} w[c, (s,t,u)] <<x_c>_s <y_c>_t>_u``

    over the admissible subspace triples ``P`` (:meth:`CliffordAlgebra.product_paths`).
    CGENN ``SteerableGeometricProductLayer`` (§4.2, ``'grade'``, ``first_order=True``):
    ``out = (L_L(x) + z) / √2``. GLGENN ``QTGeometricProduct`` (§4, ``'type'``,
    ``first_order=False``): ``out = z``. ``bias`` is the scalar bias of ``L_L``.

    Shapes: ``(..., C, 2^n)`` → ``(..., C, 2^n)``. Parameters: ``C²S`` (right) ``+ CS``
    (normalisation) ``+ C|P|`` ``[+ C²S + C]`` (left, first order).
    """

    def __init__(self, algebra: CliffordAlgebra, channels: int, *, subspaces: str = "grade",
                 first_order: bool = True, normalization: bool = True, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__(algebra, subspaces, device)
        _check_channels("channels", channels)
        self.channels, self.first_order = channels, bool(first_order)
        kw = {"device": device, "dtype": dtype}
        self.linear_right = CliffordLinear(algebra, channels, channels, subspaces=subspaces,
                                           bias=False, **kw)
        self.linear_left = (CliffordLinear(algebra, channels, channels, subspaces=subspaces,
                                           bias=bias, **kw) if first_order else None)
        self.normalization = (CliffordNormalization(algebra, channels, subspaces=subspaces, **kw)
                              if normalization else None)
        paths = algebra.product_paths(subspaces)
        self.num_paths = int(paths.sum())
        self.weight = nn.Parameter(torch.empty(channels, self.num_paths, **kw))
        self._register_tables(paths, device)
        self.reset_parameters()

    def _register_tables(self, paths: torch.Tensor, device) -> None:
        algebra, index = self.algebra, self.algebra.subspace_index(self.subspaces)
        path_id = torch.full(paths.shape, -1, dtype=torch.int64)
        path_id[paths] = torch.arange(self.num_paths)
        right = algebra.table("right")
        left_sub = index.unsqueeze(1).expand_as(right)
        out_sub = index.unsqueeze(0).expand_as(right)
        kernel_path = path_id[left_sub, index[right], out_sub]
        sign = algebra.table("sign")
        if bool((kernel_path[sign != 0] < 0).any()):  # pragma: no cover - construction bug
            raise RuntimeError("a non-zero blade product has no path")
        self.register_buffer("_kernel_path", kernel_path.clamp(min=0).to(device),
                             persistent=False)
        self.register_buffer("_sign", sign.to(device=device, dtype=torch.int8), persistent=False)
        self.register_buffer("_right", right.flatten().to(device), persistent=False)

    def reset_parameters(self) -> None:
        """Path weights ``N(0, 1/(n+1))`` as CGENN; sub-layers reset themselves."""
        nn.init.normal_(self.weight, std=1 / math.sqrt(self.algebra.n + 1))
        for module in (self.linear_right, self.linear_left, self.normalization):
            if module is not None:
                module.reset_parameters()

    def kernel(self, dtype: torch.dtype) -> torch.Tensor:
        """``(C, 2^n, 2^n)`` signed path weights ``W[c, A, C]``."""
        return self.weight[:, self._kernel_path].to(dtype) * self._sign.to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(..., C, 2^n)`` → ``(..., C, 2^n)``."""
        _check_input(x, self.algebra, self.channels)
        y = self.linear_right(x)
        if self.normalization is not None:
            y = self.normalization(y)
        pairs = x.unsqueeze(-1) * _gather_pairs(y, self._right)  # (..., C, A, C_out)
        out = (pairs * self.kernel(x.dtype)).sum(-2)
        if self.linear_left is not None:
            out = (self.linear_left(x) + out) / math.sqrt(2)
        return out

    def extra_repr(self) -> str:
        """Algebra, channels, subspaces (and paths/backend for products)."""
        return (f"{self.algebra}, {self.channels}, subspaces={self.subspaces!r}, "
                f"paths={self.num_paths}, first_order={self.first_order}, backend='gather'")


class CliffordSiLU(_CliffordModule):
    """Invariant-gated SiLU: ``<x_c>_s ← σ(a_{c,s} · s_{c,s} + b_{c,s}) <x_c>_s``.

    The gate input is the invariant ``s_{c,s} = q(<x_c>_s)``, except for the subspace holding
    the scalar, where the scalar enters linearly: ``x_0 + q(<x_c>_s - x_0)`` (CGENN
    ``MVSiLU``, "mag2" invariant, §4.2; for ``'type'`` the same gate per quaternion type,
    our extension — the GLGENN code has no nonlinearity of its own). Parameters ``2 C S``.
    """

    def __init__(self, algebra: CliffordAlgebra, channels: int, *, subspaces: str = "grade",
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
        _check_input(x, self.algebra, self.channels)
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

    def __init__(self, algebra: CliffordAlgebra, channels: int, *, eps: float = 1e-6,
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
        _check_input(x, self.algebra, self.channels)
        scale = self.algebra.norm(x).mean(-1, keepdim=True) + self.eps  # (..., 1)
        return x * (self.gamma / scale).unsqueeze(-1)

    def extra_repr(self) -> str:
        """Algebra, channels, subspaces (and paths/backend for products)."""
        return f"{self.algebra}, {self.channels}"


def _check_kind(kind: str) -> str:
    if kind not in ("cgenn", "glgenn"):
        raise ValueError(f"kind must be 'cgenn' or 'glgenn', got {kind!r}")
    return kind


def _gp_layer(kind: str, algebra, channels: int, kw) -> CliffordGeometricProduct:
    if kind == "cgenn":
        return CliffordGeometricProduct(algebra, channels, subspaces="grade", first_order=True,
                                        **kw)
    return CliffordGeometricProduct(algebra, channels, subspaces="type", first_order=False, **kw)


def _embedding(kind: str, algebra, in_channels: int, out_channels: int, kw) -> CliffordLinear:
    if kind == "cgenn":  # MVLinear(subspaces=False) with bias
        return CliffordLinear(algebra, in_channels, out_channels, subspaces="none", **kw)
    return CliffordLinear(algebra, in_channels, out_channels, subspaces="type", bias=False, **kw)


class _VectorModel(nn.Module):
    def _embed_vectors(self, x: torch.Tensor, count: int) -> torch.Tensor:
        n = self.algebra.n
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"x must be a floating-point torch.Tensor, got {type(x).__name__}")
        if x.dim() != 3 or x.shape[1:] != (count, n):
            raise ValueError(f"x must have shape (batch, {count}, {n}), got {tuple(x.shape)}")
        return self.algebra.embed_grade(x, 1)

    def clifford_parameters(self) -> int:
        """Number of parameters of the Clifford block (embedding and geometric products)."""
        return sum(p.numel() for p in self.clifford.parameters())


class O5RegressionNet(_VectorModel):
    """The O(5) regression models of CGENN (§5.1) and GLGENN (§5): ``(B, 2, 5)`` → ``(B,)``.

    Embedding of the two vectors into 8 channels, one geometric-product layer, the scalar
    blade of each channel (invariant) and an MLP ``8 → w → w → 1`` (ReLU). Clifford block:
    1,296 parameters for ``'cgenn'`` (``MVLinear(2→8, subspaces=False)`` +
    ``SteerableGP(8)``), 608 for ``'glgenn'`` (``QTLinear(2→8)`` + ``QTGP(8)``).
    """

    def __init__(self, kind: str = "glgenn", *, hidden: int = 8, mlp_width: int = 380,
                 device=None, dtype=None) -> None:
        super().__init__()
        kind = _check_kind(kind)
        kw = {"device": device, "dtype": dtype}
        self.kind, self.algebra = kind, CliffordAlgebra(5)
        self.clifford = nn.Sequential(_embedding(kind, self.algebra, 2, hidden, kw),
                                      _gp_layer(kind, self.algebra, hidden, kw))
        self.mlp = nn.Sequential(nn.Linear(hidden, mlp_width, **kw), nn.ReLU(),
                                 nn.Linear(mlp_width, mlp_width, **kw), nn.ReLU(),
                                 nn.Linear(mlp_width, 1, **kw))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, 2, 5)`` → ``(B,)`` (O(5)-invariant)."""
        features = self.clifford(self._embed_vectors(x, 2))[..., 0]
        return self.mlp(features).squeeze(-1)


class ConvexHullNet(_VectorModel):
    """The convex-hull volume models of CGENN (§5.1) and GLGENN (§5): ``(B, K, n)`` → ``(B,)``.

    Embedding ``K → hidden`` channels, ``num_layers`` geometric-product layers, the invariant
    norm ``sqrt|q|`` of each channel, MLP ``hidden → hidden → 1`` (SiLU). With the papers'
    ``n = 5, K = 16, hidden = 32, num_layers = 4``: 58,849 parameters (``'cgenn'``) and
    24,129 (``'glgenn'``).
    """

    def __init__(self, kind: str = "glgenn", *, n: int = 5, points: int = 16, hidden: int = 32,
                 num_layers: int = 4, device=None, dtype=None) -> None:
        super().__init__()
        kind = _check_kind(kind)
        _check_channels("num_layers", num_layers)
        kw = {"device": device, "dtype": dtype}
        self.kind, self.algebra, self.points = kind, CliffordAlgebra(n), points
        layers = [_embedding(kind, self.algebra, points, hidden, kw)]
        layers += [_gp_layer(kind, self.algebra, hidden, kw) for _ in range(num_layers)]
        self.clifford = nn.Sequential(*layers)
        self.mlp = nn.Sequential(nn.Linear(hidden, hidden, **kw), nn.SiLU(),
                                 nn.Linear(hidden, 1, **kw))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, K, n)`` points → ``(B,)`` (O(n)-invariant)."""
        features = self.algebra.norm(self.clifford(self._embed_vectors(x, self.points)))
        return self.mlp(features).squeeze(-1)
