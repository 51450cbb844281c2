"""Invariant Graph Network (Maron et al., "Invariant and Equivariant Graph Networks", ICLR 2019).

Masked S_n-equivariant ``2 → 2`` diagram layers
(:class:`~geomlayers.nn.equivariant.EquivariantLinear`) with ReLU, an invariant ``2 → 0``
readout and an MLP; graph- or node-level outputs. Pure PyTorch: takes a PyG ``Data``/``Batch``
(read by attribute) or dense order-2 features.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from geomlayers.models.graphs.base import (
    READOUTS,
    DenseGraphModel,
    check_channels,
    crop,
    dense_readout,
    forward_by_size,
    layer_widths,
    mlp,
)
from geomlayers.nn.equivariant import EquivariantLinear

__all__ = ["InvariantGraphNetwork", "ign3"]


class InvariantGraphNetwork(DenseGraphModel):
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

    Under ``torch.compile(model, dynamic=True)`` a batch runs padded to its largest graph in
    one graph (no size groups); eager calls split batches of mixed sizes into groups.

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
        check_channels(in_channels=in_channels, out_channels=out_channels,
                       num_layers=num_layers, edge_channels=edge_channels)
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        if output not in ("graph", "node"):
            raise ValueError(f"output must be 'graph' or 'node', got {output!r}")
        self.orders = self._check_orders(orders, num_layers, readout, output)
        hidden = layer_widths(hidden_channels, len(self.orders))
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.out_channels, self.edge_channels = out_channels, edge_channels
        self.readout, self.output = readout, output
        factory = {"device": device, "dtype": dtype}
        orders = (2, *self.orders)
        widths = [1 + edge_channels + in_channels, *hidden]
        hidden_channels = hidden[-1]  # the width the pooling and the head read
        # every (k, l) partition diagram: the layers run on graphs of any n
        self.layers = nn.ModuleList(
            EquivariantLinear.symmetric(orders[i], orders[i + 1], widths[i], widths[i + 1],
                                        bias=bias, **factory)
            for i in range(len(self.orders))
        )
        last = self.orders[-1]
        if output == "node":
            self.pool = EquivariantLinear.symmetric(last, 1, hidden_channels, hidden_channels,
                                                    bias=bias, **factory)
            head_in = hidden_channels
        elif readout == "mean":
            self.pool = EquivariantLinear.symmetric(last, 0, hidden_channels,
                                                    2 * hidden_channels, bias=bias, **factory)
            head_in = 2 * hidden_channels
        else:
            self.pool = None
            head_in = 2 * hidden_channels
        self.head = mlp([head_in, *mlp_channels, out_channels], dropout, factory)

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
        """The model on finite dense features: ``(B, out)``, or ``(B, n', out)`` per node.

        Graph outputs run on groups of graphs of similar size (each cropped to its largest
        graph), node outputs on the batch cropped to its largest graph (``n' <= n``, real
        nodes keep their slots): the same numbers as the padded batch at a fraction of the
        cost on batches of mixed sizes.
        """
        if self.output == "graph":
            return forward_by_size(self._forward_padded, dense, mask, max(self.orders))
        return self._forward_padded(*crop(dense, mask))

    def _forward_padded(self, dense: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = dense
        for layer in self.layers:
            # padded entries are left unspecified: every reader of ``h`` (the next layer's
            # input select, the pool layer, ``dense_readout``) ignores them, so zeroing them
            # here would be a second full-size select forward and backward
            h = torch.relu(layer(h, mask=mask, zero_padding=False))
        if self.output == "node":
            nodes = torch.relu(self.pool(h, mask=mask))  # (B, C, n)
            return self.head(nodes.transpose(1, 2))
        if self.pool is not None:
            return self.head(torch.relu(self.pool(h, mask=mask)))
        return self.head(dense_readout(h, mask, self.readout))


def ign3(in_channels: int, hidden_channels: int, out_channels: int, **kwargs
         ) -> InvariantGraphNetwork:
    """IGN with order-3 hidden tensors: ``2 → 3 → 3 → 2`` layers (52 + 203 + 52 diagrams).

    ``InvariantGraphNetwork(..., orders=(3, 3, 2), readout='sum')``: the order-3 network of
    the expressivity benchmarks (``docs/pyg.md``), as expressive as 3-WL on the graph8c pairs.
    ``kwargs`` go to :class:`InvariantGraphNetwork`.
    """
    kwargs.setdefault("readout", "sum")
    kwargs.setdefault("mlp_channels", (2 * hidden_channels,))
    return InvariantGraphNetwork(in_channels, hidden_channels, out_channels, orders=(3, 3, 2),
                                 **kwargs)
