"""torch.compile of the graph models: no graph break, at most two compilations, eager numbers.

Compilations are counted with dynamo's ``CompileCounterWithBackend("eager")`` (the graphs
dynamo captures, run without inductor, which keeps the test fast); graph breaks with
dynamo's counters.
"""

import pytest
import torch
from helpers import random_graph
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from geomlayers.pyg import PPGN, DiagramConv, InvariantGraphNetwork, SizeAwareBatchSampler

dynamo = pytest.importorskip("torch._dynamo")
from torch._dynamo.testing import CompileCounterWithBackend  # noqa: E402
from torch._dynamo.utils import counters  # noqa: E402


def _batches(num_batches=4, seed=0):
    """Batches whose largest graphs have different sizes (3 to ~17 nodes)."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for index in range(num_batches):
        sizes = torch.randint(2 + 3 * index, 5 + 4 * index, (3,), generator=generator)
        batches.append(Batch.from_data_list(
            [random_graph(int(n), 3, 2, generator, dtype=torch.float32) for n in sizes]))
    return batches


class _ConvNet(torch.nn.Module):
    """Two DiagramConv layers (the second with edge features) and a graph mean."""

    def __init__(self):
        super().__init__()
        self.first = DiagramConv(3, 8)
        self.second = DiagramConv(8, 4, edge_dim=2)

    def forward(self, data):
        h = torch.relu(self.first(data.x, data.edge_index, data.batch))
        h = self.second(h, data.edge_index, data.batch, edge_attr=data.edge_attr)
        sums = h.new_zeros(h.shape[0], h.shape[1]).index_add_(0, data.batch, h)
        return sums[: data.num_graphs]


MODELS = {
    "ign": lambda: InvariantGraphNetwork(3, 4, 2, num_layers=2, readout="sum"),
    "ign-max-edges": lambda: InvariantGraphNetwork(3, 4, 2, num_layers=2, edge_channels=2),
    "ign-node": lambda: InvariantGraphNetwork(3, 4, 2, num_layers=2, output="node"),
    "ppgn": lambda: PPGN(3, 4, 2, num_blocks=2, edge_channels=2),
    "ppgn-node": lambda: PPGN(3, 4, 2, num_blocks=2, output="node"),
    "diagram-conv": _ConvNet,
}


def _compile_and_run(model, batches, train=False):
    torch._dynamo.reset()
    counters.clear()
    counter = CompileCounterWithBackend("eager")
    compiled = torch.compile(model, backend=counter, dynamic=True)
    for batch in batches:
        expected = model(batch)
        out = compiled(batch)
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
        if train:
            grads = torch.autograd.grad(out.square().sum(), list(model.parameters()))
            reference = torch.autograd.grad(expected.square().sum(), list(model.parameters()))
            for mine, theirs in zip(grads, reference, strict=True):
                torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6)
    return counter.frame_count, sum(counters["graph_break"].values())


@pytest.mark.parametrize("name", sorted(MODELS))
def test_compiled_model_no_graph_break_few_compilations(name):
    torch.manual_seed(0)
    model = MODELS[name]()
    frames, breaks = _compile_and_run(model, _batches(), train=name in ("ign", "ppgn"))
    assert breaks == 0
    assert 1 <= frames <= 2


def test_compiled_ign_with_the_size_aware_loader():
    """An epoch of the size-aware loader (batches of many padded sizes) compiles once."""
    generator = torch.Generator().manual_seed(3)
    sizes = [int(n) for n in torch.randint(2, 25, (40,), generator=generator)]
    graphs = [random_graph(n, 3, 2, generator, dtype=torch.float32) for n in sizes]
    sampler = SizeAwareBatchSampler(sizes, batch_size=8, seed=1)
    loader = DataLoader(graphs, batch_sampler=sampler)
    torch.manual_seed(0)
    model = InvariantGraphNetwork(3, 4, 2, num_layers=1, readout="sum")
    padded = {int(batch.batch.bincount().max()) for batch in loader}
    assert len(padded) >= 4
    frames, breaks = _compile_and_run(model, list(loader))
    assert breaks == 0 and frames <= 2  # a one-graph batch (B = 1) may specialise once


def test_eager_checks_still_run_before_a_compiled_model():
    """The data checks run eagerly in the pre-hook, so a compiled model still refuses bad
    input with the eager error."""
    model = torch.compile(InvariantGraphNetwork(3, 4, 2, num_layers=1), backend="eager",
                          dynamic=True)
    batch = _batches(1)[0]
    batch.edge_index = batch.edge_index.clone()
    batch.edge_index[0, 0] = batch.num_nodes + 3
    with pytest.raises(ValueError, match="outside"):
        model(batch)
