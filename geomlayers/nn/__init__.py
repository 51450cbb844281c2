"""Equivariant ``torch.nn`` layers."""

from geomlayers.nn.equivariant import EquivariantLinear

__all__ = ["EquivariantLinear"]
