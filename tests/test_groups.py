import itertools
import math

import networkx as nx
import pytest
import torch

from geomlayers.groups import (
    AlternatingGroup,
    AutomorphismGroup,
    OrthogonalGroup,
    PermutationGroup,
    SpecialOrthogonalGroup,
    SymmetricGroup,
    act,
    parse_group,
    permutation_matrices,
)

GROUPS = [
    SymmetricGroup(1),
    SymmetricGroup(4),
    AlternatingGroup(5),
    PermutationGroup([(1, 2, 3, 0)]),
    AutomorphismGroup(nx.petersen_graph()),
    OrthogonalGroup(3),
    SpecialOrthogonalGroup(4),
]


@pytest.mark.parametrize("group", GROUPS, ids=repr)
def test_samples_belong_and_are_float64(group):
    g = group.sample(5, generator=1)
    assert g.shape == (5, group.n, group.n) and g.dtype == torch.float64
    assert group.contains(g)
    assert group.contains(group.identity())
    assert torch.equal(group.sample(3, generator=7), group.sample(3, generator=7))
    assert group.sample(2, dtype=torch.float32).dtype == torch.float32


@pytest.mark.parametrize("group", GROUPS, ids=repr)
def test_value_semantics(group):
    assert hash(group) == hash(group) and group == group
    assert repr(group) in {repr(group)}
    if not isinstance(group, AutomorphismGroup):
        assert eval(repr(group)) == group  # noqa: S307 (repr round-trip)
        assert hash(eval(repr(group))) == hash(group)  # noqa: S307
    with pytest.raises(AttributeError):
        group.n = 3


def test_distinct_groups_differ():
    assert SymmetricGroup(4) != AlternatingGroup(4)
    assert len({SymmetricGroup(4), SymmetricGroup(4), SymmetricGroup(5)}) == 2


@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_act_matches_kronecker_power(order):
    group = OrthogonalGroup(3)
    g = group.sample(2, generator=0)
    x = torch.randn(2, 4, *([3] * order), dtype=torch.float64)
    for batched in (False, True):
        y = act(g if batched else g[0], x, order)
        for b in range(2):
            kron = torch.ones(1, 1, dtype=torch.float64)
            for _ in range(order):
                kron = torch.kron(kron, g[b if batched else 0])
            expected = (kron @ x[b].reshape(4, -1).T).T.reshape(x[b].shape)
            torch.testing.assert_close(y[b], expected, rtol=0, atol=1e-12)


def test_permutation_convention():
    # P_σ e_j = e_{σ(j)}, so (P x)[i] = x[σ^{-1}(i)]
    images = torch.tensor([[1, 2, 0]])
    p = permutation_matrices(images)[0]
    assert p[1, 0] == 1 and p[2, 1] == 1 and p[0, 2] == 1
    x = torch.tensor([10.0, 20.0, 30.0], dtype=torch.float64)
    assert act(p, x, 1).tolist() == [30.0, 10.0, 20.0]


def test_orders():
    assert SymmetricGroup(5).order() == 120
    assert AlternatingGroup(5).order() == 60
    assert AlternatingGroup(2).order() == 1
    assert PermutationGroup([(1, 0, 2, 3), (0, 1, 3, 2)]).order() == 4
    assert AutomorphismGroup(nx.petersen_graph()).order() == 120
    assert AutomorphismGroup(nx.cycle_graph(7)).order() == 14
    assert AutomorphismGroup(nx.complete_graph(12)).order() == math.factorial(12)


def test_sampling_is_uniform_on_s3():
    images = SymmetricGroup(3).sample_images(6000, generator=3)
    counts = {}
    for row in images.tolist():
        counts[tuple(row)] = counts.get(tuple(row), 0) + 1
    assert len(counts) == 6
    # chi-square with 5 degrees of freedom, 99.9% quantile = 20.5
    chi2 = sum((c - 1000) ** 2 / 1000 for c in counts.values())
    assert chi2 < 20.5


def test_alternating_samples_are_even():
    g = AlternatingGroup(6).sample(50, generator=0)
    assert torch.allclose(torch.linalg.det(g), torch.ones(50, dtype=torch.float64))
    assert not AlternatingGroup(4).contains(SymmetricGroup(4).generators()[:1])


def _brute_force_automorphisms(graph: nx.Graph) -> set[tuple[int, ...]]:
    nodes = sorted(graph.nodes)
    matcher = nx.algorithms.isomorphism.GraphMatcher(graph, graph)
    return {tuple(m[v] for v in nodes) for m in matcher.isomorphisms_iter()}


@pytest.mark.parametrize(
    "graph",
    [nx.cycle_graph(5), nx.path_graph(4), nx.star_graph(3), nx.petersen_graph(),
     nx.frucht_graph(), nx.complete_bipartite_graph(2, 3)],
    ids=["C5", "P4", "K13", "petersen", "frucht", "K23"],
)
def test_automorphism_group_equals_vf2_enumeration(graph):
    group = AutomorphismGroup(graph)
    expected = _brute_force_automorphisms(graph)  # networkx VF2: an independent solver
    assert group.order() == len(expected)
    for row in group.sample_images(20, generator=0).tolist():
        assert tuple(row) in expected
    adjacency = group.adjacency()
    g = group.sample(10, generator=1)
    assert torch.equal(g @ adjacency @ g.transpose(-1, -2), adjacency.expand(10, -1, -1))


def test_frucht_graph_is_asymmetric_and_graph_inputs_agree():
    assert AutomorphismGroup(nx.frucht_graph()).order() == 1
    edges = [(0, 1), (1, 2), (2, 3)]
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    assert AutomorphismGroup(edges) == AutomorphismGroup(edge_index)
    assert AutomorphismGroup(edges) == AutomorphismGroup(nx.path_graph(4))
    assert AutomorphismGroup([(0, 1)], num_nodes=3).order() == 2


def test_orthogonal_haar_moments():
    # E[g_ij^2] = 1/n for Haar O(n); both determinant signs occur.
    g = OrthogonalGroup(4).sample(4000, generator=0)
    second = (g**2).mean(0)
    assert torch.allclose(second, torch.full((4, 4), 0.25, dtype=torch.float64), atol=0.03)
    dets = torch.linalg.det(g)
    assert 0.4 < (dets > 0).double().mean() < 0.6
    assert torch.allclose(torch.linalg.det(SpecialOrthogonalGroup(4).sample(50)),
                          torch.ones(50, dtype=torch.float64))


def test_lie_structure():
    assert SymmetricGroup(4).dimension == 0 and SymmetricGroup(4).is_finite
    assert OrthogonalGroup(5).dimension == 10 and not OrthogonalGroup(5).is_finite
    algebra = SpecialOrthogonalGroup(3).lie_algebra()
    assert torch.allclose(algebra, -algebra.transpose(-1, -2))
    with pytest.raises(TypeError, match="not finite"):
        OrthogonalGroup(3).order()


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda: SymmetricGroup(0), ValueError),
        (lambda: SymmetricGroup(2.5), TypeError),
        (lambda: AlternatingGroup(-1), ValueError),
        (lambda: PermutationGroup([(0, 0, 1)]), ValueError),
        (lambda: PermutationGroup([]), ValueError),
        (lambda: AutomorphismGroup([(0, 0)]), ValueError),
        (lambda: AutomorphismGroup("not a graph"), TypeError),
        (lambda: SymmetricGroup(3).sample(0), ValueError),
        (lambda: parse_group("Q7"), ValueError),
    ],
)
def test_bad_input_errors(make, error):
    with pytest.raises(error):
        make()


def test_act_errors():
    g = SymmetricGroup(3).sample(2)
    with pytest.raises(ValueError, match="order"):
        act(g[0], torch.zeros(3, 3), -1)
    with pytest.raises(ValueError, match="axes of size n=3"):
        act(g[0], torch.zeros(3, 4), 2)
    with pytest.raises(ValueError, match="leading axis"):
        act(g, torch.zeros(5, 3), 1)


def test_parse_group(tmp_path):
    assert parse_group("S5") == SymmetricGroup(5)
    assert parse_group("A(4)") == AlternatingGroup(4)
    assert parse_group("so3") == SpecialOrthogonalGroup(3)
    path = tmp_path / "c5.txt"
    path.write_text("".join(f"{i} {(i + 1) % 5}\n" for i in range(5)))
    assert parse_group(f"aut:{path}").order() == 10


def test_generators_generate():
    for group in (SymmetricGroup(5), AlternatingGroup(5)):
        gens = group.generators()
        closure = {tuple(range(5))}
        frontier = list(closure)
        images = [g.argmax(0).tolist() for g in gens]
        while frontier:
            new = []
            for perm in frontier:
                for image in images:
                    composed = tuple(image[p] for p in perm)
                    if composed not in closure:
                        closure.add(composed)
                        new.append(composed)
            frontier = new
        assert len(closure) == group.order()
    assert all(
        AlternatingGroup(5).contains(permutation_matrices(torch.tensor([p])))
        for p in itertools.islice(itertools.permutations(range(5)), 0, 1)
    )
