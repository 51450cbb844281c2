"""Cross-validation folds (``geomlayers.integrations.pyg.crossval``): a fold stopped and
resumed from its checkpoint trains exactly as one run straight through; epochs' batches."""

import json

import pytest
import torch
from torch import nn

from geomlayers.data.graphs import load_s2v, s2v_splits
from geomlayers.integrations.pyg.crossval import (
    TrainingRecipe,
    cross_validate,
    epoch_batches,
    store_finished_fold,
    train_fold,
)
from geomlayers.pyg import DiagramConv, InvariantGraphNetwork


class _Stop(Exception):
    """Raised by the progress callback to stop a fold mid-training."""


class _SparseNet(nn.Module):
    """A DiagramConv layer, a graph sum and dropout (the global RNG matters)."""

    def __init__(self, in_channels, classes):
        super().__init__()
        self.conv = DiagramConv(in_channels, 8)
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Linear(8, classes))

    def forward(self, data):
        h = torch.relu(self.conv(data.x, data.edge_index, data.batch))
        sums = h.new_zeros(data.num_graphs, h.shape[1]).index_add_(0, data.batch, h)
        return self.head(sums)


MODELS = {  # name: (factory, power)
    "sparse": (_SparseNet, None),
    "ign": (lambda c, k: InvariantGraphNetwork(c, 8, k, num_layers=2, readout="sum",
                                               mlp_channels=(16,), dropout=0.5), 2),
}


@pytest.fixture
def mutag(shared_data):
    graphs = load_s2v("MUTAG")
    return graphs, torch.tensor([g.num_nodes for g in graphs]), s2v_splits("MUTAG")


RECIPE = TrainingRecipe(lr=0.01, batch_size=32, lr_step=2)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_resumed_fold_matches_straight_run(mutag, tmp_path, name):
    graphs, sizes, splits = mutag
    train, test = splits[0]
    factory, power = MODELS[name]
    straight = tmp_path / "straight.ckpt"
    curve, _ = train_fold(factory, graphs, sizes, train, test, RECIPE, 3, 4, power=power,
                          checkpoint=straight)

    def stop_after_two(accuracies, _):
        if len(accuracies) == 2:
            raise _Stop

    resumed = tmp_path / "resumed.ckpt"
    with pytest.raises(_Stop):
        train_fold(factory, graphs, sizes, train, test, RECIPE, 3, 4, power=power,
                   progress=stop_after_two, checkpoint=resumed)
    assert len(torch.load(resumed, weights_only=False)["accuracies"]) == 2
    torch.manual_seed(12345)  # the resumed run must restore the RNG, not inherit it
    resumed_curve, _ = train_fold(factory, graphs, sizes, train, test, RECIPE, 3, 4,
                                  power=power, checkpoint=resumed)
    assert resumed_curve == curve
    final, final_resumed = (torch.load(p, weights_only=False) for p in (straight, resumed))
    for key, value in final["model"].items():  # tensors, and extra state such as fingerprints
        same = (torch.equal(value, final_resumed["model"][key])
                if isinstance(value, torch.Tensor) else value == final_resumed["model"][key])
        assert same, key
    assert final["optimiser"]["state"].keys() == final_resumed["optimiser"]["state"].keys()
    for index, moments in final["optimiser"]["state"].items():
        for key, tensor in moments.items():
            assert torch.equal(tensor, final_resumed["optimiser"]["state"][index][key])


def test_without_checkpoint_nothing_is_written(mutag, tmp_path, monkeypatch):
    graphs, sizes, splits = mutag
    monkeypatch.chdir(tmp_path)
    curve, epoch_s = train_fold(_SparseNet, graphs, sizes, *splits[0], RECIPE, 0, 2)
    assert len(curve) == 2 and epoch_s > 0
    assert list(tmp_path.iterdir()) == []


def test_finished_fold_keeps_only_its_curve(tmp_path):
    cached = tmp_path / "MUTAG-IGN-fold1of10.json"
    for suffix in (".ckpt", ".partial"):
        cached.with_suffix(suffix).write_text("resume state")
    store_finished_fold(cached, [50.0, 62.5], 1.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == [cached.name]
    assert json.loads(cached.read_text()) == {"accuracies": [50.0, 62.5], "epoch_s": 1.5}


@pytest.mark.parametrize("power,batching", [(None, "jitter"), (2, "jitter"),
                                            (2, "size-aware"), (3, "size-aware")])
def test_epoch_batches_cover_the_training_set_once(power, batching):
    sizes = torch.tensor([5, 40, 6, 38, 7, 41, 5, 39] * 5)
    indices = torch.arange(2, 40)
    recipe = TrainingRecipe(batch_size=8, batching=batching)
    batches = epoch_batches(indices, sizes, recipe, torch.Generator().manual_seed(0), power)
    assert sorted(torch.cat(batches).tolist()) == indices.tolist()
    mixed = sum(int(sizes[b].max() - sizes[b].min()) > 30 for b in batches)
    if power is None:  # uniformly random: batches mix small and large graphs
        assert mixed >= 2
    else:  # size-bucketed (less padding): only the batch at the boundary mixes them
        assert mixed <= 1


def test_sampled_epochs_draw_fresh_batches():
    indices = torch.arange(10, 50)
    recipe = TrainingRecipe(batch_size=8, iters_per_epoch=30)
    batches = epoch_batches(indices, torch.ones(60), recipe, torch.Generator().manual_seed(0))
    assert len(batches) == 30
    for batch in batches:  # each batch: distinct training graphs
        assert len(set(batch.tolist())) == 8 and set(batch.tolist()) <= set(indices.tolist())
    assert len(set(torch.cat(batches).tolist())) > 35  # nearly every graph drawn at least once


def test_until_epoch_equals_shorter_runs_and_resumes(mutag, tmp_path):
    """``until_epoch=K`` returns the first K epochs of each fold (a K-epoch run's numbers,
    since the lr steps are fixed) and leaves the folds to resume; reaching the last epoch
    finishes them as a straight run would."""
    graphs, _, splits = mutag
    factory, power = MODELS["ign"]
    splits = splits[:2]
    cache = [tmp_path / f"fold{k}.json" for k in range(2)]

    def run(epochs, **kwargs):
        return cross_validate(factory, graphs, splits, RECIPE, epochs, power=power, **kwargs)

    stopped = run(4, cache=cache, until_epoch=2)
    assert [len(curve) for curve, _ in stopped] == [2, 2]
    assert [curve for curve, _ in stopped] == [curve for curve, _ in run(2)]
    assert len(list(tmp_path.glob("*.ckpt"))) == 2 and not any(p.exists() for p in cache)
    finished = run(4, cache=cache, until_epoch=4)
    assert list(tmp_path.glob("*.ckpt")) == [] and all(p.exists() for p in cache)
    assert [curve for curve, _ in finished] == [curve for curve, _ in run(4)]
    # finished folds are read back from the cache, not trained again
    assert [curve for curve, _ in run(4, cache=cache)] == [c for c, _ in finished]


def test_only_folds_trains_those_and_reads_the_rest(mutag, tmp_path):
    graphs, _, splits = mutag
    cache = [tmp_path / f"fold{k}.json" for k in range(2)]
    first = cross_validate(_SparseNet, graphs, splits[:2], RECIPE, 1, cache=cache,
                           only_folds={1})
    assert first[0] is not None and first[1] is None
    both = cross_validate(_SparseNet, graphs, splits[:2], RECIPE, 1, cache=cache)
    assert both[0] == first[0] and both[1] is not None


def test_until_epoch_and_only_folds_need_a_cache_and_fixed_lr_steps(mutag):
    graphs, _, splits = mutag
    for recipe, kwargs in ((RECIPE, {"until_epoch": 2}),
                           (TrainingRecipe(), {"until_epoch": 2, "cache": ["a", "b"]}),
                           (RECIPE, {"only_folds": {1}})):
        with pytest.raises(ValueError, match="needs"):
            cross_validate(_SparseNet, graphs, splits[:2], recipe, 4, **kwargs)
    with pytest.raises(ValueError, match="batching"):
        TrainingRecipe(batching="sorted")
