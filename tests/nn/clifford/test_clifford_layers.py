"""CGENN / GLGENN layers: equivariance, references, parameter counts; synthetic datasets."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from geomlayers.clifford import CliffordAlgebra, OutermorphismGroup
from geomlayers.clifford.datasets import (
    convex_hull_volume,
    o3_signed_volume,
    o5_regression,
    o5_regression_target,
    o5_standardization,
    vector_scales,
)
from geomlayers.groups.orthogonal import OrthogonalGroup, SpecialOrthogonalGroup
from geomlayers.groups.pseudo_orthogonal import PseudoOrthogonal
from geomlayers.models import ConvexHullNet, O5RegressionNet
from geomlayers.nn.clifford import (
    CliffordGeometricProduct,
    CliffordLayerNorm,
    CliffordLinear,
    CliffordNormalization,
    CliffordSiLU,
)
from geomlayers.testing import assert_equivariant

pytestmark = pytest.mark.usefixtures("one_thread")


GROUPS = {
    "O(5)": (CliffordAlgebra(5), PseudoOrthogonal(5)),
    "SO(5)": (CliffordAlgebra(5), SpecialOrthogonalGroup(5)),
    "O(1,3)": (CliffordAlgebra(1, 3), PseudoOrthogonal(1, 3)),
    "Cl(2,0,1)": (CliffordAlgebra(2, 0, 1), PseudoOrthogonal(2, 0, 1)),
}


def layer_zoo(cl, channels=3):
    zoo = {}
    for sub in ("grade", "type"):
        zoo[f"linear-{sub}"] = CliffordLinear(cl, channels, 4, subspaces=sub)
        zoo[f"norm-{sub}"] = CliffordNormalization(cl, channels, subspaces=sub)
        zoo[f"gp-{sub}-first"] = CliffordGeometricProduct(cl, channels, subspaces=sub)
        zoo[f"gp-{sub}"] = CliffordGeometricProduct(cl, channels, subspaces=sub,
                                                    first_order=False)
        zoo[f"silu-{sub}"] = CliffordSiLU(cl, channels, subspaces=sub)
    zoo["linear-none"] = CliffordLinear(cl, channels, 4, subspaces="none")
    zoo["layernorm"] = CliffordLayerNorm(cl, channels)
    return zoo


def randomise(module, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return module


@pytest.mark.parametrize("group_name", ["O(5)", "O(1,3)", "Cl(2,0,1)"])
def test_every_layer_equivariant_float64(group_name):
    """Each layer declares PseudoOrthogonal(p, q, r) and Multivectors: nothing else is told."""
    cl, group = GROUPS[group_name]
    for name, layer in layer_zoo(cl).items():
        layer = randomise(layer.double())
        assert layer.group == group, name
        errors = assert_equivariant(layer, batch_shape=(2,), num_elements=3, generator=1)
        assert errors[0] < 1e-10, name


def test_layers_equivariant_under_a_subgroup_given_explicitly():
    cl, group = GROUPS["SO(5)"]
    rep = OutermorphismGroup(group)
    for name, layer in layer_zoo(cl).items():
        layer = randomise(layer.double())
        assert assert_equivariant(layer, rep, in_order=1, out_order=1, batch_shape=(2, 3),
                                  num_elements=2, generator=1)[0] < 1e-10, name


@pytest.mark.parametrize("group_name", ["O(5)", "O(1,3)"])
def test_stack_equivariant_and_euclidean_norm_not_lorentz_invariant(group_name):
    cl, group = GROUPS[group_name]
    stack = randomise(nn.Sequential(CliffordLinear(cl, 2, 4, subspaces="type"),
                                    CliffordSiLU(cl, 4, subspaces="type"),
                                    CliffordGeometricProduct(cl, 4, subspaces="type",
                                                             first_order=False),
                                    CliffordLayerNorm(cl, 4)).double())
    rep = OutermorphismGroup(group)
    assert_equivariant(stack, rep, in_order=1, out_order=1, batch_shape=(3, 2), generator=2)
    invariant = lambda x: cl.quadratic_form(stack(x), "grade")  # noqa: E731
    assert_equivariant(invariant, rep, in_order=1, out_order=0, batch_shape=(3, 2), generator=2)
    euclid = lambda x: stack(x).norm(dim=-1)  # noqa: E731
    err = assert_equivariant(euclid, rep, in_order=1, out_order=0, tol=math.inf,
                             batch_shape=(3, 2), generator=2)[0]
    assert (err > 1e-3) == (group_name == "O(1,3)")


def test_float32_equivariance_smoke():
    cl = CliffordAlgebra(5)
    layer = randomise(CliffordGeometricProduct(cl, 3, subspaces="type"))
    x = torch.randn(2, 3, cl.dim)
    assert_equivariant(layer, x=x, tol=1e-4)


def test_layers_float32_and_float64_end_to_end(dtype, seed):
    cl = CliffordAlgebra(2, 1, 1)
    for name, layer in layer_zoo(cl).items():
        layer = layer.to(dtype)
        x = torch.randn(5, 3, cl.dim, dtype=dtype, requires_grad=True)
        out = layer(x)
        out.square().sum().backward()
        assert out.dtype == dtype and torch.isfinite(out).all(), name
        assert torch.isfinite(x.grad).all(), name
        assert all(p.grad is not None for p in layer.parameters()), name


def test_gradcheck_geometric_product():
    cl = CliffordAlgebra(2, 0, 1)
    layer = randomise(CliffordGeometricProduct(cl, 2, subspaces="grade").double())
    x = torch.randn(2, 2, cl.dim, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (x,))


# ------------------------------------------------------------------ independent references
def reference_gp(layer, x):
    """Σ over paths of w · <<x>_s <y>_t>_u, by projections and the algebra's product."""
    cl, sub = layer.algebra, layer.subspaces
    index = cl.subspace_index(sub)
    y = layer.normalization(layer.linear_right(x))
    paths = cl.product_paths(sub).nonzero().tolist()
    out = torch.zeros_like(x)
    for p, (s, t, u) in enumerate(paths):
        xs, yt = x * (index == s), y * (index == t)
        prod = cl.geometric_product(xs, yt, backend="dense") * (index == u)
        out = out + layer.weight[:, p].unsqueeze(-1) * prod
    if layer.linear_left is not None:
        out = (layer.linear_left(x) + out) / math.sqrt(2)
    return out


@pytest.mark.parametrize(("pqr", "sub", "first"), [((3, 0, 0), "grade", True),
                                                   ((2, 1, 1), "type", False),
                                                   ((5, 0, 0), "type", False),
                                                   ((1, 3, 0), "grade", False)])
def test_geometric_product_layer_matches_path_reference(pqr, sub, first):
    cl = CliffordAlgebra(*pqr)
    layer = randomise(CliffordGeometricProduct(cl, 3, subspaces=sub, first_order=first).double())
    x = torch.randn(4, 3, cl.dim, dtype=torch.float64)
    assert torch.allclose(layer(x), reference_gp(layer, x), atol=1e-12)


def test_linear_and_silu_match_formulas():
    cl = CliffordAlgebra(4)
    layer = randomise(CliffordLinear(cl, 3, 2, subspaces="type").double())
    x = torch.randn(5, 3, cl.dim, dtype=torch.float64)
    types = cl.grades % 4
    expected = torch.zeros(5, 2, cl.dim, dtype=torch.float64)
    for o in range(2):
        for c in range(3):
            for blade in range(cl.dim):
                expected[:, o, blade] += layer.weight[o, c, types[blade]] * x[:, c, blade]
        expected[:, o, 0] += layer.bias[o]
    assert torch.allclose(layer(x), expected, atol=1e-12)
    silu = randomise(CliffordSiLU(cl, 3, subspaces="grade").double())
    out = silu(x)
    for blade in range(cl.dim):
        g = int(cl.grades[blade])
        if g == 0:
            inv = x[..., 0]
        else:
            inv = (x * (cl.grades == g)).square().sum(-1)
        gate = torch.sigmoid(silu.a[:, g] * inv + silu.b[:, g])
        assert torch.allclose(out[..., blade], gate * x[..., blade], atol=1e-12)


def test_glgenn_equals_cgenn_for_n_at_most_3():
    cl = CliffordAlgebra(3)
    grade = CliffordGeometricProduct(cl, 4, subspaces="grade", first_order=False).double()
    qt = CliffordGeometricProduct(cl, 4, subspaces="type", first_order=False).double()
    qt.load_state_dict(randomise(grade).state_dict())
    x = torch.randn(3, 4, cl.dim, dtype=torch.float64)
    assert torch.equal(grade(x), qt(x))


# ------------------------------------------------------------------ parameter counts
def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("n", [3, 4, 5])
def test_gp_parameter_formulas(n):
    cl, ch = CliffordAlgebra(n), 6
    cgenn = CliffordGeometricProduct(cl, ch, subspaces="grade")
    assert count(cgenn) == 2 * ch**2 * (n + 1) + ch * (n + 2) + ch * math.comb(n + 3, 3)
    glgenn = CliffordGeometricProduct(cl, ch, subspaces="type", first_order=False)
    paths = {3: 20, 4: 29, 5: 32}[n]
    assert count(glgenn) == 4 * ch**2 + 4 * ch + ch * paths


def test_paper_parameter_counts():
    assert O5RegressionNet("glgenn").clifford_parameters() == 608
    assert O5RegressionNet("cgenn").clifford_parameters() == 1296
    assert count(O5RegressionNet("glgenn")) == 149_189
    assert count(O5RegressionNet("cgenn")) == 149_877
    assert count(ConvexHullNet("glgenn")) == 24_129
    assert count(ConvexHullNet("cgenn")) == 58_849


@pytest.mark.parametrize("kind", ["glgenn", "cgenn"])
def test_models_are_o5_invariant(kind):
    torch.manual_seed(0)
    reg = O5RegressionNet(kind, mlp_width=16).double()
    assert_equivariant(reg, batch_shape=(4,))
    hull = ConvexHullNet(kind, points=6, hidden=4, num_layers=2).double()
    assert_equivariant(hull, batch_shape=(3,))
    assert O5RegressionNet(kind, mlp_width=16)(torch.randn(4, 2, 5)).dtype == torch.float32


def test_module_contract():
    cl = CliffordAlgebra(5)
    layer = CliffordGeometricProduct(cl, 4, subspaces="type", first_order=False,
                                     dtype=torch.float64)
    assert layer.weight.dtype == torch.float64
    assert "backend='gather'" in repr(layer) and "paths=32" in repr(layer)
    assert not any("_" == k.split(".")[-1][0] for k in layer.state_dict())  # buffers not saved
    before = layer.weight.clone()
    layer.reset_parameters()
    assert not torch.equal(before, layer.weight)


def test_layer_bad_inputs():
    cl = CliffordAlgebra(3)
    with pytest.raises(TypeError, match="CliffordAlgebra"):
        CliffordLinear(3, 2, 2)
    with pytest.raises(ValueError, match="subspaces must be one of"):
        CliffordLinear(cl, 2, 2, subspaces="grades")
    with pytest.raises(ValueError, match="in_channels must be an int >= 1"):
        CliffordLinear(cl, 0, 2)
    layer = CliffordGeometricProduct(cl, 2)
    with pytest.raises(ValueError, match="\\(..., 2, 8\\)"):
        layer(torch.randn(3, 2, 4))
    with pytest.raises(ValueError, match="\\(..., 2, 8\\)"):
        layer(torch.randn(3, 3, 8))
    with pytest.raises(TypeError, match="floating-point"):
        layer(torch.ones(3, 2, 8, dtype=torch.int64))
    with pytest.raises(ValueError, match="kind must be"):
        O5RegressionNet("egnn")
    with pytest.raises(ValueError, match="\\(batch, 2, 5\\)"):
        O5RegressionNet()(torch.randn(4, 3, 5))


# ------------------------------------------------------------------ datasets
def test_o5_regression_formula_and_determinism():
    x, y = o5_regression(50, seed=3)
    x2, y2 = o5_regression(50, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(x, o5_regression(50, seed=4)[0])
    xn = x.numpy()
    r1, r2 = np.linalg.norm(xn[:, 0], axis=1), np.linalg.norm(xn[:, 1], axis=1)
    expected = np.sin(r1) - 0.5 * r2**3 + np.einsum("ij,ij->i", xn[:, 0], xn[:, 1]) / (r1 * r2)
    assert np.allclose(y.numpy(), expected, atol=1e-12)
    g = OrthogonalGroup(5).sample(1, generator=0)[0]
    assert torch.allclose(o5_regression_target(x @ g.T), y, atol=1e-10)


def test_standardisation_commutes_with_rotation():
    x, _ = o5_regression(200, seed=0)
    g = OrthogonalGroup(5).sample(1, generator=1)[0]
    scale = vector_scales(x).reshape(1, -1, 1)
    assert torch.allclose(vector_scales(x @ g.T), vector_scales(x))
    assert torch.allclose((x @ g.T) / scale, (x / scale) @ g.T)


def test_o5_standardization_matches_numpy_formula():
    x, y = o5_regression(40, seed=5)
    scale, mean, std = o5_standardization(x, y)
    flat = x.numpy().reshape(40, 10)  # the authors' layout: (N, 2 * 5)
    rms = np.sqrt((flat.reshape(40, 2, 5) ** 2).mean(axis=(0, 2)))
    assert np.allclose(scale.numpy(), rms, atol=1e-12)
    assert np.isclose(float(mean), y.numpy().mean()) and np.isclose(float(std), y.numpy().std())
    z = (y - mean) / std
    assert abs(float(z.mean())) < 1e-12 and abs(float(z.square().mean()) - 1) < 1e-12
    # a 30-sample draw's target spread differs from another's by a large factor: the MSE
    # in standardised units (÷ std²) and in target units are not interchangeable
    stds = [float(o5_standardization(*o5_regression(30, seed=s))[2]) for s in range(20)]
    assert max(stds) / min(stds) > 1.5
    with pytest.raises(ValueError, match="one target per sample"):
        o5_standardization(x, y[:-1])
    with pytest.raises(ValueError, match="at least 2"):
        o5_standardization(x[:1], y[:1])


def test_convex_hull_volume_against_simplex_and_invariance():
    x, vol = convex_hull_volume(8, seed=0, points=6, n=5)  # 6 points in R^5: a simplex
    edges = x[:, 1:] - x[:, :1]
    assert torch.allclose(vol, torch.linalg.det(edges).abs() / math.factorial(5), atol=1e-10)
    x16, vol16 = convex_hull_volume(4, seed=1)
    assert x16.shape == (4, 16, 5) and torch.equal(vol16, convex_hull_volume(4, seed=1)[1])
    from scipy.spatial import ConvexHull

    g = OrthogonalGroup(5).sample(1, generator=0)[0].numpy()
    assert np.isclose(ConvexHull(x16[0].numpy() @ g.T).volume, float(vol16[0]))


def test_o3_signed_volume_is_pseudoscalar():
    x, y = o3_signed_volume(20, seed=0)
    assert torch.allclose(y, torch.linalg.det(x) / 10)
    reflection = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))
    assert torch.allclose(torch.linalg.det(x @ reflection) / 10, -y)


def test_dataset_bad_inputs():
    with pytest.raises(ValueError, match="num_samples"):
        o5_regression(0)
    with pytest.raises(ValueError, match="seed"):
        o3_signed_volume(3, seed=-1)
    with pytest.raises(ValueError, match="points must be an int >= 6"):
        convex_hull_volume(3, points=4, n=5)


def test_layers_are_built_from_the_algebra_of_a_pseudo_orthogonal_group():
    group = PseudoOrthogonal(2, 1, 1)
    torch.manual_seed(0)
    from_group = CliffordGeometricProduct(group, 3, dtype=torch.float64)
    torch.manual_seed(0)
    from_algebra = CliffordGeometricProduct(CliffordAlgebra(2, 1, 1), 3, dtype=torch.float64)
    assert from_group.algebra == from_algebra.algebra == CliffordAlgebra.from_group(group)
    assert from_group.group == from_algebra.group == group
    x = torch.randn(4, 3, 16, dtype=torch.float64)
    assert torch.equal(from_group(x), from_algebra(x))
    assert CliffordLinear(CliffordAlgebra.from_metric((0, 1)), 1, 1).group is None
    with pytest.raises(TypeError, match="PseudoOrthogonal"):
        CliffordLinear(OrthogonalGroup(3), 1, 1)


def test_moved_models_keep_deprecated_aliases():
    import geomlayers.nn
    import geomlayers.nn.clifford
    import geomlayers.nn.lie
    from geomlayers.models import AffineInvariantCNN

    for module, name, target in [(geomlayers.nn.clifford, "O5RegressionNet", O5RegressionNet),
                                 (geomlayers.nn, "ConvexHullNet", ConvexHullNet),
                                 (geomlayers.nn.lie, "AffineInvariantCNN", AffineInvariantCNN)]:
        with pytest.warns(DeprecationWarning, match="geomlayers.models"):
            assert getattr(module, name) is target
    with pytest.raises(AttributeError):
        geomlayers.nn.clifford.NoSuchLayer  # noqa: B018
