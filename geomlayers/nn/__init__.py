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
from geomlayers.nn.gates import GatedEquivariantMLP, NormGate
from geomlayers.nn.grassmann import (
    FRMap,
    GrassmannMLR,
    GrNet,
    OrthMap,
    ProjMap,
    ProjPooling,
    ReOrth,
)
from geomlayers.nn.lie import (
    AffineGroupConv,
    AffineInvariantCNN,
    AffineLifting,
    GroupBatchNorm,
    GroupMaxProjection,
    GroupSampler,
    GroupSpatialMaxPool,
    KernelNet,
    RBFKernel,
)
from geomlayers.nn.spd import BiMap, ExpEig, LogEig, ReEig, SPDBatchNorm, SPDGyroMLR, SPDNet

__all__ = [
    "EquivariantLinear",
    "EquivariantMLP",
    "NormGate",
    "GatedEquivariantMLP",
    "CliffordLinear",
    "CliffordNormalization",
    "CliffordGeometricProduct",
    "CliffordSiLU",
    "CliffordLayerNorm",
    "O5RegressionNet",
    "ConvexHullNet",
    "BiMap",
    "ReEig",
    "LogEig",
    "ExpEig",
    "SPDBatchNorm",
    "SPDGyroMLR",
    "SPDNet",
    "FRMap",
    "ReOrth",
    "OrthMap",
    "ProjMap",
    "ProjPooling",
    "GrassmannMLR",
    "GrNet",
    "AffineLifting",
    "AffineGroupConv",
    "AffineInvariantCNN",
    "GroupSampler",
    "GroupBatchNorm",
    "GroupSpatialMaxPool",
    "GroupMaxProjection",
    "RBFKernel",
    "KernelNet",
]
