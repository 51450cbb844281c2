"""Dense order-2 graph features: sparse graphs ↔ ``(B, C, n, n)`` tensors and a node mask.

A batch of graphs given as node features ``x [N, F]``, ``edge_index [2, E]``, optional
``edge_attr [E, D]`` and a graph index ``batch [N]`` (PyG's ``Batch`` layout) becomes dense
order-2 features ``(B, 1 + D + F, n, n)`` and a node mask ``(B, n)``: adjacency in channel 0,
edge attributes off the diagonal, node features on the diagonal (Maron et al., "Invariant and
Equivariant Graph Networks", ICLR 2019, §5 and Appendix). Pure PyTorch: torch_geometric is
not needed here (its ``Data``/``Batch`` objects are read by attribute only).
"""

from __future__ import annotations

import torch

from geomlayers.ops.layer import check_mask

__all__ = ["DenseGraphBatch", "from_dense_order2", "pair_mask", "to_dense_order2"]

_INDEX_DTYPES = (torch.int64, torch.int32)


class DenseGraphBatch(tuple):
    """``(dense, mask, graph, slot)``: the output of :func:`dense_graph_batch`.

    ``dense (B, C, n, n)``, ``mask (B, n)`` bool, and for every input node ``i`` its graph
    ``graph[i]`` and its slot ``slot[i]`` in the padded axis, so that a node-level output
    ``out (B, n, ...)`` is read back in the input's node order as ``out[graph, slot]``.
    """

    __slots__ = ()

    def __new__(cls, dense, mask, graph, slot):  # noqa: D102
        return super().__new__(cls, (dense, mask, graph, slot))

    dense = property(lambda self: self[0])
    mask = property(lambda self: self[1])
    graph = property(lambda self: self[2])
    slot = property(lambda self: self[3])


def _compiling() -> bool:
    return torch.compiler.is_compiling()


def to_dense_order2(
    x: torch.Tensor,
    edge_index: torch.Tensor,
    batch: torch.Tensor | None = None,
    edge_attr: torch.Tensor | None = None,
    *,
    num_graphs: int | None = None,
    max_num_nodes: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sparse graphs → dense order-2 features and node mask (Maron et al. 2019, §5).

    Args:
        x: node features ``[N, F]`` (float).
        edge_index: ``[2, E]`` global node indices; an edge joins two nodes of one graph.
        batch: graph of each node ``[N]`` (PyG's ``Batch.batch``); None = one graph. It need
            not be sorted: the nodes of each graph keep their relative order.
        edge_attr: ``[E]`` or ``[E, D]`` edge features, optional.
        num_graphs: number of graphs ``B`` (default ``batch.max() + 1``).
        max_num_nodes: pad to this many nodes (default: the largest graph; a smaller value
            than the largest graph is refused).

    Returns:
        ``(dense, mask)``: ``dense`` ``(B, 1 + D + F, n, n)`` in ``x``'s dtype with channel 0
        the adjacency, channels ``1..D`` the edge attributes at ``[i, j]`` for each edge
        ``i → j``, the last ``F`` channels the node features on the diagonal, zeros
        elsewhere (also at padded nodes); ``mask`` ``(B, n)`` bool, True at real nodes.
        Duplicate edges are summed (coalesce first for an exact round trip).

    """
    return tuple(dense_graph_batch(x, edge_index, batch, edge_attr, num_graphs=num_graphs,
                                   max_num_nodes=max_num_nodes)[:2])


def dense_graph_batch(
    x: torch.Tensor,
    edge_index: torch.Tensor,
    batch: torch.Tensor | None = None,
    edge_attr: torch.Tensor | None = None,
    *,
    num_graphs: int | None = None,
    max_num_nodes: int | None = None,
) -> DenseGraphBatch:
    """:func:`to_dense_order2` that also returns each node's ``(graph, slot)``.

    Under ``torch.compile`` the host-synchronising checks (index ranges, finiteness, graph
    membership of edges) are skipped; they run in eager mode. Without ``max_num_nodes`` the
    padded size is read from the data (one host synchronisation).
    """
    if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x) or x.dim() != 2:
        raise TypeError("x must be a floating [N, F] tensor, got "
                        f"{getattr(x, 'dtype', type(x).__name__)} "
                        f"{tuple(getattr(x, 'shape', ()))}")
    num_nodes = x.shape[0]
    check_edge_index(edge_index, num_nodes)
    if edge_attr is not None:
        edge_attr = _check_edge_attr(edge_attr, edge_index.shape[1], x.dtype)
    check_finite(x=x, edge_attr=edge_attr)
    if batch is None:
        batch = torch.zeros(num_nodes, dtype=torch.int64, device=x.device)
        num_graphs = 1 if num_graphs is None else num_graphs
    else:
        _check_batch(batch, num_nodes, num_graphs)
    batch = batch.long()
    if num_graphs is None:
        num_graphs = int(batch.max()) + 1 if batch.numel() else 1
    counts = torch.zeros(num_graphs, dtype=torch.int64, device=x.device).index_add_(
        0, batch, torch.ones_like(batch))
    if max_num_nodes is None:
        n = max(int(counts.max()), 1) if num_nodes else 1
    else:
        n = max_num_nodes
        if not _compiling() and num_nodes and int(counts.max()) > n:
            raise ValueError(f"max_num_nodes = {n} is smaller than the largest graph "
                             f"({int(counts.max())} nodes): its nodes would be dropped")
    # slot of each node within its graph: rank among its graph's nodes (stable order)
    order = torch.argsort(batch, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.empty_like(batch)
    slot[order] = torch.arange(num_nodes, device=x.device) - starts[batch[order]]
    source, target = edge_index[0].long(), edge_index[1].long()
    graph_of_edge = batch[source]
    if not _compiling() and edge_index.shape[1]:
        if bool((batch[target] != graph_of_edge).any()):
            raise ValueError("edge_index joins nodes of different graphs (batch differs at "
                             "the two ends of an edge): an edge must stay inside its graph")
    features = x.shape[1]
    width = edge_attr.shape[1] if edge_attr is not None else 0
    dense = x.new_zeros(num_graphs, 1 + width + features, n, n)
    ones = x.new_ones(edge_index.shape[1])
    row, col = slot[source], slot[target]
    dense[:, 0].index_put_((graph_of_edge, row, col), ones, accumulate=True)
    if width:
        attr = x.new_zeros(num_graphs, n, n, width)
        attr.index_put_((graph_of_edge, row, col), edge_attr, accumulate=True)
        dense[:, 1 : 1 + width] = attr.permute(0, 3, 1, 2)
    diagonal = x.new_zeros(num_graphs, n, features)
    diagonal[batch, slot] = x
    dense[:, 1 + width :] = torch.diag_embed(diagonal.transpose(1, 2))
    mask = torch.zeros(num_graphs, n, dtype=torch.bool, device=x.device)
    mask[batch, slot] = True
    return DenseGraphBatch(dense, mask, batch, slot)


def _check_edge_attr(edge_attr: torch.Tensor, num_edges: int,
                     dtype: torch.dtype) -> torch.Tensor:
    if not isinstance(edge_attr, torch.Tensor) or edge_attr.dim() not in (1, 2):
        raise TypeError(f"edge_attr must be an [E] or [E, D] tensor, got "
                        f"{tuple(getattr(edge_attr, 'shape', ()))}")
    if edge_attr.shape[0] != num_edges:
        raise ValueError(f"edge_attr has {edge_attr.shape[0]} rows for {num_edges} edges "
                         "of edge_index: one row per edge")
    edge_attr = edge_attr.to(dtype)
    return edge_attr[:, None] if edge_attr.dim() == 1 else edge_attr


def _check_batch(batch: torch.Tensor, num_nodes: int, num_graphs: int | None) -> None:
    if not isinstance(batch, torch.Tensor) or batch.dtype not in _INDEX_DTYPES:
        raise TypeError("batch must be an int64/int32 tensor [N] (the graph of each node), "
                        f"got {getattr(batch, 'dtype', type(batch).__name__)}")
    if batch.dim() != 1 or batch.shape[0] != num_nodes:
        raise ValueError(f"batch must have shape [N] = [{num_nodes}] (one graph index per "
                         f"node of x), got {tuple(batch.shape)}")
    if _compiling() or not num_nodes:
        return
    low, high = int(batch.min()), int(batch.max())
    if low < 0 or (num_graphs is not None and high >= num_graphs):
        bound = f"[0, num_graphs = {num_graphs})" if num_graphs is not None else "[0, ∞)"
        raise ValueError(f"batch holds graph indices in [{low}, {high}], outside {bound}")


def check_edge_index(edge_index: torch.Tensor, num_nodes: int,
                     allow_sparse: bool = False) -> None:
    """Refuse an ``edge_index`` that is not an integer ``[2, E]`` tensor of node indices.

    The indices must lie in ``[0, N)``; with ``allow_sparse`` a sparse ``(N, N)`` adjacency
    (PyG's transposed ``adj_t``) is taken as well. Under ``torch.compile`` the range check
    (a host synchronisation) is skipped.
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
    if _compiling() or not edge_index.numel():
        return
    low, high = int(edge_index.min()), int(edge_index.max())
    if low < 0 or high >= num_nodes:
        raise ValueError(f"edge_index holds node indices in [{low}, {high}], outside "
                         f"[0, N = {num_nodes}) of x: index the nodes of x (PyG's Batch "
                         "offsets each graph's indices)")


def check_finite(**tensors: torch.Tensor | None) -> None:
    """Graph features must be finite: a NaN or inf would spread over the whole graph.

    Skipped under ``torch.compile`` (a host synchronisation); eager calls check.
    """
    if _compiling():
        return
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
    check_dense_pair(dense, mask, 1 + num_edge_features + num_node_features,
                     f"{num_node_features} node and {num_edge_features} edge features")
    counts = mask.sum(1)
    batch = torch.repeat_interleave(torch.arange(dense.shape[0], device=dense.device), counts)
    diagonal = dense[:, dense.shape[1] - num_node_features:].diagonal(dim1=-2, dim2=-1)
    x = diagonal.transpose(1, 2)[mask]
    offsets = torch.cumsum(counts, 0) - counts
    adjacency = dense[:, 0] * pair_mask(mask).to(dense.dtype)
    graph, row, col = adjacency.nonzero(as_tuple=True)
    # a real node's position among its graph's real nodes (the mask may leave gaps)
    rank = torch.cumsum(mask.long(), 1) - 1
    edge_index = torch.stack([offsets[graph] + rank[graph, row], offsets[graph] + rank[graph, col]])
    edge_attr = None
    if num_edge_features:
        edge_attr = dense[:, 1 : 1 + num_edge_features].permute(0, 2, 3, 1)[graph, row, col]
    return x, edge_index, edge_attr, batch


def pair_mask(mask: torch.Tensor) -> torch.Tensor:
    """``(B, n)`` node mask → ``(B, n, n)`` mask of pairs of real nodes."""
    return mask[:, :, None] & mask[:, None, :]


def check_dense_pair(dense: torch.Tensor, mask: torch.Tensor, channels: int,
                     channels_meaning: str) -> None:
    """Refuse dense order-2 features and a node mask shaped unlike :func:`to_dense_order2`'s.

    That is ``(B, channels, n, n)`` features and a bool ``(B, n)`` node mask;
    ``channels_meaning`` says in the error where the channel count comes from.
    """
    if dense.dim() != 4 or dense.shape[1] != channels or dense.shape[2] != dense.shape[3]:
        raise ValueError(f"dense must have shape (B, {channels}, n, n) for {channels_meaning}, "
                         f"got {tuple(dense.shape)}")
    check_mask(mask, dense.shape[0], dense.shape[2])
