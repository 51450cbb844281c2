"""``EquivariantLinear``: a G-equivariant linear layer between order-k and order-l features.

Layer: ``Y[b, o] = Σ_i Σ_c Λ_i[o, c] · n^{-s_i} (B_i X[b, c]) + Σ_j β_j[o] · T_j`` over the
basis ``B_i`` of ``Hom_G((R^n)^{⊗k}, (R^n)^{⊗l})`` and the invariants ``T_j`` of
``(R^n)^{⊗l}`` (bias), with ``s_i`` the number of summed (input-only) blocks of a partition
diagram — Maron et al.'s ``'inf'`` normalisation, a mean instead of a sum.

Partition diagrams run through :func:`geomlayers.ops.diagram_layer` (shared input reductions,
channel mixing at the reduced size, one embedding per output pattern; Godfrey et al.,
arXiv 2303.06208; ``docs/layers.md``). Elements with their own fast product (an
``apply_to(x, n)`` method, e.g. Brauer–Grood diagrams) use it; jellyfish, orbit and graph
elements use sparse matrices at the layer's fixed ``n``. No ``n^l x n^k`` matrix is formed.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from geomlayers.bases import equivariant_basis
from geomlayers.diagrams.diagram import PartitionDiagram
from geomlayers.groups.base import Group
from geomlayers.groups.permutation import AlternatingGroup, SymmetricGroup
from geomlayers.ops.backend import resolve_backend
from geomlayers.ops.brauer_products import apply_elements
from geomlayers.ops.layer import check_mask, diagram_layer, plan_layer

__all__ = ["EquivariantLinear", "EquivariantMLP", "equivariant_stack"]


def _partition_plan(basis) -> tuple[list[int], object]:
    """Indices of the partition diagrams of ``basis`` and their layer plan (or ``None``)."""
    indices = [i for i, e in enumerate(basis) if isinstance(e, PartitionDiagram)]
    if not indices:
        return indices, None
    return indices, plan_layer(tuple(basis[i] for i in indices), basis.k, basis.l)


class EquivariantLinear(nn.Module):
    """G-equivariant linear map ``(batch, C_in, n^(k))`` → ``(batch, C_out, n^(l))``.

    Args:
        group: a permutation group with a diagram basis (S_n, A_n, Aut(Γ), PermutationGroup).
        k: input order.
        l: output order.
        in_channels: input channels ``C_in``.
        out_channels: output channels ``C_out``.
        bias: add the learnable invariant bias (0 → l basis).
        device, dtype: of the parameters.
        backend: ``"auto"`` | ``"cpp"`` | ``"torch"``; default ``$GEOMLAYERS_BACKEND`` or
            ``"auto"`` (the C++ extension where it builds, else torch with one warning).
            ``self.backend`` says which one runs.

    Variable ``n``: a layer whose basis is made of partition diagrams only (S_n; A_n when
    ``n > k + l``) runs on inputs of any size ``n'``: the diagrams are S_{n'}-equivariant for
    every ``n'`` (a spanning set when ``n'`` is smaller than their block count). Pass
    ``mask`` ``(batch, n')`` (True = real node) for padded batches: padded entries are
    ignored, means use each sample's own node count, and padded outputs are zero, so each
    sample's output equals the layer applied to that sample alone.

    Initialisation: ``Λ ~ N(0, 1 / (C_in · |basis|))`` and zero bias. Every normalised basis
    term is a mean over input entries, so its variance is at most ``Var(x)`` whatever ``n``;
    with this fan-in the output variance stays ``O(Var(x))`` as ``n`` grows (measured in the
    tests for n = 4 … 32).

    >>> layer = EquivariantLinear(SymmetricGroup(5), 2, 2, 3, 4)
    >>> layer(torch.randn(8, 3, 5, 5)).shape
    torch.Size([8, 4, 5, 5])
    >>> layer(torch.randn(8, 3, 7, 7)).shape  # another n
    torch.Size([8, 4, 7, 7])

    """

    def __init__(
        self,
        group: Group,
        k: int,
        l: int,  # noqa: E741
        in_channels: int,
        out_channels: int,
        *,
        bias: bool = True,
        device=None,
        dtype=None,
        backend: str | None = None,
    ):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        self.group, self.k, self.l = group, k, l
        self.in_channels, self.out_channels = in_channels, out_channels
        self.basis = equivariant_basis(group, k, l)
        self.backend = resolve_backend(backend)
        factory = {"device": device, "dtype": dtype or torch.get_default_dtype()}
        self.weight = nn.Parameter(torch.empty(len(self.basis), out_channels, in_channels,
                                               **factory))
        self._partition_indices, self._plan = _partition_plan(self.basis)
        self._register_sparse_elements()
        self.variable_n = isinstance(group, (SymmetricGroup, AlternatingGroup)) and not (
            self._sparse_indices or self._applied_indices
        )
        if bias:
            self._init_bias_basis(factory)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _init_bias_basis(self, factory: dict) -> None:
        invariants = equivariant_basis(self.group, 0, self.l)
        indices, plan = _partition_plan(invariants)
        self._bias_plan = plan if len(indices) == len(invariants) else None
        if self._bias_plan is None:
            dense = invariants.dense().reshape(-1, *([self.group.n] * self.l))
            self.register_buffer("bias_basis", dense.to(**factory), persistent=False)
        self.bias = nn.Parameter(torch.empty(self.out_channels, len(invariants), **factory))

    def _register_sparse_elements(self) -> None:
        # elements with their own fast product (Brauer-Grood, symplectic, ...): apply_to(x, n)
        self._applied_indices = [
            i for i, e in enumerate(self.basis)
            if not isinstance(e, PartitionDiagram) and hasattr(e, "apply_to")
        ]
        self._sparse_indices = [
            i for i, e in enumerate(self.basis)
            if not isinstance(e, PartitionDiagram) and not hasattr(e, "apply_to")
        ]
        if self._sparse_indices:
            stacked = self.basis.sparse()
            dense_rows = torch.stack([stacked[i].to_dense() for i in self._sparse_indices])
            # kept as a sparse (m * n^l, n^k) matrix; built once, moved with the module
            sparse = dense_rows.reshape(-1, dense_rows.shape[-1]).to_sparse()
            self.register_buffer("_sparse_matrix", sparse, persistent=False)

    def reset_parameters(self) -> None:
        """``Λ ~ N(0, 1/(C_in·|basis|))``, bias zero."""
        std = 1.0 / math.sqrt(self.in_channels * max(1, len(self.basis)))
        nn.init.normal_(self.weight, 0.0, std)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def element_scales(self, n: int | None = None) -> torch.Tensor:
        """``(len(basis),)`` float64: ``n^{-s_i}`` for partition diagrams, 1 otherwise."""
        n = self.group.n if n is None else n
        scales = torch.ones(len(self.basis), dtype=torch.float64)
        for i in self._partition_indices:
            summed = sum(kind == "bottom" for kind in self.basis[i].block_kinds())
            scales[i] = float(n) ** -summed
        return scales

    def extra_repr(self) -> str:
        """Group, n, orders, channels, basis size and backend."""
        return (
            f"group={self.group}, n={self.group.n}, k={self.k}, l={self.l}, "
            f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
            f"basis={len(self.basis)} ({self.basis.kind}), bias={self.bias is not None}, "
            f"variable_n={self.variable_n}, backend={self.backend!r}"
        )

    # -- forward ----------------------------------------------------------------------------
    def _input_size(self, x: torch.Tensor, mask: torch.Tensor | None) -> int:
        k = self.k
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        n = x.shape[-1] if k and x.dim() else (mask.shape[-1] if mask is not None
                                               else self.group.n)
        expected = (self.in_channels, *([n] * k))
        if x.dim() != k + 2 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"x must have shape (batch, {self.in_channels}{', n' * k}) with every node axis "
                f"of one size n, got {tuple(x.shape)}"
            )
        if n != self.group.n and not self.variable_n:
            raise ValueError(
                f"this layer is fixed to n={self.group.n} ({self.group}); got n={n}. Only "
                "S_n layers (A_n when n > k + l) run on other sizes"
            )
        if mask is not None:
            if not self.variable_n:
                raise ValueError(f"mask needs an S_n / A_n layer of partition diagrams; "
                                 f"{self.group} with k={k}, l={self.l} has other elements")
            check_mask(mask, x.shape[0], n)
        return n

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Map ``x`` ``(batch, C_in, n, …, n)`` (k axes) to ``(batch, C_out, n^(l))``.

        ``mask``: optional ``(batch, n)`` bool, True on real nodes (see the class docstring).
        """
        n = self._input_size(x, mask)
        batch = x.shape[0]
        bias_done = False
        if self._plan is not None:
            weight = self.weight
            if len(self._partition_indices) < len(self.basis):
                weight = weight[self._partition_indices]
            bias = None
            if self.bias is not None and self._bias_plan is not None:
                bias, bias_done = (self.bias.T.unsqueeze(-1), self._bias_plan), True
            out = diagram_layer(x, weight, self._plan, n, mask=mask, normalize=True,
                                backend=self.backend, bias=bias)
        else:
            out = x.new_zeros(batch, self.out_channels, *([n] * self.l))
        if self._sparse_indices:
            out = out + self._apply_sparse(x)
        if self._applied_indices:
            elements = [self.basis[i] for i in self._applied_indices]
            weight = self.weight[self._applied_indices]
            out = out + apply_elements(elements, weight, x, n, backend=self.backend)
        if self.bias is not None and not bias_done:
            out = out + self._bias_term(x, n, mask)
        return out

    def _bias_term(self, x: torch.Tensor, n: int, mask: torch.Tensor | None) -> torch.Tensor:
        if self._bias_plan is None:
            return torch.einsum("oj,j...->o...", self.bias, self.bias_basis)
        rows = x.shape[0] if mask is not None else 1
        ones = x.new_ones(rows, 1)
        weight = self.bias.T.unsqueeze(-1)  # (J, C_out, 1)
        return diagram_layer(ones, weight, self._bias_plan, n, mask=mask, backend="torch")

    def _apply_sparse(self, x: torch.Tensor) -> torch.Tensor:
        n, k, l = self.group.n, self.k, self.l
        batch = x.shape[0]
        weight = self.weight[self._sparse_indices]
        flat = x.reshape(batch * self.in_channels, n**k).T  # (n^k, B*C)
        applied = torch.sparse.mm(self._sparse_matrix.to(x.dtype), flat)  # (m*n^l, B*C)
        applied = applied.reshape(len(self._sparse_indices), n**l, batch, self.in_channels)
        out = torch.einsum("moc,mibc->boi", weight, applied)
        return out.reshape(batch, self.out_channels, *([n] * l))


def equivariant_stack(
    group: Group,
    orders: list[int],
    channels: list[int],
    nonlinearity,
    *,
    bias: bool = True,
    device=None,
    dtype=None,
) -> list[nn.Module]:
    """``EquivariantLinear`` layers ``orders[i] → orders[i+1]``, ``nonlinearity(i)`` between.

    ``nonlinearity(i)`` builds the module that follows layer ``i`` (every layer but the last).

    Raises:
        ValueError: if ``orders`` and ``channels`` differ in length or have fewer than 2 entries.

    """
    if len(orders) != len(channels) or len(orders) < 2:
        raise ValueError(
            f"orders and channels must have the same length >= 2, got {len(orders)} "
            f"and {len(channels)}"
        )
    layers: list[nn.Module] = []
    for index in range(len(orders) - 1):
        layers.append(EquivariantLinear(
            group, orders[index], orders[index + 1], channels[index], channels[index + 1],
            bias=bias, device=device, dtype=dtype,
        ))
        if index < len(orders) - 2:
            layers.append(nonlinearity(index))
    return layers


class EquivariantMLP(nn.Sequential):
    """Stack of :class:`EquivariantLinear` layers with pointwise activations between them.

    Pointwise nonlinearities commute with permutation matrices, so the network is equivariant
    for permutation groups (S_n, A_n, Aut(Γ)); a last order of 0 makes it invariant (the
    ``k → 0`` layer is the learnable invariant pooling).

    Args:
        group: the permutation group.
        orders: tensor orders ``[k_0, k_1, …, k_L]`` of the features between layers.
        channels: ``[C_0, C_1, …, C_L]`` (same length as ``orders``).
        activation: module class applied after every layer but the last.

    >>> from geomlayers.groups import SymmetricGroup
    >>> net = EquivariantMLP(SymmetricGroup(5), orders=[2, 2, 0], channels=[1, 8, 3])
    >>> net(torch.randn(4, 1, 5, 5)).shape
    torch.Size([4, 3])

    """

    def __init__(
        self,
        group: Group,
        orders: list[int],
        channels: list[int],
        *,
        activation: type[nn.Module] = nn.ReLU,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__(*equivariant_stack(
            group, orders, channels, lambda index: activation(),
            bias=bias, device=device, dtype=dtype,
        ))
