"""The fused S_n 2 → 2 layer: one autograd node, equal to the general diagram path."""

import pytest
import torch

from geomlayers.groups import SymmetricGroup
from geomlayers.nn import EquivariantLinear
from geomlayers.ops import dispatch, extension, layer
from geomlayers.ops.fused import fused_layout, fused_two_to_two
from geomlayers.testing import assert_equivariant
from tests.helpers import assert_all_close

BACKENDS = ["torch", pytest.param("cpp", marks=pytest.mark.skipif(
    extension.load_error() is not None, reason="C++ extension not available"))]


def _general_path(monkeypatch):
    """Make ``execute`` call ``diagram_layer(..., fused=False)`` (the general path)."""
    original = layer.diagram_layer

    def unfused(*args, **kwargs):
        return original(*args, **kwargs, fused=False)

    monkeypatch.setattr(dispatch, "diagram_layer", unfused)


def _run(module, x, mask, probe):
    out = module(x, mask=mask)
    params = [x, module.weight] + ([module.bias] if module.bias is not None else [])
    return out, torch.autograd.grad((out * probe).sum(), params)


def test_layer_output_is_one_autograd_node():
    module = EquivariantLinear(SymmetricGroup(5), 2, 2, 3, 4, dtype=torch.float64)
    out = module(torch.randn(2, 3, 5, 5, dtype=torch.float64))
    assert type(out.grad_fn).__name__ == "_TwoToTwoBackward"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_fused_equals_general_path(monkeypatch, backend, n, bias, masked):
    torch.manual_seed(n)
    module = EquivariantLinear(SymmetricGroup(n), 2, 2, 3, 4, bias=bias, dtype=torch.float64,
                               backend=backend)
    if bias:
        with torch.no_grad():
            module.bias.normal_()
    x = torch.randn(3, 3, n, n, dtype=torch.float64, requires_grad=True)
    mask = None
    if masked:
        mask = torch.ones(3, n, dtype=torch.bool)
        mask[1, n // 2:] = False
        if n > 2:
            mask[2, 1] = False  # a hole inside the real nodes, not only trailing padding
    probe = torch.randn(3, 4, n, n, dtype=torch.float64)
    fused_out, fused_grads = _run(module, x, mask, probe)
    with monkeypatch.context() as patch:
        _general_path(patch)
        out, grads = _run(module, x, mask, probe)
    assert_all_close([fused_out, *fused_grads], [out, *grads], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("scale", ["none", "float", "per_sample"])
def test_fused_gradcheck_and_gradgradcheck(scale):
    torch.manual_seed(0)
    plan = EquivariantLinear(SymmetricGroup(3), 2, 2, 2, 2)._program.plan
    bias_plan = EquivariantLinear(SymmetricGroup(3), 2, 2, 2, 2)._bias_plan
    layout = fused_layout(plan, bias_plan)
    assert layout is not None
    x = torch.randn(2, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(plan.num_elements, 2, 2, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(bias_plan.num_elements, 2, dtype=torch.float64, requires_grad=True)
    factor = {"none": None, "float": 1 / 3,
              "per_sample": torch.tensor([1 / 3, 1 / 2], dtype=torch.float64).reshape(2, 1, 1)}

    def fn(x, weight, bias):
        return fused_two_to_two(x, weight, layout, factor[scale], bias)

    assert torch.autograd.gradcheck(fn, (x, weight, bias))
    assert torch.autograd.gradgradcheck(fn, (x, weight, bias))


@pytest.mark.parametrize("backend", BACKENDS)
def test_fused_layer_is_equivariant(backend):
    module = EquivariantLinear(SymmetricGroup(5), 2, 2, 2, 3, dtype=torch.float64,
                               backend=backend)
    assert_equivariant(module)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_padding_does_not_leak(backend):
    torch.manual_seed(1)
    module = EquivariantLinear(SymmetricGroup(6), 2, 2, 2, 3, dtype=torch.float64,
                               backend=backend)
    small = torch.randn(1, 2, 4, 4, dtype=torch.float64)
    padded = torch.full((1, 2, 6, 6), float("nan"), dtype=torch.float64)
    padded[..., :4, :4] = small
    padded.requires_grad_(True)
    mask = torch.tensor([[True] * 4 + [False] * 2])
    out = module(padded, mask=mask)
    torch.testing.assert_close(out[..., :4, :4], module(small), rtol=1e-12, atol=1e-12)
    assert torch.all(out[..., 4:, :] == 0) and torch.all(out[..., :, 4:] == 0)
    (grad,) = torch.autograd.grad(out.sum(), padded)
    assert torch.isfinite(grad).all() and torch.all(grad[..., 4:, :] == 0)


def test_fused_compiles_dynamic_fullgraph():
    torch._dynamo.reset()
    module = EquivariantLinear(SymmetricGroup(4), 2, 2, 3, 3, dtype=torch.float64)
    compiled = torch.compile(module, dynamic=True, fullgraph=True)
    for n in (4, 6):
        x = torch.randn(2, 3, n, n, dtype=torch.float64, requires_grad=True)
        mask = torch.ones(2, n, dtype=torch.bool)
        mask[0, -1] = False
        for m in (None, mask):
            out = compiled(x, mask=m)
            expected = module(x, mask=m)
            torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
            (grad,) = torch.autograd.grad(out.sum(), x)
            (grad_expected,) = torch.autograd.grad(expected.sum(), x)
            torch.testing.assert_close(grad, grad_expected, rtol=1e-12, atol=1e-12)


def test_layout_refuses_other_orders():
    plan = EquivariantLinear(SymmetricGroup(4), 1, 2, 1, 1)._program.plan
    assert fused_layout(plan) is None
