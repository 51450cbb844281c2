"""Batch layouts of frame inputs: dense ``(B, N, ...)`` with a mask, or flat PyG batches."""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["BatchLayout", "batch_layout"]


@dataclass(frozen=True)
class BatchLayout:
    """Where the nodes are: dense ``(B, N, ...)`` with ``mask`` or flat with ``batch``."""

    dense: bool
    num_graphs: int
    mask: torch.Tensor | None = None  # (B, N) bool, dense only
    batch: torch.Tensor | None = None  # (total,) long, flat only
    num_nodes: int = 0  # N (dense) or total (flat)


def batch_layout(x: torch.Tensor, mask, batch, num_graphs, base_dims: int) -> BatchLayout:
    """The layout of a node-level input ``x``, checked.

    Dense ``(B, N, *rest)`` with an optional ``(B, N)`` bool ``mask``, or flat PyG
    ``(total, *rest)`` with a long ``batch`` vector (``num_graphs`` read from it when
    ``None``). ``base_dims`` is ``len(rest)`` (1 for points ``(..., N, d)``).
    """
    if mask is not None and batch is not None:
        raise ValueError("give either mask (padded dense batches) or batch (PyG), not both")
    if batch is not None:
        if x.dim() != 1 + base_dims:
            raise ValueError(f"with a batch vector, the input must be flat (total_nodes, ...) "
                             f"with {1 + base_dims} axes, got shape {tuple(x.shape)}")
        if batch.dtype != torch.long or batch.shape != x.shape[:1]:
            raise ValueError(f"batch must be a long tensor of shape ({x.shape[0]},), got "
                             f"{batch.dtype} {tuple(batch.shape)}")
        count = int(batch.max()) + 1 if num_graphs is None and batch.numel() else num_graphs
        return BatchLayout(False, int(count or 0), batch=batch, num_nodes=x.shape[0])
    if x.dim() != 2 + base_dims:
        raise ValueError(f"dense input must have shape (batch, N, ...) with {2 + base_dims} "
                         f"axes, got {tuple(x.shape)}; for one cloud add a batch axis")
    if mask is not None:
        if mask.shape != x.shape[:2]:
            raise ValueError(f"mask must have shape {tuple(x.shape[:2])} (batch, N), got "
                             f"{tuple(mask.shape)}")
        mask = mask.to(device=x.device, dtype=torch.bool)
        # a host sync: skipped under torch.compile, where the PCA frame op checks it instead
        if not torch.compiler.is_compiling() and not bool(mask.any(1).all()):
            raise ValueError("mask must keep at least one node in every batch entry")
    return BatchLayout(True, x.shape[0], mask=mask, num_nodes=x.shape[1])


def _segment_sum(values: torch.Tensor, layout: BatchLayout) -> torch.Tensor:
    """Per-graph sums: dense ``(B, N, *s)`` or flat ``(total, *s)`` -> ``(B, *s)``."""
    if layout.dense:
        if layout.mask is not None:  # select, not multiply: NaN or inf in padding stays out
            keep = layout.mask.reshape(*layout.mask.shape, *[1] * (values.dim() - 2))
            values = torch.where(keep, values, values.new_zeros(()))
        return values.sum(1)
    out = values.new_zeros(layout.num_graphs, *values.shape[1:])
    return out.index_add_(0, layout.batch, values)


def _per_node(stat: torch.Tensor, layout: BatchLayout) -> torch.Tensor:
    """Broadcast a per-graph ``(B, K, *s)`` statistic to nodes.

    Dense: ``(B, K, 1, *s)``; flat: ``(K, total, *s)``.
    """
    if layout.dense:
        return stat.unsqueeze(2)
    return stat[layout.batch].transpose(0, 1)


def _fold_nodes(x: torch.Tensor, k: int, layout: BatchLayout) -> torch.Tensor:
    """Copies of a node-level input: dense ``(B*K, N, ...)``, flat ``(K*total, ...)``."""
    if layout.dense:
        return x.repeat_interleave(k, dim=0)
    return x.repeat(k, *[1] * (x.dim() - 1))


# the names used before the layout became public (kept for existing imports)
_Layout = BatchLayout
_layout = batch_layout
