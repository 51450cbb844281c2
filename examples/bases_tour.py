"""Equivariant bases for every group family, each checked twice (bases tour).

Run: python examples/bases_tour.py   (a few seconds on CPU; also a smoke test in the suite)

For S_n, A_n, Aut(Γ), O(n), SO(n) and Sp(n): build the diagram / orbit basis of the linear
maps ``(R^n)^{⊗k} → (R^n)^{⊗l}`` with :func:`geomlayers.bases.equivariant_basis`, compare its
size with the dimension found numerically (null space of the Lie-algebra / generator
constraints, :func:`geomlayers.bases.numeric_basis`), and check ``f(g·x) = g·f(x)`` for random
group elements on a random combination of the basis (float64, tolerance 1e-10).
"""

import torch

from geomlayers.bases import equivariant_basis, numeric_basis
from geomlayers.groups import (
    AlternatingGroup,
    AutomorphismGroup,
    OrthogonalGroup,
    SpecialOrthogonalGroup,
    SymmetricGroup,
    SymplecticGroup,
)
from geomlayers.testing import assert_equivariant

torch.set_num_threads(1)
torch.manual_seed(0)

cycle_5 = [[0, 1, 2, 3, 4], [1, 2, 3, 4, 0]]
CASES = [  # (label, group, k, l)
    ("S_5", SymmetricGroup(5), 2, 2),  # Maron et al.'s 15 operations
    ("A_4", AlternatingGroup(4), 2, 1),  # partition diagrams + jellyfish
    ("Aut(C_5)", AutomorphismGroup(torch.tensor(cycle_5)), 1, 1),  # dihedral D_5
    ("O(3)", OrthogonalGroup(3), 2, 2),  # Brauer diagrams: id, swap, trace
    ("SO(3)", SpecialOrthogonalGroup(3), 2, 1),  # Brauer-Grood: the cross product
    ("Sp(4)", SymplecticGroup(4), 2, 2),  # Brauer diagrams with the symplectic form
]

print(f"{'group':<9} {'k->l':<5} {'basis':>5} {'numeric dim':>11} {'worst equiv. error':>19}")
for label, group, k, l in CASES:
    basis = equivariant_basis(group, k, l, use_cache=False)
    dim = len(numeric_basis(group, k, l))  # independent truth: a numerical null space
    weights = torch.randn(len(basis), dtype=torch.float64)
    errors = assert_equivariant(lambda x, b=basis, w=weights: b.apply(w, x), group,
                                in_order=k, out_order=l, tol=1e-10)
    print(f"{label:<9} {k}->{l}  {len(basis):>5} {dim:>11} {errors[0]:>19.2e}")
    assert len(basis) == dim, f"{label}: {len(basis)} diagrams but the space has dim {dim}"
print("first SO(3) 2->1 element:", equivariant_basis(SpecialOrthogonalGroup(3), 2, 1)[0])
