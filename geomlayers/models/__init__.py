"""Whole networks built from :mod:`geomlayers.nn` layers."""

from geomlayers.models.fagnn import FAGNN  # noqa: F401
from geomlayers.models.graphs import PPGN, InvariantGraphNetwork, ign3, ppgn_paper  # noqa: F401
