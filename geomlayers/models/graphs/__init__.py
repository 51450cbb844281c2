"""Dense order-2 graph networks: IGN and PPGN (Maron et al. 2019), and their dense features.

Pure PyTorch; :mod:`geomlayers.pyg` (torch_geometric) re-exports everything here.
"""

from geomlayers.models.graphs.base import dense_readout
from geomlayers.models.graphs.dense import (
    DenseGraphBatch,
    dense_graph_batch,
    from_dense_order2,
    pair_mask,
    to_dense_order2,
)
from geomlayers.models.graphs.ign import InvariantGraphNetwork, ign3
from geomlayers.models.graphs.ppgn import PPGN, ppgn_paper

__all__ = [
    "PPGN",
    "DenseGraphBatch",
    "InvariantGraphNetwork",
    "dense_graph_batch",
    "dense_readout",
    "from_dense_order2",
    "ign3",
    "pair_mask",
    "ppgn_paper",
    "to_dense_order2",
]
