"""Grassmann network layers (GrNet's FRMap, ReOrth, ProjMap, ProjPooling, OrthMap; gyro MLR).

Whole networks (:class:`~geomlayers.models.GrNet`) live in :mod:`geomlayers.models`.
See ``docs/grassmann.md``.
"""

from geomlayers.nn._moved import moved_attribute
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


__getattr__ = moved_attribute("geomlayers.nn.grassmann", ('GrNet',))
