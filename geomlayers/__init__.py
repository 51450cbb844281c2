"""geomlayers: equivariant layers and networks on matrix manifolds."""

from geomlayers.bases import Basis, equivariant_basis, numeric_basis
from geomlayers.groups import (
    AlternatingGroup,
    AutomorphismGroup,
    Group,
    OrthogonalGroup,
    PermutationGroup,
    SpecialOrthogonalGroup,
    SymmetricGroup,
)

__version__ = "0.1.0"

__all__ = [
    "AlternatingGroup",
    "AutomorphismGroup",
    "Basis",
    "Group",
    "OrthogonalGroup",
    "PermutationGroup",
    "SpecialOrthogonalGroup",
    "SymmetricGroup",
    "equivariant_basis",
    "numeric_basis",
]
