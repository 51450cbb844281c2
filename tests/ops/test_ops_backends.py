"""The layer primitives on both backends, variable n, masks and torch.compile."""

import os
import shutil
import subprocess
import sys

import networkx as nx
import pytest
import torch

from geomlayers.bases import equivariant_basis
from geomlayers.groups import (
    AutomorphismGroup,
    SpecialOrthogonalGroup,
    SymmetricGroup,
    SymplecticGroup,
)
from geomlayers.nn import EquivariantLinear
from geomlayers.ops import (
    Embedding,
    Reduction,
    apply_element,
    diagonal_embed,
    diagonal_reduce,
    extension,
)
from geomlayers.ops.backend import resolve_backend
from geomlayers.testing import assert_equivariant
from tests.helpers import assert_all_close


def test_extension_builds_when_required():
    """``make test`` (and so CI) sets GEOMLAYERS_REQUIRE_CPP=1: a failed build is an error."""
    if os.environ.get("GEOMLAYERS_REQUIRE_CPP") != "1":
        pytest.skip("GEOMLAYERS_REQUIRE_CPP is not 1 (make test sets it)")
    assert extension.load_error() is None, extension.load_error()


needs_cpp = pytest.mark.skipif(extension.load_error() is not None,
                               reason=f"C++ extension unavailable: {extension.load_error()}")

PATTERNS = [  # (labels, keep)
    ((0, 1), (True, True)),
    ((0, 0), (True,)),
    ((0, 1), (False, True)),
    ((0, 1), (False, False)),
    ((0, 1, 0), (True, False)),
    ((0, 1, 2), (False, True, False)),
    ((0, 0, 0), (False,)),
    ((), ()),
]


@needs_cpp
@pytest.mark.parametrize("labels, keep", PATTERNS)
def test_cpp_primitives_equal_torch_and_are_transposes(labels, keep):
    n, order, kept = 4, len(labels), sum(keep)
    x = torch.randn(3, 2, *[n] * order, dtype=torch.float64)
    y = torch.randn(3, 2, *[n] * kept, dtype=torch.float64)
    reduction, embedding = Reduction(labels, keep), Embedding(labels, keep)
    torch.testing.assert_close(extension.reduce(x, reduction, n), diagonal_reduce(x, reduction),
                               rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(extension.embed(y, embedding, n),
                               diagonal_embed(y, embedding, n), rtol=1e-12, atol=1e-12)
    # <embed(y), x> = <y, reduce(x)>
    left = (extension.embed(y, embedding, n) * x).sum()
    right = (y * extension.reduce(x, reduction, n)).sum()
    torch.testing.assert_close(left, right, rtol=1e-12, atol=1e-12)


@needs_cpp
def test_cpp_primitives_gradcheck_and_gradgradcheck():
    reduction = Reduction((0, 1, 0), (True, False))
    embedding = Embedding((0, 1, 0), (True, False))
    x = torch.randn(2, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    out = torch.randn(2, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    for fn, arg in ((lambda t: extension.reduce(t, reduction, 3), x),
                    (lambda t: extension.embed(t, embedding, 3), y),
                    (lambda t: extension.add_diagonal(out, t, embedding, 3), y),
                    (lambda t: extension.add_diagonal(t, y, embedding, 3), out)):
        assert torch.autograd.gradcheck(fn, (arg,))
        assert torch.autograd.gradgradcheck(fn, (arg,))


@needs_cpp
@pytest.mark.parametrize("k, l", [(2, 2), (3, 1), (1, 3), (0, 2), (2, 0), (3, 3)])
def test_layer_backends_agree(k, l):
    group = SymmetricGroup(4)
    torch.manual_seed(0)
    layers = {b: EquivariantLinear(group, k, l, 3, 2, dtype=torch.float64, backend=b)
              for b in ("torch", "cpp")}
    layers["cpp"].load_state_dict(layers["torch"].state_dict())
    with torch.no_grad():
        layers["torch"].bias.normal_()
        layers["cpp"].bias.copy_(layers["torch"].bias)
    x = torch.randn(2, 3, *[6] * k, dtype=torch.float64, requires_grad=True)  # another n
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    outputs, grads = {}, {}
    probe = None
    for name, layer in layers.items():
        out = layer(x, mask=mask)
        probe = torch.randn_like(out) if probe is None else probe
        grads[name] = torch.autograd.grad((out * probe).sum(), (x, layer.weight))
        outputs[name] = out
    assert_all_close([outputs["cpp"], *grads["cpp"]], [outputs["torch"], *grads["torch"]],
                     rtol=1e-12, atol=1e-12)
    assert layers["cpp"].backend == "cpp" and layers["torch"].backend == "torch"


@pytest.mark.parametrize("backend", ["torch", pytest.param("cpp", marks=needs_cpp)])
def test_torch_compile_fullgraph_both_backends(backend):
    torch._dynamo.reset()
    layer = EquivariantLinear(SymmetricGroup(4), 2, 2, 3, 3, dtype=torch.float64,
                              backend=backend)
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    compiled = torch.compile(layer, fullgraph=True)
    out = compiled(x)
    torch.testing.assert_close(out, layer(x))
    (grad,) = torch.autograd.grad(out.sum(), x)
    (expected,) = torch.autograd.grad(layer(x).sum(), x)
    torch.testing.assert_close(grad, expected)


def test_backend_switch(monkeypatch):
    monkeypatch.setenv("GEOMLAYERS_BACKEND", "torch")
    assert EquivariantLinear(SymmetricGroup(3), 1, 1, 1, 1).backend == "torch"
    monkeypatch.setenv("GEOMLAYERS_BACKEND", "fast")
    with pytest.raises(ValueError, match="backend must be one of"):
        resolve_backend()
    monkeypatch.setenv("GEOMLAYERS_BACKEND", "auto")
    assert resolve_backend() in ("cpp", "torch")


@pytest.mark.parametrize("backend", ["torch", pytest.param("cpp", marks=needs_cpp)])
@pytest.mark.parametrize("k, l", [(2, 2), (2, 0), (1, 2), (3, 3)])
def test_variable_n_and_masks(backend, k, l):
    """A padded batch gives exactly what each graph gives alone; padded outputs are zero."""
    torch.manual_seed(1)
    layer = EquivariantLinear(SymmetricGroup(5), k, l, 2, 3, dtype=torch.float64,
                              backend=backend)
    with torch.no_grad():
        layer.bias.normal_()
    sizes, n_max = [3, 7, 5], 7
    samples = [torch.randn(1, 2, *[m] * k, dtype=torch.float64) for m in sizes]
    padded = torch.zeros(len(sizes), 2, *[n_max] * k, dtype=torch.float64)
    mask = torch.zeros(len(sizes), n_max, dtype=torch.bool)
    for i, (m, sample) in enumerate(zip(sizes, samples, strict=True)):
        padded[(i, slice(None), *[slice(0, m)] * k)] = sample[0]
        mask[i, :m] = True
    padded_garbage = padded + 100.0 * (~_tuples(mask, k)).to(padded.dtype)[:, None]
    out = layer(padded_garbage, mask=mask)
    for i, (m, sample) in enumerate(zip(sizes, samples, strict=True)):
        alone = layer(sample)[0]
        torch.testing.assert_close(out[(i, slice(None), *[slice(0, m)] * l)], alone,
                                   rtol=1e-12, atol=1e-12)
    if l:
        assert (out * (~_tuples(mask, l))[:, None]).abs().max() == 0
    assert_equivariant(layer, SymmetricGroup(7), in_order=k, out_order=l,
                       x=torch.randn(2, 2, *[7] * k, dtype=torch.float64), tol=1e-10)


def _tuples(mask: torch.Tensor, order: int) -> torch.Tensor:
    out = torch.ones(mask.shape[0], *[mask.shape[1]] * order, dtype=torch.bool)
    for axis in range(order):
        shape = [mask.shape[0]] + [1] * order
        shape[1 + axis] = mask.shape[1]
        out = out & mask.reshape(shape)
    return out


def test_variable_n_matches_layer_built_at_that_n():
    small = EquivariantLinear(SymmetricGroup(5), 2, 2, 2, 2, dtype=torch.float64)
    large = EquivariantLinear(SymmetricGroup(9), 2, 2, 2, 2, dtype=torch.float64)
    large.load_state_dict(small.state_dict())
    x = torch.randn(3, 2, 9, 9, dtype=torch.float64)
    torch.testing.assert_close(small(x), large(x), rtol=1e-12, atol=1e-12)


def test_mask_errors():
    layer = EquivariantLinear(SymmetricGroup(4), 2, 2, 1, 1)
    x = torch.randn(2, 1, 4, 4)
    with pytest.raises(TypeError, match="mask must be a bool tensor"):
        layer(x, mask=torch.ones(2, 4))
    with pytest.raises(ValueError, match="mask must have shape"):
        layer(x, mask=torch.ones(2, 5, dtype=torch.bool))
    graph_layer = EquivariantLinear(AutomorphismGroup(nx.cycle_graph(4)), 1, 1, 1, 1)
    with pytest.raises(ValueError, match="mask needs an S_n"):
        graph_layer(torch.randn(2, 1, 4), mask=torch.ones(2, 4, dtype=torch.bool))


@needs_cpp
def test_lock_left_by_a_killed_build_does_not_hang_the_next_load(tmp_path):
    """torch waits forever on a ``lock`` file left by a killed process; we must not.

    The built folder is copied with a fresh leftover lock into a new extension dir and loaded
    from a subprocess (``load_error`` is cached per process): a verified library loads
    without looking at the lock. The rebuild path under a leftover lock is covered by the
    slow test in ``tests/reliability/test_layers.py``.
    """
    built = extension.build_folder()
    copy = tmp_path / built.name
    shutil.copytree(built, copy)
    (copy / "lock").write_text("")
    code = "from geomlayers.ops import extension; print(extension.load_error())"
    env = {**os.environ, "GEOMLAYERS_EXTENSION_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.stdout.strip() == "None", result.stderr[-2000:]


def test_build_lock_times_out_while_another_process_builds(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    with open(tmp_path / "build.flock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(TimeoutError, match="another process"):
            with extension._build_lock(tmp_path, timeout_s=0.3):
                pass


@needs_cpp
@pytest.mark.parametrize("group, k, l", [
    (SpecialOrthogonalGroup(3), 2, 1), (SpecialOrthogonalGroup(3), 2, 3),
    (SpecialOrthogonalGroup(4), 3, 3), (SymplecticGroup(4), 2, 2), (SymplecticGroup(2), 3, 1),
], ids=repr)
def test_brauer_type_elements_agree_on_both_backends(group, k, l):
    """Brauer–Grood and symplectic elements run their diagonal steps on either backend."""
    n = group.n
    basis = equivariant_basis(group, k, l, spanning=True)
    x = torch.randn(2, 3, *[n] * k, dtype=torch.float64, requires_grad=True)
    for element in basis:
        ours = apply_element(element, x, n, backend="cpp")
        reference = apply_element(element, x, n, backend="torch")
        torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)
        dense = element.matrix(n) @ x.detach().reshape(2, 3, -1, 1)
        torch.testing.assert_close(reference.reshape(dense.shape), dense, rtol=1e-12,
                                   atol=1e-12)
        (grad,) = torch.autograd.grad(ours.sum(), x)
        (expected,) = torch.autograd.grad(reference.sum(), x)
        torch.testing.assert_close(grad, expected, rtol=1e-12, atol=1e-12)
    layers = [EquivariantLinear(group, k, l, 3, 2, dtype=torch.float64, backend=b)
              for b in ("torch", "cpp")]
    layers[1].load_state_dict(layers[0].state_dict())
    torch.testing.assert_close(layers[1](x), layers[0](x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k, l", [(2, 2), (3, 3), (3, 1), (1, 2)])
def test_reductions_summed_from_smaller_ones_equal_direct_reductions(k, l):
    """diagram_layer sums e.g. the total from the row sums: same values as from the input."""
    from geomlayers.ops.layer import _all_reductions, _reduction_schedule, plan_layer

    basis = equivariant_basis(SymmetricGroup(k + l), k, l)
    plan = plan_layer(tuple(basis), k, l)
    derived = [parent for _, parent, _ in _reduction_schedule(plan.reductions)]
    assert any(parent is not None for parent in derived)
    x = torch.randn(2, 3, *[5] * k, dtype=torch.float64)
    got = _all_reductions(x, plan.reductions, 5, lambda t, r, n: diagonal_reduce(t, r))
    for reduction, value in zip(plan.reductions, got, strict=True):
        torch.testing.assert_close(value, diagonal_reduce(x, reduction), rtol=1e-12, atol=1e-12)
