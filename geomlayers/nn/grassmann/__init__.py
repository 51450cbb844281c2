"""Grassmann network layers (GrNet's FRMap, ReOrth, ProjMap, ProjPooling, OrthMap; gyro MLR).

Whole networks (:class:`~geomlayers.models.GrNet`) live in :mod:`geomlayers.models`.
See ``docs/grassmann.md``.
"""

from geomlayers.nn.grassmann.layers import (
    FRMap,
    GrassmannMLR,
    OrthMap,
    ProjMap,
    ProjPooling,
    ReOrth,
    orthmap,
    reorth,
)

__all__ = ["FRMap", "GrassmannMLR", "OrthMap", "ProjMap", "ProjPooling", "ReOrth", "orthmap",
           "reorth"]


def __getattr__(name: str):
    """Deprecated aliases of the whole networks now in :mod:`geomlayers.models`."""
    from geomlayers import nn as _nn

    if name in _nn._MOVED_TO_MODELS:
        return _nn.__getattr__(name)
    raise AttributeError(f"module 'geomlayers.nn.grassmann' has no attribute {name!r}")
