"""torch.compile of SPD networks: one graph, no break, dynamic batch size, equal to eager."""

import pytest
import torch

from geomlayers.models import SPDNet

D = torch.float64

pytestmark = pytest.mark.usefixtures("one_thread")


def covariances(batch, n=6, seed=0):
    a = torch.randn(batch, n, 3 * n, generator=torch.Generator().manual_seed(seed), dtype=D)
    return a @ a.mT / (3 * n)


@pytest.mark.parametrize("bn_metric", [None, "aim", "lem"])
def test_compiled_spdnet_has_no_graph_break_and_matches_eager(bn_metric):
    torch.manual_seed(0)
    net = SPDNet([6, 4, 3], 3, bn_metric=bn_metric, dtype=D)
    if bn_metric is not None:
        net(covariances(16, seed=9))  # running statistics, then eval mode (no batch means)
    net.eval()
    explained = torch._dynamo.explain(net)(covariances(5))
    assert explained.graph_break_count == 0, [b.reason for b in explained.break_reasons]
    graphs = []

    def counting_backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    torch._dynamo.reset()
    compiled = torch.compile(net, backend=counting_backend, dynamic=True, fullgraph=True)
    for batch in (5, 7, 11):
        x = covariances(batch, seed=batch)
        torch.testing.assert_close(compiled(x), net(x), rtol=1e-10, atol=1e-12)
    assert len(graphs) == 1  # one graph for every batch size
    torch._dynamo.reset()


@pytest.mark.parametrize("bn_metric", ["bw", "gbw"])
def test_compiled_spdnet_with_several_bw_batch_norms_matches_eager(bn_metric):
    """Two or more BW/GBW batch norms in eval mode under ``dynamic=True`` (a Dynamo assertion,
    ``lift_tracked_freevar_to_input``, before the kernel coefficients were made constants)."""
    torch.manual_seed(0)
    net = SPDNet([6, 5, 4, 3], 3, bn_metric=bn_metric, dtype=D)
    net(covariances(16, seed=9))
    net.eval()
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled = torch.compile(net, backend="eager", dynamic=True, fullgraph=True)
    for batch in (5, 7):
        x = covariances(batch, seed=batch)
        torch.testing.assert_close(compiled(x), net(x), rtol=1e-10, atol=1e-12)
    assert not torch._dynamo.utils.counters["graph_break"]
    torch._dynamo.reset()
