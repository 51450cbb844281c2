"""The C++ kernel of the fused S_n 2 → 2 layer (``geomlayers::fused22_forward`` / ``_backward``).

Truth: the fused PyTorch path (itself checked against the general diagram path in
``test_ops_fused.py``), in float64, forward and gradients. The layer-level checks that hold
for both backends (equal to the general path, equivariance, NaN padding) are parametrized
over ``torch`` and ``cpp`` in ``test_ops_fused.py``.
"""

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from geomlayers.groups import SymmetricGroup
from geomlayers.nn import EquivariantLinear
from geomlayers.ops import extension
from geomlayers.ops.fused import fused_layout, fused_two_to_two
from tests.helpers import assert_all_close

pytestmark = pytest.mark.skipif(extension.load_error() is not None,
                                reason="C++ extension not available")


def _layout(n, channels=3, out_channels=4):
    module = EquivariantLinear(SymmetricGroup(max(n, 4)), 2, 2, channels, out_channels)
    return fused_layout(module._program.plan, module._bias_plan), module


def _scale(kind, batch, n, dtype):
    if kind == "none":
        return None
    if kind == "float":
        return 1.0 / n
    return torch.arange(1, batch + 1, dtype=dtype).reciprocal().reshape(batch, 1, 1)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 9])
@pytest.mark.parametrize("scale", ["none", "float", "per_sample"])
@pytest.mark.parametrize("bias", [False, True])
def test_kernel_equals_pytorch_path(n, scale, bias):
    torch.manual_seed(n)
    layout, module = _layout(n)
    x = torch.randn(3, 3, n, n, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(len(layout[2]), 4, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, 4, dtype=torch.float64, requires_grad=True) if bias else None
    factor = _scale(scale, 3, n, torch.float64)
    probe = torch.randn(3, 4, n, n, dtype=torch.float64)
    params = [x, weight] + ([b] if bias else [])
    results = []
    for kernel in (True, False):
        out = fused_two_to_two(x, weight, layout, factor, b, kernel=kernel)
        results.append((out, torch.autograd.grad((out * probe).sum(), params)))
    (out, grads), (expected, expected_grads) = results
    assert_all_close([out, *grads], [expected, *expected_grads], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("scale", ["none", "float", "per_sample"])
def test_kernel_gradcheck_and_gradgradcheck(scale):
    torch.manual_seed(0)
    layout, _ = _layout(4, 2, 2)
    x = torch.randn(2, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(len(layout[2]), 2, 2, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    factor = _scale(scale, 2, 4, torch.float64)

    def fn(x, weight, bias):
        return fused_two_to_two(x, weight, layout, factor, bias, kernel=True)

    assert torch.autograd.gradcheck(fn, (x, weight, bias))
    assert torch.autograd.gradgradcheck(fn, (x, weight, bias))


@pytest.mark.parametrize("n", [3, 4, 5, 8, 13])
def test_kernel_float32_matches_float64(n):
    """float32 smoke test; n covers the 4 × 4 transpose tiles and their tails."""
    torch.manual_seed(n)
    layout, _ = _layout(n, 5, 6)
    x = torch.randn(2, 5, n, n, dtype=torch.float64)
    weight = torch.randn(len(layout[2]), 6, 5, dtype=torch.float64)
    probe = torch.randn(2, 6, n, n, dtype=torch.float64)
    outs = {}
    for dtype in (torch.float32, torch.float64):
        xd = x.to(dtype).requires_grad_(True)
        wd = weight.to(dtype).requires_grad_(True)
        out = fused_two_to_two(xd, wd, layout, 1.0 / n, kernel=True)
        grads = torch.autograd.grad((out * probe.to(dtype)).sum(), [xd, wd])
        outs[dtype] = [out.double(), *(g.double() for g in grads)]
    for got, want in zip(outs[torch.float32], outs[torch.float64], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def _ops_called(fn) -> set:
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return {event.name for event in prof.events()}


def test_cpp_backend_runs_the_kernel_forward_and_backward():
    module = EquivariantLinear(SymmetricGroup(6), 2, 2, 3, 4, backend="cpp")
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    names = _ops_called(lambda: module(x).sum().backward())
    assert {"geomlayers::fused22_forward", "geomlayers::fused22_backward"} <= names
    names = _ops_called(lambda: EquivariantLinear(SymmetricGroup(6), 2, 2, 3, 4,
                                                  backend="torch")(x))
    assert "geomlayers::fused22_forward" not in names


def test_kernel_skips_input_gradient_when_not_needed():
    layout, _ = _layout(5)
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    weight = torch.randn(len(layout[2]), 4, 3, dtype=torch.float64, requires_grad=True)
    out = fused_two_to_two(x, weight, layout, 0.2, kernel=True)
    (grad,) = torch.autograd.grad(out.sum(), weight)
    expected = fused_two_to_two(x, weight, layout, 0.2, kernel=False)
    (want,) = torch.autograd.grad(expected.sum(), weight)
    torch.testing.assert_close(grad, want, rtol=1e-10, atol=1e-10)


def test_kernel_compiles_dynamic_fullgraph():
    torch._dynamo.reset()
    module = EquivariantLinear(SymmetricGroup(4), 2, 2, 3, 3, dtype=torch.float64, backend="cpp")
    compiled = torch.compile(module, dynamic=True, fullgraph=True, backend="eager")
    reference = EquivariantLinear(SymmetricGroup(4), 2, 2, 3, 3, dtype=torch.float64,
                                  backend="torch")
    reference.load_state_dict(module.state_dict())
    for n in (4, 6):
        x = torch.randn(2, 3, n, n, dtype=torch.float64, requires_grad=True)
        out = compiled(x)
        expected = reference(x)
        torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-10)
        (grad,) = torch.autograd.grad(out.sum(), x)
        (want,) = torch.autograd.grad(expected.sum(), x)
        torch.testing.assert_close(grad, want, rtol=1e-10, atol=1e-10)


def test_kernel_with_two_threads_equals_one():
    """The packing passes split the (sample, channel) blocks over threads: same result."""
    torch.manual_seed(5)
    layout, _ = _layout(9, 8, 6)
    x = torch.randn(6, 8, 9, 9, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(len(layout[2]), 6, 8, dtype=torch.float64, requires_grad=True)
    results = []
    threads = torch.get_num_threads()
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            out = fused_two_to_two(x, weight, layout, 1 / 9, kernel=True)
            results.append((out, *torch.autograd.grad(out.square().sum(), [x, weight])))
    finally:
        torch.set_num_threads(threads)
    for one, two in zip(*results, strict=True):
        torch.testing.assert_close(one, two, rtol=1e-12, atol=1e-12)


def test_kernel_op_refuses_bad_slot_tables():
    x = torch.randn(1, 2, 3, 3)
    weight = torch.randn(15, 2, 2)
    with pytest.raises(RuntimeError, match="slot out of range"):
        torch.ops.geomlayers.fused22_forward(x, weight, [-1] + [0] * 16, None, None, [])
    with pytest.raises(RuntimeError, match="17 entries"):
        torch.ops.geomlayers.fused22_forward(x, weight, [0] * 16, None, None, [])
    with pytest.raises(RuntimeError, match="3 bias slots"):
        torch.ops.geomlayers.fused22_forward(x, weight, [0] * 17, None, torch.randn(2, 2), [0])
