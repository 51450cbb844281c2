"""Bases of equivariant linear maps between tensor powers of the defining representation."""

from geomlayers.bases.api import DEFAULT_MAX_ELEMENTS, basis_size, equivariant_basis
from geomlayers.bases.basis import Basis
from geomlayers.bases.numeric import numeric_basis
from geomlayers.bases.permutation import TupleOrbit

__all__ = [
    "Basis",
    "DEFAULT_MAX_ELEMENTS",
    "TupleOrbit",
    "basis_size",
    "equivariant_basis",
    "numeric_basis",
]
