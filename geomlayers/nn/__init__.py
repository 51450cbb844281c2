"""Equivariant ``torch.nn`` layers, one module per family."""

from geomlayers.nn.clifford import (
    CliffordGeometricProduct,
    CliffordLayerNorm,
    CliffordLinear,
    CliffordNormalization,
    CliffordSiLU,
    ConvexHullNet,
    O5RegressionNet,
)
from geomlayers.nn.equivariant import EquivariantLinear, EquivariantMLP

__all__ = [
    "EquivariantLinear",
    "EquivariantMLP",
    "CliffordLinear",
    "CliffordNormalization",
    "CliffordGeometricProduct",
    "CliffordSiLU",
    "CliffordLayerNorm",
    "O5RegressionNet",
    "ConvexHullNet",
]
