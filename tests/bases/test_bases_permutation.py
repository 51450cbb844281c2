"""Bases of S_n, A_n and Aut(Γ): equivariance, sizes, independence, anchors."""

import networkx as nx
import pytest
import torch

from geomlayers.bases import basis_size, equivariant_basis, numeric_basis
from geomlayers.diagrams import JellyfishDiagram, OrbitElement, PartitionDiagram
from geomlayers.groups import (
    AlternatingGroup,
    AutomorphismGroup,
    PermutationGroup,
    SymmetricGroup,
    act,
)
from geomlayers.testing import assert_equivariant, equivariance_error
from tests.helpers import all_elements_fn, burnside_dimension, dims_table, matrix_fn, rank

SPLITS = [(k, r - k) for r in range(6) for k in range(r + 1)]  # all k + l <= 5
GRAPHS = {
    "C5": nx.cycle_graph(5),
    "P4": nx.path_graph(4),
    "K13": nx.star_graph(3),
    "K4": nx.complete_graph(4),
    "bull": nx.bull_graph(),
}


def groups_small():
    for n in range(1, 6):
        yield SymmetricGroup(n)
        yield AlternatingGroup(n)
    for graph in GRAPHS.values():
        yield AutomorphismGroup(graph)


@pytest.mark.parametrize("group", list(groups_small()), ids=repr)
def test_every_element_is_equivariant(group):
    for k, l in SPLITS:
        basis = equivariant_basis(group, k, l)
        if len(basis) == 0:
            continue
        assert_equivariant(all_elements_fn(basis), group, in_order=k, out_order=l,
                           num_elements=3, tol=1e-10)


@pytest.mark.parametrize("group", list(groups_small()), ids=repr)
def test_size_equals_rank_and_numeric_null_space(group):
    n = group.n
    for k, l in SPLITS:
        if n ** (k + l) > 1100:
            continue  # the n = 5, k + l = 5 cases are below (one split) and in the slow sweep
        basis = equivariant_basis(group, k, l)
        assert rank(basis.dense()) == len(basis), "elements must be linearly independent"
        assert len(numeric_basis(group, k, l)) == len(basis)


@pytest.mark.parametrize("group", [SymmetricGroup(5), AlternatingGroup(5)], ids=repr)
def test_size_equals_numeric_null_space_n5_r5(group):
    basis = equivariant_basis(group, 2, 3)
    assert rank(basis.dense()) == len(basis)
    assert len(numeric_basis(group, 2, 3)) == len(basis)


@pytest.mark.slow
@pytest.mark.parametrize("group", [SymmetricGroup(5), AlternatingGroup(5)], ids=repr)
@pytest.mark.parametrize("k", range(6))
def test_size_equals_numeric_null_space_n5_r5_all_splits(group, k):
    assert len(numeric_basis(group, k, 5 - k)) == len(equivariant_basis(group, k, 5 - k))


def test_sizes_match_published_tables():
    table = dims_table()
    for family, cls in (("S_n", SymmetricGroup), ("A_n", AlternatingGroup)):
        for n, row in table[family].items():
            for r, expected in enumerate(row):
                for k in {0, r // 2, r}:
                    assert basis_size(cls(int(n)), k, r - k) == expected, (family, n, r)
                if r <= 6:
                    assert len(equivariant_basis(cls(int(n)), r // 2, r - r // 2)) == expected
    jelly = table["spanning_set_sizes"]["jellyfish_(exactly n or n-1 blocks)"]
    for n, row in jelly.items():
        for r, expected in enumerate(row[:7]):
            basis = equivariant_basis(AlternatingGroup(int(n)), 0, r)
            assert sum(isinstance(e, JellyfishDiagram) for e in basis) == expected


def test_anchors():
    assert len(equivariant_basis(SymmetricGroup(2), 2, 2)) == 8
    assert len(equivariant_basis(SymmetricGroup(2), 2, 2, spanning=True)) == 15
    assert len(equivariant_basis(AlternatingGroup(3), 1, 1)) == 3
    assert len(equivariant_basis(SymmetricGroup(3), 1, 1)) == 2
    # A_3, k = l = 1: the commutant is the circulant matrices
    dense = equivariant_basis(AlternatingGroup(3), 1, 1).dense()
    for matrix in dense:
        assert torch.equal(matrix.roll(1, 0).roll(1, 1), matrix)


@pytest.mark.parametrize("n", [3, 4, 5])
def test_jellyfish_are_sign_twisted(n):
    """Negative control: each J_π fails S_n-equivariance but satisfies W P = sgn P W."""
    sym = SymmetricGroup(n)
    odd = sym.generators()[:1]  # a transposition
    for k, l in [(n - 2, 1), (n - 1, 1), (2, n - 2)]:
        basis = equivariant_basis(AlternatingGroup(n), k, l)
        jellies = [i for i, e in enumerate(basis) if isinstance(e, JellyfishDiagram)]
        assert jellies, "jellyfish appear from k + l = n - 1"
        for index in jellies:
            fn = matrix_fn(basis.dense()[index], n, k, l)
            assert equivariance_error(fn, sym, in_order=k, out_order=l, elements=odd)[0] > 0.1
            x = torch.randn(2, *[n] * k, dtype=torch.float64)
            torch.testing.assert_close(fn(act(odd[0], x, k)), -act(odd[0], fn(x), l))


def test_jellyfish_threshold_is_n_minus_one():
    for n in range(2, 7):
        assert basis_size(AlternatingGroup(n), 0, n - 2) == basis_size(SymmetricGroup(n), 0, n - 2)
        assert basis_size(AlternatingGroup(n), 0, n - 1) > basis_size(SymmetricGroup(n), 0, n - 1)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_orbit_basis_and_mobius_relation(n):
    k, l = 2, 2
    orbit = equivariant_basis(SymmetricGroup(n), k, l, kind="orbit")
    diagram = equivariant_basis(SymmetricGroup(n), k, l, spanning=True)
    assert len(orbit) == len(equivariant_basis(SymmetricGroup(n), k, l))
    x = orbit.dense()
    assert rank(x) == len(orbit)
    # disjoint 0/1 supports summing to the all-ones tensor
    assert torch.equal(x.sum(0), torch.ones(n**l, n**k, dtype=torch.float64))
    # D_π = Σ_{θ ⪰ π} X_θ over all Bell(4) partitions (X_θ = 0 beyond n blocks)
    def coarser(theta, pi):
        return all(any(set(b) <= set(c) for c in theta) for b in pi)

    all_x = {e.blocks: OrbitElement(k=k, l=l, blocks=e.blocks).matrix(n) for e in diagram}
    for element, matrix in zip(diagram, diagram.dense(), strict=True):
        total = sum(m for theta, m in all_x.items() if coarser(theta, element.blocks))
        assert torch.equal(total, matrix)


def maron_ops(x):
    """Maron et al. (2019)'s 15 2→2 operations, written from their descriptions."""
    n = x.shape[-1]
    ones = torch.ones(n, n, dtype=x.dtype)
    diag = torch.diagonal(x, dim1=-2, dim2=-1)
    embed = torch.diag_embed
    row_sums, col_sums = x.sum(-1), x.sum(-2)
    total = x.sum((-1, -2))
    return [
        embed(diag),  # 1 extract diag
        embed(diag.sum(-1, keepdim=True).expand_as(diag)),  # 2 sum of diag on diag
        embed(row_sums),  # 3 row sums on diag
        embed(col_sums),  # 4 col sums on diag
        embed(total[..., None].expand_as(diag)),  # 5 total sum on diag
        col_sums[..., :, None] * ones,  # 6 col sum i on row i
        row_sums[..., :, None] * ones,  # 7 row sum i on row i
        col_sums[..., None, :] * ones,  # 8 col sum i on col i
        row_sums[..., None, :] * ones,  # 9 row sum i on col i
        x,  # 10 identity
        x.transpose(-1, -2),  # 11 transpose
        diag[..., :, None] * ones,  # 12 diag elt ii on row i
        diag[..., None, :] * ones,  # 13 diag elt ii on col i
        diag.sum(-1)[..., None, None] * ones,  # 14 sum of diag everywhere
        total[..., None, None] * ones,  # 15 total sum everywhere
    ]


MARON_BLOCKS = [  # research notes §2.1: op -> π (0,1 = output; 2,3 = input)
    ((0, 1, 2, 3),), ((0, 1), (2, 3)), ((0, 1, 2), (3,)), ((0, 1, 3), (2,)),
    ((0, 1), (2,), (3,)), ((0, 3), (1,), (2,)), ((0, 2), (1,), (3,)), ((0,), (1, 3), (2,)),
    ((0,), (1, 2), (3,)), ((0, 2), (1, 3)), ((0, 3), (1, 2)), ((0, 2, 3), (1,)),
    ((0,), (1, 2, 3)), ((0,), (1,), (2, 3)), ((0,), (1,), (2,), (3,)),
]


@pytest.mark.parametrize("n", [2, 3, 4, 6])
def test_maron_operations_span_the_basis(n):
    eye = torch.eye(n * n, dtype=torch.float64).reshape(n * n, n, n)
    ops = torch.stack([op.reshape(n * n, n * n).T for op in maron_ops(eye)])
    basis = equivariant_basis(SymmetricGroup(n), 2, 2)
    expected = 8 if n == 2 else 14 if n == 3 else 15
    assert len(basis) == expected
    assert rank(ops) == expected == rank(torch.cat([ops, basis.dense()]))
    for op, blocks in zip(ops, MARON_BLOCKS, strict=True):
        assert torch.equal(op, PartitionDiagram(k=2, l=2, blocks=blocks).matrix(n))


@pytest.mark.parametrize("name", list(GRAPHS))
def test_aut_orbit_basis_counts(name):
    group = AutomorphismGroup(GRAPHS[name])
    images = [tuple(row) for row in group.sample_images(1, generator=0).tolist()]
    # all elements, by closing the generators (these groups are small)
    elements = {tuple(range(group.n))}
    frontier = list(elements)
    while frontier:
        new = []
        for perm in frontier:
            for gen in group.generator_images():
                composed = tuple(gen[p] for p in perm)
                if composed not in elements:
                    elements.add(composed)
                    new.append(composed)
        frontier = new
    assert len(elements) == group.order() and images[0] in elements
    for r in range(5):
        expected = burnside_dimension(list(elements), group.n, r)
        assert len(equivariant_basis(group, r // 2, r - r // 2)) == expected


def test_aut_known_dimensions():
    expected = {"C5": (3, 13), "P4": (8, 32), "K13": (5, 15), "K4": (2, 5)}
    for name, (r2, r3) in expected.items():
        group = AutomorphismGroup(GRAPHS[name])
        assert len(equivariant_basis(group, 1, 1)) == r2
        assert len(equivariant_basis(group, 2, 1)) == r3
    c6 = AutomorphismGroup(nx.cycle_graph(6))
    assert (len(equivariant_basis(c6, 1, 1)), len(equivariant_basis(c6, 1, 2))) == (4, 20)


def test_aut_basis_negative_control():
    """Aut(C5) elements commute with rotations of the cycle, not with other permutations."""
    group = AutomorphismGroup(nx.cycle_graph(5))
    basis = equivariant_basis(group, 1, 1)
    swap = SymmetricGroup(5).generators()[:1]  # (0 1): not an automorphism of C5
    errors = [
        equivariance_error(
            lambda x, m=m: x @ m.T, SymmetricGroup(5), in_order=1, out_order=1, elements=swap
        )[0]
        for m in basis.dense()
    ]
    assert max(errors) > 0.5


@pytest.mark.parametrize("name", ["C5", "P4", "K13", "K4"])
def test_bilabelled_graphs_span(name):
    group = AutomorphismGroup(GRAPHS[name])
    for k, l in [(1, 1), (2, 1), (1, 2)]:
        spanning = equivariant_basis(group, k, l, spanning=True)
        assert not spanning.is_basis
        dense = spanning.dense()
        assert rank(dense) == len(equivariant_basis(group, k, l))
        assert_equivariant(all_elements_fn(spanning), group, in_order=k, out_order=l, tol=1e-9)


def test_bilabelled_edgeless_graphs_are_partition_diagrams():
    group = AutomorphismGroup(nx.cycle_graph(4))
    spanning = equivariant_basis(group, 1, 2, spanning=True)
    for element, matrix in zip(spanning, spanning.dense(), strict=True):
        if not element.edges and element.num_vertices == len(set(element.labels)):
            blocks = tuple(
                tuple(p for p, v in enumerate(element.labels) if v == b)
                for b in range(element.num_vertices)
            )
            assert torch.equal(matrix, PartitionDiagram(k=1, l=2, blocks=blocks).matrix(4))


def test_permutation_group_basis_and_trivial_group():
    cyclic = PermutationGroup([(1, 2, 3, 0)])
    assert len(equivariant_basis(cyclic, 1, 1)) == 4  # circulants of C_4
    trivial = PermutationGroup([], n=3)
    assert len(equivariant_basis(trivial, 1, 1)) == 9


@pytest.mark.parametrize("group", [SymmetricGroup(4), AlternatingGroup(4),
                                   AutomorphismGroup(nx.cycle_graph(4))], ids=repr)
@pytest.mark.parametrize("k, l", [(0, 2), (1, 1), (2, 2), (3, 1), (2, 0), (1, 3)])
def test_fast_apply_equals_dense(group, k, l):
    basis = equivariant_basis(group, k, l)
    gen = torch.Generator().manual_seed(0)
    weights = torch.randn(len(basis), dtype=torch.float64, generator=gen)
    x = torch.randn(3, *[group.n] * k, dtype=torch.float64, generator=gen)
    dense = torch.einsum("m,mij->ij", weights, basis.dense())
    expected = (x.reshape(3, -1) @ dense.T).reshape(3, *[group.n] * l)
    torch.testing.assert_close(basis.apply(weights, x), expected, rtol=1e-12, atol=1e-12)


def test_sparse_equals_dense():
    for group in (SymmetricGroup(3), AlternatingGroup(3), AutomorphismGroup(nx.path_graph(3))):
        basis = equivariant_basis(group, 2, 1)
        assert torch.equal(basis.sparse().to_dense(), basis.dense())


def test_elements_print_as_diagrams():
    basis = equivariant_basis(SymmetricGroup(4), 2, 2)
    assert str(basis[0]) == "D[a a / a a]"
    identity = PartitionDiagram(k=2, l=2, blocks=((0, 2), (1, 3)))
    assert str(identity) == "D[a b / a b]" and identity in list(basis)
    assert "15 elements, a basis" in repr(basis)
    assert "D[a b / a b]" in basis.describe(limit=20)
    assert str(equivariant_basis(AutomorphismGroup(nx.path_graph(3)), 1, 1)[1]) == "O[0 / 1]"


def test_order_is_deterministic():
    first = [str(e) for e in equivariant_basis(AlternatingGroup(4), 2, 2, use_cache=False)]
    second = [str(e) for e in equivariant_basis(AlternatingGroup(4), 2, 2)]
    assert first == second


def test_transpose_of_diagram():
    for element in equivariant_basis(SymmetricGroup(3), 2, 1):
        torch.testing.assert_close(element.transpose().matrix(3), element.matrix(3).T)


def test_guard_rails():
    with pytest.raises(ValueError, match="115,975 basis elements"):
        equivariant_basis(SymmetricGroup(10), 5, 5)
    big = equivariant_basis(SymmetricGroup(10), 5, 5, max_elements=200_000, use_cache=False)
    assert len(big) == 115_975
    with pytest.raises(ValueError, match="k \\(tensor order\\) must be >= 0"):
        equivariant_basis(SymmetricGroup(3), -1, 1)
    with pytest.raises(TypeError, match="l \\(tensor order\\) must be an int"):
        equivariant_basis(SymmetricGroup(3), 1, 1.5)
    with pytest.raises(ValueError, match="kind"):
        equivariant_basis(SymmetricGroup(3), 1, 1, kind="bogus")
    with pytest.raises(ValueError, match="max_entries"):
        equivariant_basis(SymmetricGroup(9), 3, 3).dense()
    with pytest.raises(ValueError, match="max_tuples"):
        equivariant_basis(AutomorphismGroup(nx.cycle_graph(40)), 3, 3)
    with pytest.raises(ValueError, match="weights must have shape"):
        equivariant_basis(SymmetricGroup(3), 1, 1).apply(torch.ones(3), torch.ones(3))
    with pytest.raises(ValueError, match="x must end in k=1 axes of size n=3"):
        equivariant_basis(SymmetricGroup(3), 1, 1).apply(torch.ones(2), torch.ones(4))
