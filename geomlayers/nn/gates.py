"""Equivariant nonlinearities for O(n) / SO(n) features: invariant-gated activations.

Pointwise activations are not O(n)-equivariant on vectors or matrices. A *gate* multiplies
every feature channel by a scalar computed from invariants only, which commutes with the
group action: ``y_c = x_c · σ(f(inv(x))_c)``. This is the norm nonlinearity / gated
nonlinearity of Weiler et al. (3D steerable CNNs, NeurIPS 2018, §4.3), Thomas et al.
(tensor field networks, 2018) and e3nn's ``Gate``; here the gate of each channel is an MLP
of the invariants of *all* channels (Finzi et al., ICML 2021, §5's bilinear/gated layers
use the same principle).

Invariants per channel of an order-``k`` feature ``x_c ∈ (R^n)^{⊗k}`` (O(n) acting by
``g^{⊗k}``):

* every order ``k >= 1``: the norm ``‖x_c‖`` (computed as ``sqrt(Σ x² + eps²)``, smooth at 0);
* order 2 additionally ``tr(X_c)`` and ``tr(X_c²)`` (invariant under ``X ↦ g X gᵀ``).

These are O(n)-invariant, hence SO(n)-invariant; they are not Sp(n)-invariant (the norm is
not preserved by symplectic matrices), so the gates are for O(n) and SO(n).
"""

from __future__ import annotations

import torch
from torch import nn

from geomlayers.groups.base import Group
from geomlayers.groups.orthogonal import OrthogonalGroup, SpecialOrthogonalGroup

__all__ = ["NormGate", "GatedEquivariantMLP", "orthogonal_invariants"]


def orthogonal_invariants(x: torch.Tensor, order: int, eps: float = 1e-6) -> torch.Tensor:
    """O(n)-invariants of each channel of ``x`` ``(batch, C, n^(order))`` → ``(batch, C, m)``.

    ``m = 1`` (the norm) for ``order != 2``; ``m = 3`` (norm, trace, trace of the square)
    for ``order == 2``; ``order = 0`` returns the scalars themselves.
    """
    if order == 0:
        return x.unsqueeze(-1)
    flat = x.flatten(2)
    norm = torch.sqrt(flat.pow(2).sum(-1) + eps**2)
    if order != 2:
        return norm.unsqueeze(-1)
    trace = torch.diagonal(x, dim1=-2, dim2=-1).sum(-1)
    trace_sq = (x * x.transpose(-1, -2)).flatten(2).sum(-1)
    return torch.stack([norm, trace, trace_sq], dim=-1)


def _num_invariants(order: int) -> int:
    return 3 if order == 2 else 1


class NormGate(nn.Module):
    """Invariant-gated activation ``(batch, C, n^(order))`` → same shape, O(n)-equivariant.

    ``y[:, c] = x[:, c] · sigmoid(MLP(inv(x))[:, c])`` with ``inv`` from
    :func:`orthogonal_invariants` over all ``C`` channels (``C · m`` inputs, ``C`` outputs).
    For ``order = 0`` the gate is the scalars' own activation ``x · sigmoid(MLP(x))``.

    Args:
        channels: number of channels ``C``.
        order: tensor order ``k >= 0`` of the features.
        hidden: hidden width of the gate MLP (``0``: a single linear map; default ``2C``).
        bias: biases in the gate MLP.
        eps: smoothing of the norm at 0 (``sqrt(‖x‖² + eps²)``; keeps gradients finite).
        device, dtype: of the parameters.

    >>> gate = NormGate(4, order=1)
    >>> gate(torch.randn(2, 4, 3)).shape
    torch.Size([2, 4, 3])

    """

    def __init__(
        self,
        channels: int,
        order: int,
        *,
        hidden: int | None = None,
        bias: bool = True,
        eps: float = 1e-6,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be an int >= 1, got {channels!r}")
        if isinstance(order, bool) or not isinstance(order, int) or order < 0:
            raise ValueError(f"order must be an int >= 0, got {order!r}")
        hidden = 2 * channels if hidden is None else hidden
        if not isinstance(hidden, int) or hidden < 0:
            raise ValueError(f"hidden must be an int >= 0 (0: no hidden layer), got {hidden!r}")
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.channels, self.order, self.hidden, self.eps = channels, order, hidden, eps
        factory = {"device": device, "dtype": dtype}
        inputs = channels * _num_invariants(order)
        if hidden:
            self.mlp = nn.Sequential(
                nn.Linear(inputs, hidden, bias=bias, **factory),
                nn.SiLU(),
                nn.Linear(hidden, channels, bias=bias, **factory),
            )
        else:
            self.mlp = nn.Linear(inputs, channels, bias=bias, **factory)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default ``Linear`` initialisation, last bias at +2 (gates start ≈ 0.88)."""
        last = None
        for module in self.mlp.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()
                last = module
        if last is not None and last.bias is not None:
            nn.init.constant_(last.bias, 2.0)

    def extra_repr(self) -> str:
        """Channels, order, hidden width and invariants."""
        names = "norm, trace, trace of square" if self.order == 2 else "norm"
        return (f"channels={self.channels}, order={self.order}, hidden={self.hidden}, "
                f"invariants=({names if self.order else 'scalars'})")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Gate ``x`` ``(batch, C, n, …, n)`` (``order`` trailing axes); same shape out."""
        if x.dim() != self.order + 2 or x.shape[1] != self.channels:
            raise ValueError(
                f"x must have shape (batch, {self.channels}{', n' * self.order}), "
                f"got {tuple(x.shape)}"
            )
        if self.order == 2 and x.shape[-1] != x.shape[-2]:
            raise ValueError(f"order-2 features must be square, got {tuple(x.shape)}")
        invariants = orthogonal_invariants(x, self.order, self.eps).flatten(1)
        gates = torch.sigmoid(self.mlp(invariants))
        return x * gates.reshape(*gates.shape, *([1] * self.order))


class GatedEquivariantMLP(nn.Sequential):
    """Deep O(n) / SO(n) network: :class:`EquivariantLinear` layers with :class:`NormGate`.

    Args:
        group: ``OrthogonalGroup(n)`` or ``SpecialOrthogonalGroup(n)``.
        orders: feature orders ``[k_0, …, k_L]``.
        channels: channels ``[C_0, …, C_L]`` (same length).
        hidden: width of each gate's MLP (see :class:`NormGate`).
        bias, device, dtype: passed to the layers.

    A gate follows every linear layer but the last, so the network is equivariant
    (invariant when ``k_L = 0``). For O(n) the maps between orders of odd total ``k + l``
    are zero (only the bias remains): choose orders of equal parity.

    >>> from geomlayers.groups import OrthogonalGroup
    >>> net = GatedEquivariantMLP(OrthogonalGroup(3), orders=[1, 3, 1], channels=[2, 4, 1])
    >>> net(torch.randn(5, 2, 3)).shape
    torch.Size([5, 1, 3])

    """

    def __init__(
        self,
        group: Group,
        orders: list[int],
        channels: list[int],
        *,
        hidden: int | None = None,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        from geomlayers.nn.equivariant import equivariant_stack

        if not isinstance(group, (OrthogonalGroup, SpecialOrthogonalGroup)):
            raise TypeError(
                f"group must be OrthogonalGroup or SpecialOrthogonalGroup (norm gates are "
                f"O(n)-invariant only), got {group}"
            )

        def gate(index: int) -> nn.Module:
            return NormGate(channels[index + 1], orders[index + 1], hidden=hidden,
                            device=device, dtype=dtype)

        super().__init__(*equivariant_stack(group, orders, channels, gate, bias=bias,
                                            device=device, dtype=dtype))
        self.group = group
