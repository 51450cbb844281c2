"""Apply diagram-basis elements to tensors without forming their ``n^l x n^k`` matrices.

A partition diagram ``D_π`` factors as (input permutation) ∘ (Kronecker product of all-equal
blocks) ∘ (output permutation) (Godfrey et al., arXiv 2303.06208; Pearce-Crump, arXiv
2304.14165). Applying it takes two steps:

1. *reduce*: one ``einsum`` with repeated letters on the input: a letter per block, bottom-only
   blocks summed, propagating blocks kept (reads ``n^{p+b}`` entries);
2. *embed*: ``index_add`` of the reduced tensor, broadcast over top-only blocks, into the
   generalised diagonal of the zero output (writes ``n^{p+t}`` entries).

Elements without that structure (jellyfish, orbit elements, graph-orbit indicators) go through
a sparse matrix built from their non-zero entries.
"""

from __future__ import annotations

import functools

import torch

from geomlayers.diagrams.diagram import PartitionDiagram

__all__ = ["DiagramPlan", "apply_partition_diagram", "apply_sparse", "diagram_plan"]


class DiagramPlan:
    """Precomputed index plan of one partition diagram at dimension ``n``.

    Attributes:
        input_subscripts: einsum sublist of the ``k`` input axes (one id per block).
        reduced_subscripts: ids of the propagating blocks, in output order.
        expand_shape: shape of the reduced tensor broadcast to every output block
            (``n`` for propagating blocks, ``1`` for top-only ones).
        flat_index: ``(n^{p+t},)`` int64 flat output positions of the generalised diagonal.
        summed_blocks: number ``b`` of bottom-only blocks (for ``n^{-b}`` normalisation).

    """

    def __init__(self, diagram: PartitionDiagram, n: int):
        k, l = diagram.k, diagram.l
        owner = diagram.block_of_vertex()
        kinds = diagram.block_kinds()
        out_blocks = [b for b, kind in enumerate(kinds) if kind != "bottom"]
        self.input_subscripts = [owner[l + j] for j in range(k)]
        self.reduced_subscripts = [b for b in out_blocks if kinds[b] == "propagating"]
        self.expand_shape = [n if kinds[b] == "propagating" else 1 for b in out_blocks]
        self.summed_blocks = sum(kind == "bottom" for kind in kinds)
        strides = [n ** (l - 1 - v) for v in range(l)]
        block_strides = [sum(strides[v] for v in range(l) if owner[v] == b) for b in out_blocks]
        flat = torch.zeros((), dtype=torch.int64)
        for axis, stride in enumerate(block_strides):
            shape = [1] * len(block_strides)
            shape[axis] = n
            flat = flat + torch.arange(n).reshape(shape) * stride
        self.flat_index = flat.reshape(-1)
        self.out_shape = [n] * len(out_blocks)
        self.n, self.k, self.l = n, k, l


@functools.lru_cache(maxsize=4096)
def diagram_plan(diagram: PartitionDiagram, n: int) -> DiagramPlan:
    """Cached :class:`DiagramPlan` of ``diagram`` at dimension ``n``."""
    return DiagramPlan(diagram, n)


def apply_partition_diagram(diagram: PartitionDiagram, x: torch.Tensor, n: int) -> torch.Tensor:
    """``D_π x`` for ``x`` of shape ``(*batch, n, …, n)`` (``k`` axes) → ``(*batch, n^(l))``.

    Differentiable (einsum and index_add); never forms the ``n^l x n^k`` matrix.
    """
    k, l = diagram.k, diagram.l
    plan = diagram_plan(diagram, n)
    batch = x.shape[: x.dim() - k]
    reduced = torch.einsum(x, [..., *plan.input_subscripts], [..., *plan.reduced_subscripts])
    spread = reduced.reshape(*batch, *plan.expand_shape).expand(*batch, *plan.out_shape)
    out = x.new_zeros(*batch, n**l)
    out = out.index_add(-1, plan.flat_index.to(x.device), spread.reshape(*batch, -1))
    return out.reshape(*batch, *([n] * l))


def apply_sparse(
    matrix: torch.Tensor, x: torch.Tensor, k: int, l: int, n: int  # noqa: E741
) -> torch.Tensor:
    """Apply a sparse ``(n^l, n^k)`` matrix to ``x`` ``(*batch, n^(k))`` → ``(*batch, n^(l))``."""
    batch = x.shape[: x.dim() - k]
    flat = x.reshape(-1, n**k).T  # (n^k, B)
    out = torch.sparse.mm(matrix.to(dtype=x.dtype, device=x.device), flat)
    return out.T.reshape(*batch, *([n] * l))
