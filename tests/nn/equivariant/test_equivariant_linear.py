import networkx as nx
import pytest
import torch

from geomlayers.bases import equivariant_basis
from geomlayers.groups import (
    AlternatingGroup,
    AutomorphismGroup,
    OrthogonalGroup,
    SpecialOrthogonalGroup,
    SymmetricGroup,
    SymplecticGroup,
)
from geomlayers.nn import EquivariantLinear
from geomlayers.testing import assert_equivariant

CASES = [
    (SymmetricGroup(4), 2, 2),
    (SymmetricGroup(3), 3, 3),
    (SymmetricGroup(5), 1, 3),
    (SymmetricGroup(4), 0, 2),
    (SymmetricGroup(4), 2, 0),
    (AlternatingGroup(4), 2, 1),
    (AlternatingGroup(3), 1, 1),
    (AutomorphismGroup(nx.cycle_graph(5)), 1, 2),
    (OrthogonalGroup(3), 2, 2),  # Brauer diagrams: partition diagrams with pair blocks
    (SpecialOrthogonalGroup(3), 2, 1),  # the cross product (Brauer-Grood, apply_to)
    (SpecialOrthogonalGroup(3), 0, 3),  # bias-only path: ε as a dense invariant
    (SymplecticGroup(4), 1, 1),  # symplectic Brauer (apply_to)
    (SymplecticGroup(4), 2, 2),
]


def dense_reference(layer, x):
    """Σ_i Λ_i ⊗ (n^{-s_i} B_i) x + bias, through dense matrices."""
    n, k, l = layer.group.n, layer.k, layer.l
    matrices = layer.basis.dense(x.dtype) * layer.element_scales().to(x.dtype)[:, None, None]
    flat = x.reshape(x.shape[0], layer.in_channels, n**k)
    out = torch.einsum("ioc,iab,xcb->xoa", layer.weight, matrices, flat)
    out = out.reshape(x.shape[0], layer.out_channels, *[n] * l)
    invariants = equivariant_basis(layer.group, 0, l).dense(x.dtype).reshape(-1, *[n] * l)
    return out + torch.einsum("oj,j...->o...", layer.bias, invariants)


@pytest.mark.parametrize("group, k, l", CASES, ids=lambda c: repr(c))
def test_matches_dense_and_is_equivariant(group, k, l, seed):
    layer = EquivariantLinear(group, k, l, 3, 2, dtype=torch.float64)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(4, 3, *[group.n] * k, dtype=torch.float64)
    torch.testing.assert_close(layer(x), dense_reference(layer, x), rtol=1e-12, atol=1e-12)
    assert_equivariant(layer, group, in_order=k, out_order=l, x=x, tol=1e-10)


def test_float32_smoke(dtype):
    group = SymmetricGroup(6)
    layer = EquivariantLinear(group, 2, 2, 4, 5, dtype=dtype)
    x = torch.randn(3, 4, 6, 6, dtype=dtype)
    y = layer(x)
    assert y.dtype == dtype and y.shape == (3, 5, 6, 6)
    assert_equivariant(layer, group, in_order=2, out_order=2, x=x,
                       tol=1e-5 if dtype == torch.float32 else 1e-10)


def test_gradcheck():
    layer = EquivariantLinear(AlternatingGroup(3), 2, 2, 2, 2, dtype=torch.float64)
    x = torch.randn(2, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (x,))
    params = (layer.weight, layer.bias)

    def as_function(weight, bias):
        return torch.func.functional_call(layer, {"weight": weight, "bias": bias}, (x.detach(),))

    assert torch.autograd.gradcheck(as_function, params)


def test_output_scale_does_not_grow_with_n():
    stds = []
    for n in (4, 8, 16, 32):
        torch.manual_seed(0)
        layer = EquivariantLinear(SymmetricGroup(n), 2, 2, 16, 16)
        x = torch.randn(8, 16, n, n)
        stds.append(float(layer(x).std()))
    assert max(stds) / min(stds) < 2.0, stds


def test_state_dict_holds_only_parameters():
    layer = EquivariantLinear(AlternatingGroup(4), 2, 2, 2, 3)
    assert set(layer.state_dict()) == {"weight", "bias", "_extra_state"}
    clone = EquivariantLinear(AlternatingGroup(4), 2, 2, 2, 3)
    clone.load_state_dict(layer.state_dict())
    x = torch.randn(2, 2, 4, 4)
    torch.testing.assert_close(clone(x), layer(x))
    text = repr(layer)
    assert str(AlternatingGroup(4)) in text and "basis=22" in text
    assert f"backend={layer.backend!r}" in text


def test_bad_input():
    layer = EquivariantLinear(SymmetricGroup(4), 2, 1, 3, 2)
    with pytest.raises(ValueError, match="x must have shape \\(batch, 3, n, n\\)"):
        layer(torch.randn(2, 3, 5, 4))
    with pytest.raises(ValueError, match="x must have shape"):
        layer(torch.randn(2, 2, 4, 4))
    fixed = EquivariantLinear(AutomorphismGroup(nx.cycle_graph(5)), 1, 1, 1, 1)
    with pytest.raises(ValueError, match="fixed to n=5"):
        fixed(torch.randn(2, 1, 6))
    with pytest.raises(ValueError, match="in_channels must be an int >= 1"):
        EquivariantLinear(SymmetricGroup(4), 2, 1, 0, 2)


@pytest.mark.parametrize("group", [SymmetricGroup(5), AlternatingGroup(4),
                                   AutomorphismGroup(nx.petersen_graph())], ids=repr)
def test_deep_network_invariance_and_equivariance(group):
    from geomlayers.nn import EquivariantMLP

    invariant = EquivariantMLP(group, [2, 2, 1, 0], [2, 4, 4, 3], dtype=torch.float64)
    x = torch.randn(3, 2, group.n, group.n, dtype=torch.float64)
    assert invariant(x).shape == (3, 3)
    assert_equivariant(invariant, group, in_order=2, out_order=0, x=x, tol=1e-10)
    equivariant = EquivariantMLP(group, [1, 2, 1], [2, 4, 2], activation=torch.nn.Tanh,
                                 dtype=torch.float64)
    assert_equivariant(equivariant, group, in_order=1, out_order=1,
                       x=torch.randn(3, 2, group.n, dtype=torch.float64), tol=1e-10)
    with pytest.raises(ValueError, match="same length"):
        EquivariantMLP(group, [1, 2], [2])


@pytest.mark.parametrize("make", [
    lambda dt: EquivariantLinear(SymmetricGroup(5), 2, 2, 3, 4, dtype=dt),
    lambda dt: EquivariantLinear.symmetric(2, 1, 2, 3, dtype=dt),
    lambda dt: EquivariantLinear(AlternatingGroup(4), 1, 2, 2, 2, dtype=dt),
    lambda dt: EquivariantLinear(AutomorphismGroup(nx.cycle_graph(6)), 2, 1, 3, 2, dtype=dt),
], ids=["S5", "symmetric", "A4", "aut-cycle"])
def test_layers_declare_group_and_representations(make, dtype, seed):
    layer = make(dtype)
    assert layer.rep_in.channels == layer.in_channels
    assert layer.rep_out.channels == layer.out_channels
    assert_equivariant(layer)
