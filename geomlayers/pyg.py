"""``geomlayers.pyg``: short name for :mod:`geomlayers.integrations.pyg` (torch_geometric)."""

from geomlayers.integrations.pyg import *  # noqa: F403
from geomlayers.integrations.pyg import __all__  # noqa: F401
