"""Small-n O(n), SO(n), Sp(n) bases without a large elimination; exact dimensions (issue 36)."""

import pytest

from geomlayers.bases import equivariant_basis, numeric_basis
from geomlayers.bases.brauer import select_basis, select_independent, spanning_elements
from geomlayers.bases.dimension import equivariant_dimension
from geomlayers.bases.standard import is_standard
from geomlayers.groups import (
    AlternatingGroup,
    AutomorphismGroup,
    OrthogonalGroup,
    SpecialOrthogonalGroup,
    SymmetricGroup,
)
from geomlayers.groups.symplectic import SymplecticGroup
from tests.helpers import dims_table

pytestmark = pytest.mark.usefixtures("one_thread")

FAMILIES = {
    "S_n": SymmetricGroup,
    "A_n": AlternatingGroup,
    "O(n)": OrthogonalGroup,
    "SO(n)": SpecialOrthogonalGroup,
    "Sp(n)": SymplecticGroup,
}


def test_dimension_matches_the_exact_table():
    table = dims_table()
    for family, cls in FAMILIES.items():
        for n, row in table[family].items():
            got = [equivariant_dimension(cls(int(n)), r - r // 2, r // 2) for r in range(9)]
            assert got == row, (family, n)


@pytest.mark.parametrize("group, r", [
    (OrthogonalGroup(2), 6), (OrthogonalGroup(3), 4), (SpecialOrthogonalGroup(2), 5),
    (SpecialOrthogonalGroup(3), 5), (SymplecticGroup(2), 6), (SymplecticGroup(4), 4),
    (OrthogonalGroup(4), 4), (SpecialOrthogonalGroup(4), 4),
])
def test_dimension_matches_the_numeric_null_space(group, r):
    k = r // 2
    assert equivariant_dimension(group, k, r - k) == len(numeric_basis(group, k, r - k))


def test_dimension_of_permutation_groups_by_burnside():
    cycle = AutomorphismGroup([(i, (i + 1) % 5) for i in range(5)], 5)
    assert [equivariant_dimension(cycle, r, 0) for r in (2, 3)] == [3, 13]


def test_sequences_at_k_plus_l_12():
    # SO(3) and O(3): Riordan numbers; Sp(4): 3-noncrossing matchings (OEIS A005700)
    assert equivariant_dimension(SpecialOrthogonalGroup(3), 6, 6) == 4213
    assert equivariant_dimension(OrthogonalGroup(3), 6, 6) == 4213
    assert equivariant_dimension(SymplecticGroup(4), 6, 6) == 4719


CASES = [(G(n), r) for r in (4, 6, 8) for G, ns in (
    (OrthogonalGroup, (1, 2, 3)), (SymplecticGroup, (2, 4, 6)), (SpecialOrthogonalGroup, (2, 3, 4)),
) for n in ns] + [(SpecialOrthogonalGroup(3), 7), (SpecialOrthogonalGroup(2), 6)]


@pytest.mark.parametrize("group, r", CASES, ids=lambda c: str(c))
def test_rule_equals_the_greedy_elimination(group, r):
    k = r // 2
    elements = spanning_elements(group, k, r - k)
    dim = equivariant_dimension(group, k, r - k)
    chosen = select_basis(group, k, r - k, elements)
    assert len(chosen) == dim
    assert chosen == select_independent(elements, group.n, r)  # no rank hint: plain greedy


@pytest.mark.parametrize("group", [OrthogonalGroup(2), SymplecticGroup(2), SymplecticGroup(4),
                                   OrthogonalGroup(3)], ids=str)
def test_rule_equals_the_greedy_elimination_at_10(group):
    elements = spanning_elements(group, 5, 5)
    dim = equivariant_dimension(group, 5, 5)
    assert select_basis(group, 5, 5, elements) == select_independent(elements, group.n, 10,
                                                                      rank=dim)


def test_rule_examples():
    assert is_standard(((0, 1), (2, 3)), 4, "O", 1)
    assert not is_standard(((0, 3), (1, 2)), 4, "O", 1)
    assert is_standard(((0, 2), (1, 3)), 4, "Sp", 2)  # crossing arcs are fine in Sp(2)
    assert not is_standard(((0, 3), (1, 2)), 4, "Sp", 2)


@pytest.mark.parametrize("group, k, l, size", [
    (SpecialOrthogonalGroup(3), 6, 6, 4213),
    (OrthogonalGroup(3), 6, 6, 4213),
    (SymplecticGroup(4), 6, 6, 4719),
    (OrthogonalGroup(3), 3, 9, 4213),
], ids=str)
def test_small_n_bases_at_k_plus_l_12(group, k, l, size):  # noqa: E741
    basis = equivariant_basis(group, k, l, use_cache=False, progress=False)
    assert len(basis) == size and basis.is_basis
    assert len(set(basis)) == size
    position = {e: i for i, e in enumerate(spanning_elements(group, k, l))}
    positions = [position[e] for e in basis]
    assert positions == sorted(positions)


@pytest.mark.slow
@pytest.mark.parametrize("group", [OrthogonalGroup(2), SymplecticGroup(2)], ids=str)
def test_rule_equals_the_greedy_elimination_at_12(group):
    elements = spanning_elements(group, 6, 6)
    dim = equivariant_dimension(group, 6, 6)
    assert select_basis(group, 6, 6, elements) == select_independent(elements, group.n, 12,
                                                                      rank=dim)


def test_a_long_elimination_is_announced_with_its_cost(monkeypatch, capsys):
    from geomlayers.bases import brauer, elimination

    monkeypatch.setattr(elimination, "WARN_ELIMINATION_OPS", 10)
    monkeypatch.setattr(elimination, "PROGRESS_OPS", 10)
    # the Levi-Civita rule switched off: that half goes through the elimination
    monkeypatch.setattr(brauer, "is_standard_levi_civita", lambda *args: False)
    group = SpecialOrthogonalGroup(2)
    with pytest.warns(UserWarning, match=r"multiply-adds.*about .* s on one core.*spanning=True"):
        basis = equivariant_basis(group, 3, 3, use_cache=False, progress=True)
    assert len(basis) == equivariant_dimension(group, 3, 3)
    assert "rank selection" in capsys.readouterr().err  # the progress bar


def test_so3_at_12_needs_no_elimination(monkeypatch):
    from geomlayers.bases import elimination

    monkeypatch.setattr(elimination, "MAX_ELIMINATION_OPS", 0)  # any elimination would raise
    assert len(equivariant_basis(SpecialOrthogonalGroup(3), 6, 6, use_cache=False)) == 4213


def _real_evaluations(elements, group, r: int, extra: int = 50):
    """Column-normalised evaluations of the elements at Gaussian points ``(N, len)``."""
    import numpy as np

    from geomlayers.groups.symplectic import symplectic_form

    rng = np.random.default_rng(0)
    points = rng.standard_normal((len(elements) + extra, r, group.n)) / np.sqrt(group.n)
    dot = np.einsum("pua,pwa->puw", points, points)
    twisted = dot
    if isinstance(group, SymplecticGroup):
        form = symplectic_form(group.n, group.form).numpy()
        twisted = np.einsum("pua,ab,pwb->puw", points, form, points)
    out = np.ones((points.shape[0], len(elements)))
    for i, element in enumerate(elements):
        kinds = (element.pair_kinds() if hasattr(element, "pair_kinds")
                 else ["through"] * len(element.blocks))
        for (u, w), kind in zip(element.blocks, kinds, strict=True):
            sign = -1.0 if kind == "cup" else 1.0
            out[:, i] *= dot[:, u, w] if kind == "through" else sign * twisted[:, u, w]
    return out / np.linalg.norm(out, axis=0)


@pytest.mark.slow
@pytest.mark.parametrize("group", [OrthogonalGroup(3), SymplecticGroup(4)], ids=str)
def test_bases_at_12_are_independent_numerically(group):
    """Independent truth at k + l = 12: smallest singular value of real evaluations.

    The greedy basis gives sigma_min / sigma_max about 1e-7; the first ``dim`` diagrams of
    the spanning set (dependent) give about 1e-20.
    """
    import scipy.linalg

    basis = equivariant_basis(group, 6, 6, use_cache=False)
    values = scipy.linalg.svdvals(_real_evaluations(list(basis), group, 12))
    assert values[-1] / values[0] > 1e-11
