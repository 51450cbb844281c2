"""Reliability of the graph models, dense conversion and graph loaders (bad inputs, faults).

Each test names a failure mode that was silent (or a crash) before its fix.
"""

import shutil

import pytest
import torch

pytest.importorskip("torch_geometric")
from torch_geometric.data import Batch, Data  # noqa: E402

from geomlayers.pyg import (  # noqa: E402
    PPGN,
    InvariantGraphNetwork,
    dense_readout,
    to_dense_order2,
)


def _graphs(sizes=(5, 2, 7), features=3, edge_features=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    graphs = []
    for n in sizes:
        upper = torch.triu_indices(n, n, 1)
        edges = upper[:, torch.rand(upper.shape[1], generator=generator) < 0.5]
        edge_index = torch.cat([edges, edges.flip(0)], 1)
        attr = torch.randn(edges.shape[1], edge_features, generator=generator,
                           dtype=torch.float64)
        graphs.append(Data(x=torch.randn(n, features, generator=generator, dtype=torch.float64),
                           edge_index=edge_index, edge_attr=torch.cat([attr, attr]),
                           num_nodes=n))
    return graphs


def _models():
    torch.manual_seed(0)
    kw = {"dtype": torch.float64}
    return {
        "ign-max": InvariantGraphNetwork(3, 4, 2, num_layers=2, edge_channels=2, **kw),
        "ign-sum": InvariantGraphNetwork(3, 4, 2, num_layers=2, readout="sum", **kw),
        "ign-mean": InvariantGraphNetwork(3, 4, 2, num_layers=2, readout="mean", **kw),
        "ign-node": InvariantGraphNetwork(3, 4, 2, num_layers=2, output="node", **kw),
        "ppgn-max": PPGN(3, 4, 2, num_blocks=2, edge_channels=2, **kw),
        "ppgn-sum": PPGN(3, 4, 2, num_blocks=2, readout="sum", **kw),
    }


# -- masks: padding never reaches real nodes --------------------------------------------------
@pytest.mark.parametrize("name", sorted(_models()))
@pytest.mark.parametrize("poison", [float("nan"), float("inf"), 1e30])
def test_non_finite_padding_does_not_reach_real_nodes(name, poison):
    """NaN, inf or huge values in padded entries of dense input: the outputs are those of
    clean padding (the padded entries are selected away, never multiplied by 0)."""
    model = _models()[name]
    batch = Batch.from_data_list(_graphs())
    edge_attr = batch.edge_attr if model.edge_channels else None
    dense, mask = to_dense_order2(batch.x, batch.edge_index, batch.batch, edge_attr)
    expected = model.forward_dense(dense, mask)
    pairs = mask[:, :, None] & mask[:, None, :]
    poisoned = torch.where(pairs[:, None], dense, torch.full_like(dense, poison))
    out = model.forward_dense(poisoned, mask)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("reduce", ["max", "sum", "mean"])
def test_dense_readout_ignores_non_finite_padding(reduce):
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    pairs = mask[:, :, None] & mask[:, None, :]
    poisoned = torch.where(pairs[:, None], x, float("nan"))
    clean = torch.where(pairs[:, None], x, 0.0)
    torch.testing.assert_close(dense_readout(poisoned, mask, reduce),
                               dense_readout(clean, mask, reduce), rtol=0, atol=0)


# -- dense conversion: graphs never mix -------------------------------------------------------
def _shuffled_nodes(batch, seed=3):
    """The same batch with its nodes in a random order (an unsorted ``batch`` vector)."""
    perm = torch.randperm(batch.num_nodes, generator=torch.Generator().manual_seed(seed))
    inverse = torch.argsort(perm)  # node i of the batch becomes node inverse[i]
    return perm, batch.x[perm], inverse[batch.edge_index], batch.batch[perm]


def test_unsorted_batch_keeps_each_graph_whole():
    graphs = _graphs()
    batch = Batch.from_data_list(graphs)
    perm, x, edge_index, vector = _shuffled_nodes(batch)
    assert not bool((vector[1:] >= vector[:-1]).all())  # really unsorted
    dense, mask = to_dense_order2(x, edge_index, vector, batch.edge_attr)
    assert mask.sum(1).tolist() == [g.num_nodes for g in graphs]
    model = _models()["ign-max"]
    expected = model(batch)
    torch.testing.assert_close(model.forward_dense(dense, mask), expected, rtol=0, atol=1e-10)
    shuffled = Data(x=x, edge_index=edge_index, edge_attr=batch.edge_attr, batch=vector)
    shuffled.num_graphs = len(graphs)
    torch.testing.assert_close(model(shuffled), expected, rtol=0, atol=1e-10)


def test_node_outputs_follow_the_input_node_order_with_an_unsorted_batch():
    graphs = _graphs()
    batch = Batch.from_data_list(graphs)
    perm, x, edge_index, vector = _shuffled_nodes(batch)
    model = _models()["ign-node"]
    expected = model(batch)
    shuffled = Data(x=x, edge_index=edge_index, batch=vector)
    shuffled.num_graphs = len(graphs)
    torch.testing.assert_close(model(shuffled), expected[perm], rtol=0, atol=1e-10)


def test_edges_between_graphs_are_refused():
    batch = Batch.from_data_list(_graphs())
    edge_index = batch.edge_index.clone()
    edge_index[1, 0] = batch.num_nodes - 1  # node of the last graph
    assert int(batch.batch[edge_index[0, 0]]) != int(batch.batch[-1])
    with pytest.raises(ValueError, match="different graphs"):
        to_dense_order2(batch.x, edge_index, batch.batch)


def test_max_num_nodes_below_the_largest_graph_is_refused():
    batch = Batch.from_data_list(_graphs())
    with pytest.raises(ValueError, match="max_num_nodes"):
        to_dense_order2(batch.x, batch.edge_index, batch.batch, max_num_nodes=4)


def test_batch_of_the_wrong_length_is_refused():
    batch = Batch.from_data_list(_graphs())
    with pytest.raises(ValueError, match="batch"):
        to_dense_order2(batch.x, batch.edge_index, batch.batch[:-1])


# -- errors in the data's terms ---------------------------------------------------------------
def test_edge_attr_width_error_names_data_and_model():
    model = InvariantGraphNetwork(3, 4, 2, num_layers=1, edge_channels=3)
    batch = Batch.from_data_list(_graphs(edge_features=4))
    batch.x, batch.edge_attr = batch.x.float(), batch.edge_attr.float()
    with pytest.raises(ValueError, match=r"data.edge_attr has 4 columns; the model was built "
                                         r"with edge_channels=3"):
        model(batch)
    with pytest.raises(ValueError, match=r"data.x has 3 columns; the model was built with "
                                         r"in_channels=5"):
        PPGN(5, 4, 2)(batch)


# -- loaders: truncated or damaged files are named --------------------------------------------
@pytest.fixture
def data_copy(shared_data, tmp_path, monkeypatch):
    """A private data folder (a copy of the files a test asks for) set as the data dir."""
    def copy(relative):
        source = shared_data / "graphs" / relative
        target = tmp_path / "data" / "graphs" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
        return target

    monkeypatch.setenv("GEOMLAYERS_DATA_DIR", str(tmp_path / "data"))
    return copy


def test_graph8c_cut_at_a_line_boundary_is_refused(data_copy):
    from geomlayers.data.graphs import load_graph8c

    path = data_copy("expressivity/graph8c.g6")
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[: len(lines) // 2]))
    with pytest.raises(ValueError, match="graph8c.g6"):
        load_graph8c()


@pytest.mark.parametrize("relative,loader", [
    ("s2v/MUTAG.zip", "load_s2v"),
    ("expressivity/EXP_GRAPHSAT.pkl", "load_exp"),
])
def test_truncated_file_is_refused_with_its_name(data_copy, relative, loader):
    import geomlayers.data.graphs as graphs

    path = data_copy(relative)
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
    load = getattr(graphs, loader)
    with pytest.raises(ValueError, match=path.name):
        load("MUTAG") if loader == "load_s2v" else load()


def test_truncated_tu_file_is_refused_with_its_name(data_copy, tmp_path):
    from geomlayers.data.graphs import load_tu

    folder = data_copy("tu/MUTAG/raw")
    labels = folder / "MUTAG_graph_labels.txt"
    lines = labels.read_bytes().splitlines(keepends=True)
    labels.write_bytes(b"".join(lines[:-10]))
    with pytest.raises(ValueError, match="MUTAG_graph_labels.txt"):
        load_tu("MUTAG", root=tmp_path / "tu-cache")


def test_load_tu_follows_the_data_dir(shared_data, tmp_path, monkeypatch):
    """Processed data and raw links are keyed by the sources: moving the data folder (the
    first one deleted) still loads, from the new folder."""
    from geomlayers.data.graphs import load_tu

    cache = tmp_path / "tu-cache"
    first = tmp_path / "first" / "graphs" / "tu" / "MUTAG" / "raw"
    shutil.copytree(shared_data / "graphs" / "tu" / "MUTAG" / "raw", first)
    monkeypatch.setenv("GEOMLAYERS_DATA_DIR", str(tmp_path / "first"))
    dataset = load_tu("MUTAG", root=cache)
    assert len(dataset) == 188
    shutil.rmtree(tmp_path / "first")
    second = tmp_path / "second" / "graphs" / "tu" / "MUTAG" / "raw"
    shutil.copytree(shared_data / "graphs" / "tu" / "MUTAG" / "raw", second)
    monkeypatch.setenv("GEOMLAYERS_DATA_DIR", str(tmp_path / "second"))
    again = load_tu("MUTAG", root=cache)
    assert len(again) == 188
    assert all(link.resolve().parent == second.resolve()
               for link in (cache.glob("*/MUTAG/raw/*")))
