"""The padded-entry contract of masked layers, and the one select a chain of them needs.

A masked layer zeroes its output off the real nodes by default; ``zero_padding=False`` leaves
those entries unspecified and the real entries bitwise the same. In a chain (IGN: layer, ReLU,
layer, …) the next layer's input select is then the only select between two layers, so it
must stay: these tests fail if it is dropped, or if the default output select is.
"""

import pytest
import torch

from geomlayers.nn import EquivariantLinear
from geomlayers.ops import extension
from tests.helpers import assert_all_close

BACKENDS = ["torch", pytest.param("cpp", marks=pytest.mark.skipif(
    extension.load_error() is not None, reason="C++ extension not available"))]
# (2, 2) takes the fused path; the others the general diagram path
ORDERS = [(2, 2), (2, 1), (1, 2), (1, 1), (2, 3)]


def _tuples(mask: torch.Tensor, order: int) -> torch.Tensor:
    """``(B, 1, n, …, n)`` bool: True where every index is a real node."""
    out = torch.ones(mask.shape[0], 1, *[mask.shape[1]] * order, dtype=torch.bool)
    for axis in range(order):
        shape = [mask.shape[0], 1] + [1] * order
        shape[2 + axis] = mask.shape[1]
        out = out & mask.reshape(shape)
    return out


def _padded_batch(k: int, sizes=(3, 6, 4), channels=2, garbage=float("nan")):
    """Samples, their padded batch (``garbage`` off the real nodes) and the mask."""
    n = max(sizes)
    samples = [torch.randn(1, channels, *[m] * k, dtype=torch.float64) for m in sizes]
    mask = torch.zeros(len(sizes), n, dtype=torch.bool)
    padded = torch.full((len(sizes), channels, *[n] * k), garbage, dtype=torch.float64)
    for i, (m, sample) in enumerate(zip(sizes, samples, strict=True)):
        mask[i, :m] = True
        padded[(i, slice(None), *[slice(0, m)] * k)] = sample[0]
    return samples, padded, mask


def _layer(k, l, channels_in, channels_out, backend):
    layer = EquivariantLinear.symmetric(k, l, channels_in, channels_out, dtype=torch.float64,
                                        backend=backend)
    with torch.no_grad():
        layer.weight.normal_()
        layer.bias.normal_()  # a bias puts values on every entry before the select
    return layer


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k, l", ORDERS)
def test_zero_padding_false_keeps_real_entries_bitwise(backend, k, l):
    torch.manual_seed(k * 10 + l)
    layer = _layer(k, l, 2, 3, backend)
    _, padded, mask = _padded_batch(k)
    padded.requires_grad_(True)
    out = layer(padded, mask=mask)
    free = layer(padded, mask=mask, zero_padding=False)
    real = _tuples(mask, l).expand_as(out)
    # the documented contract: padded outputs are exactly zero (NaN input padding included)
    assert torch.all(out[~real] == 0)
    # without the select they are not (so the default select is load-bearing) ...
    assert torch.isfinite(free).all() and free[~real].abs().max() > 0
    # ... and the real entries are the same bits
    assert torch.equal(out[real], free[real])
    # gradients of anything that reads only real entries are the same bits too
    probe = torch.randn_like(out) * real
    params = [padded, layer.weight, layer.bias]
    grads = torch.autograd.grad((out * probe).sum(), params)
    grads_free = torch.autograd.grad((free * probe).sum(), params)
    assert_all_close(grads_free, grads)
    assert torch.all(grads[0][~_tuples(mask, k).expand_as(padded)] == 0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k, l", [(2, 2), (2, 1), (1, 2)])
def test_chain_without_output_select_equals_each_graph_alone(backend, k, l):
    """``relu(layer1(x, zero_padding=False))`` into a masked layer: per graph, as alone.

    The padded entries between the layers are nonzero here, so this fails if the second
    layer's input select is dropped.
    """
    torch.manual_seed(7)
    first, second = _layer(k, l, 2, 4, backend), _layer(l, 2, 4, 3, backend)
    samples, padded, mask = _padded_batch(k)
    hidden = torch.relu(first(padded, mask=mask, zero_padding=False))
    assert hidden[~_tuples(mask, l).expand_as(hidden)].abs().max() > 0
    out = second(hidden, mask=mask)
    for i, sample in enumerate(samples):
        m = sample.shape[-1]
        alone = second(torch.relu(first(sample)))[0]
        torch.testing.assert_close(out[i, :, :m, :m], alone, rtol=1e-12, atol=1e-12)
    assert torch.all(out[~_tuples(mask, 2).expand_as(out)] == 0)


def test_ign_hidden_layers_skip_the_output_select_without_changing_anything(monkeypatch):
    """IGN with the hidden output selects and IGN with every select: the same bits.

    Output and every parameter gradient, for each readout and node output, on a padded batch
    of graphs of different sizes (the models' own crop and size groups are bypassed).
    """
    from geomlayers.models.graphs import InvariantGraphNetwork

    torch.manual_seed(3)
    _, dense, mask = _padded_batch(2, sizes=(3, 7, 5, 2), channels=3, garbage=0.0)
    forward = EquivariantLinear.forward
    calls = []

    def every_select(self, x, mask=None, *, zero_padding=True):
        calls.append(zero_padding)
        return forward(self, x, mask)

    for readout, output, orders in (("sum", "graph", None), ("max", "graph", None),
                                    ("mean", "graph", (1, 2)), ("sum", "node", (3, 2))):
        model = InvariantGraphNetwork(2, 5, 2, num_layers=2, orders=orders, readout=readout,
                                      output=output, edge_channels=0, dtype=torch.float64)
        _assert_patch_changes_nothing(monkeypatch, model, EquivariantLinear, "forward",
                                      every_select, dense, mask)
        assert False in calls  # the hidden layers did skip their output select
        calls.clear()


def _assert_patch_changes_nothing(monkeypatch, model, owner, name, replacement, dense, mask):
    """``model``'s padded output and every parameter gradient are bitwise the same with
    ``owner.name`` replaced by ``replacement``."""
    runs = []
    for patch in (False, True):
        with monkeypatch.context() as context:
            if patch:
                context.setattr(owner, name, replacement)
            out = model._forward_padded(dense, mask)
            runs.append((out, torch.autograd.grad(out.square().sum(), list(model.parameters()))))
    (out, grads), (expected, expected_grads) = runs
    assert_all_close([out, *grads], [expected, *expected_grads])


def _ppgn_block_with_both_selects(self, x, pairs, scale):
    """PPGN's block as it was: ``m1`` and ``m2`` both selected before their product."""
    product = torch.matmul(self.mlp1(x, pairs), self.mlp2(x, pairs))
    if scale is not None:
        product = product / scale[:, None, None, None]
    return self.mlp3([x, product], pairs)


@pytest.mark.parametrize("readout, output", [("sum", "graph"), ("max", "graph"),
                                             ("mean", "node")])
def test_ppgn_selects_one_factor_of_its_product_without_changing_anything(monkeypatch,
                                                                         readout, output):
    """PPGN with ``m2`` unselected equals PPGN with both factors selected: output and every
    parameter gradient (to the bit, up to the sign of zero), on a padded batch."""
    from geomlayers.models.graphs import PPGN
    from geomlayers.models.graphs.ppgn import _PPGNBlock

    torch.manual_seed(5)
    _, dense, mask = _padded_batch(2, sizes=(3, 7, 5, 2), channels=3, garbage=0.0)
    model = PPGN(2, 6, 2, num_blocks=2, readout=readout, output=output, dtype=torch.float64)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "bias" in name:
                parameter.normal_()  # nonzero m2 on padded pairs: MLP(0) = relu(bias) chain
    _assert_patch_changes_nothing(monkeypatch, model, _PPGNBlock, "forward",
                                  _ppgn_block_with_both_selects, dense, mask)


def test_ppgn_product_needs_the_select_on_one_factor(monkeypatch):
    """Without any select on the product's factors, padded nodes leak into real pairs: the
    padded batch then differs from each graph alone (so ``m1``'s select is load-bearing)."""
    from geomlayers.models.graphs import PPGN
    from geomlayers.models.graphs.ppgn import _PPGNBlock

    torch.manual_seed(6)
    samples, dense, mask = _padded_batch(2, sizes=(3, 7), channels=3, garbage=0.0)
    model = PPGN(2, 6, 2, num_blocks=1, readout="sum", dtype=torch.float64)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "bias" in name:
                parameter.normal_()
    alone = model._forward_padded(samples[0], torch.ones(1, 3, dtype=torch.bool))
    torch.testing.assert_close(model._forward_padded(dense, mask)[:1], alone, rtol=1e-12,
                               atol=1e-12)

    def no_factor_select(self, x, pairs, scale):
        product = torch.matmul(self.mlp1(x, None), self.mlp2(x, None))
        return self.mlp3([x, product / scale[:, None, None, None]], pairs)

    monkeypatch.setattr(_PPGNBlock, "forward", no_factor_select)
    leaked = model._forward_padded(dense, mask)[:1]
    assert (leaked - alone).abs().max() > 1e-6
