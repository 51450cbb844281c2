"""Affine-group layers and classifier (geomlayers.nn.lie): exact and Monte Carlo equivariance."""

import math

import pytest
import torch

from geomlayers.groups.affine import (
    SL,
    GLPlus,
    GroupSamples,
    rotation_angle,
    rotation_subgroup,
    sym_exp,
)
from geomlayers.models import AffineInvariantCNN
from geomlayers.nn.lie import (
    AffineGroupConv,
    AffineLifting,
    GroupBatchNorm,
    GroupMaxProjection,
    GroupSampler,
    GroupSpatialMaxPool,
)

SHEARS = [  # integer matrices of determinant 1: they permute the pixel lattice exactly
    torch.tensor([[1.0, 1.0], [0.0, 1.0]]),
    torch.tensor([[1.0, 0.0], [-1.0, 1.0]]),
    torch.tensor([[2.0, 1.0], [1.0, 1.0]]),
    torch.tensor([[0.0, -1.0], [1.0, 1.0]]),
]


def _lattice_warp(img: torch.Tensor, u: torch.Tensor, centre: int) -> tuple:
    """f'(y) = f(u⁻¹(y - c) + c) on the pixel lattice (exact: u⁻¹ is an integer matrix)."""
    size = img.shape[-1]
    inv = torch.linalg.inv(u.double()).round().long()
    ys = torch.stack(torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij"), -1)
    src = (ys - centre) @ inv.T + centre
    valid = ((src >= 0) & (src < size)).all(-1)
    src = src.clamp(0, size - 1)
    out = img[..., src[..., 0], src[..., 1]] * valid
    return out, src, valid


def _blob_image(batch, channels, size, seed, half=3):
    gen = torch.Generator().manual_seed(seed)
    img = torch.zeros(batch, channels, size, size, dtype=torch.float64)
    c = size // 2
    img[..., c - half: c + half + 1, c - half: c + half + 1] = torch.rand(
        batch, channels, 2 * half + 1, 2 * half + 1, generator=gen, dtype=torch.float64)
    return img


@pytest.mark.parametrize("group", [SL(2), GLPlus(2)], ids=str)
@pytest.mark.parametrize("u", SHEARS, ids=range(len(SHEARS)))
def test_lifting_exact_under_lattice_maps(group, u, seed):
    """F'(x, u·h_a) = F(u⁻¹x, h_a) exactly for u ∈ SL(2, Z) (no interpolation)."""
    layer = AffineLifting(2, 3, group, radius=1.5, max_radius=12, dtype=torch.float64)
    samples = group.sample_grid(2, generator=1, orbit=4)
    size, centre = 33, 16
    img = _blob_image(2, 2, size, 0)
    moved, src, valid = _lattice_warp(img, u, centre)
    out = layer(img, samples)
    out_moved = layer(moved, samples.left_multiply(u.double(), group))
    expected = out[..., src[..., 0], src[..., 1]]
    err = ((out_moved - expected) * valid).abs().max()
    assert err < 1e-10 * max(1.0, float(out.detach().abs().max()))
    assert float(out.detach().abs().max()) > 1e-3


@pytest.mark.parametrize("group", [SL(2), GLPlus(2)], ids=str)
@pytest.mark.parametrize("u", SHEARS[:2], ids=range(2))
@pytest.mark.parametrize("spatial,basis", [("full", "rbf"), ("depthwise", "siren")])
def test_group_conv_exact_under_lattice_maps(group, u, spatial, basis, seed):
    layer = AffineGroupConv(2, 3, group, radius=1.5, max_radius=12, spatial=spatial,
                            spatial_basis=basis, dtype=torch.float64)
    samples = group.sample_grid(2, generator=2, orbit=4)
    size, centre = 33, 16
    f = _blob_image(1, 2 * len(samples.elements), size, 3).reshape(1, 2, -1, size, size)
    moved, src, valid = _lattice_warp(f, u, centre)
    out = layer(f, samples)
    out_moved = layer(moved, samples.left_multiply(u.double(), group))
    expected = out[..., src[..., 0], src[..., 1]]
    scale = float(out.detach().abs().max())
    assert ((out_moved - expected) * valid).abs().max() < 1e-10 * scale


@pytest.mark.parametrize("group", [SL(2), GLPlus(2), SL(3)], ids=str)
def test_group_kernel_inputs_invariant(group):
    """κ(ξ(h_a⁻¹ h̃_b)) is unchanged when every sample is left-multiplied by any u ∈ G."""
    layer = AffineGroupConv(2, 2, group, dtype=torch.float64)
    samples = group.sample_grid(3, generator=4)
    u = group.sample(1, generator=9, )[0] @ group.sample(1, generator=10)[0]
    a = layer.mixing_matrix(samples)
    b = layer.mixing_matrix(samples.left_multiply(u, group))
    assert (a - b).abs().max() < 1e-10 * float(a.detach().abs().max())


def _small_model(group, orbit=8, dtype=torch.float64, **kw):
    return AffineInvariantCNN(group, channels=(4, 6, 8), orbit=orbit, hidden=8, head=8,
                              dtype=dtype, **kw).eval()


@pytest.mark.parametrize("group", [SL(2), GLPlus(2)], ids=str)
def test_classifier_not_invariant_off_the_grid(group, seed):
    """rot90 and shifts by multiples of 4 are exact invariances (checked through the
    declaration in test_lie_declared.py); a reflection (det -1, not in G) is not one."""
    model = _small_model(group, padding_mode="circular")
    x = torch.zeros(2, 1, 16, 16, dtype=torch.float64)
    x[..., 3:11, 4:12] = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    logits = model(x)
    scale = float(logits.detach().abs().max())
    assert (model(x.transpose(2, 3)) - logits).abs().max() > 1e-6 * scale


def test_classifier_float32_smoke():
    model = _small_model(SL(2), dtype=torch.float32)
    x = torch.zeros(2, 1, 16, 16)
    x[..., 3:11, 4:12] = torch.rand(2, 1, 8, 8)
    logits = model(x)
    assert logits.dtype == torch.float32 and logits.shape == (2, 10)
    assert (model(torch.rot90(x, 1, (2, 3))) - logits).abs().max() < 1e-4
    loss = logits.square().sum()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in model.parameters() if p.requires_grad)


def test_volume_classifier_exact_under_cube_rotations():
    """n = 3: R³ ⋊ SL(3) on volumes with the 24 cube rotations as the orbit grid."""
    from geomlayers.groups.affine import Affine
    from geomlayers.testing import assert_equivariant

    model = AffineInvariantCNN(SL(3), channels=(2, 3), orbit=24, hidden=8, head=8, radius=1.2,
                               max_radius=2, dtype=torch.float64).eval()
    x = torch.zeros(2, 1, 8, 8, 8, dtype=torch.float64)
    x[..., 2:6, 1:6, 3:7] = torch.rand(2, 1, 4, 5, 4, dtype=torch.float64)
    cube = rotation_subgroup(3, 24)
    elements = torch.stack([Affine(SL(3)).join(cube[i], torch.zeros(3, dtype=torch.float64))
                            for i in (1, 7, 13, 23)])
    assert_equivariant(model, x=x, elements=elements)


def test_rotation_subgroup_in_grid_matches_rot90():
    """The 90° element of the orbit is exactly the matrix of torch.rot90 on index coordinates."""
    rot = rotation_subgroup(2, 8)
    quarter = torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    assert min(float((r - quarter).abs().max()) for r in rot) < 1e-15


def _phi(group, g):
    """A smooth, decaying test function on SL(2)."""
    feats = group.features(g)
    c = feats[..., : group.sym_dimension]
    cos, sin = feats[..., -2], feats[..., -1]
    return torch.exp(-(c * c).sum(-1) / 0.72) * (1 + 0.5 * cos + 0.3 * sin * cos)


def _mc_error(n_seeds, rep, weighted):
    group = SL(2)
    torch.manual_seed(0)
    layer = AffineGroupConv(1, 2, group, radius=1.0, max_radius=1, group_scale=0.35,
                            dtype=torch.float64)
    targets = group.sample_grid(4, generator=100, scale=0.2)
    u = sym_exp(group.sym_from_coordinates(torch.tensor([0.25, -0.15], dtype=torch.float64)))
    u = u @ rotation_subgroup(2, 12)[1]  # 30°: not in any orbit grid used here
    u_inv = group.inverse(u)
    grid = group.sample_grid(n_seeds, generator=1000 + rep, scale=0.5)
    if not weighted:
        grid = GroupSamples(*grid[:3], torch.full_like(grid.weights, 1.0 / len(grid.weights)))
    f_moved = _phi(group, u_inv @ grid.elements).reshape(1, 1, -1, 1, 1)
    f = _phi(group, grid.elements).reshape(1, 1, -1, 1, 1)
    out1 = layer(f_moved, grid, out_samples=targets)
    out2 = layer(f, grid, out_samples=targets.left_multiply(u_inv, group))
    return float((out1 - out2).detach().norm() / out2.detach().norm())


def test_monte_carlo_equivariance_error_decreases():
    """Off-grid transform: error of the importance-weighted MC integral ∝ 1/√N → 0."""
    sizes = (64, 512, 8192)
    errors = [sum(_mc_error(n, rep, True) for rep in range(2)) / 2 for n in sizes]
    assert errors[1] < errors[0] and errors[2] < errors[1]
    assert errors[2] < errors[0] / 5  # ideal ratio 16
    assert errors[2] < 0.05
    # the unweighted average (the authors' estimator) converges to a non-equivariant limit
    unweighted = sum(_mc_error(sizes[-1], rep, False) for rep in range(2)) / 2
    assert unweighted > 3 * errors[2]


def test_sampler_deterministic_in_eval():
    sampler = GroupSampler(SL(2), 2, 4, seed=3)
    sampler.eval()
    a, b = sampler(torch.float64), sampler(torch.float64)
    assert torch.equal(a.elements, b.elements)
    sampler.train()
    c, d = sampler(torch.float64), sampler(torch.float64)
    assert not torch.equal(c.elements, d.elements)
    again = GroupSampler(SL(2), 2, 4, seed=3).train()
    assert torch.equal(again(torch.float64).elements, c.elements)
    model = _small_model(SL(2))
    x = torch.rand(2, 1, 16, 16, dtype=torch.float64)
    assert torch.equal(model(x), model(x))


def test_classifier_trains_on_its_eval_grid_by_default():
    """``resample=False`` by default: training mode sees the same grid as eval mode."""
    model = _small_model(SL(2)).train()
    train_grid = model.sampler(torch.float64).elements
    assert torch.equal(train_grid, model.sampler(torch.float64).elements)
    assert torch.equal(train_grid, model.eval().sampler(torch.float64).elements)
    redrawn = AffineInvariantCNN(SL(2), channels=(2, 3), hidden=8, head=8, resample=True).train()
    assert not torch.equal(redrawn.sampler(torch.float64).elements,
                           redrawn.sampler(torch.float64).elements)


def test_gradcheck_group_conv():
    group = SL(2)
    layer = AffineGroupConv(1, 1, group, radius=1.0, max_radius=1, hidden=4, dtype=torch.float64)
    samples = group.sample_grid(1, generator=0, orbit=2)
    f = torch.rand(1, 1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: layer(t, samples), (f,))


def test_shapes_dtype_and_modules():
    group = GLPlus(2)
    samples = group.sample_grid(1, generator=0, orbit=4)
    lift = AffineLifting(1, 3, group, dtype=torch.float64)
    x = torch.rand(2, 1, 12, 12, dtype=torch.float64)
    f = lift(x, samples)
    assert f.shape == (2, 3, 4, 12, 12) and f.dtype == torch.float64
    f = GroupBatchNorm(3, dtype=torch.float64)(f)
    mean = f.transpose(0, 1).flatten(1).mean(1)
    assert torch.allclose(mean, torch.zeros_like(mean), atol=1e-12)
    f = GroupSpatialMaxPool(2)(f)
    assert f.shape == (2, 3, 4, 6, 6)
    assert GroupMaxProjection()(f).shape == (2, 3)
    assert "group=Aff(GL+2)" in repr(lift) and "radius" in repr(lift)
    params = sum(p.numel() for p in AffineInvariantCNN(SL(2)).parameters())
    assert params < 400_000


def test_local_projection_keeps_orientation(seed):
    """``max_angle``: max over the samples near the identity rotation only.

    Still exactly invariant to cyclic shifts (space is pooled whole), but not to rot90: the
    pooled samples move out of the window, so classes told apart by orientation stay apart.
    """
    group = SL(2)
    samples = group.sample_grid(1, generator=0, orbit=8)
    f = torch.rand(2, 3, 8, 5, 5, dtype=torch.float64)
    angles = rotation_angle(samples.rot)
    keep = angles <= math.pi / 4 + 1e-9
    assert int(keep.sum()) == 2  # the C8 orbit has two rotations within ±45° of the identity
    out = GroupMaxProjection(math.pi / 4)(f, samples)
    assert torch.equal(out, f[:, :, keep].flatten(2).amax(-1))
    assert torch.equal(GroupMaxProjection(math.pi)(f, samples), GroupMaxProjection()(f))
    model = _small_model(group, padding_mode="circular", max_angle=math.pi / 4)
    x = torch.zeros(2, 1, 16, 16, dtype=torch.float64)
    x[..., 3:11, 4:12] = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    logits = model(x)
    scale = float(logits.detach().abs().max())
    assert (model(torch.roll(x, (4, -4), (2, 3))) - logits).abs().max() < 1e-10 * scale
    feats, other = model.features(x), model.features(torch.roll(x, 1, 0))  # other images
    turned = model.features(torch.rot90(x, 2, (2, 3)))
    assert (turned - feats).norm() > 0.05 * (other - feats).norm()
    full = _small_model(group, padding_mode="circular")
    assert (full.features(torch.rot90(x, 2, (2, 3))) - full.features(x)).abs().max() < 1e-10
    with pytest.raises(ValueError, match="max_angle"):
        GroupMaxProjection(-1.0)
    with pytest.raises(ValueError, match="samples"):
        GroupMaxProjection(0.5)(f)
    with pytest.raises(ValueError, match="no sample"):
        GroupMaxProjection(1e-6)(f, samples)
    assert torch.allclose(rotation_angle(rotation_subgroup(3, 24)).max(),
                          torch.tensor(math.pi, dtype=torch.float64))


def test_bad_input():
    with pytest.raises(TypeError, match="group"):
        AffineLifting(1, 2, "SL2")
    with pytest.raises(ValueError, match="in_channels"):
        AffineLifting(0, 2, SL(2))
    with pytest.raises(ValueError, match="radius"):
        AffineLifting(1, 2, SL(2), radius=-1.0)
    with pytest.raises(ValueError, match="spatial axes, got n=4"):
        AffineLifting(1, 2, GLPlus(4))
    layer = AffineLifting(1, 2, SL(2))
    samples = SL(2).sample_grid(1, generator=0)
    with pytest.raises(ValueError, match="x must be"):
        layer(torch.rand(2, 3, 8, 8), samples)
    conv = AffineGroupConv(2, 2, SL(2))
    with pytest.raises(ValueError, match="f must be"):
        conv(torch.rand(1, 2, 5, 8, 8), samples)
    with pytest.raises(ValueError, match="spatial must"):
        AffineGroupConv(2, 2, SL(2), spatial="dense")
    with pytest.raises(ValueError, match="spatial_basis"):
        AffineLifting(1, 2, SL(2), spatial_basis="poly")
    with pytest.raises(ValueError, match="padding_mode"):
        AffineLifting(1, 2, SL(2), padding_mode="reflect")
    with pytest.raises(ValueError, match="group_scale"):
        AffineGroupConv(2, 2, SL(2), group_scale=0.0)
    assert math.isfinite(float(conv(torch.rand(1, 2, 1, 8, 8), samples).detach().sum()))


def test_layers_declare_the_affine_group_and_accept_it():
    from geomlayers.groups.affine import Affine

    for group in (SL(2), Affine(SL(2))):
        lift = AffineLifting(1, 2, group, dtype=torch.float64)
        conv = AffineGroupConv(2, 2, group, dtype=torch.float64)
        assert lift.group == conv.group == Affine(SL(2)) and lift.linear == SL(2)
    torch.manual_seed(0)
    a = AffineLifting(1, 2, SL(2), dtype=torch.float64)
    torch.manual_seed(0)
    b = AffineLifting(1, 2, Affine(SL(2)), dtype=torch.float64)
    samples = SL(2).sample_grid(2, generator=0)
    x = torch.rand(1, 1, 9, 9, dtype=torch.float64)
    assert torch.equal(a(x, samples), b(x, samples))
