"""``geomlayers.pyg``: short name for :mod:`geomlayers.integrations.pyg` (torch_geometric)."""

from geomlayers.integrations.pyg import (  # noqa: F401
    PPGN,
    AutomorphismLinear,
    AutomorphismNetwork,
    DiagramConv,
    InvariantGraphNetwork,
    __all__,
    dense_readout,
    from_dense_order2,
    pair_mask,
    to_dense_order2,
)
