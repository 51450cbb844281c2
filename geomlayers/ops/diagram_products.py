"""Apply single basis elements to tensors without forming their ``n^l x n^k`` matrices.

A partition diagram ``D_π`` factors as (input permutation) ∘ (Kronecker product of all-equal
blocks) ∘ (output permutation) (Godfrey et al., arXiv 2303.06208; Pearce-Crump, arXiv
2304.14165); :func:`apply_partition_diagram` runs it through the same reduce / embed
primitives as the layers (:mod:`geomlayers.ops.layer`). Elements without that structure
(jellyfish, orbit elements, graph-orbit indicators) go through a sparse matrix built from
their non-zero entries (:func:`apply_sparse`).
"""

from __future__ import annotations

import torch

from geomlayers.diagrams.diagram import PartitionDiagram
from geomlayers.ops.layer import apply_diagrams

__all__ = ["apply_partition_diagram", "apply_sparse"]


def apply_partition_diagram(
    diagram: PartitionDiagram, x: torch.Tensor, n: int, backend: str = "torch"
) -> torch.Tensor:
    """``D_π x`` for ``x`` of shape ``(*batch, n, …, n)`` (``k`` axes) → ``(*batch, n^(l))``.

    Differentiable; never forms the ``n^l x n^k`` matrix.

    >>> from geomlayers.diagrams import PartitionDiagram
    >>> transpose = PartitionDiagram(2, 2, ((0, 3), (1, 2)))
    >>> x = torch.arange(4.0).reshape(2, 2)
    >>> apply_partition_diagram(transpose, x, 2)
    tensor([[0., 2.],
            [1., 3.]])

    """
    return apply_diagrams((diagram,), x.new_ones(1), x, n, backend)


def apply_sparse(
    matrix: torch.Tensor, x: torch.Tensor, k: int, l: int, n: int  # noqa: E741
) -> torch.Tensor:
    """Apply a sparse ``(n^l, n^k)`` matrix to ``x`` ``(*batch, n^(k))`` → ``(*batch, n^(l))``."""
    batch = x.shape[: x.dim() - k]
    flat = x.reshape(-1, n**k).T  # (n^k, B)
    out = torch.sparse.mm(matrix.to(dtype=x.dtype, device=x.device), flat)
    return out.T.reshape(*batch, *([n] * l))
