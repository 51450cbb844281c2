"""Whole networks built from the layers of :mod:`geomlayers.nn`."""

from geomlayers.models.affine import AffineInvariantCNN
from geomlayers.models.clifford import ConvexHullNet, O5RegressionNet

__all__ = [
    "AffineInvariantCNN",
    "ConvexHullNet",
    "O5RegressionNet",
]
