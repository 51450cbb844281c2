"""SizeAwareBatchSampler and its distributed variant: coverage, padding bound, reshuffling."""

from collections import Counter

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from geomlayers.pyg import DistributedSizeAwareBatchSampler, SizeAwareBatchSampler


def _sizes(count=300, seed=0):
    """Heavy-tailed node counts, like PROTEINS (most small, a few hundreds)."""
    generator = torch.Generator().manual_seed(seed)
    sizes = (torch.rand(count, generator=generator) ** 4 * 300).long() + 2
    return sizes.tolist()


def _waste(batch, sizes, power):
    values = torch.tensor([sizes[i] for i in batch], dtype=torch.float64) ** power
    return len(batch) * float(values.max()) / float(values.sum())


@pytest.mark.parametrize("power,max_waste", [(2, 1.5), (3, 1.5), (2, 1.1), (3, 3.0)])
def test_every_graph_once_and_the_padding_bound(power, max_waste):
    sizes = _sizes()
    sampler = SizeAwareBatchSampler(sizes, 32, power=power, max_waste=max_waste, seed=4)
    for _ in range(3):
        batches = list(sampler)
        assert sorted(i for b in batches for i in b) == list(range(len(sizes)))
        assert all(1 <= len(b) <= 32 for b in batches)
        assert max(_waste(b, sizes, power) for b in batches) <= max_waste + 1e-12


def test_epoch_waste_is_far_below_a_shuffled_loader():
    sizes = _sizes()
    sampler = SizeAwareBatchSampler(sizes, 32, power=2, seed=0)
    assert sampler.padding_waste() <= 1.5
    generator = torch.Generator().manual_seed(0)
    shuffled = torch.randperm(len(sizes), generator=generator).split(32)
    padded = sum(len(b) * max(sizes[i] for i in b.tolist()) ** 2 for b in shuffled)
    assert padded / sum(n**2 for n in sizes) > 3 * sampler.padding_waste()


def test_reshuffled_every_epoch_and_reproducible():
    sizes = _sizes(100)
    sampler = SizeAwareBatchSampler(sizes, 8, seed=1)
    first, second = list(sampler), list(sampler)
    assert first != second
    assert {frozenset(b) for b in first} != {frozenset(b) for b in second}
    sampler.set_epoch(0)
    assert list(sampler) == first
    assert list(SizeAwareBatchSampler(sizes, 8, seed=1)) == first
    assert list(SizeAwareBatchSampler(sizes, 8, seed=2)) != first
    fixed = SizeAwareBatchSampler(sizes, 8, shuffle=False)
    assert list(fixed) == list(fixed)


def test_len_matches_the_next_pass():
    sampler = SizeAwareBatchSampler(_sizes(100), 8, seed=3)
    for _ in range(3):
        expected = len(sampler)
        assert len(list(sampler)) == expected


def test_with_pyg_dataloader():
    generator = torch.Generator().manual_seed(0)
    graphs = []
    for index, n in enumerate(_sizes(50)):
        graphs.append(Data(x=torch.full((n, 1), float(index)), num_nodes=n,
                           edge_index=torch.zeros(2, 0, dtype=torch.int64)))
    sampler = SizeAwareBatchSampler(graphs, 8, seed=0)  # a dataset: sizes read from it
    assert sampler.sizes.tolist() == [g.num_nodes for g in graphs]
    seen = []
    for batch, indices in zip(DataLoader(graphs, batch_sampler=sampler),
                              SizeAwareBatchSampler(graphs, 8, seed=0), strict=True):
        firsts = batch.x[batch.ptr[:-1], 0].long().tolist()
        assert firsts == indices
        seen += firsts
    assert sorted(seen) == list(range(len(graphs)))
    del generator


@pytest.mark.parametrize("world_size", [2, 3, 5])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_ranks_get_equal_batches(world_size, drop_last):
    sizes = _sizes(101)
    samplers = [DistributedSizeAwareBatchSampler(sizes, 8, num_replicas=world_size, rank=r,
                                                 drop_last=drop_last, seed=7)
                for r in range(world_size)]
    for epoch in range(2):
        for sampler in samplers:
            sampler.set_epoch(epoch)
        lengths = [len(s) for s in samplers]
        per_rank = [list(s) for s in samplers]
        assert [len(batches) for batches in per_rank] == lengths
        assert len(set(lengths)) == 1
        counts = Counter(i for batches in per_rank for b in batches for i in b)
        whole = SizeAwareBatchSampler(sizes, 8, seed=7)
        whole.set_epoch(epoch)
        everything = [b for b in whole]
        if drop_last:
            assert max(counts.values()) == 1
            kept = len(everything) - len(everything) % world_size
            assert sum(counts.values()) == sum(len(b) for b in everything[:kept])
        else:
            assert set(counts) == set(range(len(sizes)))  # padding repeats a few batches
            assert sum(len(b) for batches in per_rank for b in batches) >= len(sizes)


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        SizeAwareBatchSampler([3, 4], 0)
    with pytest.raises(ValueError, match="max_waste"):
        SizeAwareBatchSampler([3, 4], 2, max_waste=0.5)
    with pytest.raises(ValueError, match="sizes"):
        SizeAwareBatchSampler([3.5, 4.0], 2)
    with pytest.raises(ValueError, match="rank"):
        DistributedSizeAwareBatchSampler([3, 4], 2, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="process group"):
        DistributedSizeAwareBatchSampler([3, 4], 2)
