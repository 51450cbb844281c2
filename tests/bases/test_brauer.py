"""O(n), SO(n), Sp(n): groups, Brauer-type diagrams, bases, fast products (issue 4)."""

import itertools
import math

import pytest
import torch

from geomlayers.bases import numeric_basis
from geomlayers.bases.api import basis_size, equivariant_basis
from geomlayers.bases.brauer import (
    gram_matrix,
    is_independent,
    pivot_columns_mod_p,
    select_independent,
    spanning_elements,
)
from geomlayers.diagrams.brauer import (
    MAX_LEVI_CIVITA_N,
    BrauerGroodDiagram,
    SymplecticBrauerDiagram,
    brauer_diagrams,
    brauer_grood_diagrams,
    contract,
    perfect_matchings,
    symplectic_brauer_diagrams,
)
from geomlayers.diagrams.diagram import PartitionDiagram
from geomlayers.groups import OrthogonalGroup, SpecialOrthogonalGroup, SymmetricGroup, act
from geomlayers.groups.symplectic import SymplecticGroup, symplectic_form
from geomlayers.nn.equivariant import EquivariantLinear
from geomlayers.ops.brauer_products import apply_element, apply_elements
from geomlayers.testing import assert_equivariant, equivariance_error
from tests.helpers import dims_table, matrix_fn, rank

pytestmark = pytest.mark.usefixtures("one_thread")


SPLITS6 = [(k, r - k) for r in range(7) for k in range(r + 1)]  # all k + l <= 6


def groups_small():
    for n in range(1, 6):
        yield OrthogonalGroup(n)
        yield SpecialOrthogonalGroup(n)
    for n in (2, 4):
        yield SymplecticGroup(n)
        yield SymplecticGroup(n, form="block")


def fast_all_fn(basis):
    """x (batch, n^(k)) -> (batch, len, n^(l)) through every element's fast product."""
    n = basis.n

    def fn(x):
        return torch.stack([apply_element(e, x, n) for e in basis], dim=1)

    return fn


# -- groups ----------------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["interleaved", "block"])
@pytest.mark.parametrize("n", [2, 4, 6])
def test_symplectic_group(n, form):
    group = SymplecticGroup(n, form)
    m = n // 2
    j = group.form_matrix()
    assert torch.equal(j @ j, -torch.eye(n, dtype=torch.float64))
    g = group.sample(5, generator=0)
    assert g.shape == (5, n, n) and group.contains(g)
    assert torch.allclose(g.transpose(-1, -2) @ j @ g, j.expand(5, n, n), atol=1e-12)
    assert not group.contains(OrthogonalGroup(n).sample(1, generator=1) * 1.1)
    algebra = group.lie_algebra()
    assert len(algebra) == group.dimension == m * (2 * m + 1)
    assert rank(algebra) == len(algebra)
    zero = algebra.transpose(-1, -2) @ j + j @ algebra
    assert zero.abs().max() == 0
    assert group.contains(torch.linalg.matrix_exp(0.3 * algebra))
    assert len(group.generators()) == 0  # connected
    torch.testing.assert_close(group.sample(2, generator=3), group.sample(2, generator=3))


def test_symplectic_forms_and_emlp_convention():
    # EMLP's Sp(m) (emlp/groups.py) acts on R^{2m} with J = [[0, I], [-I, 0]] and Lie algebra
    # spanned by [[A, 0], [0, -Aᵀ]], [[0, S], [0, 0]], [[0, 0], [S, 0]] (S symmetric).
    m = 3
    n = 2 * m
    block = SymplecticGroup(n, form="block")
    eye = torch.eye(m, dtype=torch.float64)
    zero = torch.zeros(m, m, dtype=torch.float64)
    assert torch.equal(block.form_matrix(), torch.cat([torch.cat([zero, eye], 1),
                                                       torch.cat([-eye, zero], 1)]))
    emlp = []
    for i, jj in itertools.product(range(m), range(m)):
        a = torch.zeros(m, m, dtype=torch.float64)
        a[i, jj] = 1
        emlp.append(torch.block_diag(a, -a.T))
        s = a + a.T
        emlp.append(torch.cat([torch.cat([zero, s], 1), torch.cat([zero, zero], 1)]))
        emlp.append(torch.cat([torch.cat([zero, zero], 1), torch.cat([s, zero], 1)]))
    emlp = torch.stack(emlp)
    ours = block.lie_algebra()
    assert rank(emlp) == rank(ours) == rank(torch.cat([emlp, ours])) == m * (2 * m + 1)
    # interleaved and block conventions are conjugate by the coordinate permutation to_block
    inter = SymplecticGroup(n)
    p = list(inter.to_block())
    assert torch.equal(inter.form_matrix()[p][:, p], block.form_matrix())
    g = inter.sample(3, generator=0)
    assert block.contains(g[:, p][:, :, p])
    assert symplectic_form(2).tolist() == [[0, 1], [-1, 0]]


def test_symplectic_bad_input():
    with pytest.raises(ValueError, match="even int >= 2"):
        SymplecticGroup(3)
    with pytest.raises(ValueError, match="form must be one of"):
        SymplecticGroup(4, form="weird")
    with pytest.raises(TypeError, match="n must be an int"):
        SymplecticGroup(4.0)
    with pytest.raises(ValueError, match="scale must be > 0"):
        SymplecticGroup(4).sample(2, scale=0)
    with pytest.raises(ValueError, match="m \\(number of samples\\)"):
        SymplecticGroup(4).sample(0)


# -- diagrams --------------------------------------------------------------------------------
def test_enumeration_counts_and_order():
    for r in range(9):
        matchings = list(perfect_matchings(tuple(range(r))))
        assert len(matchings) == (0 if r % 2 else math.prod(range(r - 1, 0, -2)))
        assert len(set(matchings)) == len(matchings)
        assert matchings == sorted(matchings)  # lexicographic
    table = dims_table()["spanning_set_sizes"]
    for r, expected in enumerate(table["brauer_(r-1)!!"]):
        for k in range(r + 1):
            assert len(brauer_diagrams(k, r - k)) == expected
            assert len(symplectic_brauer_diagrams(k, r - k)) == expected
    for n, row in table["so_free_diagrams_C(r,n)(r-n-1)!!"].items():
        for r, expected in enumerate(row[:8]):
            assert len(brauer_grood_diagrams(int(n), r // 2, r - r // 2)) == expected
    assert all(isinstance(d, PartitionDiagram) and all(len(b) == 2 for b in d.blocks)
               for d in brauer_diagrams(2, 2))


def test_printing():
    assert [str(d) for d in brauer_diagrams(1, 1)] == ["D[a / a]"]
    assert [str(d) for d in brauer_diagrams(2, 0)] == ["D[∅ / a a]"]
    assert str(SymplecticBrauerDiagram(k=2, l=2, blocks=((0, 1), (2, 3)))) == "F[a a / b b]"
    assert str(BrauerGroodDiagram(k=2, l=1, blocks=(), free=(0, 1, 2))) == "H[ε / ε ε]"
    h = brauer_grood_diagrams(2, 2, 2)
    assert str(h[0]) == "H[ε ε / a a]"
    basis = equivariant_basis(SpecialOrthogonalGroup(2), 1, 1)
    assert "2 elements, a basis" in repr(basis) and "H[ε / ε]" in basis.describe()


def test_element_validation():
    with pytest.raises(ValueError, match="cover 0..3"):
        SymplecticBrauerDiagram(k=2, l=2, blocks=((0, 1),))
    with pytest.raises(ValueError, match="must all be pairs"):
        SymplecticBrauerDiagram(k=2, l=1, blocks=((0, 1, 2),))
    with pytest.raises(ValueError, match="form must be one of"):
        SymplecticBrauerDiagram(k=1, l=1, blocks=((0, 1),), form="x")
    with pytest.raises(ValueError, match="element for SO\\(3\\), not n=4"):
        BrauerGroodDiagram(k=2, l=1, blocks=(), free=(0, 1, 2)).matrix(4)
    with pytest.raises(ValueError, match="n >= 1 free"):
        BrauerGroodDiagram(k=1, l=1, blocks=((0, 1),), free=())


def test_entries_are_signed_units_and_anchor_matrices():
    for element in symplectic_brauer_diagrams(2, 2) + brauer_grood_diagrams(3, 2, 3):
        n = 4 if isinstance(element, SymplecticBrauerDiagram) else 3
        values = element.tensor(n).unique().tolist()
        assert set(values) <= {-1.0, 0.0, 1.0}
    # SO(3), 2 -> 1: the cross product
    cross = BrauerGroodDiagram(k=2, l=1, blocks=(), free=(0, 1, 2))
    x, y = torch.randn(2, 4, 3, dtype=torch.float64).unbind(0)
    outer = x[:, :, None] * y[:, None, :]
    torch.testing.assert_close(apply_element(cross, outer, 3), torch.linalg.cross(x, y))
    torch.testing.assert_close(contract(cross, outer, 3), torch.linalg.cross(x, y))
    # SO(2), 1 -> 1: rotation by 90 degrees (ε = [[0, 1], [-1, 0]])
    assert BrauerGroodDiagram(k=1, l=1, blocks=(), free=(0, 1)).matrix(2).tolist() == [
        [0.0, 1.0], [-1.0, 0.0]]
    # Sp: caps carry J, cups J^{-1} = -J
    j = symplectic_form(4)
    cap = SymplecticBrauerDiagram(k=2, l=0, blocks=((0, 1),))
    cup = SymplecticBrauerDiagram(k=0, l=2, blocks=((0, 1),))
    assert torch.equal(cap.tensor(4), j) and torch.equal(cup.tensor(4), -j)


def test_block_form_elements_are_conjugate_to_interleaved():
    n = 4
    p = torch.tensor(SymplecticGroup(n).to_block())
    for inter, block in zip(symplectic_brauer_diagrams(1, 3),
                            symplectic_brauer_diagrams(1, 3, "block"), strict=True):
        t = inter.tensor(n)
        for axis in range(4):
            t = t.index_select(axis, p)
        assert torch.equal(t, block.tensor(n))


# -- bases: equivariance, sizes, independence ----------------------------------------------
def invariance_error(tensors, g, k, l):
    """max |ρ_l(g) W_i ρ_k(g)^{-1} - W_i| / max |W_i| over the stacked (m, n^l, n^k) W_i."""
    n = g.shape[-1]
    t = tensors.reshape(len(tensors), *[n] * (k + l))
    t = act(torch.linalg.inv(g).T, t, k)  # W ρ_k(g)^{-1}: g^{-T} on every input axis
    t = t.movedim(tuple(range(1, l + 1)), tuple(range(k + 1, k + l + 1)))
    t = act(g, t, l)  # then g on every output axis
    t = t.movedim(tuple(range(k + 1, k + l + 1)), tuple(range(1, l + 1)))
    return float((t.reshape(tensors.shape) - tensors).abs().max() / tensors.abs().max())


@pytest.mark.parametrize("group", list(groups_small()), ids=repr)
def test_every_spanning_element_is_equivariant(group):
    """Every element of the spanning set (so of every basis), all splits k + l <= 6."""
    elements = group.sample(2, generator=group.n)
    for k, l in SPLITS6:
        basis = equivariant_basis(group, k, l, spanning=True)
        if len(basis):
            dense = basis.dense()
            for g in elements:
                assert invariance_error(dense, g, k, l) < 1e-10, (k, l)


@pytest.mark.parametrize("group", [OrthogonalGroup(3), SpecialOrthogonalGroup(3),
                                   SpecialOrthogonalGroup(2), SymplecticGroup(4)], ids=repr)
def test_fast_products_are_equivariant(group):
    for k, l in [(1, 1), (2, 1), (2, 2), (1, 3), (3, 2)]:
        basis = equivariant_basis(group, k, l, spanning=True)
        if len(basis):
            assert_equivariant(fast_all_fn(basis), group, in_order=k, out_order=l,
                               num_elements=2, tol=1e-10, batch_shape=(2,))


def test_invariance_check_can_fail():
    g = OrthogonalGroup(3).sample(1, generator=0)[0]
    assert invariance_error(torch.randn(1, 3, 9, dtype=torch.float64), g, 2, 1) > 1e-2


@pytest.mark.parametrize("group", list(groups_small()), ids=repr)
def test_basis_size_equals_rank_and_exact_dimension(group):
    family = {OrthogonalGroup: "O(n)", SpecialOrthogonalGroup: "SO(n)",
              SymplecticGroup: "Sp(n)"}[type(group)]
    table = dims_table()[family].get(str(group.n))
    for k, l in SPLITS6:
        basis = equivariant_basis(group, k, l)
        assert basis.is_basis
        if group.n ** (k + l) <= 4096 and len(basis):
            assert rank(basis.dense()) == len(basis)
        if table is not None:  # exact dimensions (Weyl integration; research notes §2.8)
            assert len(basis) == table[k + l], (k, l)
        size = basis_size(group, k, l)
        assert size is None or size == len(basis)


CHEAP_NUMERIC = [  # (group, k, l) with n^(k+l) <= 256: the dense solver is quick
    (OrthogonalGroup(2), 3, 3), (OrthogonalGroup(3), 2, 2), (OrthogonalGroup(2), 1, 3),
    (SpecialOrthogonalGroup(2), 3, 3), (SpecialOrthogonalGroup(2), 2, 2),
    (SpecialOrthogonalGroup(3), 2, 1), (SpecialOrthogonalGroup(3), 3, 2),
    (SpecialOrthogonalGroup(2), 1, 1), (SpecialOrthogonalGroup(4), 2, 2),
    (SpecialOrthogonalGroup(5), 2, 1), (SymplecticGroup(2), 3, 3), (SymplecticGroup(2), 2, 2),
    (SymplecticGroup(2, "block"), 2, 2), (SymplecticGroup(4), 1, 3),
]


@pytest.mark.parametrize("group, k, l", CHEAP_NUMERIC, ids=str)
def test_size_equals_numeric_null_space(group, k, l):
    assert len(equivariant_basis(group, k, l)) == len(numeric_basis(group, k, l, max_size=256))


@pytest.mark.slow
@pytest.mark.parametrize("group", list(groups_small()), ids=repr)
def test_size_equals_numeric_null_space_sweep(group):
    """All splits with n^(k+l) <= 1024; one split per k + l up to n^(k+l) = 4096."""
    for k, l in SPLITS6:
        size = group.n ** (k + l)
        if size <= 1024 or (size <= 4096 and k == (k + l) // 2):
            assert len(equivariant_basis(group, k, l)) == len(numeric_basis(group, k, l)), (k, l)


def test_anchors():
    assert len(equivariant_basis(SpecialOrthogonalGroup(3), 2, 1)) == 1
    assert len(equivariant_basis(SpecialOrthogonalGroup(2), 1, 1)) == 2
    assert len(equivariant_basis(OrthogonalGroup(3), 2, 1)) == 0
    assert len(equivariant_basis(OrthogonalGroup(2), 3, 3)) == 10
    assert len(equivariant_basis(SymplecticGroup(2), 2, 2)) == 2
    assert len(equivariant_basis(SymplecticGroup(4), 1, 1)) == 1
    assert len(equivariant_basis(OrthogonalGroup(7), 1, 1)) == 1
    for group in (OrthogonalGroup(2), SpecialOrthogonalGroup(2), SymplecticGroup(2)):
        spanning = equivariant_basis(group, 3, 3, spanning=True)
        extra = 60 - 15 if isinstance(group, SpecialOrthogonalGroup) else 0
        assert len(spanning) == 15 + extra and not spanning.is_basis


def test_spanning_sizes():
    for r in range(9):
        for group in (OrthogonalGroup(3), SymplecticGroup(4), SpecialOrthogonalGroup(3)):
            size = len(equivariant_basis(group, r // 2, r - r // 2, spanning=True))
            brauer = 0 if r % 2 else math.prod(range(r - 1, 0, -2))
            grood = 0
            if isinstance(group, SpecialOrthogonalGroup) and r >= 3 and (r - 3) % 2 == 0:
                grood = math.comb(r, 3) * math.prod(range(r - 4, 0, -2))
            assert size == brauer + grood == basis_size(group, r // 2, r - r // 2,
                                                         spanning=True)


def test_selection_is_greedy_prefix_rank():
    """The kept elements are exactly those that raise the rank of the prefix (float check)."""
    for group, k, l in [(OrthogonalGroup(2), 3, 3), (SpecialOrthogonalGroup(2), 2, 2),
                        (SpecialOrthogonalGroup(3), 2, 3), (SymplecticGroup(2), 3, 3)]:
        spanning = equivariant_basis(group, k, l, spanning=True)
        dense = spanning.dense().reshape(len(spanning), -1)
        expected, current = [], 0
        for index in range(len(spanning)):
            new = int(torch.linalg.matrix_rank(dense[: index + 1]))
            if new > current:
                expected.append(spanning[index])
                current = new
        basis = equivariant_basis(group, k, l, use_cache=False)
        assert list(basis) == expected
        assert not is_independent(group, k + l)


def test_gram_matrix_and_pivots():
    elements = spanning_elements(SpecialOrthogonalGroup(2), 1, 3)
    dense = torch.stack([e.tensor(2).reshape(-1) for e in elements])
    assert torch.equal(torch.from_numpy(gram_matrix(elements, 2, 4)).double(), dense @ dense.T)
    assert pivot_columns_mod_p([[0, 0], [0, 0]]) == []
    assert pivot_columns_mod_p([[2, 4, 1], [1, 2, 1]]) == [0, 2]
    assert select_independent([], 3, 2) == []


def test_basis_is_deterministic_and_cached():
    first = [str(e) for e in equivariant_basis(SpecialOrthogonalGroup(3), 2, 3, use_cache=False)]
    second = [str(e) for e in equivariant_basis(SpecialOrthogonalGroup(3), 2, 3)]
    third = [str(e) for e in equivariant_basis(SpecialOrthogonalGroup(3), 2, 3)]  # from cache
    assert first == second == third
    sp = equivariant_basis(SymplecticGroup(2, "block"), 2, 2)
    again = equivariant_basis(SymplecticGroup(2, "block"), 2, 2)
    assert list(sp) == list(again) and all(e.form == "block" for e in again)


def test_guard_rails():
    with pytest.raises(ValueError, match="10,395 spanning diagrams"):
        equivariant_basis(OrthogonalGroup(3), 6, 6, max_elements=10_000, spanning=True)
    # a selected basis is guarded by its own size (the dimension), not the spanning set's
    with pytest.raises(ValueError, match="4,213 basis elements"):
        equivariant_basis(OrthogonalGroup(3), 6, 6, max_elements=4_000, use_cache=False)
    with pytest.raises(ValueError, match="kind must be 'diagram'"):
        equivariant_basis(OrthogonalGroup(3), 1, 1, kind="orbit")
    with pytest.raises(ValueError, match="k \\(tensor order\\) must be >= 0"):
        equivariant_basis(SymplecticGroup(2), -1, 1)


def test_elimination_guard_names_the_cost(monkeypatch):
    from geomlayers.bases import brauer, elimination

    monkeypatch.setattr(elimination, "MAX_ELIMINATION_OPS", 10)
    # SO(2), k+l=6 with the Levi-Civita rule switched off: its half needs the elimination
    monkeypatch.setattr(brauer, "is_standard_levi_civita", lambda *args: False)
    with pytest.raises(ValueError, match=r"multiply-adds.*spanning=True"), \
            pytest.warns(UserWarning, match="Levi-Civita rule"):
        equivariant_basis(SpecialOrthogonalGroup(2), 3, 3, use_cache=False)
    assert len(equivariant_basis(SpecialOrthogonalGroup(2), 3, 3, spanning=True)) == 60
    # O(n) and Sp(n) need none: their basis is read off the diagrams
    assert len(equivariant_basis(OrthogonalGroup(2), 3, 3, use_cache=False)) == 10


def test_so_equals_o_below_n():
    for n, (k, l) in [(5, (2, 2)), (4, (1, 2)), (6, (3, 2))]:
        so = list(equivariant_basis(SpecialOrthogonalGroup(n), k, l))
        assert so == list(equivariant_basis(OrthogonalGroup(n), k, l))


# -- negative controls -----------------------------------------------------------------------
def test_negative_controls():
    # H elements flip sign under a reflection (SO(n)- but not O(n)-equivariant)
    reflection = OrthogonalGroup(3).generators()
    for element in brauer_grood_diagrams(3, 2, 1) + brauer_grood_diagrams(3, 1, 4)[:3]:
        fn = matrix_fn(element.matrix(3), 3, element.k, element.l)
        x = torch.randn(2, *[3] * element.k, dtype=torch.float64)
        g = reflection[0]
        torch.testing.assert_close(fn(act(g, x, element.k)), -act(g, fn(x), element.l))
    # symplectic elements with a cap or cup are not O(n)-equivariant, Brauer ones not Sp(n)
    for element in symplectic_brauer_diagrams(2, 2)[:1]:
        fn = matrix_fn(element.matrix(4), 4, 2, 2)
        assert equivariance_error(fn, OrthogonalGroup(4), in_order=2, out_order=2)[0] > 1e-2
    fn = matrix_fn(brauer_diagrams(2, 2)[0].matrix(4), 4, 2, 2)
    assert equivariance_error(fn, SymplecticGroup(4), in_order=2, out_order=2)[0] > 1e-2
    # Brauer diagrams are S_n-equivariant too (S_n ⊂ O(n))
    for element in brauer_diagrams(2, 2):
        fn = matrix_fn(element.matrix(4), 4, 2, 2)
        assert_equivariant(fn, SymmetricGroup(4), in_order=2, out_order=2)


# -- fast products ---------------------------------------------------------------------------
def _all_elements(k, l):
    yield from ((e, 3) for e in brauer_diagrams(k, l))
    for form in ("interleaved", "block"):
        yield from ((e, 4) for e in symplectic_brauer_diagrams(k, l, form))
        yield from ((e, 2) for e in symplectic_brauer_diagrams(k, l, form))
    for n in (1, 2, 3, 4):
        yield from ((e, n) for e in brauer_grood_diagrams(n, k, l))


@pytest.mark.parametrize("k, l", [(k, l) for k in range(4) for l in range(4)])
def test_apply_to_equals_dense(k, l):
    gen = torch.Generator().manual_seed(k * 10 + l)
    for element, n in _all_elements(k, l):
        x = torch.randn(2, 3, *[n] * k, dtype=torch.float64, generator=gen)
        expected = (x.reshape(6, -1) @ element.matrix(n).T).reshape(2, 3, *[n] * l)
        got = apply_element(element, x, n)
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12, msg=str(element))
        if not isinstance(element, PartitionDiagram):
            torch.testing.assert_close(contract(element, x, n), expected, rtol=1e-12,
                                       atol=1e-12, msg=str(element))


def test_apply_to_is_deprecated_and_still_right():
    element = brauer_grood_diagrams(3, 2, 1)[0]
    x = torch.randn(4, 3, 3, dtype=torch.float64)
    with pytest.warns(DeprecationWarning, match="geomlayers.ops.apply_element"):
        got = element.apply_to(x, 3)
    torch.testing.assert_close(got, apply_element(element, x, 3))


@pytest.mark.parametrize("product", [apply_element, contract])
def test_apply_unbatched_and_float32(product):
    element = BrauerGroodDiagram(k=2, l=1, blocks=(), free=(0, 1, 2))
    x = torch.randn(3, 3)
    assert product(element, x, 3).shape == (3,)
    out = product(element, x.unsqueeze(0), 3)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out[0], element.matrix(3, torch.float32) @ x.reshape(-1))
    f = symplectic_brauer_diagrams(2, 2)[1]
    x32 = torch.randn(5, 4, 4)
    torch.testing.assert_close(product(f, x32, 4),
                               (x32.reshape(5, -1) @ f.matrix(4, torch.float32).T).reshape(5, 4, 4))


def test_apply_gradcheck():
    cases = [
        (brauer_diagrams(2, 2)[1], 3),
        (symplectic_brauer_diagrams(3, 1)[0], 4),
        (symplectic_brauer_diagrams(1, 3)[2], 2),
        (brauer_grood_diagrams(3, 2, 3)[4], 3),
        (brauer_grood_diagrams(2, 3, 1)[0], 2),
    ]
    for element, n in cases:
        x = torch.randn(2, *[n] * element.k, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda t, e=element, m=n: apply_element(e, t, m), (x,))
        if not isinstance(element, PartitionDiagram):
            assert torch.autograd.gradcheck(lambda t, e=element, m=n: contract(e, t, m), (x,))


@pytest.mark.parametrize("product", [apply_element, contract])
def test_apply_bad_input(product):
    h = BrauerGroodDiagram(k=2, l=1, blocks=(), free=(0, 1, 2))
    with pytest.raises(ValueError, match="x must end in k=2 axes of size n=3"):
        product(h, torch.randn(4, 3, 2), 3)
    with pytest.raises(ValueError, match="not n=4"):
        product(h, torch.randn(4, 4), 4)
    big = MAX_LEVI_CIVITA_N + 1
    too_big = BrauerGroodDiagram(k=big, l=0, blocks=(), free=tuple(range(big)))
    with pytest.raises(ValueError, match="MAX_LEVI_CIVITA_N"):
        product(too_big, torch.zeros(1), big)  # refused before looking at x
    with pytest.raises(ValueError, match="MAX_LEVI_CIVITA_N"):
        too_big.entries(big)
    with pytest.raises(TypeError, match="no fast product"):
        apply_element("D", torch.randn(3), 3)


# -- layers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("group, k, l", [
    (OrthogonalGroup(3), 2, 2), (OrthogonalGroup(4), 1, 3), (SpecialOrthogonalGroup(3), 2, 1),
    (SpecialOrthogonalGroup(2), 1, 1), (SymplecticGroup(4), 2, 2), (SymplecticGroup(2), 1, 3),
])
def test_equivariant_linear_for_new_groups(group, k, l):
    torch.manual_seed(0)
    layer = EquivariantLinear(group, k, l, 3, 2, dtype=torch.float64)
    if layer.bias is not None:
        torch.nn.init.normal_(layer.bias)
    assert_equivariant(layer, group, in_order=k, out_order=l, batch_shape=(2, 3))


@pytest.mark.parametrize("group, k, l", [
    (SpecialOrthogonalGroup(3), 2, 1), (SpecialOrthogonalGroup(3), 1, 2),
    (SymplecticGroup(4), 2, 2), (OrthogonalGroup(3), 1, 3),
])
def test_apply_elements_with_channels(group, k, l):
    basis = equivariant_basis(group, k, l, spanning=True)
    gen = torch.Generator().manual_seed(0)
    n = group.n
    weight = torch.randn(len(basis), 2, 3, dtype=torch.float64, generator=gen)
    x = torch.randn(4, 3, *[n] * k, dtype=torch.float64, generator=gen)
    dense = basis.dense()
    expected = torch.einsum("moc,mij,bcj->boi", weight, dense, x.reshape(4, 3, -1))
    got = apply_elements(list(basis), weight, x, n)
    torch.testing.assert_close(got, expected.reshape(4, 2, *[n] * l))
    assert_equivariant(lambda t: apply_elements(list(basis), weight, t, n), group,
                       in_order=k, out_order=l, batch_shape=(2, 3))
    with pytest.raises(ValueError, match="weight must have shape"):
        apply_elements(list(basis), weight[:, :, :2].transpose(0, 1), x, n)
    with pytest.raises(ValueError, match="x must have shape"):
        apply_elements(list(basis), weight, x[:, :2], n)
