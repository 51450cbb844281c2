"""Clifford (geometric) algebras ``Cl(p, q, r)`` and their group actions."""

from geomlayers.clifford.algebra import CliffordAlgebra, blade_sign, quaternion_type_dims

__all__ = ["CliffordAlgebra", "blade_sign", "quaternion_type_dims"]
