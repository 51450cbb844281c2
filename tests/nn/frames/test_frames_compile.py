"""torch.compile of FrameAveraging: one graph (no break), equal to eager, across sizes."""

import pytest
import torch
from torch import nn

from geomlayers.groups import EuclideanGroup
from geomlayers.nn import FrameAveraging

dynamo_testing = pytest.importorskip("torch._dynamo.testing")


class PointNet(nn.Module):
    """(B, N, 3) -> (B, 1) invariant readout or (B, N, 3) per-point vectors."""

    def __init__(self, equivariant=False):
        super().__init__()
        self.lin, self.out = nn.Linear(3, 8), nn.Linear(8, 3 if equivariant else 1)
        self.equivariant = equivariant

    def forward(self, x):
        h = torch.tanh(self.lin(x))
        return self.out(h + h.mean(1, keepdim=True)) if self.equivariant else self.out(h.sum(1))


@pytest.mark.parametrize("mode", ["invariant", "equivariant"])
def test_compiled_frame_averaging_has_no_graph_break_and_equals_eager(mode):
    torch._dynamo.reset()
    torch.manual_seed(0)
    fa = FrameAveraging(PointNet(mode == "equivariant"), EuclideanGroup(3), mode)
    counter = dynamo_testing.CompileCounter()
    compiled = torch.compile(fa, backend=counter, dynamic=True, fullgraph=True)
    for batch, nodes in [(2, 5), (3, 7), (4, 11)]:
        x = torch.randn(batch, nodes, 3)
        assert torch.allclose(compiled(x), fa(x), atol=1e-6)
    assert counter.frame_count == 1  # one graph for every batch and cloud size
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[1, 5:] = False
    x = torch.randn(3, 7, 3)
    assert torch.allclose(compiled(x, mask=mask), fa(x, mask=mask), atol=1e-6)


def test_compiled_frame_averaging_of_pyg_batches_with_num_graphs():
    torch._dynamo.reset()
    torch.manual_seed(1)

    class NodeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x, batch=None):
            return self.lin(torch.tanh(x))

    fa = FrameAveraging(NodeNet(), "E3", "equivariant", output_type="vector")
    counter = dynamo_testing.CompileCounter()
    compiled = torch.compile(fa, backend=counter, dynamic=True, fullgraph=True)
    for sizes in [(3, 4), (5, 2, 3), (2, 2, 2, 6)]:
        batch = torch.cat([torch.full((s,), i) for i, s in enumerate(sizes)])
        x = torch.randn(len(batch), 3)
        kwargs = {"batch": batch, "num_graphs": len(sizes)}
        assert torch.allclose(compiled(x, **kwargs), fa(x, **kwargs), atol=1e-6)
    assert counter.frame_count == 1
