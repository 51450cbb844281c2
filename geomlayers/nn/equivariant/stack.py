"""Stacks of :class:`~geomlayers.nn.equivariant.EquivariantLinear` layers (``docs/layers.md``)."""

from __future__ import annotations

import torch  # noqa: F401 (doctests)
from torch import nn

from geomlayers.groups.base import Group
from geomlayers.nn.equivariant.linear import EquivariantLinear

__all__ = ["EquivariantMLP", "equivariant_stack"]


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
