import itertools
import math
import warnings

import networkx as nx
import pytest
import torch
from torch import nn

from geomlayers.groups import (
    OrthogonalGroup,
    Points,
    SpecialOrthogonalGroup,
    SymmetricGroup,
    Trivial,
    Vectors,
)
from geomlayers.groups.euclidean import (
    EuclideanGroup,
    SpecialEuclideanGroup,
    TranslationGroup,
    compose,
    split,
)
from geomlayers.nn.fa_gnn import GNN
from geomlayers.nn.frames import (  # noqa: I001
    DegenerateFrameWarning,
    FrameAveraging,
    FrameWarning,
    PCAFrame,
    PermutationFrame,
    batch_layout,
    make_frame,
)
from geomlayers.testing import assert_equivariant, equivariance_error

F64 = torch.float64


def mlp(n_points, d=3, out=1, dtype=F64, seed=0):
    """A plain MLP on the flattened cloud: neither invariant nor permutation-equivariant."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(n_points * d, 32), nn.Tanh(),
                         nn.Linear(32, out)).to(dtype)


class PointMLP(nn.Module):
    """(B, N, d) -> (B, N, d): an MLP on the flattened cloud, reshaped back per point."""

    def __init__(self, n_points, d=3, dtype=F64):
        super().__init__()
        self.net = mlp(n_points, d, n_points * d, dtype)
        self.shape = (n_points, d)

    def forward(self, x):
        return self.net(x).reshape(-1, *self.shape)


def random_e3(m, seed, reflections=True):
    """m elements of E(3) (homogeneous); with reflections, every second one has det -1."""
    g = EuclideanGroup(3, translation_scale=3.0).sample(m, seed)
    rotation, t = split(g)
    det = torch.linalg.det(rotation)
    want = torch.tensor([(-1.0) ** i if reflections else 1.0 for i in range(m)], dtype=F64)
    flip = torch.ones(m, 3, dtype=F64)
    flip[:, 0] = det * want
    return compose(rotation * flip.unsqueeze(-2), t)


def apply_e3(g, x):
    rotation, t = split(g)
    return x @ rotation.T + t


def invariant_error(fa, x, elements, **kw):
    """Worst |fa(g·x) - fa(x)| over E(3) ``elements`` (points in, invariant out)."""
    return equivariance_error(lambda y: fa(y, **kw), EuclideanGroup(3), rep_in=Points(),
                              rep_out=Trivial(), x=x, elements=elements)[0]


# ---------------------------------------------------------------- EuclideanGroup


def test_euclidean_group_homogeneous_convention():
    group = EuclideanGroup(3)
    g = group.sample(5, 0)
    assert group.n == 4 and group.dimension == 6 and not group.is_finite
    assert group.contains(g)
    x = torch.randn(5, 7, 3, dtype=F64)
    xh = torch.cat([x, torch.ones(5, 7, 1, dtype=F64)], -1)
    assert torch.allclose(group.act(g, xh, 1)[..., :3], group.act_points(g, x), atol=1e-14)
    back = group.act_points(group.inverse(g), group.act_points(g, x))
    assert torch.allclose(back, x, atol=1e-12)
    # composition is the matrix product: (g h) x = g (h x)
    h = group.sample(5, 1)
    assert torch.allclose(group.act_points(g @ h, x),
                          group.act_points(g, group.act_points(h, x)), atol=1e-12)
    rotation, t = split(g)
    assert torch.allclose(group.act_vectors(g, x), x @ rotation.transpose(-1, -2), atol=1e-14)
    dets = torch.linalg.det(EuclideanGroup(3).sample(200, 3)[:, :3, :3])
    assert (dets < 0).any() and (dets > 0).any()
    assert SpecialEuclideanGroup(3).contains(SpecialEuclideanGroup(3).sample(20, 0))
    assert not SpecialEuclideanGroup(3).contains(random_e3(2, 0))
    assert TranslationGroup(2).contains(TranslationGroup(2).sample(3, 0))
    assert not TranslationGroup(3).contains(g)
    # Lie algebra: exp of a generator stays in the group
    algebra = group.lie_algebra()
    assert algebra.shape == (6, 4, 4)
    assert group.contains(torch.linalg.matrix_exp(0.3 * algebra))
    assert EuclideanGroup(3) == EuclideanGroup(3) and hash(EuclideanGroup(3)) == hash(
        EuclideanGroup(3))


def test_euclidean_group_bad_input():
    with pytest.raises(ValueError, match="d must be"):
        EuclideanGroup(0)
    with pytest.raises(ValueError, match="translation_scale"):
        EuclideanGroup(3, translation_scale=0.0)
    with pytest.raises(ValueError, match="d=3"):
        EuclideanGroup(3).act_points(EuclideanGroup(3).sample(1)[0], torch.randn(4, 2))
    assert not EuclideanGroup(3).contains(torch.eye(3, dtype=F64))


# ---------------------------------------------------------------- PCA frames


@pytest.mark.parametrize("name,d,size,group", [
    ("E3", 3, 8, EuclideanGroup(3)), ("O3", 3, 8, OrthogonalGroup(3)),
    ("SO3", 3, 4, SpecialOrthogonalGroup(3)), ("SE3", 3, 4, SpecialEuclideanGroup(3)),
    ("T3", 3, 1, TranslationGroup(3)), ("translations", 3, 1, TranslationGroup(3)),
    ("En", 4, 16, EuclideanGroup(4)), ("On", 2, 4, OrthogonalGroup(2)),
    ("SOn", 4, 8, SpecialOrthogonalGroup(4)), ("E5", 5, 32, EuclideanGroup(5)),
])
def test_frame_sizes_and_groups(name, d, size, group):
    x = torch.randn(3, 9, d, dtype=F64)
    elements = make_frame(name)(x)
    assert elements.size == size and elements.group == group
    mats = elements.matrices()
    assert group.contains(mats.reshape(-1, *mats.shape[-2:]))
    assert torch.allclose(elements.weights.sum(1), torch.ones(3, dtype=F64))
    # all elements of one frame are distinct
    flat = mats.reshape(3, size, -1)
    assert (torch.cdist(flat, flat) + torch.eye(size, dtype=F64)).min() > 1e-6


def test_frame_is_equivariant_as_a_set():
    """F(g·X) = g·F(X): the frame of a moved cloud is the moved frame (as sets)."""
    x = torch.randn(1, 12, 3, dtype=F64)
    frame = make_frame("E3")
    for g in random_e3(4, 1):
        moved = frame(apply_e3(g, x)).matrices()[0]
        expected = (g @ frame(x).matrices()[0])
        distance = torch.cdist(moved.reshape(8, -1), expected.reshape(8, -1))
        assert distance.min(1).values.max() < 1e-10  # each moved element is some g·f


@pytest.mark.parametrize("frame", ["E3", "O3"])
def test_invariance_of_mlp_under_e3_with_reflections(frame):
    x = torch.randn(4, 6, 3, dtype=F64)
    fa = FrameAveraging(mlp(6), frame=frame, mode="invariant")
    elements = random_e3(6, 2) if frame == "E3" else random_e3(6, 2)[:, :3, :3]
    assert fa.group == make_frame(frame).group(3) and fa.rep_out == Trivial()
    assert assert_equivariant(fa, x=x, elements=elements)[0] < 1e-10
    # the backbone alone is far from invariant (so the test can fail)
    moved = fa.group.act(elements[1], x, Points())
    assert float((fa.backbone(moved) - fa.backbone(x)).abs().max()) > 1e-2


def test_equivariance_of_point_mlp_with_public_testing_api():
    fa = FrameAveraging(PointMLP(5), frame="E3", mode="equivariant")
    assert fa.output_type == "point"
    assert (fa.group, fa.rep_in, fa.rep_out) == (EuclideanGroup(3), Points(), Points())
    assert assert_equivariant(fa, batch_shape=(3, 5), elements=random_e3(6, 3))[0] < 1e-10
    # vector outputs (R y only) are translation invariant and rotate
    fa_v = FrameAveraging(PointMLP(5), frame="E3", mode="equivariant", output_type="vector")
    assert fa_v.rep_out == Vectors()
    assert assert_equivariant(fa_v, batch_shape=(3, 5), elements=random_e3(4, 4))[0] < 1e-10


def test_so3_frame_is_exact_for_rotations_and_fails_for_reflections():
    x = torch.randn(2, 7, 3, dtype=F64)
    fa = FrameAveraging(PointMLP(7), frame="SE3", mode="equivariant")
    assert fa.frame(x).size == 4

    assert fa.group == SpecialEuclideanGroup(3)
    assert assert_equivariant(fa, x=x, elements=random_e3(4, 5, reflections=False))[0] < 1e-10
    reflections = random_e3(4, 5)[1::2]
    errors = [equivariance_error(fa, EuclideanGroup(3), x=x, elements=g)[0] for g in reflections]
    assert min(errors) > 1e-3  # the pitfall of 4-element frames
    fa_e3 = FrameAveraging(PointMLP(7), frame="E3", mode="equivariant")
    fa_e3.backbone = fa.backbone
    assert assert_equivariant(fa_e3, x=x, elements=reflections)[0] < 1e-10


def test_higher_dimensions_en_and_on():
    x = torch.randn(2, 8, 4, dtype=F64)
    fa = FrameAveraging(mlp(8, d=4), frame="On", mode="invariant")
    assert fa.group is None  # size-free: the group is given to the test
    assert assert_equivariant(fa, OrthogonalGroup(4), rep_in=fa.rep_in, rep_out=fa.rep_out,
                              x=x, num_elements=3)[0] < 1e-10
    fa_t = FrameAveraging(mlp(8, d=4), frame="translations", mode="invariant")
    assert float((fa_t(x + torch.randn(4, dtype=F64)) - fa_t(x)).abs().max()) < 1e-12


# ---------------------------------------------------------------- degenerate spectra


def cloud_with_spectrum(values, n=10, seed=0, rotate=True):
    """A centred cloud whose covariance has exactly the eigenvalues ``values``."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, len(values), dtype=F64, generator=gen)
    x = x - x.mean(0)
    # whiten: covariance -> identity, then scale each axis
    evals, evecs = torch.linalg.eigh(x.T @ x)
    x = x @ evecs / evals.sqrt() * torch.tensor(values, dtype=F64).sqrt()
    if rotate:
        x = x @ OrthogonalGroup(len(values)).sample(1, seed)[0].T
    return x.unsqueeze(0)


def test_degenerate_spectrum_breaks_the_plain_frame_and_is_resolved():
    x = cloud_with_spectrum([4.0, 4.0, 2.0])
    cov = x[0].T @ x[0]
    assert torch.allclose(torch.linalg.eigvalsh(cov), torch.tensor([2.0, 4, 4], dtype=F64))
    elements = random_e3(6, 7)
    naive = FrameAveraging(mlp(10), "E3", "invariant", on_degenerate="ignore")
    resolved = FrameAveraging(mlp(10), "E3", "invariant")
    resolved.backbone = naive.backbone
    assert invariant_error(naive, x, elements) > 1e-3  # the measured pitfall
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateFrameWarning)
        assert invariant_error(resolved, x, elements) < 1e-10


def test_near_degenerate_spectrum_is_resolved():
    x = cloud_with_spectrum([3.0, 3.0 * (1 + 1e-9), 1.0], seed=3)
    fa = FrameAveraging(PointMLP(10), "E3", "equivariant")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateFrameWarning)
        err = equivariance_error(fa, x=x, elements=random_e3(4, 8))[0]
    assert err < 1e-8


def test_symmetric_cloud_warns_and_raise_mode_raises():
    cube = torch.tensor(list(itertools.product((-1.0, 1.0), repeat=3)), dtype=F64)[None]
    fa = FrameAveraging(mlp(8), "E3", "invariant")
    with pytest.warns(DegenerateFrameWarning, match="gap"):
        fa(cube)
    with pytest.warns(DegenerateFrameWarning):
        FrameAveraging(mlp(8), "E3", "invariant", on_degenerate="warn")(
            cloud_with_spectrum([4.0, 4.0, 2.0], n=8))
    with pytest.raises(ValueError, match="degenerate"):
        FrameAveraging(mlp(8), "E3", "invariant", on_degenerate="raise")(cube)


# ---------------------------------------------------------------- batching


def test_masked_dense_batch_ignores_padding_and_is_invariant():
    torch.manual_seed(1)
    x = torch.randn(3, 7, 3, dtype=F64)
    mask = torch.tensor([[1] * 7, [1] * 5 + [0] * 2, [1] * 4 + [0] * 3], dtype=torch.bool)
    fa = FrameAveraging(mlp(7), "E3", "invariant")
    ref = fa(x, mask=mask)
    garbage = x.clone()
    garbage[~mask] = 100.0
    assert torch.allclose(fa(garbage, mask=mask), ref, atol=1e-12)
    assert invariant_error(fa, x, random_e3(4, 9), mask=mask) < 1e-10
    # the frame of a padded cloud is the frame of the cloud alone
    alone = make_frame("E3")(x[2:, :4]).matrices()
    padded = make_frame("E3")(x, mask=mask).matrices()[2:]
    assert torch.allclose(alone, padded, atol=1e-12)


class PooledGNN(nn.Module):
    """A PyG GNN on raw coordinates (not E(3)-invariant), sum-pooled per graph."""

    def __init__(self, graph_level=True):
        super().__init__()
        torch.manual_seed(0)
        self.gnn = GNN(3, 1, 3, hidden=16, layers=2, dtype=F64)
        self.graph_level = graph_level

    def forward(self, pos, edge_index, edge_attr, batch):
        out = self.gnn(pos, edge_index, edge_attr)
        if not self.graph_level:
            return out
        return torch.zeros(int(batch.max()) + 1, 3, dtype=out.dtype).index_add_(0, batch, out)


def pyg_batch(sizes, seed=0):
    gen = torch.Generator().manual_seed(seed)
    pos = torch.randn(sum(sizes), 3, dtype=F64, generator=gen)
    batch = torch.arange(len(sizes)).repeat_interleave(torch.tensor(sizes))
    starts = [0, *itertools.accumulate(sizes)]
    edges = [(starts[b] + i, starts[b] + j) for b, s in enumerate(sizes)
             for i in range(s) for j in range(s) if i != j]
    edge_index = torch.tensor(edges).T
    edge_attr = torch.randn(edge_index.shape[1], 1, dtype=F64, generator=gen)
    return pos, batch, edge_index, edge_attr


def test_pyg_gnn_graphs_of_different_sizes_invariance_equivariance_permutation():
    pos, batch, edge_index, edge_attr = pyg_batch([4, 6, 5])
    inv = FrameAveraging(PooledGNN(), "E3", "invariant")
    eqv = FrameAveraging(PooledGNN(graph_level=False), "E3", "equivariant")
    ref_inv = inv(pos, batch=batch, edge_index=edge_index, edge_attr=edge_attr)
    ref_eqv = eqv(pos, batch=batch, edge_index=edge_index, edge_attr=edge_attr)
    assert ref_inv.shape == (3, 3) and ref_eqv.shape == pos.shape
    gs = random_e3(3, 11)  # one different element per graph
    moved = torch.cat([apply_e3(gs[b], pos[batch == b]) for b in range(3)])
    out_inv = inv(moved, batch=batch, edge_index=edge_index, edge_attr=edge_attr)
    out_eqv = eqv(moved, batch=batch, edge_index=edge_index, edge_attr=edge_attr)
    assert torch.allclose(out_inv, ref_inv, atol=1e-10)
    expected = torch.cat([apply_e3(gs[b], ref_eqv[batch == b]) for b in range(3)])
    assert torch.allclose(out_eqv, expected, atol=1e-10)
    assert float((inv.backbone(moved, edge_index, edge_attr, batch) -
                  inv.backbone(pos, edge_index, edge_attr, batch)).abs().max()) > 1e-3
    # node permutation (within graphs): output permutes the same way
    perm = torch.cat([torch.randperm(s, generator=torch.Generator().manual_seed(s)) + o
                      for s, o in ((4, 0), (6, 4), (5, 10))])
    inverse = torch.argsort(perm)
    edge_p = inverse[edge_index]
    out_p = eqv(pos[perm], batch=batch, edge_index=edge_p, edge_attr=edge_attr)
    assert torch.allclose(out_p, ref_eqv[perm], atol=1e-10)
    assert torch.allclose(inv(pos[perm], batch=batch, edge_index=edge_p, edge_attr=edge_attr),
                          ref_inv, atol=1e-10)
    # the flat (PyG) path equals the dense path graph by graph
    dense_frame = make_frame("E3")(pos[4:10].unsqueeze(0)).matrices()
    flat_frame = make_frame("E3")(pos, batch=batch).matrices()[1:2]
    assert torch.allclose(dense_frame, flat_frame, atol=1e-12)


def test_backbone_called_once_on_folded_batch():
    calls = []

    class Spy(nn.Module):
        def forward(self, x):
            calls.append(tuple(x.shape))
            return x.sum((1, 2)).unsqueeze(-1)

    FrameAveraging(Spy(), "E3", "invariant")(torch.randn(5, 4, 3, dtype=F64))
    assert calls == [(40, 4, 3)]


def test_stochastic_frame_averaging():
    x = torch.randn(2, 6, 3, dtype=F64)
    fa = FrameAveraging(mlp(6), "E3", "invariant", stochastic=1, generator=0)
    per_element = fa.backbone(fa.frame.canonicalize(
        fa.frame(x), x, "point", _dense_layout(x))).reshape(2, 8)
    fa.train()
    single = fa(x)[:, 0]
    assert all(bool((per_element[b] - single[b]).abs().min() < 1e-12) for b in range(2))
    fa.eval()
    assert torch.allclose(fa(x)[:, 0], per_element.mean(1), atol=1e-12)
    full = FrameAveraging(mlp(6), "E3", "invariant", stochastic=8)
    full.backbone = fa.backbone
    full.train()
    assert torch.allclose(full(x)[:, 0], per_element.mean(1), atol=1e-12)
    # Monte-Carlo estimate converges to the full average (400 independent draws per cloud,
    # as 400 copies of each cloud in one batch)
    fa.train()
    estimate = fa(x.repeat_interleave(400, 0))[:, 0].reshape(2, 400).mean(1)
    spread = per_element.std(1) / math.sqrt(400)
    assert bool(((estimate - per_element.mean(1)).abs() < 5 * spread + 1e-12).all())


def _dense_layout(x):
    from geomlayers.nn.frames import batch_layout as _layout
    return _layout(x, None, None, None, 1)


def test_float32_smoke():
    x = torch.randn(3, 6, 3)
    fa = FrameAveraging(PointMLP(6, dtype=torch.float32), "E3", "equivariant")
    out = fa(x)
    assert out.dtype == torch.float32 and out.shape == x.shape
    g = random_e3(2, 12)[1].float()
    assert float((fa(apply_e3(g, x)) - apply_e3(g, out)).abs().max()) < 1e-3
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in fa.backbone.parameters())


# ---------------------------------------------------------------- S_n frames


def dense_adjacency(graph, n=None):
    n = n or graph.number_of_nodes()
    adjacency = torch.zeros(n, n, dtype=F64)
    for i, j in graph.edges():
        adjacency[i, j] = adjacency[j, i] = 1
    return adjacency


def automorphism_count(graph):
    return sum(1 for _ in nx.algorithms.isomorphism.GraphMatcher(graph, graph).isomorphisms_iter())


@pytest.mark.parametrize("graph,minimal", [
    (nx.star_graph(3), True), (nx.path_graph(3), True), (nx.complete_graph(4), True),
    (nx.complete_bipartite_graph(2, 3), True), (nx.path_graph(4), False),
    (nx.cycle_graph(4), False), (nx.frucht_graph(), False)])
def test_sn_frame_is_a_union_of_automorphism_cosets(graph, minimal):
    """F(G) is closed under Aut(G), so |F| is a multiple of |Aut(G)|; where the tie blocks
    are the automorphism orbits (``minimal``) it is exactly one coset."""
    frame = PermutationFrame(max_elements=200)
    elements = frame(dense_adjacency(graph)[None])
    aut = automorphism_count(graph)
    assert elements.size % aut == 0
    assert (elements.size == aut) == minimal
    if not minimal:
        return
    assert elements.group == SymmetricGroup(graph.number_of_nodes())
    # every element gives the same canonical adjacency, isomorphic to the graph
    canon = frame.canonicalize(elements, dense_adjacency(graph)[None], "adjacency",
                               _graph_layout(graph.number_of_nodes()))
    assert all(torch.equal(c, canon[0]) for c in canon)
    mats = elements.matrices()[0]
    a = dense_adjacency(graph)
    assert torch.equal(mats[0].T @ a @ mats[0], canon[0])


def _graph_layout(n, b=1):
    from geomlayers.nn.frames import BatchLayout as _Layout
    return _Layout(True, b, num_nodes=n)


def test_sn_frame_averaging_of_adjacency_mlp_is_invariant_and_equivariant():
    torch.manual_seed(0)
    graphs = [nx.gnp_random_graph(7, 0.4, seed=s) for s in range(3)] + [nx.path_graph(7)]
    adjacency = torch.stack([dense_adjacency(g) for g in graphs])
    features = torch.randn(4, 7, 2, dtype=F64)
    inv = FrameAveraging(mlp(7, d=7), "Sn", "invariant", max_elements=512)
    ref = inv(adjacency)
    for seed in range(3):
        p = torch.randperm(7, generator=torch.Generator().manual_seed(seed))
        assert torch.allclose(inv(adjacency[:, p][:, :, p]), ref, atol=1e-10)
    assert float((inv.backbone(adjacency[:, p][:, :, p]) - inv.backbone(adjacency))
                 .abs().max()) > 1e-3

    class NodeMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = mlp(7, d=9, out=7 * 2)

        def forward(self, a, x):
            return self.net(torch.cat([a, x], -1)).reshape(-1, 7, 2)

    eqv = FrameAveraging(NodeMLP(), "Sn", "equivariant", input_types=("adjacency", "node"),
                         max_elements=512)
    out = eqv(adjacency, features)
    for seed in range(3):
        p = torch.randperm(7, generator=torch.Generator().manual_seed(10 + seed))
        assert torch.allclose(eqv(adjacency[:, p][:, :, p], features[:, p]), out[:, p],
                              atol=1e-10)


def test_sn_frame_masked_graphs_of_different_sizes():
    small, large = nx.path_graph(3), nx.gnp_random_graph(6, 0.5, seed=1)
    adjacency = torch.stack([dense_adjacency(small, 6), dense_adjacency(large)])
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1] * 6], dtype=torch.bool)
    elements = PermutationFrame()(adjacency, mask=mask)
    assert elements.weights[0].gt(0).sum() == 2  # the path's two orderings
    assert bool((elements.permutation[0, :, 3:] >= 3).all())  # padding stays last
    fa = FrameAveraging(mlp(6, d=6), "Sn", "invariant")
    ref = fa(adjacency, mask=mask)
    p = torch.tensor([2, 0, 1, 5, 3, 4])  # permutes valid nodes among themselves
    assert torch.allclose(fa(adjacency[:, p][:, :, p], mask=mask[:, p]), ref, atol=1e-10)


def test_sn_frame_cap_warns():
    with pytest.warns(FrameWarning, match="max_elements"):
        elements = PermutationFrame(max_elements=16, generator=0)(
            dense_adjacency(nx.cycle_graph(6))[None])
    assert elements.size == 16


# ---------------------------------------------------------------- bad input


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown frame"):
        FrameAveraging(mlp(3), frame="Q3")
    assert FrameAveraging(mlp(3), frame="E(3)").group == EuclideanGroup(3)  # parse_group
    with pytest.raises(TypeError, match="frame must be"):
        make_frame(3)
    with pytest.raises(ValueError, match="mode"):
        FrameAveraging(mlp(3), frame="E3", mode="covariant")
    with pytest.raises(ValueError, match="input_types"):
        FrameAveraging(mlp(3), frame="E3", input_types=("vector",))
    with pytest.raises(ValueError, match="input_types"):
        FrameAveraging(mlp(3), frame="E3", input_types=("node",))
    with pytest.raises(ValueError, match="stochastic"):
        FrameAveraging(mlp(3), frame="E3", stochastic=0)
    with pytest.raises(ValueError, match="output_type"):
        FrameAveraging(mlp(3), frame="E3", mode="equivariant", output_type="node")
    with pytest.raises(TypeError, match="backbone"):
        FrameAveraging("mlp", frame="E3")
    fa = FrameAveraging(mlp(4), frame="E3")
    with pytest.raises(ValueError, match="d=3"):
        fa(torch.randn(2, 4, 2, dtype=F64))
    with pytest.raises(ValueError, match="NaN"):
        fa(torch.full((2, 4, 3), float("nan"), dtype=F64))
    with pytest.raises(ValueError, match="mask must have shape"):
        fa(torch.randn(2, 4, 3, dtype=F64), mask=torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="at least one node"):
        fa(torch.randn(2, 4, 3, dtype=F64), mask=torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="dense input"):
        fa(torch.randn(4, 3, dtype=F64))
    with pytest.raises(ValueError, match="batch"):
        fa(torch.randn(4, 3, dtype=F64), batch=torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="at least one node"):
        fa(torch.randn(4, 3, dtype=F64), batch=torch.zeros(4, dtype=torch.long), num_graphs=2)
    with pytest.raises(ValueError, match="positional inputs"):
        fa(torch.randn(2, 4, 3, dtype=F64), torch.randn(2, 4, 3, dtype=F64))
    with pytest.raises(TypeError, match="floating-point"):
        fa(torch.ones(2, 4, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="batch·|F|"):
        FrameAveraging(lambda x: x[:1], frame="E3")(torch.randn(2, 4, 3, dtype=F64))
    with pytest.raises(ValueError, match="symmetric"):
        PermutationFrame()(torch.triu(torch.ones(1, 3, 3), 1))
    with pytest.raises(ValueError, match="max_elements"):
        PermutationFrame(max_elements=0)
    with pytest.raises(ValueError, match="gap_tol"):
        PCAFrame(3, gap_tol=2.0)
    with pytest.raises(ValueError, match="on_degenerate"):
        PCAFrame(3, on_degenerate="perturb")


class PositionalGNN(nn.Module):
    """A PyG GNN that also reads each node's index within its graph: not S_n-equivariant."""

    def __init__(self, graph_level):
        super().__init__()
        torch.manual_seed(0)
        self.gnn = GNN(2 + 8, 1, 2, hidden=16, layers=2, dtype=F64)
        self.graph_level = graph_level

    def forward(self, x, edge_index, batch):
        counts = torch.bincount(batch)
        position = torch.arange(batch.shape[0]) - (torch.cumsum(counts, 0) - counts)[batch]
        ids = nn.functional.one_hot(position, 8).to(x.dtype)
        attr = torch.ones(edge_index.shape[1], 1, dtype=x.dtype)
        out = self.gnn(torch.cat([x, ids], -1), edge_index, attr)
        if not self.graph_level:
            return out
        return torch.zeros(int(batch.max()) + 1, 2, dtype=x.dtype).index_add_(0, batch, out)


def test_sn_frame_on_pyg_batches_of_different_sizes():
    sizes = [4, 6, 5]
    graphs = [nx.gnp_random_graph(s, 0.5, seed=s) for s in sizes]
    starts = [0, 4, 10]
    edges = [(o + i, o + j) for g, o in zip(graphs, starts, strict=True) for i, j in g.edges()]
    edge_index = torch.tensor(edges + [(j, i) for i, j in edges]).T
    batch = torch.arange(3).repeat_interleave(torch.tensor(sizes))
    x = torch.randn(15, 2, dtype=F64)
    inv = FrameAveraging(PositionalGNN(True), "Sn", "invariant", input_types=("node",))
    eqv = FrameAveraging(PositionalGNN(False), "Sn", "equivariant", input_types=("node",))
    ref_inv = inv(x, batch=batch, edge_index=edge_index)
    ref_eqv = eqv(x, batch=batch, edge_index=edge_index)
    assert ref_inv.shape == (3, 2) and ref_eqv.shape == (15, 2)
    for seed in range(3):
        gen = torch.Generator().manual_seed(seed)
        perm = torch.cat([torch.randperm(s, generator=gen) + o
                          for s, o in zip(sizes, starts, strict=True)])
        moved_edges = torch.argsort(perm)[edge_index]
        assert torch.allclose(inv(x[perm], batch=batch, edge_index=moved_edges), ref_inv,
                              atol=1e-10)
        assert torch.allclose(eqv(x[perm], batch=batch, edge_index=moved_edges), ref_eqv[perm],
                              atol=1e-10)
    assert float((inv.backbone(x[perm], moved_edges, batch) -
                  inv.backbone(x, edge_index, batch)).abs().max()) > 1e-3
    with pytest.raises(ValueError, match="edge_index"):
        inv(x, batch=batch)
    with pytest.raises(ValueError, match="sorted"):
        inv(x, batch=batch.flip(0), edge_index=edge_index)


# ---------------------------------------------------------------- frames through the group


@pytest.mark.parametrize("group,name", [
    (EuclideanGroup(3), "E3"), (SpecialEuclideanGroup(3), "SE3"), (TranslationGroup(2), "T2"),
    (OrthogonalGroup(3), "O3"), (SpecialOrthogonalGroup(3), "SO3"),
])
def test_frame_averaging_takes_a_group_and_its_name(group, name):
    d = getattr(group, "d", group.n)
    x = torch.randn(2, 6, d, dtype=F64)
    by_group, by_name = FrameAveraging(mlp(6, d), group), FrameAveraging(mlp(6, d), name)
    assert by_group.group == by_name.group == group
    assert torch.equal(by_group(x), by_name(x))
    assert make_frame(group).group(d) == group


def test_canonicalize_is_the_groups_action_of_the_inverse():
    x = torch.randn(2, 7, 3, dtype=F64)
    frame = make_frame(EuclideanGroup(3))
    elements = frame(x)
    layout = batch_layout(x, None, None, None, base_dims=1)
    canon = frame.canonicalize(elements, x, "point", layout).reshape(2, 8, 7, 3)
    group = EuclideanGroup(3)
    for b, k in itertools.product(range(2), range(8)):
        g = elements.elements[b, k]
        assert torch.allclose(canon[b, k], group.act_points(group.inverse(g), x[b]), atol=1e-12)
    y = torch.randn(2 * 8, 5, 3, dtype=F64)
    restored = frame.restore(elements, y, "point", layout, node_level=True)
    expected = group.act_points(elements.elements.reshape(16, 4, 4), y).reshape(2, 8, 5, 3)
    assert torch.allclose(restored, expected.mean(1), atol=1e-12)


def test_symmetric_group_frame_and_unsupported_groups():
    frame = make_frame(SymmetricGroup(4))
    assert isinstance(frame, PermutationFrame) and frame.n == 4
    path = torch.tensor([[[0.0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]]])
    assert frame(path).group == SymmetricGroup(4)
    with pytest.raises(ValueError, match="SymmetricGroup"):
        frame(torch.zeros(1, 3, 3))
    from geomlayers.groups import SymplecticGroup

    with pytest.raises(TypeError, match="PCA frames exist"):
        make_frame(SymplecticGroup(2))


def test_sn_frame_averaging_declares_its_group_and_passes_the_public_tester():
    torch.manual_seed(0)
    graphs = [nx.gnp_random_graph(6, 0.5, seed=s) for s in range(3)]
    adjacency = torch.stack([torch.tensor(nx.to_numpy_array(g), dtype=F64) for g in graphs])
    backbone = nn.Sequential(nn.Flatten(), nn.Linear(36, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    fa = FrameAveraging(backbone, SymmetricGroup(6), "invariant")
    assert (fa.group, str(fa.rep_in), fa.rep_out) == (SymmetricGroup(6), "T2", Trivial())
    assert assert_equivariant(fa, x=adjacency, num_elements=6)[0] < 1e-10
    assert float((backbone(adjacency.flip(1, 2)) - backbone(adjacency)).abs().max()) > 1e-3
