"""torch_geometric integration: IGN / PPGN on PyG batches, message passing, batching.

- Dense order-2 features: :func:`to_dense_order2` / :func:`from_dense_order2` (a PyG batch
  ↔ ``(B, 1 + D + F, n, n)`` and a node mask; Maron et al., ICLR 2019, §5).
- Models (from :mod:`geomlayers.models`): :class:`InvariantGraphNetwork` (IGN, Maron et al.
  2019), :class:`PPGN` (Maron et al., NeurIPS 2019); both take a PyG ``Data``/``Batch``.
- :class:`DiagramConv`: the order-1 S_n diagram layer plus neighbour aggregation, as a
  :class:`torch_geometric.nn.MessagePassing` layer, with optional edge features.
- :class:`SizeAwareBatchSampler` / :class:`DistributedSizeAwareBatchSampler`: batches of
  graphs of similar size for the dense models (bounded padding), reshuffled every epoch.
- :func:`cross_validate` / :func:`train_fold` with a :class:`TrainingRecipe`: the TU
  benchmarks' cross-validation, with folds that stop and resume exactly from a checkpoint.
- :func:`mark_batch_sizes`: marks a batch's node and edge counts for ``torch.compile``, so
  that a compiled model of sparse layers compiles once for every batch.
- :class:`AutomorphismLinear` / :class:`AutomorphismNetwork`: Aut(G)-equivariant layers for
  signals on one fixed graph (from :mod:`geomlayers.nn.equivariant.automorphism`).

Padding never breaks equivariance: every layer takes the node mask, means use each graph's
own number of real nodes, and padded entries never reach real ones, so a padded batch gives
the same numbers as each graph run alone.
"""

from geomlayers.integrations.pyg.batching import (
    DistributedSizeAwareBatchSampler,
    SizeAwareBatchSampler,
)
from geomlayers.integrations.pyg.compile import mark_batch_sizes
from geomlayers.integrations.pyg.conv import DiagramConv
from geomlayers.integrations.pyg.crossval import TrainingRecipe, cross_validate, train_fold
from geomlayers.models.graphs import (
    PPGN,
    DenseGraphBatch,
    InvariantGraphNetwork,
    dense_graph_batch,
    dense_readout,
    from_dense_order2,
    ign3,
    pair_mask,
    ppgn_paper,
    to_dense_order2,
)
from geomlayers.nn.equivariant.automorphism import AutomorphismLinear, AutomorphismNetwork

__all__ = [
    "AutomorphismLinear",
    "AutomorphismNetwork",
    "DenseGraphBatch",
    "DiagramConv",
    "DistributedSizeAwareBatchSampler",
    "InvariantGraphNetwork",
    "PPGN",
    "SizeAwareBatchSampler",
    "TrainingRecipe",
    "cross_validate",
    "dense_graph_batch",
    "dense_readout",
    "from_dense_order2",
    "ign3",
    "mark_batch_sizes",
    "pair_mask",
    "ppgn_paper",
    "to_dense_order2",
    "train_fold",
]
