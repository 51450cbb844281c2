"""escnn as an oracle for the O(n) / SO(n) basis sizes (n = 2, 3).

``dim Hom_G(V^{⊗k}, V^{⊗l})`` from escnn, with V escnn's standard representation:

* SO(2), SO(3), O(3): escnn's tensor-power representations ``std.tensor(std)…`` and their
  irrep decompositions (Schur: ``Σ_ψ m_in(ψ) m_out(ψ) dim End(ψ)``).
* O(2): escnn's ``tensor`` falls back to a numerical Clebsch–Gordan solver that hands
  ``np.matrix`` to scikit-learn >= 1.9 and raises (an escnn/sklearn incompatibility, not ours);
  so the intertwiner dimension ``∫ χ_std(g)^{k+l} dg`` is computed from escnn's own group
  elements and standard representation by exact quadrature (``χ^{r}`` on a rotation is a
  trigonometric polynomial of degree ``r``; ``N > r`` equally spaced angles integrate it
  exactly; the two components of O(2) have equal Haar mass).
"""

from collections import Counter

import numpy as np
import pytest

try:  # the `escnn` extra (escnn): without it this module is skipped
    import escnn  # noqa: F401
except ModuleNotFoundError as error:
    pytest.skip(f"needs {error.name}: pip install 'geomlayers[escnn]'", allow_module_level=True)

from escnn import group as egroup

from geomlayers.bases.api import equivariant_basis
from geomlayers.groups import OrthogonalGroup, SpecialOrthogonalGroup

SPLITS = [(k, l) for k in range(4) for l in range(4) if k + l <= 6]


def hom_dim_from_irreps(rho_in, rho_out):
    group = rho_in.group
    m_in, m_out = Counter(rho_in.irreps), Counter(rho_out.irreps)
    return sum(m_in[p] * m_out[p] * group.irrep(*p).sum_of_squares_constituents for p in m_in)


def tensor_powers(group, top):
    std = group.standard_representation()
    powers = [group.trivial_representation, std]
    while len(powers) <= top:
        powers.append(powers[-1].tensor(std))
    return powers


@pytest.mark.escnn
@pytest.mark.parametrize("name, ours", [
    ("so2", SpecialOrthogonalGroup(2)),
    ("so3", SpecialOrthogonalGroup(3)),
    ("o3", OrthogonalGroup(3)),
])
def test_dimensions_match_escnn_intertwiners(name, ours):
    group = {"so2": lambda: egroup.so2_group(8), "so3": lambda: egroup.so3_group(4),
             "o3": lambda: egroup.o3_group(4)}[name]()
    powers = tensor_powers(group, 3)
    assert [p.size for p in powers] == [ours.n**j for j in range(4)]
    for k, l in SPLITS:
        expected = hom_dim_from_irreps(powers[k], powers[l])
        assert len(equivariant_basis(ours, k, l)) == expected, (name, k, l)


def o2_intertwiner_dimension(r, group, std, angles=16):
    """∫_{O(2)} χ_std(g)^r dg by exact quadrature over escnn's O(2) elements."""
    total = 0.0
    for flip in (0, 1):
        for j in range(angles):
            g = group.element((flip, 2 * np.pi * j / angles))
            total += np.trace(std(g)) ** r
    return total / (2 * angles)


def so2_intertwiner_dimension(r, group, std, angles=16):
    values = [np.trace(std(group.element(2 * np.pi * j / angles))) ** r for j in range(angles)]
    return float(np.mean(values))


@pytest.mark.escnn
def test_o2_dimensions_match_escnn_characters():
    group = egroup.o2_group(8)
    std = group.standard_representation()
    assert std.size == 2
    for k, l in SPLITS:
        value = o2_intertwiner_dimension(k + l, group, std)
        assert abs(value - round(value)) < 1e-9
        assert len(equivariant_basis(OrthogonalGroup(2), k, l)) == round(value), (k, l)


@pytest.mark.escnn
def test_so2_character_quadrature_agrees_with_escnn_irreps():
    """The quadrature used for O(2) reproduces escnn's irrep route on SO(2)."""
    group = egroup.so2_group(8)
    std = group.standard_representation()
    powers = tensor_powers(group, 3)
    for k, l in SPLITS:
        value = so2_intertwiner_dimension(k + l, group, std)
        assert round(value) == hom_dim_from_irreps(powers[k], powers[l])
