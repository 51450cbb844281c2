"""Graph benchmark loaders (s2v zips with splits, TU raw files through TUDataset)."""

from collections import Counter

import pytest

try:  # the `graphs` extra (PyG): without it this module is skipped
    import torch_geometric  # noqa: F401
except ModuleNotFoundError as error:
    pytest.skip(f"needs {error.name}: pip install 'geomlayers[graphs]'", allow_module_level=True)


from geomlayers.data.graphs import S2V_COUNTS, load_s2v, load_tu, s2v_splits


@pytest.mark.parametrize("name", ["MUTAG", "PTC", "IMDBBINARY", "IMDBMULTI"])
def test_s2v_documented_counts_and_splits(shared_data, name):
    graphs = load_s2v(name)
    num_graphs, num_classes = S2V_COUNTS[name]
    assert len(graphs) == num_graphs
    assert len({int(g.y) for g in graphs}) == num_classes
    for g in graphs[:20]:
        assert g.x.shape == (g.num_nodes, graphs[0].x.shape[1])
        assert (g.x.sum(1) == 1).all()  # one-hot tags
        assert g.edge_index.max() < g.num_nodes
        flipped = {tuple(e) for e in g.edge_index.flip(0).T.tolist()}
        assert flipped == {tuple(e) for e in g.edge_index.T.tolist()}  # undirected
    splits = s2v_splits(name)
    assert len(splits) == 10
    seen = set()
    for train, test in splits:
        train_set, test_set = set(train.tolist()), set(test.tolist())
        assert not train_set & test_set and len(train_set | test_set) == num_graphs
        assert not seen & test_set
        seen |= test_set
    assert len(seen) >= num_graphs - 10  # test folds of floor(N / 10): a few never tested


def test_s2v_mutag_agrees_with_tu_files(shared_data, tmp_path):
    """Two independent sources of MUTAG: same multiset of (nodes, edges, label)."""
    tu = load_tu("MUTAG", root=tmp_path)
    assert len(tu) == 188
    s2v = load_s2v("MUTAG")

    def signature(g):
        return (g.num_nodes, g.edge_index.shape[1], int(g.y))

    tu_counts = Counter(signature(g) for g in tu)
    s2v_counts = Counter(signature(g) for g in s2v)
    # s2v labels are relabelled 0..C-1 in order of appearance: match up to a label swap
    swapped = Counter((n, e, 1 - y) for (n, e, y), c in s2v_counts.items() for _ in range(c))
    assert tu_counts in (s2v_counts, swapped)
    assert tu[0].x.shape[1] == 7 and s2v[0].x.shape[1] == 7  # 7 atom types, one-hot


def test_bad_names(shared_data):
    with pytest.raises(ValueError, match="name must be one of"):
        load_s2v("MUTAGX")
    with pytest.raises(ValueError, match="name must be one of"):
        load_tu("PTC")
