"""torch_geometric integration: dense order-2 graph features, IGN / PPGN models, message passing.

- :func:`to_dense_order2` / :func:`from_dense_order2`: a PyG batch (``x [N, F]``,
  ``edge_index [2, E]``, optional ``edge_attr [E, D]``, ``batch [N]``) ↔ dense order-2
  features ``(B, 1 + D + F, n_max, n_max)`` and a node mask ``(B, n_max)``: adjacency in
  channel 0, edge attributes off the diagonal, node features on the diagonal (Maron et al.,
  "Invariant and Equivariant Graph Networks", ICLR 2019, §5 and Appendix).
- :class:`InvariantGraphNetwork`: IGN (Maron et al. 2019, §5): masked S_n-equivariant
  ``2 → 2`` diagram layers (:class:`~geomlayers.nn.equivariant.EquivariantLinear`) with ReLU,
  an invariant ``2 → 0`` readout and an MLP; graph- or node-level outputs.
- :class:`PPGN`: the block of Maron et al., "Provably Powerful Graph Networks" (NeurIPS 2019,
  §5): two channel MLPs on order-2 features, multiplied as matrices per channel, concatenated
  with the input and mixed; as expressive as 3-WL.
- :class:`DiagramConv`: the order-1 S_n diagram layer (identity + graph mean) plus neighbour
  aggregation, as a :class:`torch_geometric.nn.MessagePassing` layer.
- :class:`AutomorphismLinear` / :class:`AutomorphismNetwork`: Aut(G)-equivariant layers for
  signals on one fixed graph (Pearce-Crump & Knottenbelt, arXiv 2307.07810).

Padding never breaks equivariance: every layer takes the node mask, means use each graph's
own number of real nodes, and padded entries stay exactly zero, so a padded batch gives the
same numbers as each graph run alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter, to_dense_adj, to_dense_batch

from geomlayers.groups import AutomorphismGroup, SymmetricGroup
from geomlayers.nn.equivariant import EquivariantLinear, EquivariantMLP
from geomlayers.ops.layer import check_mask

__all__ = [
    "AutomorphismLinear",
    "AutomorphismNetwork",
    "DiagramConv",
    "InvariantGraphNetwork",
    "PPGN",
    "dense_readout",
    "from_dense_order2",
    "pair_mask",
    "to_dense_order2",
]

_READOUTS = ("max", "sum", "mean")
_INDEX_DTYPES = (torch.int64, torch.int32)


# -- dense conversion -------------------------------------------------------------------------
def to_dense_order2(
    x: torch.Tensor,
    edge_index: torch.Tensor,
    batch: torch.Tensor | None = None,
    edge_attr: torch.Tensor | None = None,
    *,
    num_graphs: int | None = None,
    max_num_nodes: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sparse PyG graphs → dense order-2 features and node mask (Maron et al. 2019, §5).

    Args:
        x: node features ``[N, F]`` (float).
        edge_index: ``[2, E]`` global node indices.
        batch: graph of each node ``[N]``, sorted (PyG's ``Batch.batch``); None = one graph.
        edge_attr: ``[E]`` or ``[E, D]`` edge features, optional.
        num_graphs: number of graphs ``B`` (default ``batch.max() + 1``).
        max_num_nodes: pad to this many nodes (default: the largest graph).

    Returns:
        ``(dense, mask)``: ``dense`` ``(B, 1 + D + F, n, n)`` in ``x``'s dtype with channel 0
        the adjacency, channels ``1..D`` the edge attributes at ``[i, j]`` for each edge
        ``i → j``, the last ``F`` channels the node features on the diagonal, zeros
        elsewhere (also at padded nodes); ``mask`` ``(B, n)`` bool, True at real nodes.
        Duplicate edges are summed (coalesce first for an exact round trip).

    """
    if not torch.is_floating_point(x) or x.dim() != 2:
        raise TypeError(f"x must be a floating [N, F] tensor, got {x.dtype} {tuple(x.shape)}")
    _check_edge_index(edge_index, x.shape[0])
    _check_finite(x=x, edge_attr=edge_attr)
    if batch is None:
        batch = x.new_zeros(x.shape[0], dtype=torch.int64)
    if num_graphs is None:
        num_graphs = int(batch.max()) + 1 if batch.numel() else 1
    nodes, mask = to_dense_batch(x, batch, batch_size=num_graphs, max_num_nodes=max_num_nodes)
    n = mask.shape[1]
    ones = x.new_ones(edge_index.shape[1])
    parts = [to_dense_adj(edge_index, batch, ones, max_num_nodes=n,
                          batch_size=num_graphs)[:, None]]
    if edge_attr is not None:
        attr = edge_attr.to(x.dtype)
        attr = attr[:, None] if attr.dim() == 1 else attr
        dense_attr = to_dense_adj(edge_index, batch, attr, max_num_nodes=n,
                                  batch_size=num_graphs)
        parts.append(dense_attr.permute(0, 3, 1, 2))
    parts.append(torch.diag_embed(nodes.transpose(1, 2)))
    return torch.cat(parts, dim=1), mask


def _check_edge_index(edge_index: torch.Tensor, num_nodes: int,
                      allow_sparse: bool = False) -> None:
    """Refuse an ``edge_index`` that is not an integer ``[2, E]`` tensor of node indices.

    The indices must lie in ``[0, N)``; with ``allow_sparse`` a sparse ``(N, N)`` adjacency
    (PyG's transposed ``adj_t``) is taken as well.
    """
    if isinstance(edge_index, torch.Tensor) and edge_index.layout != torch.strided:
        if not allow_sparse:
            raise TypeError("edge_index must be a [2, E] index tensor here, got a sparse "
                            "adjacency: convert it with torch_geometric.utils.to_edge_index")
        if edge_index.shape != (num_nodes, num_nodes):
            raise ValueError(f"a sparse adjacency must have shape (N, N) = ({num_nodes}, "
                             f"{num_nodes}), got {tuple(edge_index.shape)}")
        return
    if not isinstance(edge_index, torch.Tensor) or edge_index.dtype not in _INDEX_DTYPES:
        raise TypeError("edge_index must be an int64/int32 tensor [2, E], got "
                        f"{getattr(edge_index, 'dtype', type(edge_index).__name__)}")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape [2, E], got {tuple(edge_index.shape)}")
    if edge_index.numel() and not (0 <= int(edge_index.min()) and
                                   int(edge_index.max()) < num_nodes):
        raise ValueError(f"edge_index holds node indices in [{int(edge_index.min())}, "
                         f"{int(edge_index.max())}], outside [0, N = {num_nodes}) of x: "
                         "index the nodes of x (PyG's Batch offsets each graph's indices)")


def _check_finite(**tensors: torch.Tensor | None) -> None:
    """Graph features must be finite: a NaN or inf would spread over the whole graph."""
    for name, tensor in tensors.items():
        if tensor is not None and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{name} holds NaN or inf entries; clean or impute the graph "
                             "features first")


def from_dense_order2(
    dense: torch.Tensor, mask: torch.Tensor, num_node_features: int, num_edge_features: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Inverse of :func:`to_dense_order2`: ``(x [N, F], edge_index [2, E], edge_attr, batch)``.

    Edges are the nonzero adjacency entries between real nodes, in coalesced (row-major per
    graph) order; ``edge_attr`` is ``[E, D]`` or None when ``num_edge_features == 0``.
    """
    _check_dense_pair(dense, mask, 1 + num_edge_features + num_node_features,
                      f"{num_node_features} node and {num_edge_features} edge features")
    counts = mask.sum(1)
    batch = torch.repeat_interleave(torch.arange(dense.shape[0], device=dense.device), counts)
    diagonal = dense[:, dense.shape[1] - num_node_features:].diagonal(dim1=-2, dim2=-1)
    x = diagonal.transpose(1, 2)[mask]
    offsets = torch.cumsum(counts, 0) - counts
    adjacency = dense[:, 0] * pair_mask(mask).to(dense.dtype)
    graph, row, col = adjacency.nonzero(as_tuple=True)
    edge_index = torch.stack([offsets[graph] + row, offsets[graph] + col])
    edge_attr = None
    if num_edge_features:
        edge_attr = dense[:, 1 : 1 + num_edge_features].permute(0, 2, 3, 1)[graph, row, col]
    return x, edge_index, edge_attr, batch


def pair_mask(mask: torch.Tensor) -> torch.Tensor:
    """``(B, n)`` node mask → ``(B, n, n)`` mask of pairs of real nodes."""
    return mask[:, :, None] & mask[:, None, :]


def _node_extent(mask: torch.Tensor) -> torch.Tensor:
    """``(B, n)`` node mask → ``(B,)``: one past each graph's last real node (0 if none)."""
    positions = torch.arange(1, mask.shape[1] + 1, device=mask.device)
    return (mask * positions).amax(1)


_MIN_GROUP_COST = 1e6  # padded cost under which a batch is not split (n^power units)


def _crop(dense: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense ``(B, C, n, n)`` and mask ``(B, n)`` cut to the last real node of the batch."""
    size = max(int(_node_extent(mask).max()), 1)
    return dense[..., :size, :size], mask[:, :size]


def _size_groups(extent: torch.Tensor, power: int, max_waste: float = 2.0) -> list[torch.Tensor]:
    """Indices of graphs in groups of similar size (largest first).

    Padding a group to its largest graph costs ``len(group) · n_max^power``; a group grows
    while that stays under ``max_waste`` × the sum of its graphs' ``n^power`` (or under
    ``_MIN_GROUP_COST``, where splitting would not pay for the extra calls).
    """
    order = torch.argsort(extent, descending=True, stable=True)
    costs = (extent[order].double() ** power).tolist()
    groups, start, actual = [], 0, 0.0
    for index, cost in enumerate(costs):
        padded = (index - start + 1) * costs[start]
        if index > start and padded > max(max_waste * (actual + cost), _MIN_GROUP_COST):
            groups.append(order[start:index])
            start, actual = index, 0.0
        actual += cost
    groups.append(order[start:])
    return groups


def _check_dense_pair(dense: torch.Tensor, mask: torch.Tensor, channels: int,
                      channels_meaning: str) -> None:
    """Refuse dense order-2 features and a node mask shaped unlike :func:`to_dense_order2`'s.

    That is ``(B, channels, n, n)`` features and a bool ``(B, n)`` node mask;
    ``channels_meaning`` says in the error where the channel count comes from.
    """
    if dense.dim() != 4 or dense.shape[1] != channels or dense.shape[2] != dense.shape[3]:
        raise ValueError(f"dense must have shape (B, {channels}, n, n) for {channels_meaning}, "
                         f"got {tuple(dense.shape)}")
    check_mask(mask, dense.shape[0], dense.shape[2])


def _check_model_input(dense: torch.Tensor, mask: torch.Tensor, in_channels: int,
                       edge_channels: int) -> None:
    """:func:`_check_dense_pair` for a model taking ``in_channels`` and ``edge_channels``."""
    _check_dense_pair(dense, mask, 1 + edge_channels + in_channels,
                      f"1 + edge_channels ({edge_channels}) + in_channels ({in_channels}) "
                      "(a graph without x gets one constant node feature)")


def _forward_by_size(forward, dense: torch.Tensor, mask: torch.Tensor,
                     power: int) -> torch.Tensor:
    """Per-graph ``forward(dense, mask) → (B, ...)`` run on groups of graphs of similar size.

    Each group is cropped to its largest graph; the rows come back in batch order. Every
    graph's numbers are those of the graph run alone, so grouping changes nothing but the
    cost: a batch padded to one 600-node graph would otherwise spend ``600^power`` on each of
    its small graphs (``power`` = the order of the most expensive operation).
    """
    groups = _size_groups(_node_extent(mask).cpu(), power)
    if len(groups) == 1:
        return forward(*_crop(dense, mask))
    outputs = []
    for group in groups:
        group = group.to(dense.device)
        outputs.append(forward(*_crop(dense[group], mask[group])))
    order = torch.cat(groups).to(dense.device)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order), device=dense.device)
    return torch.cat(outputs)[inverse]


def _node_features(data) -> torch.Tensor:
    if not hasattr(data, "edge_index") or not hasattr(data, "x"):
        raise TypeError("data must be a torch_geometric Data or Batch (with x and edge_index), "
                        f"got {type(data).__name__}; for dense inputs call forward_dense")
    if data.x is not None:
        return data.x if torch.is_floating_point(data.x) else data.x.float()
    return torch.ones(data.num_nodes, 1, device=data.edge_index.device)


def _dense_from_data(data, use_edge_attr: bool, dtype: torch.dtype):
    x = _node_features(data).to(dtype)
    batch = getattr(data, "batch", None)
    num_graphs = getattr(data, "num_graphs", None) if batch is not None else 1
    edge_attr = getattr(data, "edge_attr", None) if use_edge_attr else None
    return to_dense_order2(x, data.edge_index, batch, edge_attr, num_graphs=num_graphs)


# -- readout ----------------------------------------------------------------------------------
def dense_readout(x: torch.Tensor, mask: torch.Tensor, reduce: str = "max") -> torch.Tensor:
    """Invariant ``(B, C, n, n)`` → ``(B, 2C)``: ``[diag stat, off-diag stat]`` over real nodes.

    ``reduce='max'`` is Maron et al.'s ``diag_offdiag_maxpool`` (IGN §5, PPGN §7); ``'sum'``
    and ``'mean'`` sum or average instead. Empty sets (graphs of one node have no off-diagonal
    pair) give 0.
    """
    if reduce not in _READOUTS:
        raise ValueError(f"reduce must be one of {_READOUTS}, got {reduce!r}")
    n = x.shape[-1]
    nodes = mask[:, None]  # (B, 1, n)
    off_diagonal = (pair_mask(mask) & ~torch.eye(n, dtype=torch.bool, device=x.device))[:, None]
    if reduce == "max":
        return _diag_offdiag_max(x, nodes, off_diagonal)
    stats = []
    for values, keep in ((x.diagonal(dim1=-2, dim2=-1), nodes), (x, off_diagonal)):
        keep = keep.flatten(2)
        value = (values.flatten(2) * keep.to(x.dtype)).sum(-1)
        if reduce == "mean":
            value = value / keep.sum(-1).clamp(min=1).to(x.dtype)
        stats.append(value)
    return torch.cat(stats, dim=1)


def _diag_offdiag_max(x: torch.Tensor, nodes: torch.Tensor,
                      off_diagonal: torch.Tensor) -> torch.Tensor:
    """``(B, C, n, n)`` → ``(B, 2C)``: diagonal and off-diagonal maxima, 0 for an empty set.

    ``nodes (B, 1, n)`` selects the diagonal entries, ``off_diagonal (B, 1, n, n)`` the pairs.

    The maximisers are found without autograd and the maxima read by indexing, so the
    backward pass writes one entry per statistic: the gradient goes to one maximiser (as with
    ``torch.max``), not spread over ties as ``amax`` would spread it. For the symmetric
    features of undirected graphs, whose maxima tie at ``(i, j)`` and ``(j, i)``, the
    parameter gradient is the same either way.
    """
    batch, channels, n, _ = x.shape
    with torch.no_grad():
        diagonal = x.diagonal(dim1=-2, dim2=-1).masked_fill(~nodes, float("-inf")).argmax(-1)
        pair = x.masked_fill(~off_diagonal, float("-inf")).flatten(2).argmax(-1)
    rows = torch.stack([diagonal, pair // n], dim=1)  # (B, 2, C)
    cols = torch.stack([diagonal, pair % n], dim=1)
    graphs = torch.arange(batch, device=x.device)[:, None, None]
    channel = torch.arange(channels, device=x.device)[None, None, :]
    value = x[graphs, channel, rows, cols]  # (B, 2, C)
    count = torch.stack([nodes.sum(-1), off_diagonal.sum((-2, -1))], dim=1)  # (B, 2, 1)
    value = torch.where(count > 0, value, torch.zeros_like(value))
    return value.flatten(1)


def _mlp(sizes: list[int], dropout: float, factory: dict) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[index], sizes[index + 1], **factory))
        if index < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def _layer_widths(hidden_channels: int | Sequence[int], layers: int) -> list[int]:
    """``hidden_channels`` (one width, or one per layer) → ``layers`` widths."""
    if isinstance(hidden_channels, int):
        _check_channels(hidden_channels=hidden_channels)
        return [hidden_channels] * layers
    widths = list(hidden_channels)
    if len(widths) != layers:
        raise ValueError(f"hidden_channels has {len(widths)} widths for {layers} layers "
                         f"(orders has one entry per layer)")
    for width in widths:
        _check_channels(hidden_channels=width)
    return widths


def _check_channels(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or value < 0 or (value == 0 and name != "edge_channels"):
            raise ValueError(f"{name} must be an int >= 1 (edge_channels >= 0), got {value!r}")


# -- IGN --------------------------------------------------------------------------------------
class _DenseGraphModel(nn.Module):
    """The entry points shared by the dense order-2 graph models (IGN, PPGN).

    A subclass sets ``in_channels``, ``edge_channels`` and an MLP ``head`` and defines
    ``_forward_finite(dense, mask)``, the model on dense features known to be finite.
    """

    def forward(self, data) -> torch.Tensor:
        """PyG ``Data``/``Batch`` → one row per graph (or per node; see the class doc)."""
        dtype = self.head[0].weight.dtype
        dense, mask = _dense_from_data(data, self.edge_channels > 0, dtype)
        return self._forward_finite(dense, mask)  # to_dense_order2 checked x and edge_attr

    def forward_dense(self, dense: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Dense ``(B, 1 + D + F, n, n)`` and bool mask ``(B, n)`` → :meth:`forward`'s outputs.

        The inputs are :func:`to_dense_order2`'s; one row per graph (or per real node).
        """
        _check_finite(dense=dense)
        return self._forward_finite(dense, mask)


class InvariantGraphNetwork(_DenseGraphModel):
    """IGN (Maron et al., ICLR 2019, §5): masked ``2 → 2`` S_n layers, ReLU, invariant readout.

    The input graph goes to dense order-2 features (:func:`to_dense_order2`,
    ``1 + edge_channels + in_channels`` channels); ``num_layers`` layers
    ``EquivariantLinear(S_n, 2, 2)`` (15 diagrams, mean-normalised per graph) with ReLU;
    then, for ``output='graph'``, an invariant readout (``'max'``: diagonal / off-diagonal
    max pooling as in Maron's code; ``'sum'``; ``'mean'``: the learnable ``2 → 0`` diagram
    layer) and an MLP → ``(num_graphs, out_channels)``; for ``output='node'``, a masked
    ``2 → 1`` diagram layer and a per-node MLP → ``(num_nodes, out_channels)`` in
    ``data.x``'s node order.

    Higher order: ``orders`` lists the tensor order after each layer, e.g. ``(3, 2)`` is a
    ``2 → 3`` layer (52 diagrams) then a ``3 → 2`` layer (52 diagrams); order-3 features cost
    ``n³ · hidden_channels`` per graph, so keep them for small graphs (IGN with order-k
    hidden tensors separates what k-WL separates; Maron et al., NeurIPS 2019).

    Args:
        in_channels: node features ``F``.
        hidden_channels: channels of the hidden layers, or one width per layer (a sequence,
            e.g. Maron et al.'s ``(16, 32, 256)``; its length is then the number of layers).
        out_channels: outputs per graph (or per node).
        num_layers: number of ``2 → 2`` layers (when ``orders`` is ``None``).
        orders: tensor order (1, 2 or 3) after each layer; ``None`` is ``(2,) * num_layers``.
            The last order must be 2 for the ``'max'`` and ``'sum'`` readouts.
        edge_channels: edge attribute channels ``D`` (0: edge attributes are ignored).
        readout: ``'max'``, ``'sum'`` or ``'mean'`` (graph output).
        mlp_channels: hidden widths of the final MLP.
        dropout: dropout in the final MLP.
        output: ``'graph'`` or ``'node'``.

    >>> from torch_geometric.data import Batch, Data
    >>> g = Data(x=torch.ones(3, 2), edge_index=torch.tensor([[0, 1], [1, 0]]))
    >>> model = InvariantGraphNetwork(2, 8, 4, num_layers=2)
    >>> model(Batch.from_data_list([g, g])).shape
    torch.Size([2, 4])

    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int | Sequence[int],
        out_channels: int,
        num_layers: int = 3,
        *,
        orders: tuple[int, ...] | None = None,
        edge_channels: int = 0,
        readout: str = "max",
        mlp_channels: tuple[int, ...] = (64,),
        dropout: float = 0.0,
        output: str = "graph",
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if not isinstance(hidden_channels, int) and orders is None:
            num_layers = len(hidden_channels)
        _check_channels(in_channels=in_channels, out_channels=out_channels,
                        num_layers=num_layers, edge_channels=edge_channels)
        if readout not in _READOUTS:
            raise ValueError(f"readout must be one of {_READOUTS}, got {readout!r}")
        if output not in ("graph", "node"):
            raise ValueError(f"output must be 'graph' or 'node', got {output!r}")
        self.orders = self._check_orders(orders, num_layers, readout, output)
        hidden = _layer_widths(hidden_channels, len(self.orders))
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.out_channels, self.edge_channels = out_channels, edge_channels
        self.readout, self.output = readout, output
        factory = {"device": device, "dtype": dtype}
        orders = (2, *self.orders)
        widths = [1 + edge_channels + in_channels, *hidden]
        hidden_channels = hidden[-1]  # the width the pooling and the head read
        # S_n with n >= k + l has every (k, l) diagram; the layers then run on any n
        self.layers = nn.ModuleList(
            EquivariantLinear(SymmetricGroup(orders[i] + orders[i + 1]), orders[i],
                              orders[i + 1], widths[i], widths[i + 1], bias=bias, **factory)
            for i in range(len(self.orders))
        )
        last = self.orders[-1]
        if output == "node":
            self.pool = EquivariantLinear(SymmetricGroup(last + 1), last, 1, hidden_channels,
                                          hidden_channels, bias=bias, **factory)
            head_in = hidden_channels
        elif readout == "mean":
            self.pool = EquivariantLinear(SymmetricGroup(max(last, 1)), last, 0,
                                          hidden_channels, 2 * hidden_channels, bias=bias,
                                          **factory)
            head_in = 2 * hidden_channels
        else:
            self.pool = None
            head_in = 2 * hidden_channels
        self.head = _mlp([head_in, *mlp_channels, out_channels], dropout, factory)

    @staticmethod
    def _check_orders(orders, num_layers: int, readout: str, output: str) -> tuple[int, ...]:
        orders = (2,) * num_layers if orders is None else tuple(orders)
        if not orders or any(isinstance(k, bool) or k not in (1, 2, 3) for k in orders):
            raise ValueError(f"orders must be a non-empty sequence of 1, 2 or 3 (order 4 "
                             f"would need n⁴ memory per channel), got {orders!r}")
        if output == "graph" and readout != "mean" and orders[-1] != 2:
            raise ValueError(f"the {readout!r} readout pools order-2 features: end orders with "
                             f"2 or use readout='mean', got orders={orders!r}")
        return orders

    def extra_repr(self) -> str:
        """Channels, orders, readout and output level."""
        return (f"in_channels={self.in_channels}, edge_channels={self.edge_channels}, "
                f"orders={self.orders}, readout={self.readout!r}, output={self.output!r}")

    def _forward_finite(self, dense: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """:meth:`forward_dense` on finite features.

        Graph outputs run on groups of graphs of similar size (each cropped to its largest
        graph), node outputs on the batch cropped to its largest graph: the same numbers as
        the padded batch at a fraction of the cost on batches of mixed sizes.
        """
        _check_model_input(dense, mask, self.in_channels, self.edge_channels)
        if self.output == "graph":
            return _forward_by_size(self._forward_padded, dense, mask, max(self.orders))
        return self._forward_padded(*_crop(dense, mask))

    def _forward_padded(self, dense: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = dense
        for layer in self.layers:
            h = torch.relu(layer(h, mask=mask))
        if self.output == "node":
            nodes = torch.relu(self.pool(h, mask=mask))  # (B, C, n)
            return self.head(nodes.transpose(1, 2)[mask])
        if self.pool is not None:
            return self.head(torch.relu(self.pool(h, mask=mask)))
        return self.head(dense_readout(h, mask, self.readout))


# -- PPGN -------------------------------------------------------------------------------------
class _PairMLP(nn.Module):
    """Channel MLP applied to every entry of ``(B, C, n, n)``; padded pairs are kept at 0."""

    def __init__(self, sizes: list[int], factory: dict):
        super().__init__()
        self.linears = nn.ModuleList(
            nn.Linear(sizes[i], sizes[i + 1], **factory) for i in range(len(sizes) - 1)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-normal weights, zero biases (keeps the scale; at init, non-edges stay 0)."""
        for linear in self.linears:
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.zeros_(linear.bias)

    def forward(self, inputs: torch.Tensor | list[torch.Tensor],
                pairs: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, n, n)`` → ``(B, C_out, n, n)``, zero on padded pairs.

        ``inputs`` may be a list whose channels add up to ``C_in``, read as their
        concatenation and mixed part by part (no concatenated copy). Channels stay first:
        each layer is one batched matmul on ``(B, C, n²)`` (moving the channels last for
        ``nn.Linear`` would copy the tensor before and after every MLP).
        """
        parts = [inputs] if isinstance(inputs, torch.Tensor) else inputs
        batch, n = parts[0].shape[0], parts[0].shape[-1]
        first, *rest = self.linears
        h, start = first.bias[:, None], 0
        for part in parts:
            weight = first.weight[:, start : start + part.shape[1]]
            start += part.shape[1]
            h = torch.baddbmm(h, weight.expand(batch, *weight.shape),
                              part.reshape(batch, part.shape[1], n * n))
        h = torch.relu(h)
        for linear in rest:
            weight = linear.weight.expand(batch, *linear.weight.shape)
            h = torch.relu(torch.baddbmm(linear.bias[:, None], weight, h))
        return h.reshape(batch, -1, n, n) * pairs[:, None]


_PRODUCT_NORMS = ("n", "sqrt", "none")


class _PPGNBlock(nn.Module):
    """``m1 = MLP1(x)``, ``m2 = MLP2(x)``, ``y = MLP3([x, m1 @ m2 / s(n)])`` (PPGN §5, Fig. 2)."""

    def __init__(self, in_channels: int, out_channels: int, depth: int, factory: dict):
        super().__init__()
        sizes = [in_channels] + [out_channels] * depth
        self.mlp1 = _PairMLP(sizes, factory)
        self.mlp2 = _PairMLP(sizes, factory)
        self.mlp3 = _PairMLP([in_channels + out_channels, out_channels], factory)

    def forward(self, x: torch.Tensor, pairs: torch.Tensor,
                scale: torch.Tensor | None) -> torch.Tensor:
        """``scale`` ``(B,)``: ``s(n)`` of each graph, or None for 1 (no division pass)."""
        product = torch.matmul(self.mlp1(x, pairs), self.mlp2(x, pairs))
        if scale is not None:
            product = product / scale[:, None, None, None]
        return self.mlp3([x, product], pairs)


class PPGN(_DenseGraphModel):
    """Provably Powerful Graph Network (Maron et al., NeurIPS 2019, §5 and §7): 3-WL power.

    Dense order-2 input (:func:`to_dense_order2`); ``num_blocks`` blocks
    ``y = MLP3([x, (MLP1(x) @ MLP2(x)) / s(n)])`` (matrix product per channel over the node
    axis, divided by ``s(n)`` of each graph's node count ``n``: ``n`` (a mean over the
    contracted node; default, scale-stable on large graphs), ``sqrt(n)`` or 1 (the paper);
    every MLP keeps padded pairs at 0; He-initialised ReLU MLPs with zero bias); the
    readout of every block (``dense_readout``, ``'max'`` as in the paper's code, or
    ``'sum'``/``'mean'``) is concatenated and sent through an MLP → ``(num_graphs, out)``.

    Args:
        in_channels: node features ``F``.
        hidden_channels: channels of every block.
        out_channels: outputs per graph.
        num_blocks: number of blocks.
        depth: layers of MLP1 and MLP2.
        edge_channels: edge attribute channels ``D``.
        readout: ``'max'``, ``'sum'`` or ``'mean'``.
        mlp_channels: hidden widths of the final MLP.
        dropout: dropout in the final MLP.
        product_norm: ``'n'``, ``'sqrt'`` or ``'none'``: ``s(n)`` above.

    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_blocks: int = 3,
        *,
        depth: int = 2,
        edge_channels: int = 0,
        readout: str = "max",
        mlp_channels: tuple[int, ...] = (64,),
        dropout: float = 0.0,
        product_norm: str = "n",
        device=None,
        dtype=None,
    ):
        super().__init__()
        _check_channels(in_channels=in_channels, hidden_channels=hidden_channels,
                        out_channels=out_channels, num_blocks=num_blocks, depth=depth,
                        edge_channels=edge_channels)
        if readout not in _READOUTS:
            raise ValueError(f"readout must be one of {_READOUTS}, got {readout!r}")
        if product_norm not in _PRODUCT_NORMS:
            raise ValueError(f"product_norm must be one of {_PRODUCT_NORMS}, got {product_norm!r}")
        self.in_channels, self.edge_channels, self.readout = in_channels, edge_channels, readout
        self.product_norm = product_norm
        factory = {"device": device, "dtype": dtype}
        widths = [1 + edge_channels + in_channels] + [hidden_channels] * num_blocks
        self.blocks = nn.ModuleList(
            _PPGNBlock(widths[i], widths[i + 1], depth, factory) for i in range(num_blocks)
        )
        self.head = _mlp([2 * hidden_channels * num_blocks, *mlp_channels, out_channels],
                         dropout, factory)

    def extra_repr(self) -> str:
        """Channels and readout."""
        return (f"in_channels={self.in_channels}, edge_channels={self.edge_channels}, "
                f"readout={self.readout!r}, product_norm={self.product_norm!r}")

    def _forward_finite(self, dense: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """:meth:`forward_dense` on finite features → ``(B, out_channels)``.

        Runs on groups of graphs of similar size, each cropped to its largest graph (the
        channel products cost ``n³`` per graph): the same numbers as the padded batch.
        """
        _check_model_input(dense, mask, self.in_channels, self.edge_channels)
        return _forward_by_size(self._forward_padded, dense, mask, 3)

    def _forward_padded(self, dense: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pairs = pair_mask(mask).to(dense.dtype)
        scale = mask.sum(1).clamp(min=1).to(dense.dtype)
        if self.product_norm != "n":
            scale = scale.sqrt() if self.product_norm == "sqrt" else None
        h, readouts = dense * pairs[:, None], []
        for block in self.blocks:
            h = block(h, pairs, scale)
            readouts.append(dense_readout(h, mask, self.readout))
        return self.head(torch.cat(readouts, dim=1))


# -- message passing --------------------------------------------------------------------------
class DiagramConv(MessagePassing):
    """Order-1 S_n diagram layer plus neighbour aggregation, as PyG message passing.

    ``y_i = W_1 x_i + W_2 mean_{j ∈ G(i)} x_j + W_3 AGG_{j → i} e_{ji} x_j + b``: the two
    ``1 → 1`` diagrams of S_n (identity and the graph mean; Maron et al. 2019, §3 and
    Appendix; Zaheer et al.'s DeepSets) and the adjacency term, which is equivariant because
    the adjacency moves with the nodes. ``G(i)`` is the graph of node ``i`` (``batch``), so
    padding never arises.

    Args:
        in_channels: node features in.
        out_channels: node features out.
        aggr: neighbour aggregation (``'add'``, ``'mean'``, ``'max'``).
        bias: learnable constant (the ``0 → 1`` invariant).

    Shapes: ``x [N, C_in]``, ``edge_index [2, E]``, ``batch [N]`` (None: one graph),
    ``edge_weight [E]`` → ``[N, C_out]``.

    """

    def __init__(self, in_channels: int, out_channels: int, aggr: str = "add", *,
                 bias: bool = True, device=None, dtype=None):
        super().__init__(aggr=aggr)
        _check_channels(in_channels=in_channels, out_channels=out_channels)
        self.in_channels, self.out_channels = in_channels, out_channels
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(3, out_channels, in_channels, **factory))
        self.bias = nn.Parameter(torch.empty(out_channels, **factory)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-like ``N(0, 1/(3 C_in))`` weights, zero bias."""
        nn.init.normal_(self.weight, 0.0, (3 * self.in_channels) ** -0.5)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def extra_repr(self) -> str:
        """Channels and aggregation."""
        return (f"{self.in_channels}, {self.out_channels}, aggr={self.aggr!r}, "
                f"bias={self.bias is not None}")

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor,
                batch: torch.Tensor | None = None,
                edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        """``[N, C_in]`` → ``[N, C_out]`` (see the class doc)."""
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape [N, {self.in_channels}], got {tuple(x.shape)}")
        _check_edge_index(edge_index, x.shape[0], allow_sparse=True)
        _check_finite(x=x, edge_weight=edge_weight)
        if batch is None:
            batch = torch.zeros(x.shape[0], dtype=torch.int64, device=x.device)
        means = scatter(x, batch, dim=0, reduce="mean")[batch]
        neighbours = self.propagate(edge_index, x=x, edge_weight=edge_weight)
        out = x @ self.weight[0].T + means @ self.weight[1].T + neighbours @ self.weight[2].T
        return out if self.bias is None else out + self.bias

    def message(self, x_j: torch.Tensor, edge_weight: torch.Tensor | None) -> torch.Tensor:
        """``e_ji x_j`` (``x_j`` when there are no edge weights)."""
        return x_j if edge_weight is None else edge_weight[:, None] * x_j


# -- Aut(G) on a fixed graph ------------------------------------------------------------------
def _fixed_graph_input(x: torch.Tensor, n: int, channels: int) -> tuple[torch.Tensor, bool]:
    if x.dim() == 2 and x.shape[0] % n == 0 and x.shape[1] == channels:
        return x.reshape(-1, n, channels).transpose(1, 2), True
    if x.dim() == 3 and x.shape[1:] == (channels, n):
        return x, False
    raise ValueError(
        f"x must have shape (batch, {channels}, {n}) or node-major [batch * {n}, {channels}] "
        f"(PyG, one copy of the fixed graph per sample), got {tuple(x.shape)}"
    )


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
        self.group = graph if isinstance(graph, AutomorphismGroup) else AutomorphismGroup(
            graph, num_nodes)
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
        _check_channels(num_layers=num_layers)
        self.group = graph if isinstance(graph, AutomorphismGroup) else AutomorphismGroup(
            graph, num_nodes)
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
