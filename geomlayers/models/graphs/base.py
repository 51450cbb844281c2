"""What the dense order-2 graph models share: readouts, size groups, the ``Data`` entry point.

The models (:class:`~geomlayers.models.graphs.InvariantGraphNetwork`,
:class:`~geomlayers.models.graphs.PPGN`) run on dense features from
:func:`~geomlayers.models.graphs.dense.to_dense_order2`; padding never changes a graph's
numbers (every layer takes the node mask, means use each graph's own node count).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Sequence

import torch
from torch import nn

from geomlayers.models.graphs.dense import (
    DenseGraphBatch,
    check_dense_pair,
    check_finite,
    dense_graph_batch,
    pair_mask,
)

__all__ = ["dense_readout"]

READOUTS = ("max", "sum", "mean")

#: padded cost under which a batch is not split into size groups (n^power units)
_MIN_GROUP_COST = 1e6


# -- readout ----------------------------------------------------------------------------------
def dense_readout(x: torch.Tensor, mask: torch.Tensor, reduce: str = "max") -> torch.Tensor:
    """Invariant ``(B, C, n, n)`` → ``(B, 2C)``: ``[diag stat, off-diag stat]`` over real nodes.

    ``reduce='max'`` is Maron et al.'s ``diag_offdiag_maxpool`` (IGN §5, PPGN §7); ``'sum'``
    and ``'mean'`` sum or average instead. Empty sets (graphs of one node have no off-diagonal
    pair) give 0. Entries at padded nodes are never read (they may hold anything, NaN
    included).
    """
    if reduce not in READOUTS:
        raise ValueError(f"reduce must be one of {READOUTS}, got {reduce!r}")
    n = x.shape[-1]
    nodes = mask[:, None]  # (B, 1, n)
    off_diagonal = (pair_mask(mask) & ~torch.eye(n, dtype=torch.bool, device=x.device))[:, None]
    if reduce == "max":
        return _diag_offdiag_max(x, nodes, off_diagonal)
    stats = []
    for values, keep in ((x.diagonal(dim1=-2, dim2=-1), nodes), (x, off_diagonal)):
        keep = keep.flatten(2)
        value = torch.where(keep, values.flatten(2), 0.0).sum(-1)
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


# -- construction helpers ---------------------------------------------------------------------
def mlp(sizes: list[int], dropout: float, factory: dict) -> nn.Sequential:
    """Linear layers of ``sizes`` with ReLU (and dropout) between them."""
    layers: list[nn.Module] = []
    for index in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[index], sizes[index + 1], **factory))
        if index < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def layer_widths(hidden_channels: int | Sequence[int], layers: int) -> list[int]:
    """``hidden_channels`` (one width, or one per layer) → ``layers`` widths."""
    if isinstance(hidden_channels, int) and not isinstance(hidden_channels, bool):
        check_channels(hidden_channels=hidden_channels)
        return [hidden_channels] * layers
    widths = list(hidden_channels)
    if len(widths) != layers:
        raise ValueError(f"hidden_channels has {len(widths)} widths for {layers} layers "
                         f"(orders has one entry per layer)")
    for width in widths:
        check_channels(hidden_channels=width)
    return widths


def check_channels(**values: int) -> None:
    """Counts must be ints >= 1 (``edge_channels`` >= 0); ``bool`` is refused."""
    for name, value in values.items():
        if (isinstance(value, bool) or not isinstance(value, int) or value < 0
                or (value == 0 and name != "edge_channels")):
            raise ValueError(f"{name} must be an int >= 1 (edge_channels >= 0), got {value!r}")


# -- size groups ------------------------------------------------------------------------------
def node_extent(mask: torch.Tensor) -> torch.Tensor:
    """``(B, n)`` node mask → ``(B,)``: one past each graph's last real node (0 if none)."""
    positions = torch.arange(1, mask.shape[1] + 1, device=mask.device)
    return (mask * positions).amax(1)


def crop(dense: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense ``(B, C, n, n)`` and mask ``(B, n)`` cut to the last real node of the batch.

    Under ``torch.compile`` nothing is cut (the cut size is data: reading it would break the
    graph); the padded batch gives the same numbers.
    """
    if torch.compiler.is_compiling():
        return dense, mask
    size = max(int(node_extent(mask).max()), 1)
    return dense[..., :size, :size], mask[:, :size]


def size_groups(extent: torch.Tensor, power: int, max_waste: float = 2.0) -> list[torch.Tensor]:
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


def forward_by_size(forward, dense: torch.Tensor, mask: torch.Tensor,
                    power: int) -> torch.Tensor:
    """Per-graph ``forward(dense, mask) → (B, ...)`` run on groups of graphs of similar size.

    Each group is cropped to its largest graph; the rows come back in batch order. Every
    graph's numbers are those of the graph run alone, so grouping changes nothing but the
    cost: a batch padded to one 600-node graph would otherwise spend ``600^power`` on each of
    its small graphs (``power`` = the order of the most expensive operation). Under
    ``torch.compile`` the batch runs padded in one call (a data-dependent split would make a
    graph per group shape); batch graphs of similar size there (``SizeAwareBatchSampler``).
    """
    if torch.compiler.is_compiling():
        return forward(dense, mask)
    groups = size_groups(node_extent(mask).cpu(), power)
    if len(groups) == 1:
        return forward(*crop(dense, mask))
    outputs = []
    for group in groups:
        group = group.to(dense.device)
        outputs.append(forward(*crop(dense[group], mask[group])))
    order = torch.cat(groups).to(dense.device)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order), device=dense.device)
    return torch.cat(outputs)[inverse]


# -- torch.compile ----------------------------------------------------------------------------
#: the padded node axis is at least this long (one-node batches get a padded node), so that
#: under torch.compile the node count is never 1 and keeps one symbolic size
_MIN_PADDED_NODES = 2


@functools.cache
def unbacked_marker():
    """``torch._dynamo``'s ``mark_unbacked``, or None where it lacks ``shape_id`` and ``min``.

    Both arguments exist in recent torch releases (2.13 has them).
    """
    try:
        from torch._dynamo.decorators import mark_unbacked
    except ImportError:  # pragma: no cover - older torch
        return None
    parameters = inspect.signature(mark_unbacked).parameters
    return mark_unbacked if {"shape_id", "min"} <= parameters.keys() else None


def mark_compile_sizes(batch: DenseGraphBatch) -> None:
    """Tell ``torch.compile`` which sizes of a :class:`DenseGraphBatch` vary, and how.

    The channel axis is static (fixed by the model). The graph count ``B``, the padded node
    count ``n`` (``>= 2``) and the input node count ``N`` are marked *unbacked*: dynamo
    treats them as sizes it may not read, so it installs no guard on their values. With
    backed dynamic sizes (what ``dynamic=True`` alone gives), every comparison of a size with
    a constant becomes a guard and a batch on its other side recompiles: dynamo specialises
    sizes of 0 and 1 (a one-graph batch), and inductor's CPU code generator guards float32
    sum reductions on their length against 4096 (``n² <= 4096``: batches whose largest graph
    has more or fewer than 64 nodes compiled apart). Unbacked sizes give one compilation for
    every batch. ``n`` and ``B`` keep a lower bound (2 and 1, checked at run time), so that
    checks such as ``n == 0`` in the layers still decide without a guard. In eager mode the
    marks are attributes of the tensors and cost nothing. No-op where ``torch._dynamo`` lacks
    ``mark_unbacked(..., shape_id, min)``: sizes are then backed dynamic.
    """
    dense, mask, graph, slot = batch
    torch._dynamo.mark_static(dense, 1)
    mark = unbacked_marker()
    if mark is None:
        return
    for tensor, axis, size, low in ((dense, 0, "graphs", 1), (mask, 0, "graphs", 1),
                                    (dense, 2, "nodes", _MIN_PADDED_NODES),
                                    (dense, 3, "nodes", _MIN_PADDED_NODES),
                                    (mask, 1, "nodes", _MIN_PADDED_NODES),
                                    (graph, 0, "inputs", 0), (slot, 0, "inputs", 0)):
        mark(tensor, axis, shape_id=f"geomlayers.{size}", min=low)


# -- the shared entry points ------------------------------------------------------------------
def _node_features(data) -> torch.Tensor:
    if not hasattr(data, "edge_index") or not hasattr(data, "x"):
        raise TypeError("data must be a torch_geometric Data or Batch (with x and edge_index), "
                        f"got {type(data).__name__}; for dense inputs call forward_dense")
    if data.x is not None:
        return data.x if torch.is_floating_point(data.x) else data.x.float()
    return torch.ones(data.num_nodes, 1, device=data.edge_index.device)


@torch.compiler.disable
def _densify_hook(module: DenseGraphModel, args: tuple) -> tuple | None:
    """Forward pre-hook: a PyG ``Data``/``Batch`` → its :class:`DenseGraphBatch`.

    Runs eagerly, outside ``torch.compile`` (``Module.__call__`` calls hooks before dynamo
    picks up ``forward``), so the checks and the padded size, which read the data, cost no
    graph break; a compiled model then sees only tensors with dynamic shapes.
    """
    if len(args) == 1 and not isinstance(args[0], DenseGraphBatch) \
            and hasattr(args[0], "edge_index"):
        return (module.densify(args[0]),)
    return None


class DenseGraphModel(nn.Module):
    """The entry points shared by the dense order-2 graph models (IGN, PPGN).

    A subclass sets ``in_channels``, ``edge_channels``, ``output`` and an MLP ``head`` and
    defines ``_forward_finite(dense, mask)``, the model on dense features known to be finite
    (``(B, out)`` for graph outputs, ``(B, n, out)`` for node outputs).

    ``model(data)`` converts a PyG ``Data``/``Batch`` with :meth:`densify` in a forward
    pre-hook, eagerly and outside ``torch.compile``: ``torch.compile(model, dynamic=True)``
    compiles one graph with no graph break, reused for every padded size.
    """

    output = "graph"

    def __init__(self) -> None:
        super().__init__()
        self.register_forward_pre_hook(_densify_hook)

    def densify(self, data) -> DenseGraphBatch:
        """PyG ``Data``/``Batch`` → :class:`DenseGraphBatch` in the model's dtype (checked)."""
        dtype = self.head[0].weight.dtype
        x = _node_features(data).to(dtype)
        self._check_data_channels(data, x)
        batch = getattr(data, "batch", None)
        num_graphs = getattr(data, "num_graphs", None) if batch is not None else 1
        edge_attr = getattr(data, "edge_attr", None) if self.edge_channels else None
        out = dense_graph_batch(x, data.edge_index, batch, edge_attr, num_graphs=num_graphs)
        if out.dense.shape[-1] < _MIN_PADDED_NODES:  # one-node graphs only: pad (see below)
            extra = _MIN_PADDED_NODES - out.dense.shape[-1]
            out = DenseGraphBatch(nn.functional.pad(out.dense, (0, extra, 0, extra)),
                                  nn.functional.pad(out.mask, (0, extra)), out.graph, out.slot)
        mark_compile_sizes(out)
        return out

    def forward(self, data) -> torch.Tensor:
        """PyG ``Data``/``Batch`` → one row per graph (or per node; see the class doc).

        ``data`` may also be :meth:`densify`'s output (what the pre-hook passes on).
        """
        if not isinstance(data, DenseGraphBatch):
            data = self.densify(data)
        dense, mask, graph, slot = data
        out = self._forward_finite(dense, mask)  # densify checked x and edge_attr
        return out[graph, slot] if self.output == "node" else out

    def _check_data_channels(self, data, x: torch.Tensor) -> None:
        """Refuse ``data`` whose feature widths differ from the model's, in the data's terms."""
        if x.shape[-1] != self.in_channels:
            source = "data.x" if data.x is not None else "a graph without x (one constant " \
                "feature)"
            raise ValueError(f"{source} has {x.shape[-1]} columns; the model was built with "
                             f"in_channels={self.in_channels}")
        if not self.edge_channels:
            return
        edge_attr = getattr(data, "edge_attr", None)
        if edge_attr is None:
            raise ValueError(f"data has no edge_attr; the model was built with edge_channels="
                             f"{self.edge_channels} (use edge_channels=0 to ignore edges' "
                             "features)")
        width = edge_attr.shape[1] if edge_attr.dim() == 2 else 1
        if width != self.edge_channels:
            raise ValueError(f"data.edge_attr has {width} columns; the model was built with "
                             f"edge_channels={self.edge_channels}")

    def forward_dense(self, dense: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Dense ``(B, 1 + D + F, n, n)`` and bool mask ``(B, n)`` → :meth:`forward`'s outputs.

        The inputs are :func:`to_dense_order2`'s; one row per graph (or per real node, in
        the mask's order). Entries at padded nodes are never read.
        """
        check_dense_pair(dense, mask, 1 + self.edge_channels + self.in_channels,
                         f"1 + edge_channels ({self.edge_channels}) + in_channels "
                         f"({self.in_channels}) (a graph without x gets one constant node "
                         "feature)")
        dense = torch.where(pair_mask(mask)[:, None], dense, 0.0)
        check_finite(dense=dense)
        out = self._forward_finite(dense, mask)
        return out[mask] if self.output == "node" else out
