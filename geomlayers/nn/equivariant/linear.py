"""``EquivariantLinear``: a G-equivariant linear layer between order-k and order-l features.

Layer: ``Y[b, o] = Σ_i Σ_c Λ_i[o, c] · n^{-s_i} (B_i X[b, c]) + Σ_j β_j[o] · T_j`` over the
basis ``B_i`` of ``Hom_G((R^n)^{⊗k}, (R^n)^{⊗l})`` and the invariants ``T_j`` of
``(R^n)^{⊗l}`` (bias), with ``s_i`` the number of summed (input-only) blocks of a partition
diagram — Maron et al.'s ``'inf'`` normalisation (ICLR 2019, §5), a mean instead of a sum.

Every element runs through the one dispatch point :func:`geomlayers.ops.execute`: partition
diagrams by shared reductions, channel mixing at the reduced size and one embedding per
output pattern (Godfrey et al., arXiv 2303.06208); Brauer-type diagrams by their structured
products; orbit, jellyfish and graph elements by index gathers and scatters over their
non-zero entries. No ``n^l x n^k`` matrix is formed (``docs/layers.md``).
"""

from __future__ import annotations

import math
import numbers
import warnings

import torch
from torch import nn

from geomlayers.bases import equivariant_basis
from geomlayers.diagrams.partitions import count_partitions
from geomlayers.groups import TensorPower
from geomlayers.groups.base import Group
from geomlayers.groups.permutation import AlternatingGroup, SymmetricGroup
from geomlayers.nn.equivariant.state import STATE_VERSION, basis_fingerprint, check_fingerprint
from geomlayers.ops.backend import resolve_backend
from geomlayers.ops.dispatch import build_program, check_input_dtype, execute
from geomlayers.ops.layer import check_mask

__all__ = ["EquivariantLinear"]


def _check_count(name: str, value) -> int:
    """A channel count: an int (numpy integers too, not bool) ``>= 1``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


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
    sample's output equals the layer applied to that sample alone. ``forward(...,
    zero_padding=False)`` leaves the padded outputs unspecified instead (one full-size select
    less, forward and backward) for a caller that never reads them, as IGN's hidden layers.

    Initialisation: ``Λ ~ N(0, 1 / (C_in · |basis|))`` and zero bias. Every normalised basis
    term is a mean over input entries, so its variance is at most ``Var(x)`` whatever ``n``;
    with this fan-in the output variance stays ``O(Var(x))`` as ``n`` grows (measured in the
    tests for n = 4 … 32).

    A layer built for a small ``n`` (``n < k + l``) has fewer elements than the generic
    S_n basis; run on larger inputs it would span a smaller space, so it warns once.
    :meth:`symmetric` builds the generic layer for every ``n``.

    State: the weights and a fingerprint of the basis order (``_extra_state``: plain
    strings and ints, readable by ``torch.load(weights_only=True)``); loading a state dict
    saved for another element order raises instead of computing something else.

    Attributes:
        group: the group the layer is equivariant to.
        rep_in: the representation on the input, a tensor power of order ``k``.
        rep_out: the representation on the output, a tensor power of order ``l``.

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
        in_channels = _check_count("in_channels", in_channels)
        out_channels = _check_count("out_channels", out_channels)
        self.group, self.k, self.l = group, k, l
        self.in_channels, self.out_channels = in_channels, out_channels
        self.basis = equivariant_basis(group, k, l)
        self.backend = resolve_backend(backend)
        factory = {"device": device, "dtype": dtype or torch.get_default_dtype()}
        self.weight = nn.Parameter(torch.empty(len(self.basis), out_channels, in_channels,
                                               **factory))
        self._program = build_program(self.basis.elements, k, l, group.n,
                                      entries=self.basis._entries)
        self.variable_n = (isinstance(group, (SymmetricGroup, AlternatingGroup))
                           and self._program.variable_n)
        self.any_n = False
        self._warned_small_basis = False
        self._fingerprint = basis_fingerprint(self.basis.elements, k, l)
        if bias:
            self._init_bias_basis(factory)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    @classmethod
    def symmetric(cls, k: int, l: int, in_channels: int, out_channels: int,  # noqa: E741
                  **kwargs) -> EquivariantLinear:
        """S_n-equivariant layer ``k → l`` for inputs of any ``n``.

        Built on the Bell(k + l) partition diagrams (Maron et al., ICLR 2019, §3; the basis of
        ``Hom_{S_n}`` for every ``n >= k + l`` and a spanning set below), so no ``n`` is
        chosen. Keyword arguments as for the constructor.

        >>> layer = EquivariantLinear.symmetric(2, 2, 3, 4)
        >>> len(layer.basis), layer(torch.randn(2, 3, 9, 9)).shape
        (15, torch.Size([2, 4, 9, 9]))

        """
        layer = cls(SymmetricGroup(max(k + l, 1)), k, l, in_channels, out_channels, **kwargs)
        layer.any_n = True
        return layer

    @property
    def rep_in(self):
        """The input representation: ``C_in`` channels of the tensor power of order ``k``."""
        return TensorPower(self.k, channels=self.in_channels)

    @property
    def rep_out(self):
        """The output representation: ``C_out`` channels of the tensor power of order ``l``."""
        return TensorPower(self.l, channels=self.out_channels)

    def _init_bias_basis(self, factory: dict) -> None:
        invariants = equivariant_basis(self.group, 0, self.l)
        self._bias_program = build_program(invariants.elements, 0, self.l, self.group.n,
                                           entries=invariants._entries)
        self._bias_plan = self._bias_program.plan if self._bias_program.variable_n else None
        self.bias = nn.Parameter(torch.empty(self.out_channels, len(invariants), **factory))

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
        for i in self._program.partition:
            summed = sum(kind == "bottom" for kind in self.basis[i].block_kinds())
            scales[i] = float(n) ** -summed
        return scales

    def extra_repr(self) -> str:
        """Group, n, orders, channels, basis size and backend."""
        group = "S_n (any n)" if self.any_n else str(self.group)
        n = "any" if self.any_n else self.group.n
        return (
            f"group={group}, n={n}, k={self.k}, l={self.l}, "
            f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
            f"basis={len(self.basis)} ({self.basis.kind}), bias={self.bias is not None}, "
            f"variable_n={self.variable_n}, backend={self.backend!r}"
        )

    # -- state ------------------------------------------------------------------------------
    def get_extra_state(self) -> dict:
        """The basis fingerprint saved with the weights (plain ``str``/``int`` values)."""
        return {"version": STATE_VERSION, "basis": self._fingerprint, "size": len(self.basis)}

    def set_extra_state(self, state) -> None:
        """Refuse a state saved for another basis order (see :mod:`.state`)."""
        check_fingerprint(state, self._fingerprint, len(self.basis), type(self).__name__)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        key = prefix + "_extra_state"
        if key not in state_dict:  # saved before fingerprints existed: nothing to check
            warnings.warn(f"{type(self).__name__}: the state dict has no basis fingerprint "
                          f"({key}); its element order cannot be checked", stacklevel=4)
            state_dict = {**state_dict, key: self.get_extra_state()}
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

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
        if n == 0:
            raise ValueError(f"x has node axes of size n=0 (shape {tuple(x.shape)}); a layer "
                             "needs at least one node")
        check_input_dtype(x, self.weight.dtype, type(self).__name__)
        # the fixed-n test first: under torch.compile, comparing a symbolic n with group.n
        # would specialise (recompile at) n == group.n for layers that take any n
        if not self.variable_n and n != self.group.n:
            raise ValueError(
                f"this layer is fixed to n={self.group.n} ({self.group}); got n={n}. Only "
                "S_n layers (A_n when n > k + l) run on other sizes"
            )
        if mask is not None:
            if not self.variable_n:
                raise ValueError(f"mask needs an S_n / A_n layer of partition diagrams; "
                                 f"{self.group} with k={k}, l={self.l} has other elements")
            check_mask(mask, x.shape[0], n)
        if (self.variable_n and not self.any_n and not torch.compiler.is_compiling()
                and n > self.group.n):
            self._check_basis_size(n)
        return n

    def _check_basis_size(self, n: int) -> None:
        """Warn once when inputs are larger than the ``n`` that limited the basis."""
        if self._warned_small_basis or torch.compiler.is_compiling():
            return
        generic = count_partitions(self.k + self.l, max_blocks=n)
        if len(self._program.partition) < generic:
            self._warned_small_basis = True
            warnings.warn(
                f"EquivariantLinear: this layer's basis has {len(self._program.partition)} "
                f"diagrams ({self.group}, n={self.group.n} < k + l = {self.k + self.l}) but the "
                f"input has n={n}, where the S_n basis has {generic}; the layer spans a smaller "
                f"space. Build it with EquivariantLinear.symmetric({self.k}, {self.l}, ...) "
                "for inputs of any size",
                RuntimeWarning, stacklevel=3,
            )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *,
                zero_padding: bool = True) -> torch.Tensor:
        """Map ``x`` ``(batch, C_in, n, …, n)`` (k axes) to ``(batch, C_out, n^(l))``.

        ``mask``: optional ``(batch, n)`` bool, True on real nodes (see the class docstring).
        ``zero_padding=False`` (with a mask) skips the select that zeroes the output entries
        off the real nodes: they are left unspecified, the real entries are bitwise the same.
        For a caller whose next step never reads padding, e.g. a ReLU and another masked
        layer (whose input select is then the only one), or a masked readout.
        ``x`` must have the parameters' dtype (a ``TypeError`` names both otherwise);
        ``batch = 0`` gives an empty output.
        """
        n = self._input_size(x, mask)
        bias = None
        if self.bias is not None and self._bias_plan is not None:
            bias = (self.bias.T.unsqueeze(-1), self._bias_plan)
        out = execute(self._program, self.weight, x, n, mask=mask, normalize=True,
                      backend=self.backend, bias=bias if self._program.plan is not None
                      else None, zero_padding=zero_padding)
        if self.bias is not None and (bias is None or self._program.plan is None):
            out = out + self._bias_term(x, n, mask, zero_padding)
        return out

    def _bias_term(self, x: torch.Tensor, n: int, mask: torch.Tensor | None,
                   zero_padding: bool = True) -> torch.Tensor:
        rows = x.shape[0] if mask is not None else 1
        ones = x.new_ones(rows, 1)
        weight = self.bias.T.unsqueeze(-1)  # (J, C_out, 1)
        return execute(self._bias_program, weight, ones, n, mask=mask, backend="torch",
                       zero_padding=zero_padding)

