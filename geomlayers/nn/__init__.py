"""Equivariant ``torch.nn`` layers, one module per family."""

from geomlayers.nn._moved import MOVED_TO_MODELS, moved_attribute
from geomlayers.nn.clifford import (
    CliffordGeometricProduct,
    CliffordLayerNorm,
    CliffordLinear,
    CliffordNormalization,
    CliffordSiLU,
)
from geomlayers.nn.equivariant import EquivariantLinear, EquivariantMLP
from geomlayers.nn.frames import (
    DegenerateFrameWarning,
    FrameAveraging,
    FrameElements,
    FrameWarning,
    PCAFrame,
    PermutationFrame,
    make_frame,
)
from geomlayers.nn.gates import GatedEquivariantMLP, NormGate
from geomlayers.nn.grassmann import (
    FRMap,
    GrassmannMLR,
    OrthMap,
    ProjMap,
    ProjPooling,
    ReOrth,
)
from geomlayers.nn.lie import (
    AffineGroupConv,
    AffineLifting,
    GroupBatchNorm,
    GroupMaxProjection,
    GroupSampler,
    GroupSpatialMaxPool,
    KernelNet,
    RBFKernel,
)
from geomlayers.nn.spd import (
    BiMap,
    CovariancePooling,
    ExpEig,
    LogEig,
    ReEig,
    SPDBatchNorm,
    SPDGyroMLR,
)

__all__ = [
    "EquivariantLinear",
    "EquivariantMLP",
    "NormGate",
    "GatedEquivariantMLP",
    "FrameAveraging",
    "PCAFrame",
    "PermutationFrame",
    "FrameElements",
    "make_frame",
    "FrameWarning",
    "DegenerateFrameWarning",
    "CliffordLinear",
    "CliffordNormalization",
    "CliffordGeometricProduct",
    "CliffordSiLU",
    "CliffordLayerNorm",
    "BiMap",
    "ReEig",
    "LogEig",
    "ExpEig",
    "SPDBatchNorm",
    "SPDGyroMLR",
    "CovariancePooling",
    "FRMap",
    "ReOrth",
    "OrthMap",
    "ProjMap",
    "ProjPooling",
    "GrassmannMLR",
    "AffineLifting",
    "AffineGroupConv",
    "GroupSampler",
    "GroupBatchNorm",
    "GroupSpatialMaxPool",
    "GroupMaxProjection",
    "RBFKernel",
    "KernelNet",
]

# Whole networks moved to geomlayers.models; these names stay importable from here for one
# release, with a DeprecationWarning. The import is lazy (only on access to a moved name), so
# importing geomlayers.nn never imports geomlayers.models.
_MOVED_TO_MODELS = MOVED_TO_MODELS  # deprecated aliases, served by __getattr__
__getattr__ = moved_attribute("geomlayers.nn", tuple(MOVED_TO_MODELS))
