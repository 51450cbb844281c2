"""PyG batches under ``torch.compile``: mark their sizes so that one compilation serves all.

:class:`~geomlayers.pyg.InvariantGraphNetwork` and :class:`~geomlayers.pyg.PPGN` mark the
dense tensors they build themselves
(:func:`geomlayers.models.graphs.base.mark_compile_sizes`); a model of sparse layers such as
:class:`~geomlayers.pyg.DiagramConv` compiles on the batch's own tensors, which only the
caller can mark: :func:`mark_batch_sizes` does it for a PyG ``Data``/``Batch``.
"""

from __future__ import annotations

from geomlayers.models.graphs.base import unbacked_marker

__all__ = ["mark_batch_sizes"]


def mark_batch_sizes(data):
    """Mark the node and edge counts of a PyG ``Data``/``Batch`` as unbacked sizes; returns it.

    Call it on every batch before a compiled model of sparse layers
    (``torch.compile(model, dynamic=True)``): the node count ``N`` (``x``, ``batch``, ``pos``
    rows) and the edge count ``E`` (``edge_index`` columns, ``edge_attr`` and
    ``edge_weight`` rows) become sizes dynamo installs no guard on, so neither a one-graph
    batch nor a first batch with ``E == N`` (which dynamo's duck sizing would turn into a
    guard) compiles again. A batch without edges still compiles once more (an empty
    ``edge_index`` has other strides). In eager mode the marks cost nothing. No-op where
    ``torch._dynamo`` lacks ``mark_unbacked(..., shape_id, min)``.

    >>> import torch
    >>> from torch_geometric.data import Data
    >>> g = mark_batch_sizes(Data(x=torch.ones(3, 2), edge_index=torch.tensor([[0], [1]])))
    >>> g.num_nodes
    3
    """
    mark = unbacked_marker()
    if mark is None:
        return data
    for key, axis, size in (("x", 0, "nodes"), ("batch", 0, "nodes"), ("pos", 0, "nodes"),
                            ("edge_index", 1, "edges"), ("edge_attr", 0, "edges"),
                            ("edge_weight", 0, "edges")):
        tensor = getattr(data, key, None)
        if tensor is not None and hasattr(tensor, "layout") and tensor.dim() > axis:
            mark(tensor, axis, shape_id=f"geomlayers.pyg.{size}", min=0)
    return data
