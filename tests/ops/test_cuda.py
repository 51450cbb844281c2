"""Every layer family on CUDA: same results as on the CPU (run where a GPU exists).

Marked ``cuda``; skipped with the reason on machines without a GPU (CI is CPU-only). On a GPU
machine: ``make test PYTEST_ARGS="-m cuda"``.
"""

import pytest

try:  # the `graphs` extra (PyG): without it this module is skipped
    import torch_geometric  # noqa: F401
except ModuleNotFoundError as error:
    pytest.skip(f"needs {error.name}: pip install 'geomlayers[graphs]'", allow_module_level=True)

import torch

from geomlayers.clifford import CliffordAlgebra
from geomlayers.groups import SpecialOrthogonalGroup, SymmetricGroup, SymplecticGroup
from geomlayers.nn import CliffordLinear, EquivariantLinear, FrameAveraging, SPDNet
from geomlayers.pyg import PPGN, InvariantGraphNetwork
from tests.helpers import random_graph

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine"),
]


def _random_spd(batch: int, d: int) -> torch.Tensor:
    a = torch.randn(batch, d, d, dtype=torch.float64)
    return a @ a.mT + d * torch.eye(d, dtype=torch.float64)


def _graph_batch():
    """Two random graphs of 5 and 7 nodes with 3 float64 node features, as one PyG Batch."""
    from torch_geometric.data import Batch

    generator = torch.Generator().manual_seed(0)
    return Batch.from_data_list([random_graph(n, 3, 0, generator) for n in (5, 7)])


def _cases():
    yield "S_n k=l=2 torch", lambda: EquivariantLinear(SymmetricGroup(6), 2, 2, 3, 4,
                                                        backend="torch"), \
        lambda: (torch.randn(2, 3, 6, 6, dtype=torch.float64),)
    yield "S_n k=l=2 cpp", lambda: EquivariantLinear(SymmetricGroup(6), 2, 2, 3, 4,
                                                      backend="cpp"), \
        lambda: (torch.randn(2, 3, 6, 6, dtype=torch.float64),)
    yield "SO(3) 2->1", lambda: EquivariantLinear(SpecialOrthogonalGroup(3), 2, 1, 2, 2), \
        lambda: (torch.randn(2, 2, 3, 3, dtype=torch.float64),)
    yield "Sp(4) 2->2", lambda: EquivariantLinear(SymplecticGroup(4), 2, 2, 2, 2), \
        lambda: (torch.randn(2, 2, 4, 4, dtype=torch.float64),)
    yield "SPDNet", lambda: SPDNet([8, 6, 4], 3, bn_metric="gbw").eval(), \
        lambda: (_random_spd(5, 8),)
    yield "Clifford", lambda: CliffordLinear(CliffordAlgebra(3, 0, 0), 4, 5), \
        lambda: (torch.randn(2, 4, 8, dtype=torch.float64),)
    yield "IGN", lambda: InvariantGraphNetwork(3, 8, 2, num_layers=2), \
        lambda: (_graph_batch(),)
    yield "PPGN", lambda: PPGN(3, 8, 2, num_blocks=2), lambda: (_graph_batch(),)
    yield "FrameAveraging", lambda: FrameAveraging(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(15, 2)), frame="E3",
        mode="invariant"), lambda: (torch.randn(2, 5, 3, dtype=torch.float64),)


CASES = list(_cases())


@pytest.mark.parametrize("name, make_module, make_inputs", CASES, ids=[c[0] for c in CASES])
def test_cuda_matches_cpu(name, make_module, make_inputs):
    torch.manual_seed(0)
    module = make_module().double()
    inputs = make_inputs()
    expected = module(*inputs)
    on_gpu = module.to("cuda")
    got = on_gpu(*[t.to("cuda") for t in inputs])
    assert got.device.type == "cuda"
    torch.testing.assert_close(got.cpu(), expected, rtol=1e-8, atol=1e-8)
