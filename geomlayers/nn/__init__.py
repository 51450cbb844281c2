"""Equivariant ``torch.nn`` layers."""

from geomlayers.nn.equivariant import EquivariantLinear, EquivariantMLP

__all__ = ["EquivariantLinear", "EquivariantMLP"]
