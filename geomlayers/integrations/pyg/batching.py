"""Batches of graphs of similar size for the dense graph models, with bounded padding.

A dense order-2 model pads every graph of a batch to the batch's largest graph, so a batch of
one 600-node graph and 31 small ones costs 32 × 600² (IGN) or 32 × 600³ (PPGN).
:class:`SizeAwareBatchSampler` forms batches of graphs of similar size whose padded cost stays
within a documented factor of their real cost, draws new batches every epoch, and plugs into
``torch_geometric.loader.DataLoader(dataset, batch_sampler=...)`` (any
``torch.utils.data.DataLoader`` alike). :class:`DistributedSizeAwareBatchSampler` gives each
of ``num_replicas`` processes the same number of such batches (DistributedDataParallel).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler

__all__ = ["DistributedSizeAwareBatchSampler", "SizeAwareBatchSampler", "graph_sizes"]


def graph_sizes(dataset) -> torch.Tensor:
    """Node counts ``(len(dataset),)`` of a dataset of PyG ``Data`` (``data.num_nodes``)."""
    return torch.tensor([int(data.num_nodes) for data in dataset], dtype=torch.int64)


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return value


def size_aware_batches(sizes: torch.Tensor, batch_size: int, *, power: int = 2,
                       max_waste: float = 1.5, generator: torch.Generator | None = None,
                       shuffle: bool = True) -> list[list[int]]:
    """One epoch's batches (lists of indices) of graphs of similar size.

    Graphs are sorted by size (ties in random order), the sorted list is cut into batches of
    at most ``batch_size`` graphs, and a batch is closed early when one more graph would
    break the padding bound below; the first batch has a random length in
    ``[1, batch_size]`` so that batch boundaries move between epochs; the batch order is
    random. Bound, for every batch ``b``: ``len(b) · max(n_i)^power <= max_waste ·
    Σ_i n_i^power`` (a batch of one graph has no padding), so the dense work of an epoch is at
    most ``max_waste`` times the work without padding.
    """
    count = len(sizes)
    if count == 0:
        return []
    keys = torch.rand(count, generator=generator) if shuffle else torch.zeros(count)
    # sort by size (descending), ties by the random key
    order = sorted(range(count), key=lambda i: (-int(sizes[i]), float(keys[i]), i))
    costs = [float(sizes[i]) ** power for i in order]
    first = int(torch.randint(1, batch_size + 1, (1,), generator=generator)) if shuffle \
        else batch_size
    batches: list[list[int]] = []
    start, actual, limit = 0, 0.0, first
    for position, cost in enumerate(costs):
        length = position - start + 1
        too_long = length > limit
        too_wasteful = length > 1 and length * costs[start] > max_waste * (actual + cost)
        if too_long or too_wasteful:
            batches.append(order[start:position])
            start, actual, limit = position, 0.0, batch_size
        actual += cost
    batches.append(order[start:])
    if shuffle:
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator)]
    return batches


class SizeAwareBatchSampler(Sampler[list[int]]):
    """Batch sampler of graphs of similar size, reshuffled every epoch, bounded padding.

    Every batch ``b`` satisfies ``len(b) · max(n_i)^power <= max_waste · Σ_{i ∈ b} n_i^power``
    (``n_i`` = node counts, ``power`` = 2 for IGN's ``2 → 2`` layers, 3 for PPGN or order-3
    IGN): padding to the largest graph wastes at most a factor ``max_waste`` of dense work.
    Batches hold at most ``batch_size`` graphs (fewer where the bound requires it). Within
    the bound the batches are random: ties in size are broken at random, batch boundaries
    shift by a random offset, and the batch order is random, drawn anew for every epoch.

    Each pass over the sampler is one epoch (``seed + epoch`` seeds it, and the epoch then
    advances); :meth:`set_epoch` sets the next pass's epoch (resuming, or in step with
    ``DistributedSampler``). With ``shuffle=False`` the batches are the sorted ones, fixed.

    Args:
        sizes: node counts ``(len(dataset),)``, or a dataset of PyG ``Data``.
        batch_size: most graphs per batch.
        power: cost exponent of the model (2: IGN, 3: PPGN / order-3 IGN).
        max_waste: padding bound above (>= 1).
        shuffle: draw new batches every epoch.
        seed: base seed.

    >>> sampler = SizeAwareBatchSampler([3, 30, 4, 29, 5], batch_size=2, shuffle=False)
    >>> list(sampler)
    [[1, 3], [4, 2], [0]]

    Use: ``DataLoader(dataset, batch_sampler=SizeAwareBatchSampler(dataset, 32))`` with
    ``torch_geometric.loader.DataLoader``.

    """

    def __init__(self, sizes: Sequence[int] | torch.Tensor, batch_size: int, *,
                 power: int = 2, max_waste: float = 1.5, shuffle: bool = True,
                 seed: int = 0) -> None:
        if not isinstance(sizes, torch.Tensor):
            sizes = list(sizes)
            if sizes and not isinstance(sizes[0], int | float):
                sizes = graph_sizes(sizes)
            sizes = torch.as_tensor(sizes)
        if sizes.dim() != 1 or (sizes.numel() and (torch.is_floating_point(sizes) or
                                                   bool((sizes < 0).any()))):
            raise ValueError("sizes must be non-negative integer node counts, one per graph")
        self.sizes = sizes.long()
        self.batch_size = _check_int("batch_size", batch_size, 1)
        self.power = _check_int("power", power, 1)
        if not isinstance(max_waste, int | float) or not math.isfinite(max_waste) \
                or max_waste < 1:
            raise ValueError(f"max_waste must be a number >= 1, got {max_waste!r}")
        self.max_waste, self.shuffle = float(max_waste), bool(shuffle)
        self.seed, self.epoch = int(seed), 0
        self._cache: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass epoch ``epoch`` (its batches depend on ``seed + epoch`` only)."""
        self.epoch = _check_int("epoch", epoch, 0)

    def _all_batches(self) -> list[list[int]]:
        """The current epoch's batches over the whole dataset (cached per epoch)."""
        if self._cache is None or self._cache[0] != self.epoch:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            self._cache = (self.epoch, size_aware_batches(
                self.sizes, self.batch_size, power=self.power, max_waste=self.max_waste,
                generator=generator, shuffle=self.shuffle))
        return self._cache[1]

    def _batches(self) -> list[list[int]]:
        return self._all_batches()

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._batches()
        self.epoch += 1
        return iter(batches)

    def __len__(self) -> int:
        """Number of batches of the next pass."""
        return len(self._batches())

    def padding_waste(self) -> float:
        """Padded over real dense work of the next pass (``<= max_waste``)."""
        padded = actual = 0.0
        for batch in self._batches():
            cubes = self.sizes[batch].double() ** self.power
            padded += len(batch) * float(cubes.max())
            actual += float(cubes.sum())
        return padded / actual if actual else 1.0


class DistributedSizeAwareBatchSampler(SizeAwareBatchSampler):
    """:class:`SizeAwareBatchSampler` split over ``num_replicas`` processes (DDP).

    Every process draws the same epoch's batches (same ``seed`` and epoch) and takes every
    ``num_replicas``-th batch from position ``rank``; the list is first padded by repeating
    its first batches (or, with ``drop_last``, cut) to a multiple of ``num_replicas``, so all
    processes run the same number of steps and DistributedDataParallel never waits for a
    missing one. Call :meth:`set_epoch` at the start of every epoch on every process (as with
    ``DistributedSampler``), or let each pass advance the epoch on all processes alike.

    Args:
        sizes, batch_size, power, max_waste, shuffle, seed: as :class:`SizeAwareBatchSampler`.
        num_replicas: number of processes (default: the process group's world size).
        rank: this process's rank (default: the process group's rank).
        drop_last: cut the batch list instead of padding it.

    """

    def __init__(self, sizes, batch_size: int, *, num_replicas: int | None = None,
                 rank: int | None = None, drop_last: bool = False, **kwargs) -> None:
        super().__init__(sizes, batch_size, **kwargs)
        if num_replicas is None or rank is None:
            if not torch.distributed.is_available() or not torch.distributed.is_initialized():
                raise ValueError("num_replicas and rank are needed when no process group is "
                                 "initialised (torch.distributed.init_process_group)")
            num_replicas = torch.distributed.get_world_size() if num_replicas is None \
                else num_replicas
            rank = torch.distributed.get_rank() if rank is None else rank
        self.num_replicas = _check_int("num_replicas", num_replicas, 1)
        self.rank = _check_int("rank", rank, 0)
        if rank >= num_replicas:
            raise ValueError(f"rank must be in [0, num_replicas = {num_replicas}), got {rank}")
        self.drop_last = bool(drop_last)

    def _batches(self) -> list[list[int]]:
        batches = self._all_batches()
        if self.drop_last:
            batches = batches[: len(batches) - len(batches) % self.num_replicas]
        else:
            missing = -len(batches) % self.num_replicas
            batches = batches + [batches[i % len(batches)] for i in range(missing)]
        return batches[self.rank :: self.num_replicas]
