"""Whole networks built from the layers of :mod:`geomlayers.nn`."""

from geomlayers.models.affine import AffineInvariantCNN
from geomlayers.models.clifford import ConvexHullNet, O5RegressionNet
from geomlayers.models.fagnn import FAGNN
from geomlayers.models.graphs import PPGN, InvariantGraphNetwork, ign3, ppgn_paper
from geomlayers.models.grnet import GrNet
from geomlayers.models.spdnet import ConvSPDNet, SPDNet

__all__ = [
    "FAGNN",
    "PPGN",
    "AffineInvariantCNN",
    "ConvexHullNet",
    "InvariantGraphNetwork",
    "O5RegressionNet",
    "ign3",
    "ppgn_paper",
    "SPDNet",
    "ConvSPDNet",
    "GrNet",
]
