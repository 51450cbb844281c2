"""Cross-validation of graph classifiers with folds that stop and resume exactly.

The protocol of the TU benchmarks (Xu et al., "How Powerful are Graph Neural Networks?",
ICLR 2019, §7; Maron et al., ICLR 2019 and NeurIPS 2019): each fold trains with Adam and a
step learning-rate schedule and records the test accuracy after every epoch.
:func:`train_fold` can save the whole training state after every epoch (model, optimiser,
schedule, batch-order generator, global RNG) and resume from it, giving the same curve as a
run straight through, so a long fold can span several processes or machine leases;
:func:`cross_validate` runs the folds of a split with a cache of finished curves.
``benchmarks/bench_pyg.py`` is built on it (``docs/pyg.md``, "Benchmark").
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from geomlayers.integrations.pyg.batching import SizeAwareBatchSampler

__all__ = ["TrainingRecipe", "cross_validate", "epoch_batches", "store_finished_fold",
           "train_fold"]

BATCHINGS = ("jitter", "size-aware")


@dataclass(frozen=True)
class TrainingRecipe:
    """How a fold trains: Adam at ``lr``, ×``lr_gamma`` every ``lr_step`` epochs.

    Args:
        lr: Adam's learning rate.
        batch_size: graphs per batch.
        lr_step: epochs between learning-rate decays (None: half of the epochs).
        lr_gamma: the factor of each decay.
        iters_per_epoch: an epoch is this many batches, each a fresh uniform sample of the
            training graphs (Xu et al.'s GIN: 50); None: one pass over them.
        batching: batches of the dense models (``power`` given to :func:`epoch_batches`):
            ``'jitter'`` (size-sorted with a random jitter) or ``'size-aware'``
            (:class:`~geomlayers.pyg.SizeAwareBatchSampler`, bounded padding).
        device: the torch device the fold trains on.

    """

    lr: float = 1e-2
    batch_size: int = 32
    lr_step: int | None = None
    lr_gamma: float = 0.5
    iters_per_epoch: int | None = None
    batching: str = "jitter"
    device: str = "cpu"

    def __post_init__(self):
        if self.batching not in BATCHINGS:
            raise ValueError(f"batching must be one of {BATCHINGS}, got {self.batching!r}")

    def step_size(self, epochs: int) -> int:
        """Epochs between learning-rate decays: ``lr_step``, or half of ``epochs``."""
        return self.lr_step or max(1, epochs // 2)


def epoch_batches(indices: torch.Tensor, sizes: torch.Tensor, recipe: TrainingRecipe,
                  generator: torch.Generator, power: int | None = None) -> list[torch.Tensor]:
    """One epoch's batches of ``indices`` (graph indices), drawn from ``generator``.

    With ``recipe.iters_per_epoch`` = K: K batches, each a fresh uniform sample. Otherwise one
    pass over ``indices``: uniformly random batches for a sparse model (``power`` None: no
    padding to save), batches of similar size for a dense model whose cost grows as
    ``n^power`` (``recipe.batching``). ``sizes[i]`` is graph ``i``'s node count.
    """
    if recipe.iters_per_epoch:
        return [indices[torch.randperm(len(indices), generator=generator)[:recipe.batch_size]]
                for _ in range(recipe.iters_per_epoch)]
    if power is None:
        return list(torch.split(indices[torch.randperm(len(indices), generator=generator)],
                                recipe.batch_size))
    if recipe.batching == "size-aware":
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        sampler = SizeAwareBatchSampler(sizes[indices], recipe.batch_size, power=power,
                                        seed=seed)
        return [indices[torch.tensor(batch)] for batch in sampler]
    jitter = torch.rand(len(indices), generator=generator) * 4.0
    order = indices[torch.argsort(sizes[indices].float() + jitter)]
    batches = list(torch.split(order, recipe.batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator)]


def train_fold(make_model: Callable[[int, int], nn.Module], graphs: Sequence, sizes: torch.Tensor,
               train: torch.Tensor, test: torch.Tensor, recipe: TrainingRecipe, seed: int,
               epochs: int, *, power: int | None = None,
               progress: Callable[[list, float], None] | None = None,
               checkpoint: Path | None = None,
               stop_epoch: int | None = None) -> tuple[list[float], float]:
    """Train one fold; the test accuracy (%) after each epoch and the mean seconds per epoch.

    ``make_model(in_channels, classes)`` builds the model right after ``torch.manual_seed(seed)``;
    ``graphs`` are PyG ``Data`` with ``x`` and a class ``y``; ``train``/``test`` index them;
    ``power`` is as in :func:`epoch_batches`. ``progress(accuracies, epoch_s)`` is called
    after every epoch. With ``checkpoint`` (a path) the whole training state is written there
    after every epoch, atomically, and a run finding it resumes from it: a fold stopped and
    restarted gives the same curve as one run straight through (same device and versions).
    ``stop_epoch`` stops after that epoch of the ``epochs``-epoch schedule; the curve and time
    are then those of the first ``stop_epoch`` epochs, even when the checkpoint went further.
    """
    from torch_geometric.data import Batch

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    classes = int(max(int(g.y) for g in graphs)) + 1
    model = make_model(graphs[0].x.shape[1], classes).to(recipe.device)
    optimiser = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    schedule = torch.optim.lr_scheduler.StepLR(optimiser, step_size=recipe.step_size(epochs),
                                               gamma=recipe.lr_gamma)
    state = {"model": model, "optimiser": optimiser, "schedule": schedule,
             "generator": generator, "accuracies": [], "epoch_times": []}
    if checkpoint is not None and checkpoint.exists():
        _load_training_state(checkpoint, state, recipe.device)
    accuracies, epoch_times = state["accuracies"], state["epoch_times"]
    test_batches = [Batch.from_data_list([graphs[i] for i in b]).to(recipe.device)
                    for b in torch.split(test[torch.argsort(sizes[test])], 64)]
    last = min(epochs, stop_epoch or epochs)
    while len(accuracies) < last:
        model.train()
        start = time.perf_counter()
        for chunk in epoch_batches(train, sizes, recipe, generator, power):
            batch = Batch.from_data_list([graphs[i] for i in chunk]).to(recipe.device)
            loss = nn.functional.cross_entropy(model(batch), batch.y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        schedule.step()
        if torch.device(recipe.device).type == "cuda":  # time the kernels, not the launches
            torch.cuda.synchronize(recipe.device)
        epoch_times.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(b).argmax(1) == b.y).sum()) for b in test_batches)
        accuracies.append(100.0 * correct / len(test))
        if checkpoint is not None:
            _save_training_state(checkpoint, state, recipe.device)
        if progress is not None:
            progress(accuracies, statistics.mean(epoch_times))
    return accuracies[:last], statistics.mean(epoch_times[:last])


def cross_validate(make_model: Callable[[int, int], nn.Module], graphs: Sequence,
                   splits: Sequence[tuple[torch.Tensor, torch.Tensor]], recipe: TrainingRecipe,
                   epochs: int, *, power: int | None = None, seed: int = 0,
                   cache: Sequence[Path] | None = None, until_epoch: int | None = None,
                   only_folds: Iterable[int] | None = None,
                   log: Callable[[str], None] | None = None) -> list[tuple[list, float] | None]:
    """Train every fold of ``splits``: per fold ``(accuracies, epoch_s)``, or None if skipped.

    Fold ``k`` (0-based) trains with seed ``k + 100 * seed``. ``cache`` gives one path per
    fold, naming every setting that changes its curve: a finished fold's curve is kept there
    (and read back instead of training again); an unfinished fold keeps its training state
    beside it (``*.ckpt``, resumed by a later call) and its curve so far (``*.partial``).
    ``until_epoch`` K trains each fold only to epoch K of its ``epochs``-epoch schedule and
    returns those K epochs, which are exactly a K-epoch run's (it needs ``cache``, to resume
    from, and ``recipe.lr_step``, so that the schedule of the first K epochs does not depend
    on ``epochs``). ``only_folds`` (1-based numbers) trains only these folds, to split one
    cross-validation over processes that share ``cache``; the others come from the cache or
    are None.
    """
    if until_epoch is not None and (cache is None or recipe.lr_step is None
                                    or until_epoch < 1):
        raise ValueError("until_epoch K needs K >= 1, a cache (to resume from) and "
                         "recipe.lr_step (so that the first K epochs do not depend on the "
                         "total)")
    if only_folds is not None and cache is None:
        raise ValueError("only_folds needs a cache, where the other folds' runs meet")
    if cache is not None and len(cache) != len(splits):
        raise ValueError(f"cache has {len(cache)} paths for {len(splits)} folds")
    only = None if only_folds is None else set(only_folds)
    stop = min(epochs, until_epoch or epochs)
    results = []
    for fold, (train, test) in enumerate(splits):
        cached = None if cache is None else Path(cache[fold])
        if cached is not None and cached.exists():
            saved = json.loads(cached.read_text())
            accuracies, epoch_s = saved["accuracies"], saved["epoch_s"]
        elif only is not None and fold + 1 not in only:
            results.append(None)
            continue
        else:
            checkpoint = progress = None
            if cached is not None:
                checkpoint = cached.with_suffix(".ckpt")
                partial = cached.with_suffix(".partial")
                progress = lambda acc, s, partial=partial: _write_curve(partial, acc, s)  # noqa: E731
            sizes = torch.tensor([g.num_nodes for g in graphs])
            accuracies, epoch_s = train_fold(make_model, graphs, sizes, train, test, recipe,
                                             fold + 100 * seed, epochs, power=power,
                                             progress=progress, checkpoint=checkpoint,
                                             stop_epoch=stop)
            if cached is not None and len(accuracies) == epochs:
                store_finished_fold(cached, accuracies, epoch_s)
        results.append((accuracies[:stop], epoch_s))
        if log is not None:
            log(f"fold {fold + 1}: final {accuracies[stop - 1]:.1f}% ({epoch_s:.2f} s/epoch)")
    return results


def store_finished_fold(cached: Path, accuracies: list, epoch_s: float) -> None:
    """Keep a finished fold's curve in ``cached``; drop its state and curve so far.

    The training state and running curve (``*.ckpt``, ``*.partial``) only served to resume it.
    """
    _write_curve(cached, accuracies, epoch_s)
    for suffix in (".ckpt", ".partial"):
        cached.with_suffix(suffix).unlink(missing_ok=True)


def _write_curve(path: Path, accuracies: list, epoch_s: float) -> None:
    path.write_text(json.dumps({"accuracies": accuracies, "epoch_s": epoch_s}))


def _save_training_state(path: Path, state: dict, device) -> None:
    """Write ``state`` and the global RNG states to ``path``, atomically.

    A stop mid-write keeps the previous file.
    """
    saved = {key: value.state_dict() if hasattr(value, "state_dict") else value
             for key, value in state.items() if key != "generator"}
    saved["generator"] = state["generator"].get_state()
    saved["torch_rng"] = torch.get_rng_state()
    if torch.device(device).type == "cuda":
        saved["cuda_rng"] = torch.cuda.get_rng_state(device)
    scratch = path.with_suffix(".tmp")
    torch.save(saved, scratch)
    scratch.replace(path)


def _load_training_state(path: Path, state: dict, device) -> None:
    """Restore into ``state`` what :func:`_save_training_state` wrote to ``path``."""
    saved = torch.load(path, map_location=device, weights_only=False)  # our own file
    for key in ("model", "optimiser", "schedule"):
        state[key].load_state_dict(saved[key])
    state["generator"].set_state(saved["generator"])
    state["accuracies"].extend(saved["accuracies"])
    state["epoch_times"].extend(saved["epoch_times"])
    torch.set_rng_state(saved["torch_rng"])
    if "cuda_rng" in saved:
        torch.cuda.set_rng_state(saved["cuda_rng"], device)
