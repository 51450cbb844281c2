"""Clifford (geometric) algebras ``Cl(p, q, r)``, their group actions and synthetic tasks."""

from geomlayers.clifford.action import OutermorphismGroup, twisted_conjugation, versor
from geomlayers.clifford.algebra import CliffordAlgebra, blade_sign, quaternion_type_dims

__all__ = [
    "CliffordAlgebra",
    "blade_sign",
    "quaternion_type_dims",
    "OutermorphismGroup",
    "twisted_conjugation",
    "versor",
]
