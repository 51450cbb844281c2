"""torch.compile of the graph models: no graph break, one compilation, eager numbers.

Compilations are counted with dynamo's ``CompileCounterWithBackend``: on its ``eager``
backend (the graphs dynamo captures, run without inductor, which keeps most tests fast) and
once on ``inductor``, whose code generator adds guards of its own; graph breaks with
dynamo's counters. The batches include the sizes that used to recompile: a largest graph of
4 nodes (the order k + l of the 2 → 2 layers), one graph, graphs of one node, and (for
inductor) a largest graph over 64 nodes.
"""

import pytest
import torch
from helpers import assert_all_close, random_graph
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from geomlayers.pyg import (
    PPGN,
    DiagramConv,
    InvariantGraphNetwork,
    SizeAwareBatchSampler,
    ign3,
    mark_batch_sizes,
)

dynamo = pytest.importorskip("torch._dynamo")
from torch._dynamo.testing import CompileCounterWithBackend  # noqa: E402
from torch._dynamo.utils import counters  # noqa: E402


def _batches(num_batches=4, seed=0, special=True):
    """Batches whose largest graphs have different sizes (3 to ~17 nodes).

    With ``special``, also the batches that used to add compilations: a largest graph of 4
    nodes, a single graph, and a batch of one-node graphs.
    """
    generator = torch.Generator().manual_seed(seed)
    size_lists = [torch.randint(2 + 3 * i, 5 + 4 * i, (3,), generator=generator).tolist()
                  for i in range(num_batches)]
    if special:
        size_lists += [[4, 3, 2], [6], [1, 1]]
    return [_batch(sizes, generator) for sizes in size_lists]


def _batch(sizes, generator):
    return Batch.from_data_list(
        [random_graph(int(n), 3, 2, generator, dtype=torch.float32) for n in sizes])


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
    "ign3": lambda: ign3(3, 2, 2),
    "ppgn": lambda: PPGN(3, 4, 2, num_blocks=2, edge_channels=2),
    "ppgn-node": lambda: PPGN(3, 4, 2, num_blocks=2, output="node"),
    "diagram-conv": _ConvNet,
}


def _compile_and_run(model, batches, train=False, backend="eager"):
    torch._dynamo.reset()
    counters.clear()
    counter = CompileCounterWithBackend(backend)
    compiled = torch.compile(model, backend=counter, dynamic=True)
    for batch in batches:
        expected = model(batch)
        out = compiled(batch)
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
        if train:
            grads = torch.autograd.grad(out.square().sum(), list(model.parameters()))
            reference = torch.autograd.grad(expected.square().sum(), list(model.parameters()))
            assert_all_close(grads, reference, rtol=1e-5, atol=1e-6)
    return counter.frame_count, sum(counters["graph_break"].values())


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow) if name == "ign3"
                                  else name for name in sorted(MODELS)])  # ign3: ~20-40 s
def test_compiled_model_no_graph_break_one_compilation(name):
    torch.manual_seed(0)
    model = MODELS[name]()
    # the DiagramConv layers take the user's tensors (no dense batch to mark): a one-graph
    # batch specialises their graph count once, as for any PyG layer
    batches = _batches()
    if name == "diagram-conv":  # sparse layers see the batch's own tensors: the caller marks
        batches = [mark_batch_sizes(batch) for batch in batches if batch.num_edges]
    frames, breaks = _compile_and_run(model, batches, train=name in ("ign", "ppgn"))
    assert breaks == 0
    assert frames == 1


def test_sparse_model_without_marks_compiles_at_most_twice():
    """Unmarked, a DiagramConv network's sizes are backed: dynamo may specialise (duck
    sizing, a one-graph batch) once, and an edge-less batch once more; marked, only the
    edge-less batch adds one."""
    torch.manual_seed(0)
    batches = _batches()
    frames, breaks = _compile_and_run(_ConvNet(), [b for b in batches if b.num_edges])
    assert breaks == 0 and frames <= 2
    frames, breaks = _compile_and_run(_ConvNet(), [mark_batch_sizes(b) for b in batches])
    assert breaks == 0 and frames <= 2


def test_inductor_compiles_ign_once_over_every_size():
    """Inductor (CPU) adds guards dynamo's eager backend does not: its float32 sum
    reductions guard on their length against 4096, so a batch whose largest graph has more
    than 64 nodes (n² > 4096) compiled again; with the dense sizes marked unbacked one
    compilation serves every batch."""
    torch.manual_seed(0)
    model = InvariantGraphNetwork(3, 4, 2, num_layers=1, readout="sum", mlp_channels=())
    generator = torch.Generator().manual_seed(1)
    batches = [_batch(sizes, generator) for sizes in ([5, 3], [70, 9], [4, 2], [7], [1, 1])]
    with torch.no_grad():  # the forward graph only (half the compile time)
        frames, breaks = _compile_and_run(model, batches, backend="inductor")
    assert breaks == 0
    assert frames == 1


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
    assert breaks == 0 and frames == 1


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
