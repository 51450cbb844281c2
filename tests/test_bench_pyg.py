"""The TU benchmark script's fold runner: a fold stopped and resumed from its checkpoint
trains exactly as one run straight through."""

import argparse
import importlib
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


class _Stop(Exception):
    """Raised by the progress callback to stop a fold mid-training."""


@pytest.fixture
def bench_pyg(monkeypatch, shared_data):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("bench_pyg")


def _fold_inputs(bench_pyg):
    graphs = bench_pyg.load_s2v("MUTAG")
    sizes = torch.tensor([g.num_nodes for g in graphs])
    train, test = bench_pyg.s2v_splits("MUTAG")[0]
    args = argparse.Namespace(hidden=8, gin_hidden=8, device="cpu", lr=0.01, lr_step=2,
                              lr_gamma=0.5, batch_size=32, iters_per_epoch=None)
    return graphs, sizes, train, test, args


@pytest.mark.parametrize("name", ["GIN", "IGN"])  # GIN has dropout: the global RNG matters
def test_resumed_fold_matches_straight_run(bench_pyg, tmp_path, name):
    graphs, sizes, train, test, args = _fold_inputs(bench_pyg)
    straight = tmp_path / "straight.ckpt"
    curve, _ = bench_pyg.run_fold(name, graphs, sizes, train, test, args, 3, 4,
                                  checkpoint=straight)

    def stop_after_two(accuracies, _):
        if len(accuracies) == 2:
            raise _Stop

    resumed = tmp_path / "resumed.ckpt"
    with pytest.raises(_Stop):
        bench_pyg.run_fold(name, graphs, sizes, train, test, args, 3, 4, stop_after_two,
                           checkpoint=resumed)
    assert len(torch.load(resumed, weights_only=False)["accuracies"]) == 2
    torch.manual_seed(12345)  # the resumed run must restore the RNG, not inherit it
    resumed_curve, _ = bench_pyg.run_fold(name, graphs, sizes, train, test, args, 3, 4,
                                          checkpoint=resumed)
    assert resumed_curve == curve
    final, final_resumed = (torch.load(p, weights_only=False) for p in (straight, resumed))
    for key, tensor in final["model"].items():
        assert torch.equal(tensor, final_resumed["model"][key]), key
    assert final["optimiser"]["state"].keys() == final_resumed["optimiser"]["state"].keys()
    for index, moments in final["optimiser"]["state"].items():
        for key, tensor in moments.items():
            assert torch.equal(tensor, final_resumed["optimiser"]["state"][index][key])


def test_without_checkpoint_nothing_is_written(bench_pyg, tmp_path, monkeypatch):
    graphs, sizes, train, test, args = _fold_inputs(bench_pyg)
    monkeypatch.chdir(tmp_path)
    curve, epoch_s = bench_pyg.run_fold("GIN", graphs, sizes, train, test, args, 0, 2)
    assert len(curve) == 2 and epoch_s > 0
    assert list(tmp_path.iterdir()) == []


def test_finished_fold_keeps_only_its_curve(bench_pyg, tmp_path):
    cached = tmp_path / "MUTAG-IGN-fold1of10.json"
    for suffix in (".ckpt", ".partial"):
        cached.with_suffix(suffix).write_text("resume state")
    bench_pyg.store_finished_fold(cached, [50.0, 62.5], 1.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == [cached.name]
    assert bench_pyg.json.loads(cached.read_text()) == {"accuracies": [50.0, 62.5],
                                                        "epoch_s": 1.5}


@pytest.mark.parametrize("name,batching", [("GIN", "jitter"), ("IGN", "jitter"),
                                           ("IGN", "size-aware"), ("PPGN", "size-aware")])
def test_training_batches_cover_the_training_set_once(bench_pyg, name, batching):
    sizes = torch.tensor([5, 40, 6, 38, 7, 41, 5, 39] * 5)
    indices = torch.arange(2, 40)
    args = argparse.Namespace(batch_size=8, iters_per_epoch=None, batching=batching)
    batches = bench_pyg.training_batches(name, indices, sizes, args,
                                         torch.Generator().manual_seed(0))
    assert sorted(torch.cat(batches).tolist()) == indices.tolist()
    mixed = sum(int(sizes[b].max() - sizes[b].min()) > 30 for b in batches)
    if name == "GIN":  # uniformly random: batches mix small and large graphs
        assert mixed >= 2
    else:  # size-bucketed (less padding): only the batch at the boundary mixes them
        assert mixed <= 1


def test_sampled_epochs_draw_fresh_batches(bench_pyg):
    indices = torch.arange(10, 50)
    args = argparse.Namespace(batch_size=8, iters_per_epoch=30)
    batches = bench_pyg.training_batches("GIN", indices, torch.ones(60), args,
                                         torch.Generator().manual_seed(0))
    assert len(batches) == 30
    for batch in batches:  # each batch: distinct training graphs
        assert len(set(batch.tolist())) == 8 and set(batch.tolist()) <= set(indices.tolist())
    assert len(set(torch.cat(batches).tolist())) > 35  # nearly every graph drawn at least once


def _row(bench_pyg, tmp_path, argv):
    out = tmp_path / "out.md"
    bench_pyg.main(["--datasets", "MUTAG:2:4", "--models", "IGN", "--hidden", "8",
                    "--lr-step", "2", "--no-expressivity", "--out", str(out), *argv])
    return bench_pyg.json.loads(out.with_suffix(".json").read_text())["classification"][0]


def test_until_epoch_rows_equal_shorter_runs_and_resume(bench_pyg, tmp_path):
    """``--until-epoch K`` writes the first K epochs of each fold (a K-epoch run's numbers,
    since the lr steps are fixed) and leaves the folds to resume; reaching the last epoch
    finishes them as a straight run would."""
    cache = ["--fold-cache", str(tmp_path / "fc")]
    stopped = _row(bench_pyg, tmp_path, [*cache, "--until-epoch", "2"])
    assert stopped["epochs"] == 2 and stopped["models"]["IGN"]["schedule_epochs"] == 4
    short = _row(bench_pyg, tmp_path, ["--datasets", "MUTAG:2:2"])
    for key in ("final", "best", "best_epoch"):
        assert stopped["models"]["IGN"][key] == short["models"]["IGN"][key], key
    assert len(list((tmp_path / "fc").glob("*.ckpt"))) == 2
    finished = _row(bench_pyg, tmp_path, [*cache, "--until-epoch", "4"])
    assert list((tmp_path / "fc").glob("*.ckpt")) == []
    straight = _row(bench_pyg, tmp_path, [])
    assert finished["epochs"] == 4 and "schedule_epochs" not in finished["models"]["IGN"]
    for key in ("final", "best", "best_epoch"):
        assert finished["models"]["IGN"][key] == straight["models"]["IGN"][key], key


def test_until_epoch_needs_a_cache_and_fixed_lr_steps(bench_pyg):
    for argv in (["--until-epoch", "2", "--lr-step", "2"],
                 ["--until-epoch", "2", "--fold-cache", "fc"]):
        with pytest.raises(SystemExit):
            bench_pyg.main(["--datasets", "MUTAG:2:4", *argv])
