"""Invariant-gated nonlinearities and deep O(n) / SO(n) networks."""

import pytest
import torch

from geomlayers.groups import OrthogonalGroup, SpecialOrthogonalGroup, act
from geomlayers.groups.symplectic import SymplecticGroup
from geomlayers.nn.gates import GatedEquivariantMLP, NormGate, orthogonal_invariants
from geomlayers.testing import assert_equivariant, equivariance_error


@pytest.mark.parametrize("group", [OrthogonalGroup(3), SpecialOrthogonalGroup(3),
                                   OrthogonalGroup(4)], ids=repr)
@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_norm_gate_is_equivariant(group, order, seed):
    gate = NormGate(3, order, dtype=torch.float64)
    assert_equivariant(gate, group, in_order=order, out_order=order, batch_shape=(4, 3))


@pytest.mark.parametrize("order", [1, 2])
def test_norm_gate_float32_smoke(order, seed):
    gate = NormGate(2, order)
    x = torch.randn(3, 2, *[3] * order)
    y = gate(x)
    assert y.dtype == torch.float32 and y.shape == x.shape
    assert_equivariant(gate, OrthogonalGroup(3), in_order=order, out_order=order,
                       x=x, tol=1e-5)


def test_invariants_are_invariant_and_correct():
    x = torch.randn(4, 2, 3, 3, dtype=torch.float64)
    g = OrthogonalGroup(3).sample(3, generator=0)
    for h in g:
        torch.testing.assert_close(orthogonal_invariants(act(h, x, 2), 2),
                                   orthogonal_invariants(x, 2))
    inv = orthogonal_invariants(x, 2, eps=0.0)
    torch.testing.assert_close(inv[..., 0], torch.linalg.matrix_norm(x))
    torch.testing.assert_close(inv[..., 1], torch.einsum("bcii->bc", x))
    torch.testing.assert_close(inv[..., 2], torch.einsum("bcij,bcji->bc", x, x))


def test_negative_controls(seed):
    # a pointwise ReLU on vectors is not O(n)-equivariant; norms are not Sp(n)-invariant
    relu = torch.nn.ReLU()
    assert equivariance_error(relu, OrthogonalGroup(3), in_order=1, out_order=1)[0] > 0.1
    gate = NormGate(2, 1, dtype=torch.float64)
    torch.nn.init.normal_(gate.mlp[0].weight, std=3.0)
    error = equivariance_error(gate, SymplecticGroup(4), in_order=1, out_order=1,
                               batch_shape=(4, 2))[0]
    assert error > 1e-3


def test_norm_gate_gradients(seed):
    gate = NormGate(2, 2, hidden=3, dtype=torch.float64)
    x = torch.randn(2, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(gate, (x,))
    zero = torch.zeros(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    gate(zero).sum().backward()
    assert torch.isfinite(zero.grad).all()


def test_norm_gate_options_and_errors():
    gate = NormGate(3, 1, hidden=0, bias=False)
    assert isinstance(gate.mlp, torch.nn.Linear) and gate.mlp.bias is None
    assert "invariants=(norm)" in repr(gate)
    assert "trace" in repr(NormGate(3, 2))
    with pytest.raises(ValueError, match="channels must be an int >= 1"):
        NormGate(0, 1)
    with pytest.raises(ValueError, match="order must be an int >= 0"):
        NormGate(2, -1)
    with pytest.raises(ValueError, match="hidden must be an int >= 0"):
        NormGate(2, 1, hidden=-3)
    with pytest.raises(ValueError, match="eps must be > 0"):
        NormGate(2, 1, eps=0)
    with pytest.raises(ValueError, match="x must have shape \\(batch, 2, n\\)"):
        NormGate(2, 1)(torch.randn(3, 3, 4))
    with pytest.raises(ValueError, match="square"):
        NormGate(2, 2)(torch.randn(3, 2, 3, 4))


@pytest.mark.parametrize("group, orders", [
    (OrthogonalGroup(3), [1, 3, 1]),
    (OrthogonalGroup(3), [2, 2, 0]),
    (SpecialOrthogonalGroup(3), [2, 1, 2, 1]),  # cross products between the gates
    (OrthogonalGroup(5), [1, 1, 1]),
], ids=str)
def test_gated_network_is_equivariant(group, orders, seed):
    channels = [2] + [3] * (len(orders) - 2) + [1]
    net = GatedEquivariantMLP(group, orders, channels, dtype=torch.float64)
    for module in net.modules():
        if getattr(module, "bias", None) is not None and module.bias.dim() == 2:
            torch.nn.init.normal_(module.bias)
    out = net(torch.randn(4, 2, *[group.n] * orders[0], dtype=torch.float64))
    assert out.abs().max() > 1e-3  # not a trivially zero network
    assert_equivariant(net, group, in_order=orders[0], out_order=orders[-1],
                       batch_shape=(4, 2))


def test_gated_network_errors():
    with pytest.raises(TypeError, match="OrthogonalGroup or SpecialOrthogonalGroup"):
        GatedEquivariantMLP(SymplecticGroup(4), [1, 1], [1, 1])
    with pytest.raises(ValueError, match="same length >= 2"):
        GatedEquivariantMLP(OrthogonalGroup(3), [1, 1], [1])
