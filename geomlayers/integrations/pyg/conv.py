"""``DiagramConv``: the order-1 S_n diagram layer plus neighbours, as PyG message passing.

Maron et al., ICLR 2019, §3 and Appendix; Zaheer et al., "Deep Sets", NeurIPS 2017.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import MessagePassing

from geomlayers.models.graphs.base import check_channels
from geomlayers.models.graphs.dense import check_edge_index, check_finite

__all__ = ["DiagramConv"]


def _graph_means(x: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """Each node's graph mean of ``x [N, C]`` → ``[N, C]``, with no host synchronisation.

    Sums go to ``N`` slots (there are at most ``N`` graphs), so the number of graphs is never
    read from the data.
    """
    slots = x.shape[0]
    sums = x.new_zeros(slots, x.shape[1]).index_add_(0, batch, x)
    counts = x.new_zeros(slots).index_add_(0, batch, x.new_ones(slots))
    return (sums / counts.clamp(min=1)[:, None])[batch]


class DiagramConv(MessagePassing):
    """Order-1 S_n diagram layer plus neighbour aggregation, as PyG message passing.

    ``y_i = W_1 x_i + W_2 mean_{j ∈ G(i)} x_j + W_3 AGG_{j → i} e_{ji} x_j + b``: the two
    ``1 → 1`` diagrams of S_n (identity and the graph mean; Maron et al. 2019, §3 and
    Appendix; Zaheer et al.'s DeepSets) and the adjacency term, which is equivariant because
    the adjacency moves with the nodes. ``G(i)`` is the graph of node ``i`` (``batch``), so
    padding never arises. ``e_ji`` is a scalar ``edge_weight`` (1 without).

    With ``edge_dim = D`` (as PyG's ``GINEConv``), multi-dimensional edge features
    ``edge_attr [E, D]`` add ``AGG_{j → i} (Σ_d a_ji[d] W_{4,d} x_j + V a_ji)``: a bilinear
    map of edge features and neighbour features plus a linear edge term, also equivariant.

    Args:
        in_channels: node features in.
        out_channels: node features out.
        aggr: neighbour aggregation (``'add'``, ``'mean'``, ``'max'``).
        edge_dim: edge feature width ``D`` of ``edge_attr`` (None: no edge features).
        bias: learnable constant (the ``0 → 1`` invariant).

    Shapes: ``x [N, C_in]``, ``edge_index [2, E]`` (or a sparse ``(N, N)`` ``adj_t``),
    ``batch [N]`` (None: one graph), ``edge_weight [E]``, ``edge_attr [E, D]`` →
    ``[N, C_out]``.

    """

    def __init__(self, in_channels: int, out_channels: int, aggr: str = "add", *,
                 edge_dim: int | None = None, bias: bool = True, device=None, dtype=None):
        super().__init__(aggr=aggr)
        check_channels(in_channels=in_channels, out_channels=out_channels)
        if edge_dim is not None:
            check_channels(edge_dim=edge_dim)
        self.in_channels, self.out_channels, self.edge_dim = in_channels, out_channels, edge_dim
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(3, out_channels, in_channels, **factory))
        if edge_dim is not None:
            self.edge_weight = nn.Parameter(torch.empty(out_channels, edge_dim * in_channels,
                                                        **factory))
            self.edge_linear = nn.Parameter(torch.empty(out_channels, edge_dim, **factory))
        else:
            self.edge_weight = self.edge_linear = None
        self.bias = nn.Parameter(torch.empty(out_channels, **factory)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-like ``N(0, 1/(fan-in))`` weights over all terms, zero bias."""
        terms = 3 if self.edge_dim is None else 3 + self.edge_dim
        std = (terms * self.in_channels) ** -0.5
        nn.init.normal_(self.weight, 0.0, std)
        if self.edge_dim is not None:
            nn.init.normal_(self.edge_weight, 0.0, std)
            nn.init.normal_(self.edge_linear, 0.0, std)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def extra_repr(self) -> str:
        """Channels, aggregation and edge features."""
        edge = f", edge_dim={self.edge_dim}" if self.edge_dim is not None else ""
        return (f"{self.in_channels}, {self.out_channels}, aggr={self.aggr!r}{edge}, "
                f"bias={self.bias is not None}")

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor,
                batch: torch.Tensor | None = None, edge_weight: torch.Tensor | None = None,
                edge_attr: torch.Tensor | None = None) -> torch.Tensor:
        """``[N, C_in]`` → ``[N, C_out]`` (see the class doc)."""
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape [N, {self.in_channels}] (the layer was "
                             f"built with in_channels={self.in_channels}), got "
                             f"{tuple(x.shape)}")
        check_edge_index(edge_index, x.shape[0], allow_sparse=edge_attr is None)
        self._check_edge_inputs(edge_index, edge_weight, edge_attr)
        check_finite(x=x, edge_weight=edge_weight, edge_attr=edge_attr)
        if batch is None:
            batch = torch.zeros(x.shape[0], dtype=torch.int64, device=x.device)
        means = _graph_means(x, batch.long())
        neighbours = self.propagate(edge_index, x=x, edge_weight=edge_weight)
        out = x @ self.weight[0].T + means @ self.weight[1].T + neighbours @ self.weight[2].T
        if self.edge_dim is not None and edge_attr is not None:
            attr = edge_attr.to(x.dtype)
            attr = attr[:, None] if attr.dim() == 1 else attr
            messages = self._edge_messages(x, edge_index, attr, edge_weight)
            out = out + messages @ torch.cat([self.edge_weight, self.edge_linear], 1).T
        return out if self.bias is None else out + self.bias

    def _check_edge_inputs(self, edge_index, edge_weight, edge_attr) -> None:
        """Edge weights and features in the user's terms (columns against ``edge_dim``)."""
        num_edges = edge_index.shape[1] if edge_index.layout == torch.strided else None
        if edge_weight is not None:
            if edge_weight.dim() != 1:
                hint = (f"build DiagramConv(..., edge_dim={edge_weight.shape[-1]}) and pass "
                        "them as edge_attr" if edge_weight.dim() == 2 else
                        "pass one scalar weight per edge")
                raise ValueError(f"edge_weight must be [E] (one scalar per edge), got shape "
                                 f"{tuple(edge_weight.shape)}; for multi-dimensional edge "
                                 f"features {hint}")
            if num_edges is not None and edge_weight.shape[0] != num_edges:
                raise ValueError(f"edge_weight has {edge_weight.shape[0]} entries for "
                                 f"{num_edges} edges of edge_index")
        if edge_attr is None:
            return
        if self.edge_dim is None:
            raise ValueError("edge_attr was given but the layer was built without edge_dim: "
                             "build DiagramConv(..., edge_dim=D) for [E, D] edge features, or "
                             "pass scalar weights as edge_weight [E]")
        if edge_attr.dim() not in (1, 2) or not torch.is_floating_point(edge_attr):
            raise ValueError(f"edge_attr must be a float [E, {self.edge_dim}] tensor, got "
                             f"{edge_attr.dtype} {tuple(edge_attr.shape)}")
        columns = edge_attr.shape[1] if edge_attr.dim() == 2 else 1
        if columns != self.edge_dim:
            raise ValueError(f"edge_attr has {columns} columns; the layer was built with "
                             f"edge_dim={self.edge_dim}")
        if num_edges is not None and edge_attr.shape[0] != num_edges:
            raise ValueError(f"edge_attr has {edge_attr.shape[0]} rows for {num_edges} edges "
                             "of edge_index: one row per edge")

    def message(self, x_j: torch.Tensor, edge_weight: torch.Tensor | None) -> torch.Tensor:
        """``e_ji x_j`` (``x_j`` when there are no edge weights)."""
        return x_j if edge_weight is None else edge_weight[:, None] * x_j

    def _edge_messages(self, x: torch.Tensor, edge_index: torch.Tensor, attr: torch.Tensor,
                       edge_weight: torch.Tensor | None) -> torch.Tensor:
        """``AGG_{j → i} e_ji [a_ji ⊗ x_j, a_ji]`` → ``[N, D · C_in + D]``."""
        source, target = edge_index[0], edge_index[1]
        outer = (attr[:, :, None] * x[source][:, None, :]).flatten(1)
        message = torch.cat([outer, attr], 1)
        if edge_weight is not None:
            message = edge_weight[:, None] * message
        return self.aggr_module(message, target, dim_size=x.shape[0])
