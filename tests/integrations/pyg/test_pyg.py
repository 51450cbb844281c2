"""torch_geometric integration: dense conversion, IGN / PPGN, DiagramConv, Aut(G) layers."""

import networkx as nx
import pytest

try:  # the `graphs` extra (PyG): without it this module is skipped
    import torch_geometric  # noqa: F401
except ModuleNotFoundError as error:
    pytest.skip(f"needs {error.name}: pip install 'geomlayers[graphs]'", allow_module_level=True)

import torch
from helpers import burnside_dimension, random_graph
from networkx.algorithms.isomorphism import GraphMatcher
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GINConv
from torch_geometric.utils import (
    coalesce,
    to_torch_coo_tensor,
    to_torch_csr_tensor,
    to_undirected,
)

import geomlayers.models.graphs.base as graph_base
import geomlayers.models.graphs.ign as ign_module
import geomlayers.models.graphs.ppgn as ppgn_module
from geomlayers.pyg import (
    PPGN,
    AutomorphismLinear,
    AutomorphismNetwork,
    DiagramConv,
    InvariantGraphNetwork,
    dense_readout,
    from_dense_order2,
    pair_mask,
    to_dense_order2,
)

SIZES = (5, 1, 8, 3, 6)


def relabel(graph, perm):
    """Node i of ``graph`` becomes node ``perm[i]``."""
    inverse = torch.argsort(perm)
    edge_index, edge_attr = coalesce(perm[graph.edge_index], graph.edge_attr,
                                     num_nodes=graph.num_nodes)
    return Data(x=graph.x[inverse], edge_index=edge_index, edge_attr=edge_attr,
                num_nodes=graph.num_nodes)


@pytest.fixture
def graphs():
    generator = torch.Generator().manual_seed(1)
    return [random_graph(n, 3, 2, generator) for n in SIZES]


def relabelled(graphs, seed=7):
    generator = torch.Generator().manual_seed(seed)
    perms = [torch.randperm(g.num_nodes, generator=generator) for g in graphs]
    return [relabel(g, p) for g, p in zip(graphs, perms, strict=True)], perms


# -- dense conversion -------------------------------------------------------------------------
def test_dense_matches_explicit_construction(graphs):
    batch = Batch.from_data_list(graphs)
    dense, mask = to_dense_order2(batch.x, batch.edge_index, batch.batch, batch.edge_attr)
    n_max = max(SIZES)
    assert dense.shape == (len(SIZES), 1 + 2 + 3, n_max, n_max) and dense.dtype == torch.float64
    for b, g in enumerate(graphs):
        n = g.num_nodes
        expected = torch.zeros(6, n_max, n_max, dtype=torch.float64)
        for (u, v), attr in zip(g.edge_index.T.tolist(), g.edge_attr, strict=True):
            expected[0, u, v] = 1.0
            expected[1:3, u, v] = attr
        for i in range(n):
            expected[3:, i, i] = g.x[i]
        assert torch.equal(dense[b], expected)
        assert mask[b].tolist() == [True] * n + [False] * (n_max - n)


def test_dense_round_trip(graphs):
    batch = Batch.from_data_list(graphs)
    dense, mask = to_dense_order2(batch.x, batch.edge_index, batch.batch, batch.edge_attr)
    x, edge_index, edge_attr, batch_vector = from_dense_order2(dense, mask, 3, 2)
    assert torch.equal(x, batch.x)
    assert torch.equal(edge_index, batch.edge_index)
    assert torch.equal(edge_attr, batch.edge_attr)
    assert torch.equal(batch_vector, batch.batch)


def test_dense_bad_input():
    with pytest.raises(TypeError, match="x must be a floating"):
        to_dense_order2(torch.ones(3, 2, dtype=torch.int64), torch.zeros(2, 0, dtype=torch.int64))
    with pytest.raises(ValueError, match="edge_index"):
        to_dense_order2(torch.ones(3, 2), torch.zeros(3, 1, dtype=torch.int64))
    with pytest.raises(ValueError, match="dense must have shape"):
        from_dense_order2(torch.zeros(1, 4, 3, 3), torch.ones(1, 3, dtype=torch.bool), 3, 2)
    with pytest.raises(TypeError, match="edge_index must be an int64/int32"):
        to_dense_order2(torch.ones(3, 2), torch.zeros(2, 1))
    with pytest.raises(ValueError, match=r"outside \[0, N = 3\)"):
        to_dense_order2(torch.ones(3, 2), torch.tensor([[0, 1], [1, 3]]))
    with pytest.raises(ValueError, match=r"outside \[0, N = 3\)"):
        to_dense_order2(torch.ones(3, 2), torch.tensor([[0, -1], [1, 2]]))
    with pytest.raises(ValueError, match="x holds NaN or inf"):
        to_dense_order2(torch.tensor([[1.0], [float("nan")], [0.0]]), torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="edge_attr holds NaN or inf"):
        to_dense_order2(torch.ones(3, 2), torch.tensor([[0], [1]]),
                        edge_attr=torch.tensor([float("inf")]))


def test_readout_ignores_padding():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 4, 4, generator=generator, dtype=torch.float64)
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    for reduce in ("max", "sum", "mean"):
        out = dense_readout(x, mask, reduce)
        for b, n in enumerate((3, 2)):
            alone = dense_readout(x[b : b + 1, :, :n, :n], mask[b : b + 1, :n], reduce)
            torch.testing.assert_close(out[b : b + 1], alone, rtol=0, atol=1e-12)
    eye = torch.eye(3, dtype=torch.bool)
    top = x[0, :, :3, :3]
    expected = torch.stack([top[:, eye].max(-1).values, top[:, ~eye].max(-1).values])
    torch.testing.assert_close(dense_readout(x[:1, :, :3, :3], mask[:1, :3])[0],
                               expected.reshape(-1))


# -- IGN / PPGN -------------------------------------------------------------------------------
def models(dtype=torch.float64):
    torch.manual_seed(0)
    return {
        "ign-max": InvariantGraphNetwork(3, 6, 4, num_layers=2, edge_channels=2, dtype=dtype),
        "ign-mean": InvariantGraphNetwork(3, 6, 4, num_layers=2, edge_channels=2,
                                          readout="mean", dtype=dtype),
        "ign-sum": InvariantGraphNetwork(3, 6, 4, num_layers=2, readout="sum", dtype=dtype),
        "ign-order3": InvariantGraphNetwork(3, 4, 4, orders=(3, 2), edge_channels=2,
                                            dtype=dtype),
        "ign-order3-mean": InvariantGraphNetwork(3, 4, 4, orders=(1, 3), readout="mean",
                                                 dtype=dtype),
        "ign-widths": InvariantGraphNetwork(3, (4, 5, 7), 4, edge_channels=2,
                                            mlp_channels=(8, 6), dtype=dtype),
        "ppgn-max": PPGN(3, 6, 4, num_blocks=2, edge_channels=2, dtype=dtype),
        "ppgn-sum": PPGN(3, 6, 4, num_blocks=2, readout="sum", dtype=dtype),
    }


@pytest.mark.parametrize("name", ["ign", "ppgn"])
def test_node_output_equivariant_and_batch_independent(graphs, name):
    """Node outputs (IGN and PPGN): relabelling a graph moves its rows, and a padded batch
    gives each graph's rows alone."""
    torch.manual_seed(0)
    model = (InvariantGraphNetwork(3, 5, 4, num_layers=2, edge_channels=2, output="node",
                                   dtype=torch.float64) if name == "ign" else
             PPGN(3, 5, 4, num_blocks=2, edge_channels=2, output="node", dtype=torch.float64))
    out = model(Batch.from_data_list(graphs))
    assert out.shape == (sum(SIZES), 4)
    alone = torch.cat([model(Batch.from_data_list([g])) for g in graphs])
    torch.testing.assert_close(out, alone, rtol=0, atol=1e-10)
    moved, perms = relabelled(graphs)
    moved_out = model(Batch.from_data_list(moved))
    offsets = torch.tensor([0, *SIZES]).cumsum(0)[:-1]
    for g, perm, offset in zip(graphs, perms, offsets, strict=True):
        torch.testing.assert_close(moved_out[offset + perm], out[offset : offset + g.num_nodes],
                                   rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", list(models()))
def test_models_invariant_under_relabelling(graphs, name):
    model = models()[name]
    out = model(Batch.from_data_list(graphs))
    assert out.shape == (len(SIZES), 4) and out.dtype == torch.float64
    for seed in (3, 4):
        moved, _ = relabelled(graphs, seed)
        torch.testing.assert_close(model(Batch.from_data_list(moved)), out, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", list(models()))
def test_padded_batch_equals_each_graph_alone(graphs, name):
    model = models()[name]
    out = model(Batch.from_data_list(graphs))
    alone = torch.cat([model(Batch.from_data_list([g])) for g in graphs])
    torch.testing.assert_close(out, alone, rtol=0, atol=1e-10)


def test_size_groups_bound_the_padding(monkeypatch):
    monkeypatch.setattr(graph_base, "_MIN_GROUP_COST", 0.0)
    extent = torch.tensor([3, 110, 2, 40, 7, 108])
    groups = graph_base.size_groups(extent, 3)
    assert sorted(torch.cat(groups).tolist()) == list(range(6))
    assert extent[groups[0]].tolist()[:2] == [110, 108] and len(groups) >= 2
    for group in groups:
        cubes = extent[group].double() ** 3
        assert len(group) * cubes.max() <= 2.0 * cubes.sum()


@pytest.mark.parametrize("name", ["ign-max", "ign-order3", "ppgn-max", "ppgn-sum"])
def test_size_grouping_gives_the_padded_numbers(monkeypatch, name):
    """Graphs of mixed sizes run in several cropped groups: same rows as one padded batch,
    also when the mask leaves gaps between a graph's nodes."""
    monkeypatch.setattr(graph_base, "_MIN_GROUP_COST", 0.0)
    generator = torch.Generator().manual_seed(5)
    batch = Batch.from_data_list([random_graph(n, 3, 2, generator) for n in (3, 30, 2, 12, 29)])
    model = models()[name]
    edge_attr = batch.edge_attr if model.edge_channels else None
    dense, mask = to_dense_order2(batch.x, batch.edge_index, batch.batch, edge_attr)
    power = 3 if name != "ign-max" else 2
    assert len(graph_base.size_groups(graph_base.node_extent(mask), power)) > 1
    padded = model._forward_padded(dense, mask)
    torch.testing.assert_close(model.forward_dense(dense, mask), padded, rtol=0, atol=1e-10)
    slots = torch.randperm(34, generator=generator)[:30]  # real nodes spread over 34 slots
    wide = dense.new_zeros(dense.shape[:2] + (34, 34))
    wide[:, :, slots[:, None], slots] = dense
    wide_mask = mask.new_zeros(mask.shape[0], 34)
    wide_mask[:, slots] = mask
    torch.testing.assert_close(model.forward_dense(wide, wide_mask), padded, rtol=0, atol=1e-10)


def test_ign_node_output_equivariant(graphs):
    torch.manual_seed(0)
    model = InvariantGraphNetwork(3, 6, 4, num_layers=2, edge_channels=2, output="node",
                                  dtype=torch.float64)
    out = model(Batch.from_data_list(graphs))
    assert out.shape == (sum(SIZES), 4)
    moved, perms = relabelled(graphs)
    moved_out = model(Batch.from_data_list(moved))
    offsets = torch.tensor([0, *SIZES]).cumsum(0)[:-1]
    for g, perm, offset in zip(graphs, perms, offsets, strict=True):
        block = out[offset : offset + g.num_nodes]
        torch.testing.assert_close(moved_out[offset + perm], block, rtol=0, atol=1e-10)


def test_float32_smoke(graphs):
    graphs32 = [Data(x=g.x.float(), edge_index=g.edge_index, edge_attr=g.edge_attr.float())
                for g in graphs]
    for model in models(torch.float32).values():
        out = model(Batch.from_data_list(graphs32))
        assert out.dtype == torch.float32 and torch.isfinite(out).all()
        out.sum().backward()


def test_ign_order3_node_output_equivariant(graphs):
    torch.manual_seed(1)
    model = InvariantGraphNetwork(3, 4, 2, orders=(3, 3), edge_channels=2, output="node",
                                  dtype=torch.float64)
    assert [len(layer.basis) for layer in model.layers] == [52, 203]  # Bell(5), Bell(6)
    out = model(Batch.from_data_list(graphs))
    moved, perms = relabelled(graphs, 7)
    moved_out = model(Batch.from_data_list(moved))
    offsets = torch.tensor([0, *SIZES]).cumsum(0)[:-1]
    for g, perm, offset in zip(graphs, perms, offsets, strict=True):
        block = out[offset : offset + g.num_nodes]
        torch.testing.assert_close(moved_out[offset + perm], block, rtol=0, atol=1e-10)


def test_ign_bad_orders():
    with pytest.raises(ValueError, match="orders"):
        InvariantGraphNetwork(3, 4, 2, orders=(2, 4))
    with pytest.raises(ValueError, match="readout"):
        InvariantGraphNetwork(3, 4, 2, orders=(3,), readout="max")


def test_model_bad_channels(graphs):
    with pytest.raises(ValueError, match="hidden_channels"):
        InvariantGraphNetwork(3, 0, 2)
    with pytest.raises(ValueError, match="readout"):
        PPGN(3, 4, 2, readout="median")
    with pytest.raises(ValueError, match="in_channels"):
        InvariantGraphNetwork(5, 4, 2, dtype=torch.float64)(Batch.from_data_list(graphs))
    with pytest.raises(TypeError, match="Data or Batch"):
        InvariantGraphNetwork(3, 4, 2)(torch.ones(4, 3))
    dense, mask = to_dense_order2(torch.ones(3, 3), torch.tensor([[0], [1]]))
    for model in (InvariantGraphNetwork(3, 4, 2), PPGN(3, 4, 2)):
        with pytest.raises(ValueError, match=r"dense must have shape \(B, 4, n, n\)"):
            model.forward_dense(dense[..., :2], mask)
        with pytest.raises(ValueError, match=r"mask must have shape \(batch=1, n=3\)"):
            model.forward_dense(dense, mask[:, :2])
        with pytest.raises(TypeError, match="mask must be a bool"):
            model.forward_dense(dense, mask.float())
        with pytest.raises(ValueError, match="dense holds NaN"):
            model.forward_dense(dense * float("nan"), mask)


def _cycles():
    """C6 and two triangles: 1-WL (hence GIN and 2-IGN) cannot tell them apart; 3-WL can."""
    hexagon = nx.cycle_graph(6)
    triangles = nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3))
    out = []
    for g in (hexagon, triangles):
        edge_index = to_undirected(torch.tensor(list(g.edges)).T, num_nodes=6)
        out.append(Data(x=torch.ones(6, 1, dtype=torch.float64), edge_index=edge_index))
    return Batch.from_data_list(out)


def test_expressivity_ppgn_separates_what_1wl_cannot():
    torch.manual_seed(0)
    batch = _cycles()
    ign = InvariantGraphNetwork(1, 8, 4, num_layers=3, dtype=torch.float64)
    ppgn = PPGN(1, 8, 4, num_blocks=2, dtype=torch.float64)
    gin = GINConv(torch.nn.Linear(1, 4).double())
    ign_out, ppgn_out = ign(batch), ppgn(batch)
    gin_out = gin(batch.x, batch.edge_index)
    assert (ign_out[0] - ign_out[1]).abs().max() < 1e-10
    assert (gin_out[:6].sum(0) - gin_out[6:].sum(0)).abs().max() < 1e-10
    assert (ppgn_out[0] - ppgn_out[1]).abs().max() > 1e-4


# -- message passing --------------------------------------------------------------------------
def test_diagram_conv_matches_dense_reference(graphs):
    torch.manual_seed(0)
    conv = DiagramConv(3, 5, dtype=torch.float64)
    batch = Batch.from_data_list(graphs)
    out = conv(batch.x, batch.edge_index, batch.batch)
    offset = 0
    w = conv.weight.detach()
    for g in graphs:
        n = g.num_nodes
        adjacency = torch.zeros(n, n, dtype=torch.float64)
        adjacency[g.edge_index[1], g.edge_index[0]] = 1.0
        means = g.x.mean(0, keepdim=True).expand(n, -1)
        expected = g.x @ w[0].T + means @ w[1].T + adjacency @ g.x @ w[2].T + conv.bias
        torch.testing.assert_close(out[offset : offset + n], expected, rtol=0, atol=1e-12)
        offset += n


def test_diagram_conv_edge_features_match_dense_reference(graphs):
    """``edge_dim``: ``+ Σ_j Σ_d a_ji[d] W4_d x_j + V Σ_j a_ji`` against explicit loops."""
    torch.manual_seed(0)
    conv = DiagramConv(3, 5, edge_dim=2, dtype=torch.float64)
    batch = Batch.from_data_list(graphs)
    weight = torch.rand(batch.edge_index.shape[1], dtype=torch.float64)
    out = conv(batch.x, batch.edge_index, batch.batch, edge_weight=weight,
               edge_attr=batch.edge_attr)
    w = conv.weight.detach()
    bilinear = conv.edge_weight.detach().reshape(5, 2, 3)
    linear = conv.edge_linear.detach()
    expected = batch.x @ w[0].T + conv.bias.detach()
    for g in range(len(graphs)):
        nodes = (batch.batch == g).nonzero().flatten()
        expected[nodes] += batch.x[nodes].mean(0) @ w[1].T
    for e, (j, i) in enumerate(batch.edge_index.T.tolist()):
        a, x_j = batch.edge_attr[e], batch.x[j]
        term = x_j @ w[2].T + torch.einsum("d,odc,c->o", a, bilinear, x_j) + linear @ a
        expected[i] += weight[e] * term
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)


def test_diagram_conv_edge_errors_in_the_users_terms():
    x, edge_index = torch.ones(4, 3), torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="built without edge_dim"):
        DiagramConv(3, 5)(x, edge_index, edge_attr=torch.ones(2, 4))
    with pytest.raises(ValueError, match="edge_attr has 4 columns; the layer was built with "
                                         "edge_dim=3"):
        DiagramConv(3, 5, edge_dim=3)(x, edge_index, edge_attr=torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"edge_weight must be \[E\].*edge_dim=4"):
        DiagramConv(3, 5)(x, edge_index, edge_weight=torch.ones(2, 4))
    with pytest.raises(ValueError, match="3 rows for 2 edges"):
        DiagramConv(3, 5, edge_dim=4)(x, edge_index, edge_attr=torch.ones(3, 4))


def test_gcl_matches_pyg_message_passing():
    """The pure-torch GCL of FA-GNN equals the same layer written as PyG MessagePassing."""
    from torch_geometric.nn import MessagePassing

    from geomlayers.nn.fa_gnn import GCL

    class Reference(MessagePassing):
        def __init__(self, layer):
            super().__init__(aggr="add")
            self.layer = layer

        def forward(self, h, edge_index, edge_attr):
            aggregated = self.propagate(edge_index, h=h, edge_attr=edge_attr)
            return h + self.layer.node_mlp(torch.cat([h, aggregated], -1))

        def message(self, h_i, h_j, edge_attr):
            return self.layer.edge_mlp(torch.cat([h_i, h_j, edge_attr], -1))

    torch.manual_seed(0)
    layer = GCL(6, 2, dtype=torch.float64)
    h = torch.randn(7, 6, dtype=torch.float64)
    edge_index = torch.randint(0, 7, (2, 20))
    edge_attr = torch.randn(20, 2, dtype=torch.float64)
    torch.testing.assert_close(layer(h, edge_index, edge_attr),
                               Reference(layer)(h, edge_index, edge_attr), rtol=0, atol=1e-12)


def test_diagram_conv_equivariant(graphs):
    torch.manual_seed(0)
    conv = DiagramConv(3, 5, aggr="mean", dtype=torch.float64)
    with torch.no_grad():
        conv.bias.normal_()
    batch = Batch.from_data_list(graphs)
    out = conv(batch.x, batch.edge_index, batch.batch)
    moved, perms = relabelled(graphs)
    moved_batch = Batch.from_data_list(moved)
    moved_out = conv(moved_batch.x, moved_batch.edge_index, moved_batch.batch)
    offsets = torch.tensor([0, *SIZES]).cumsum(0)[:-1]
    for g, perm, offset in zip(graphs, perms, offsets, strict=True):
        torch.testing.assert_close(moved_out[offset + perm], out[offset : offset + g.num_nodes],
                                   rtol=0, atol=1e-12)


def test_diagram_conv_takes_sparse_adjacency():
    torch.manual_seed(0)
    conv = DiagramConv(3, 4, dtype=torch.float64)
    x = torch.randn(5, 3, dtype=torch.float64)
    edge_index = torch.tensor([[0, 1, 2, 3, 3], [1, 2, 3, 4, 0]])
    weight = torch.rand(5, dtype=torch.float64)
    expected = conv(x, edge_index, edge_weight=weight)
    for to_sparse in (to_torch_csr_tensor, to_torch_coo_tensor):  # adj_t: [target, source]
        adj_t = to_sparse(edge_index.flip(0), weight, size=(5, 5))
        torch.testing.assert_close(conv(x, adj_t), expected, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"sparse adjacency must have shape \(N, N\)"):
        conv(x, to_torch_coo_tensor(edge_index, size=(6, 6)))
    with pytest.raises(TypeError, match="to_edge_index"):
        to_dense_order2(x, to_torch_coo_tensor(edge_index, size=(5, 5)))


def test_diagram_conv_bad_input():
    conv = DiagramConv(3, 5)
    with pytest.raises(ValueError, match=r"x must have shape \[N, 3\]"):
        conv(torch.ones(4, 2), torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match=r"outside \[0, N = 4\)"):
        conv(torch.ones(4, 3), torch.tensor([[0], [4]]))
    with pytest.raises(ValueError, match="edge_weight holds NaN"):
        conv(torch.ones(4, 3), torch.tensor([[0], [1]]), edge_weight=torch.tensor([float("nan")]))


# -- Aut(G) on a fixed graph ------------------------------------------------------------------
def _automorphisms(graph: nx.Graph) -> list[torch.Tensor]:
    """All automorphisms by VF2 (networkx), independent of nauty: ``image[i]`` of node i."""
    matcher = GraphMatcher(graph, graph)
    return [torch.tensor([m[i] for i in range(graph.number_of_nodes())])
            for m in matcher.isomorphisms_iter()]


def _grid():
    graph = nx.convert_node_labels_to_integers(nx.grid_2d_graph(3, 4), ordering="sorted")
    return graph, torch.tensor(list(graph.edges)).T


def test_automorphism_linear_commutes_with_aut_only():
    torch.manual_seed(0)
    graph, edge_index = _grid()
    automorphisms = _automorphisms(graph)
    assert len(automorphisms) == 4  # the 3 x 4 grid: Klein four-group of reflections
    layer = AutomorphismLinear(edge_index, 2, 3, dtype=torch.float64)
    with torch.no_grad():
        layer.linear.bias.normal_()
    n = graph.number_of_nodes()
    assert len(layer.linear.basis) == burnside_dimension([a.tolist() for a in automorphisms], n, 2)
    x = torch.randn(4, 2, n, dtype=torch.float64)
    out = layer(x)
    for image in automorphisms:  # (g x)[image[i]] = x[i]
        moved = torch.empty_like(x)
        moved[..., image] = x
        expected = torch.empty_like(out)
        expected[..., image] = out
        torch.testing.assert_close(layer(moved), expected, rtol=0, atol=1e-12)
    generator = torch.Generator().manual_seed(5)
    non_automorphisms = 0
    for _ in range(10):
        image = torch.randperm(n, generator=generator)
        if any(torch.equal(image, a) for a in automorphisms):
            continue
        moved = torch.empty_like(x)
        moved[..., image] = x
        expected = torch.empty_like(out)
        expected[..., image] = out
        assert (layer(moved) - expected).abs().max() > 1e-3  # negative control
        non_automorphisms += 1
    assert non_automorphisms >= 9


def test_automorphism_network_shapes_and_invariance():
    torch.manual_seed(0)
    graph, edge_index = _grid()
    n = graph.number_of_nodes()
    net = AutomorphismNetwork(edge_index, 2, 8, 3, num_layers=2, dtype=torch.float64)
    x = torch.randn(5, 2, n, dtype=torch.float64)
    out = net(x)
    assert out.shape == (5, 3)
    node_major = x.transpose(1, 2).reshape(5 * n, 2)  # PyG layout, one copy per sample
    torch.testing.assert_close(net(node_major), out, rtol=0, atol=0)
    for image in _automorphisms(graph):
        moved = torch.empty_like(x)
        moved[..., image] = x
        torch.testing.assert_close(net(moved), out, rtol=0, atol=1e-12)
    per_node = AutomorphismNetwork(edge_index, 2, 8, 3, invariant=False, dtype=torch.float64)
    assert per_node(node_major).shape == (5 * n, 3)
    with pytest.raises(ValueError, match="node-major"):
        net(torch.randn(5, 2, n + 1))


def test_pair_mlp_equals_linear_layers_on_each_pair():
    """PPGN's channel-first MLP (batched matmuls, list input) is nn.Linear + ReLU per pair."""
    torch.manual_seed(0)
    mlp = ppgn_module._PairMLP([5, 4, 3], {"dtype": torch.float64})
    with torch.no_grad():
        for linear in mlp.linears:
            linear.bias.normal_()
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    y = torch.randn(2, 2, 6, 6, dtype=torch.float64)
    pairs = pair_mask(torch.tensor([[True] * 6, [True] * 4 + [False] * 2]))
    h = torch.cat([x, y], dim=1).movedim(1, -1)
    for linear in mlp.linears:
        h = torch.relu(linear(h))
    expected = h.movedim(-1, 1) * pairs[:, None]
    torch.testing.assert_close(mlp([x, y], pairs), expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(mlp(torch.cat([x, y], dim=1), pairs), expected,
                               rtol=1e-12, atol=1e-12)


def test_ign_layer_widths():
    """A sequence of widths (Maron et al.'s (16, 32, 256)) sets each layer and their number."""
    model = InvariantGraphNetwork(3, (4, 5, 7), 2, orders=(2, 3, 2))
    assert [layer.out_channels for layer in model.layers] == [4, 5, 7]
    assert model.head[0].in_features == 14
    assert len(InvariantGraphNetwork(3, (4, 5), 2).layers) == 2
    with pytest.raises(ValueError, match="2 widths for 3 layers"):
        InvariantGraphNetwork(3, (4, 5), 2, orders=(2, 2, 2))
    with pytest.raises(ValueError, match="hidden_channels"):
        InvariantGraphNetwork(3, (4, 0), 2)


def _amax_readout(x, mask, reduce="max"):
    """Reference max readout with ``amax`` (its gradient is spread evenly over ties)."""
    n = x.shape[-1]
    pairs = pair_mask(mask)
    eye = torch.eye(n, dtype=torch.bool)
    stats = []
    for selection in (pairs & eye, pairs & ~eye):
        value = x.masked_fill(~selection[:, None], float("-inf")).amax((-2, -1))
        stats.append(torch.where(selection.any((-2, -1))[:, None], value, 0.0))
    return torch.cat(stats, dim=1)


def test_max_readout_gradient_matches_amax_on_undirected_graphs(graphs, monkeypatch):
    """Symmetric features tie at (i, j) and (j, i): torch.max gives one of them the whole
    gradient, amax half each; the parameter gradient must be the same."""
    torch.manual_seed(0)
    model = InvariantGraphNetwork(3, 4, 2, num_layers=2, readout="max", edge_channels=2,
                                  dtype=torch.float64)
    batch = Batch.from_data_list(graphs)

    def parameter_gradient():
        model.zero_grad()
        model(batch).square().sum().backward()
        return [p.grad.clone() for p in model.parameters()]

    ours = parameter_gradient()
    monkeypatch.setattr(ign_module, "dense_readout", _amax_readout)
    reference = parameter_gradient()
    assert any(g.abs().max() > 1e-3 for g in ours)
    for mine, theirs in zip(ours, reference, strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-10, atol=1e-12)
