"""Aut(G)-equivariant layers for signals on one fixed graph.

Pearce-Crump & Knottenbelt, "Graph Automorphism Group Equivariant Neural Networks",
arXiv 2307.07810.
No torch_geometric needed; node-major ``[batch * n, C]`` inputs (PyG's layout for copies of
one graph) are taken as well as ``(batch, C, n)``.
"""

from __future__ import annotations

import torch
from torch import nn

from geomlayers.groups import AutomorphismGroup
from geomlayers.nn.equivariant import EquivariantLinear, EquivariantMLP

__all__ = ["AutomorphismLinear", "AutomorphismNetwork"]


def _fixed_graph_input(x: torch.Tensor, n: int, channels: int) -> tuple[torch.Tensor, bool]:
    if x.dim() == 2 and x.shape[0] % n == 0 and x.shape[1] == channels:
        return x.reshape(-1, n, channels).transpose(1, 2), True
    if x.dim() == 3 and x.shape[1:] == (channels, n):
        return x, False
    raise ValueError(
        f"x must have shape (batch, {channels}, {n}) or node-major [batch * {n}, {channels}] "
        f"(PyG, one copy of the fixed graph per sample), got {tuple(x.shape)}"
    )


def _as_group(graph, num_nodes: int | None) -> AutomorphismGroup:
    return graph if isinstance(graph, AutomorphismGroup) else AutomorphismGroup(graph, num_nodes)


class AutomorphismLinear(nn.Module):
    """Aut(G)-equivariant linear layer for signals on one fixed graph G (order 1 → 1).

    Pearce-Crump & Knottenbelt (arXiv 2307.07810, §4): the weights are spanned by the orbit
    basis of Aut(G) on node pairs (``equivariant_basis(AutomorphismGroup(G), 1, 1)``),
    which commutes with every automorphism of G (but not with other permutations), so it
    can use the graph's structure (e.g. a sensor grid) more finely than S_n layers can.

    Args:
        graph: ``edge_index (2, E)``, a ``networkx.Graph`` or ``(u, v)`` pairs, or an
            :class:`~geomlayers.groups.AutomorphismGroup`.
        in_channels: channels in.
        out_channels: channels out.
        num_nodes: number of nodes (when isolated nodes have the largest labels).

    Shapes: ``(batch, C_in, n)`` → ``(batch, C_out, n)``, or PyG node-major
    ``[batch * n, C_in]`` → ``[batch * n, C_out]``.

    """

    def __init__(self, graph, in_channels: int, out_channels: int, *,
                 num_nodes: int | None = None, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.group = _as_group(graph, num_nodes)
        self.linear = EquivariantLinear(self.group, 1, 1, in_channels, out_channels, bias=bias,
                                        device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        """Re-initialise the inner :class:`EquivariantLinear`."""
        self.linear.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """See the class doc for shapes."""
        h, node_major = _fixed_graph_input(x, self.group.n, self.linear.in_channels)
        out = self.linear(h)
        return out.transpose(1, 2).reshape(-1, out.shape[1]) if node_major else out


class AutomorphismNetwork(nn.Module):
    """``num_layers`` Aut(G) layers (order 1) with ReLU; invariant (``(batch, out)``) or per node.

    ``EquivariantMLP(AutomorphismGroup(G), orders=[1] * num_layers + [0 or 1])``: the last
    layer is the learnable ``1 → 0`` Aut(G)-invariant pooling when ``invariant``
    (Pearce-Crump & Knottenbelt, arXiv 2307.07810).

    Shapes as :class:`AutomorphismLinear`; invariant output ``(batch, out_channels)``.
    """

    def __init__(self, graph, in_channels: int, hidden_channels: int, out_channels: int,
                 num_layers: int = 2, *, invariant: bool = True, num_nodes: int | None = None,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"num_layers must be an int >= 1, got {num_layers!r}")
        self.group = _as_group(graph, num_nodes)
        self.invariant, self.in_channels = invariant, in_channels
        orders = [1] * num_layers + ([0] if invariant else [1])
        channels = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.net = EquivariantMLP(self.group, orders, channels, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """See the class doc for shapes."""
        h, node_major = _fixed_graph_input(x, self.group.n, self.in_channels)
        out = self.net(h)
        if node_major and not self.invariant:
            return out.transpose(1, 2).reshape(-1, out.shape[1])
        return out
