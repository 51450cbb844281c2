"""Equivariant ``torch.nn`` layers, one module per family."""

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
_MOVED_TO_MODELS = {
    "AffineInvariantCNN": "geomlayers.models.affine",
    "ConvexHullNet": "geomlayers.models.clifford",
    "O5RegressionNet": "geomlayers.models.clifford",
    "SPDNet": "geomlayers.models.spdnet",
    "ConvSPDNet": "geomlayers.models.spdnet",
    "GrNet": "geomlayers.models.grnet",
}


def __getattr__(name: str):
    """Deprecated aliases of the whole networks now in :mod:`geomlayers.models`."""
    if name in _MOVED_TO_MODELS:
        import importlib
        import warnings

        warnings.warn(f"geomlayers.nn.{name} moved to geomlayers.models.{name}; import it from "
                      "there (this alias goes in the next release)", DeprecationWarning,
                      stacklevel=2)
        return getattr(importlib.import_module(_MOVED_TO_MODELS[name]), name)
    raise AttributeError(f"module 'geomlayers.nn' has no attribute {name!r}")
