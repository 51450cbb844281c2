"""Diagram-basis equivariant layers: :class:`EquivariantLinear` and stacks of it.

``linear`` holds the layer (``docs/layers.md``), ``stack`` the multi-layer helpers,
``state`` the basis fingerprint stored with a layer's weights.
"""

from geomlayers.nn.equivariant.linear import EquivariantLinear
from geomlayers.nn.equivariant.stack import EquivariantMLP, equivariant_stack
from geomlayers.nn.equivariant.state import basis_fingerprint

__all__ = ["EquivariantLinear", "EquivariantMLP", "basis_fingerprint", "equivariant_stack"]
