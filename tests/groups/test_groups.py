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


def test_act_checks_order_once_like_every_count():
    """``act`` and ``tensor_power_act`` share one check (``geomlayers.validation.check_int``):
    a bool or float order is a TypeError, a negative one a ValueError, a NumPy int accepted."""
    import numpy as np

    from geomlayers.groups.actions import tensor_power_act

    g = SymmetricGroup(3).sample(1)[0]
    x = torch.randn(3, 3)
    for fn in (act, tensor_power_act):
        for bad in (True, 2.0):
            with pytest.raises(TypeError, match="order must be an int"):
                fn(g, x, bad)
        with pytest.raises(ValueError, match="order must be an int >= 0, got -1"):
            fn(g, x, -1)
        assert torch.equal(fn(g, x, np.int64(2)), fn(g, x, 2))


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


# ------------------------------------------------------------------ short strings and parsing

import geomlayers.groups as groups_module  # noqa: E402
from geomlayers.groups import (  # noqa: E402
    SL,
    Affine,
    EuclideanGroup,
    GLPlus,
    Group,
    PseudoOrthogonal,
    SpecialEuclideanGroup,
    SymplecticGroup,
    TranslationGroup,
)

#: one or more instances of every Group subclass exported by geomlayers.groups
EXAMPLES = {
    "SymmetricGroup": [SymmetricGroup(1), SymmetricGroup(5)],
    "AlternatingGroup": [AlternatingGroup(4)],
    "PermutationGroup": [PermutationGroup([(1, 2, 0, 4, 3), (1, 0, 2, 3, 4)]),
                         PermutationGroup([], n=3)],
    "AutomorphismGroup": [AutomorphismGroup(nx.petersen_graph()),
                          AutomorphismGroup([], num_nodes=2)],
    "OrthogonalGroup": [OrthogonalGroup(3)],
    "SpecialOrthogonalGroup": [SpecialOrthogonalGroup(2)],
    "PseudoOrthogonal": [PseudoOrthogonal(1, 3), PseudoOrthogonal(3), PseudoOrthogonal(2, 0, 1)],
    "EuclideanGroup": [EuclideanGroup(3), EuclideanGroup(2, translation_scale=2.5)],
    "SpecialEuclideanGroup": [SpecialEuclideanGroup(2)],
    "TranslationGroup": [TranslationGroup(3)],
    "SymplecticGroup": [SymplecticGroup(4), SymplecticGroup(6, form="block")],
    "GLPlus": [GLPlus(3)],
    "SL": [SL(2)],
    "Affine": [Affine(SL(2)), Affine(GLPlus(3), translation_scale=0.5)],
}


def _exported_group_classes():
    return sorted(
        name for name in groups_module.__all__
        if isinstance(getattr(groups_module, name), type)
        and issubclass(getattr(groups_module, name), Group)
        and getattr(groups_module, name) not in (Group, groups_module.FinitePermutationGroup)
    )


def test_every_exported_family_has_a_string_example():
    # a new family must come with an example here, and so with the round trip below
    assert _exported_group_classes() == sorted(EXAMPLES)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_families_defined_elsewhere_round_trip():
    import inspect

    from geomlayers.clifford.action import OutermorphismGroup

    concrete = {cls.__name__ for cls in _subclasses(Group)
                if not inspect.isabstract(cls) and not cls.__name__.startswith("_")
                and cls.__module__.startswith("geomlayers.")}
    assert concrete - set(EXAMPLES) - {"FinitePermutationGroup"} == {"OutermorphismGroup"}
    for base in (OrthogonalGroup(3), PseudoOrthogonal(1, 3), Affine(SL(2))):
        group = OutermorphismGroup(base)
        assert parse_group(str(group)) == group and hash(parse_group(str(group))) == hash(group)


@pytest.mark.parametrize("group", [g for gs in EXAMPLES.values() for g in gs], ids=str)
def test_string_round_trip(group):
    text = str(group)
    assert len(text) < 200 and "\n" not in text
    back = parse_group(text)
    assert back == group and hash(back) == hash(group) and type(back) is type(group)
    assert str(back) == text
    assert parse_group(group) is group


@pytest.mark.parametrize("text, expected", [
    ("s5", SymmetricGroup(5)), ("S(5)", SymmetricGroup(5)), ("so3", SpecialOrthogonalGroup(3)),
    ("O(1,3)", PseudoOrthogonal(1, 3)), ("O(3)", OrthogonalGroup(3)),
    ("Sp(4, form=block)", SymplecticGroup(4, form="block")), ("gl+2", GLPlus(2)),
    ("Aff(SL(2))", Affine(SL(2))), ("E(3, translation_scale=1)", EuclideanGroup(3)),
    ("Perm4<(0 1 2 3)>", PermutationGroup([(1, 2, 3, 0)])),
    ("Aut5<0-1, 1-2, 2-3, 3-4, 4-0>", AutomorphismGroup(nx.cycle_graph(5))),
])
def test_parse_group_spellings(text, expected):
    assert parse_group(text) == expected


@pytest.mark.parametrize("text", ["X3", "S", "Perm3<(0 5)>", "Aut3<0-1-2>", "Sp3", "E(3,foo=1)",
                                  "Perm3<0 1>", "O(1,-1)"])
def test_parse_group_refuses(text):
    with pytest.raises(ValueError):
        parse_group(text)


# ------------------------------------------------------------------ representations

from geomlayers.groups import (  # noqa: E402
    Congruence,
    Multivectors,
    Points,
    Subspaces,
    TensorPower,
    Trivial,
    Vectors,
    parse_representation,
)
from geomlayers.groups.pseudo_orthogonal import outermorphism  # noqa: E402

REPS = [Trivial(), TensorPower(0), TensorPower(3), TensorPower(2, channels=4), Vectors(),
        Points(channels=2), Congruence(), Subspaces(), Subspaces("projector", p=2),
        Subspaces(p=1, channels=3), Multivectors()]


@pytest.mark.parametrize("rep", REPS, ids=str)
def test_representation_values(rep):
    assert parse_representation(str(rep)) == rep
    assert hash(parse_representation(str(rep))) == hash(rep)
    assert eval(repr(rep)) == rep  # noqa: S307
    with pytest.raises(AttributeError):
        rep.channels = 5


@pytest.mark.parametrize("text", ["T", "Tx", "0xT1", "vector", "subspaces(0)", "points(2)",
                                  "T-1"])
def test_representation_parse_errors(text):
    with pytest.raises(ValueError):
        parse_representation(text)


def _independent_action(rep, g, x):
    """Reference actions written with explicit loops / dense matrices."""
    d = x.shape[-1] if not isinstance(rep, (Congruence, Subspaces)) else x.shape[-2]
    if isinstance(rep, Multivectors):
        d = int(math.log2(x.shape[-1]))
    a, t = (g[:d, :d], g[:d, d]) if g.shape[-1] == d + 1 else (g, torch.zeros(d, dtype=g.dtype))
    if isinstance(rep, Vectors):
        return torch.einsum("ij,...j->...i", a, x)
    if isinstance(rep, Points):
        return torch.einsum("ij,...j->...i", a, x) + t
    if isinstance(rep, Congruence):
        return torch.einsum("ij,...jk,lk->...il", a, x, a)
    if isinstance(rep, Multivectors):
        return torch.einsum("ij,...j->...i", outermorphism(a), x)
    raise AssertionError(rep)


@pytest.mark.parametrize("group", [OrthogonalGroup(3), GLPlus(3), EuclideanGroup(3),
                                   Affine(SL(3)), PseudoOrthogonal(2, 1)], ids=str)
@pytest.mark.parametrize("rep", [Vectors(), Points(), Congruence(), Multivectors()], ids=str)
def test_representation_actions_against_reference(group, rep):
    g = group.sample(3, generator=0)
    x = rep.random(group.n, group.space_dim, (3, 2), torch.Generator().manual_seed(1))
    batched = group.act(g, x, rep)
    for b in range(3):
        expected = _independent_action(rep, g[b], x[b])
        torch.testing.assert_close(batched[b], expected, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(group.act(g[b], x[b], str(rep)), expected, rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("group", [g for gs in EXAMPLES.values() for g in gs], ids=str)
def test_representations_are_actions(group):
    # g·(h·x) = (gh)·x and e·x = x for every representation (subspaces as projectors)
    g, h = group.sample(2, generator=3)
    for rep in REPS:
        if isinstance(rep, Multivectors) and group.space_dim > 4:
            continue
        x = rep.random(group.n, group.space_dim, (2,), torch.Generator().manual_seed(0))
        if isinstance(rep, TensorPower) and rep.channels:
            x = x.reshape(2, rep.channels, *([group.n] * rep.order))
        left = rep.comparable(group.act(g, group.act(h, x, rep), rep))
        right = rep.comparable(group.act(g @ h, x, rep))
        torch.testing.assert_close(left, right, rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(rep.comparable(group.act(group.identity(), x, rep)),
                                   rep.comparable(x), rtol=1e-12, atol=1e-12)


def test_representations_are_actions_batched():
    # one element per leading entry of x: g_b·(h_b·x_b) = (g_b h_b)·x_b
    for group in (OrthogonalGroup(3), GLPlus(3), EuclideanGroup(3)):
        g, h = group.sample(2, generator=3), group.sample(2, generator=4)
        for rep in REPS:
            x = rep.random(group.n, group.space_dim, (2, 3), torch.Generator().manual_seed(0))
            left = rep.comparable(group.act(g, group.act(h, x, rep), rep))
            right = rep.comparable(group.act(g @ h, x, rep))
            torch.testing.assert_close(left, right, rtol=1e-9, atol=1e-9)
            single = torch.stack([group.act(g[b], x[b], rep) for b in range(2)])
            torch.testing.assert_close(rep.comparable(group.act(g, x, rep)),
                                       rep.comparable(single), rtol=1e-12, atol=1e-12)


def test_subspaces_move_the_span():
    group = OrthogonalGroup(4)
    g = group.sample(1, generator=0)[0]
    u = Subspaces(p=2).random(4, 4, (1,), torch.Generator().manual_seed(0))[0]
    moved = Subspaces().act(g, u)
    torch.testing.assert_close(moved.T @ moved, torch.eye(2, dtype=torch.float64))
    projector = Subspaces("projector").act(g, u @ u.T)
    torch.testing.assert_close(projector, g @ u @ u.T @ g.T)
    torch.testing.assert_close(moved @ moved.T, projector)


def test_old_act_forms_still_work():
    group = OrthogonalGroup(3)
    g = group.sample(2, generator=0)
    x = torch.randn(2, 3, 3, dtype=torch.float64)
    expected = act(g, x, 2)
    for result in (group.act(g, x, 2), group.act(g, x, order=2), group.act(g, x, "T2"),
                   group.act(g, x, TensorPower(2))):
        torch.testing.assert_close(result, expected, rtol=0, atol=0)
    torch.testing.assert_close(group.act(g, x, Congruence()), expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(TypeError, match="exactly one"):
        group.act(g, x, 2, order=2)
    with pytest.raises(ValueError, match="3, 3"):
        group.act(torch.eye(4, dtype=torch.float64), x, 2)


def test_euclidean_and_affine_share_the_homogeneous_vocabulary():
    from geomlayers.groups import join_homogeneous, split_homogeneous
    from geomlayers.groups.euclidean import compose, split

    assert split is split_homogeneous and compose is join_homogeneous
    for group in (EuclideanGroup(3), Affine(GLPlus(3))):
        g = group.sample(4, generator=0)
        a, t = split_homogeneous(g)
        torch.testing.assert_close(join_homogeneous(a, t), g, rtol=0, atol=0)
        p = torch.randn(4, 5, 3, dtype=torch.float64)
        torch.testing.assert_close(group.act_points(g, p),
                                   p @ a.transpose(-1, -2) + t.unsqueeze(1), rtol=1e-12,
                                   atol=1e-12)
    affine = Affine(GLPlus(2))
    g = affine.sample(2, generator=1)
    torch.testing.assert_close(affine.join(*affine.split(g)), g, rtol=0, atol=0)
