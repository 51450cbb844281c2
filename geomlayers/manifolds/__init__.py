"""Matrix manifolds as geoopt ``Manifold`` subclasses (SPD metrics; Grassmann/Stiefel)."""

from geomlayers.manifolds.grassmann import Grassmann
from geomlayers.manifolds.spd import (
    SPDAffineInvariant,
    SPDBuresWasserstein,
    SPDGeneralizedBuresWasserstein,
    SPDLogEuclidean,
    SPDManifold,
    spd_manifold,
)

__all__ = [
    "SPDManifold",
    "SPDAffineInvariant",
    "SPDLogEuclidean",
    "SPDBuresWasserstein",
    "SPDGeneralizedBuresWasserstein",
    "spd_manifold",
    "Grassmann",
]
