"""Provably Powerful Graph Network (Maron et al., "Provably Powerful Graph Networks", NeurIPS 2019).

Blocks ``y = MLP3([x, (MLP1(x) @ MLP2(x)) / s(n)])`` on dense order-2 features: channel-wise
matrix products over the node axis, as expressive as 3-WL (§5). Pure PyTorch.
"""

from __future__ import annotations

import torch
from torch import nn

from geomlayers.models.graphs.base import (
    READOUTS,
    DenseGraphModel,
    check_channels,
    crop,
    dense_readout,
    forward_by_size,
    mlp,
)
from geomlayers.models.graphs.dense import pair_mask

__all__ = ["PPGN", "ppgn_paper"]

_PRODUCT_NORMS = ("n", "sqrt", "none")


class _PairMLP(nn.Module):
    """Channel MLP applied to every entry of ``(B, C, n, n)``; padded pairs are set to 0."""

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
                pairs: torch.Tensor | None) -> torch.Tensor:
        """``(B, C_in, n, n)`` → ``(B, C_out, n, n)``, zero on padded pairs.

        ``inputs`` may be a list whose channels add up to ``C_in``, read as their
        concatenation and mixed part by part (no concatenated copy). Channels stay first:
        each layer is one batched matmul on ``(B, C, n²)``. ``pairs`` ``(B, n, n)`` bool
        selects the real pairs (a select, so padding never leaks, even if not finite);
        ``None`` skips the select (padded pairs then hold the MLP of the padded inputs).
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
        h = h.reshape(batch, -1, n, n)
        return h if pairs is None else torch.where(pairs[:, None], h, 0.0)


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
        """``scale`` ``(B,)``: ``s(n)`` of each graph, or None for 1 (no division pass).

        ``x`` is zero on padded pairs. Only ``m1`` is selected: it is zero in every padded
        column ``k``, so ``Σ_k m1[i, k] m2[k, j]`` adds exact zeros for padded ``k``, and
        ``m2`` there is the MLP of a zero input (finite); the product's padded pairs are
        then zeroed by ``mlp3``'s select. Real pairs and gradients are as with both
        selects, one full-size select forward and backward less per block.
        """
        product = torch.matmul(self.mlp1(x, pairs), self.mlp2(x, None))
        if scale is not None:
            product = product / scale[:, None, None, None]
        return self.mlp3([x, product], pairs)


def _node_statistics(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(B, C, n, n)`` → ``(B, 2C, n)``: each node's diagonal entry and its row mean.

    The row mean is over the graph's real nodes; both are S_n-equivariant ``2 → 1`` maps
    (two of the five ``2 → 1`` diagrams of Maron et al. 2019, Appendix).
    """
    counts = mask.sum(1).clamp(min=1).to(h.dtype)[:, None, None]
    rows = torch.where(mask[:, None, None, :], h, 0.0).sum(-1) / counts
    return torch.cat([h.diagonal(dim1=-2, dim2=-1), rows], dim=1)


class PPGN(DenseGraphModel):
    """Provably Powerful Graph Network (Maron et al., NeurIPS 2019, §5 and §7): 3-WL power.

    Dense order-2 input (:func:`to_dense_order2`); ``num_blocks`` blocks
    ``y = MLP3([x, (MLP1(x) @ MLP2(x)) / s(n)])`` (matrix product per channel over the node
    axis, divided by ``s(n)`` of each graph's node count ``n``: ``n`` (a mean over the
    contracted node; default, scale-stable on large graphs), ``sqrt(n)`` or 1 (the paper);
    every MLP keeps padded pairs at 0; He-initialised ReLU MLPs with zero bias).

    ``output='graph'``: the readout of every block (``dense_readout``, ``'max'`` as in the
    paper's code, or ``'sum'``/``'mean'``) is concatenated and sent through an MLP →
    ``(num_graphs, out)``. ``output='node'``: every block's diagonal and row mean (two
    equivariant ``2 → 1`` maps) are concatenated per node and sent through the MLP →
    ``(num_nodes, out)`` in ``data.x``'s node order.

    Args:
        in_channels: node features ``F``.
        hidden_channels: channels of every block.
        out_channels: outputs per graph (or per node).
        num_blocks: number of blocks.
        depth: layers of MLP1 and MLP2.
        edge_channels: edge attribute channels ``D``.
        readout: ``'max'``, ``'sum'`` or ``'mean'`` (graph output).
        mlp_channels: hidden widths of the final MLP.
        dropout: dropout in the final MLP.
        product_norm: ``'n'``, ``'sqrt'`` or ``'none'``: ``s(n)`` above.
        output: ``'graph'`` or ``'node'``.

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
        output: str = "graph",
        device=None,
        dtype=None,
    ):
        super().__init__()
        check_channels(in_channels=in_channels, hidden_channels=hidden_channels,
                       out_channels=out_channels, num_blocks=num_blocks, depth=depth,
                       edge_channels=edge_channels)
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        if product_norm not in _PRODUCT_NORMS:
            raise ValueError(f"product_norm must be one of {_PRODUCT_NORMS}, got {product_norm!r}")
        if output not in ("graph", "node"):
            raise ValueError(f"output must be 'graph' or 'node', got {output!r}")
        self.in_channels, self.edge_channels, self.readout = in_channels, edge_channels, readout
        self.out_channels, self.product_norm, self.output = out_channels, product_norm, output
        factory = {"device": device, "dtype": dtype}
        widths = [1 + edge_channels + in_channels] + [hidden_channels] * num_blocks
        self.blocks = nn.ModuleList(
            _PPGNBlock(widths[i], widths[i + 1], depth, factory) for i in range(num_blocks)
        )
        self.head = mlp([2 * hidden_channels * num_blocks, *mlp_channels, out_channels],
                        dropout, factory)

    def extra_repr(self) -> str:
        """Channels, readout and output level."""
        return (f"in_channels={self.in_channels}, edge_channels={self.edge_channels}, "
                f"readout={self.readout!r}, product_norm={self.product_norm!r}, "
                f"output={self.output!r}")

    def _forward_finite(self, dense: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The model on finite dense features: ``(B, out)``, or ``(B, n', out)`` per node.

        Graph outputs run on groups of graphs of similar size, each cropped to its largest
        graph (the channel products cost ``n³`` per graph): the same numbers as the padded
        batch. Node outputs run on the batch cropped to its largest graph.
        """
        if self.output == "graph":
            return forward_by_size(self._forward_padded, dense, mask, 3)
        return self._forward_padded(*crop(dense, mask))

    def _forward_padded(self, dense: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pairs = pair_mask(mask)
        scale = mask.sum(1).clamp(min=1).to(dense.dtype)
        if self.product_norm != "n":
            scale = scale.sqrt() if self.product_norm == "sqrt" else None
        h, readouts = torch.where(pairs[:, None], dense, 0.0), []
        for block in self.blocks:
            h = block(h, pairs, scale)
            if self.output == "node":
                readouts.append(_node_statistics(h, mask))
            else:
                readouts.append(dense_readout(h, mask, self.readout))
        if self.output == "node":
            return self.head(torch.cat(readouts, dim=1).transpose(1, 2))
        return self.head(torch.cat(readouts, dim=1))


def ppgn_paper(in_channels: int, hidden_channels: int, out_channels: int, **kwargs) -> PPGN:
    """PPGN as in the authors' code (Maron et al., NeurIPS 2019, §7).

    Max readout, a linear head on every block's readout, no ``s(n)`` division.

    ``PPGN(..., num_blocks=3, depth=2, readout='max', mlp_channels=(), product_norm='none')``;
    ``kwargs`` override these.
    """
    settings = {"num_blocks": 3, "depth": 2, "readout": "max", "mlp_channels": (),
                "product_norm": "none"}
    settings.update(kwargs)
    return PPGN(in_channels, hidden_channels, out_channels, **settings)
