"""Bases for each permutation-group family, checked and applied (the README quick start).

Run: python examples/quickstart.py   (a few seconds on CPU; also a smoke test in the suite)
"""

import torch

from geomlayers.bases import equivariant_basis, numeric_basis
from geomlayers.groups import (
    AlternatingGroup,
    AutomorphismGroup,
    SpecialOrthogonalGroup,
    SymmetricGroup,
)
from geomlayers.testing import assert_equivariant

basis = equivariant_basis(SymmetricGroup(5), 2, 2)  # Maron et al.'s 15 operations
print(basis.describe())
w = torch.randn(len(basis), dtype=torch.float64)
y = basis.apply(w, torch.randn(8, 5, 5, dtype=torch.float64))  # factored product
errors = assert_equivariant(lambda x: basis.apply(w, x), SymmetricGroup(5), in_order=2, out_order=2)
print("worst equivariance error:", errors[0])

print("S_2, 2->2:", len(equivariant_basis(SymmetricGroup(2), 2, 2)))  # 8, not Bell(4) = 15
print("A_3, 1->1:", len(equivariant_basis(AlternatingGroup(3), 1, 1)))  # 3 circulants
edge_index = torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 0]])  # the 5-cycle
print("Aut(C5), 1->1:", len(equivariant_basis(AutomorphismGroup(edge_index), 1, 1)))  # 3
print("SO(3), 2->1:", len(numeric_basis(SpecialOrthogonalGroup(3), 2, 1)))  # 1: cross product
