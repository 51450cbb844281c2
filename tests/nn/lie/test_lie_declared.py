"""The affine-group layers and classifier declare group / rep_in / rep_out, and
geomlayers.testing.assert_equivariant checks them on the elements they are exact for.

Exact (float64, default tolerance 1e-10): rotations of the sample grid's orbit that map the
pixel lattice to itself (rot90 with orbit 8; cube rotations with orbit 24) and, with circular
padding, integer translations. Other affine maps need interpolation and new samples: their
approximate equivariance stays in the hand-written tests of test_lie_nn.py.
"""

import dataclasses

import pytest
import torch

from geomlayers.groups import SL, Affine, GLPlus, Images, LiftedImages, TranslationGroup, Trivial
from geomlayers.groups.affine import rotation_subgroup
from geomlayers.models import AffineInvariantCNN
from geomlayers.nn.lie import (
    AffineGroupConv,
    AffineLifting,
    GroupBatchNorm,
    GroupMaxProjection,
    GroupSpatialMaxPool,
)
from geomlayers.testing import assert_equivariant

QUARTER = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=torch.float64)


def _elements(group, shifts):
    """rot90^k composed with integer shifts, as homogeneous elements of group."""
    out = []
    for k, t in zip(range(4), shifts, strict=False):
        a = torch.linalg.matrix_power(QUARTER, k)
        out.append(group.join(a, torch.tensor(t, dtype=torch.float64)))
    return torch.stack(out)


class OnGrid(torch.nn.Module):
    """A layer on a fixed sample grid, with the grid's orbit in its declared representations."""

    def __init__(self, layer, samples, orbit):
        super().__init__()
        self.layer, self.samples = layer, samples
        self.group = layer.group

        def with_orbit(rep):
            return dataclasses.replace(rep, orbit=orbit) if isinstance(rep, LiftedImages) \
                else rep

        self.rep_in, self.rep_out = with_orbit(layer.rep_in), with_orbit(layer.rep_out)

    def forward(self, x):
        return self.layer(x, self.samples)


def test_declarations():
    lift = AffineLifting(2, 3, SL(2))
    conv = AffineGroupConv(3, 4, GLPlus(2))
    assert (lift.group, lift.rep_in, lift.rep_out) == (Affine(SL(2)), Images(channels=2),
                                                      LiftedImages(channels=3))
    assert (conv.group, conv.rep_in, conv.rep_out) == (Affine(GLPlus(2)),
                                                      LiftedImages(channels=3),
                                                      LiftedImages(channels=4))
    assert GroupBatchNorm(3).rep_in == LiftedImages(channels=3) and GroupBatchNorm(3).group is None
    assert GroupMaxProjection().rep_out == Trivial()
    assert GroupMaxProjection(0.5).rep_out is None  # local max: invariant to shifts only
    model = AffineInvariantCNN(SL(2), in_channels=2, channels=(4,))
    assert (model.group, model.rep_in, model.rep_out) == (Affine(SL(2)), Images(channels=2),
                                                         Trivial())
    assert AffineInvariantCNN(SL(2), channels=(4,), max_angle=0.5).rep_out is None


@pytest.mark.parametrize("group", [SL(2), GLPlus(2)], ids=str)
@pytest.mark.parametrize("padding", ["zeros", "circular"])
def test_lifting_exact_on_its_grid(group, padding):
    lift = AffineLifting(2, 3, group, radius=1.5, max_radius=2, padding_mode=padding,
                         dtype=torch.float64)
    samples = group.sample_grid(2, generator=1, orbit=8)
    shifts = [(0, 0)] * 4 if padding == "zeros" else [(0, 0), (1, -2), (3, 0), (-1, 1)]
    x = torch.randn(2, 2, 10, 10, dtype=torch.float64)
    errors = assert_equivariant(OnGrid(lift, samples, 8), x=x,
                                elements=_elements(Affine(group), shifts))
    assert errors[0] < 1e-10


@pytest.mark.parametrize("spatial", ["full", "depthwise"])
def test_group_conv_exact_on_its_grid(spatial):
    group = GLPlus(2)
    conv = AffineGroupConv(2, 3, group, radius=1.5, max_radius=2, spatial=spatial,
                           padding_mode="circular", dtype=torch.float64)
    samples = group.sample_grid(2, generator=2, orbit=8)
    x = torch.randn(2, 2, 16, 9, 9, dtype=torch.float64)
    assert_equivariant(OnGrid(conv, samples, 8), x=x,
                       elements=_elements(Affine(group), [(0, 0), (2, 1), (0, -3), (4, 4)]))


def test_lifting_exact_under_cube_rotations():
    group = SL(3)
    lift = AffineLifting(1, 2, group, radius=1.2, max_radius=1, dtype=torch.float64)
    samples = group.sample_grid(1, generator=0, orbit=24)
    cube = rotation_subgroup(3, 24)
    elements = torch.stack([Affine(group).join(cube[i], torch.zeros(3, dtype=torch.float64))
                            for i in (3, 10, 17)])
    x = torch.randn(1, 1, 5, 5, 5, dtype=torch.float64)
    assert_equivariant(OnGrid(lift, samples, 24), x=x, elements=elements)


def test_grid_layers_exact():
    group = Affine(SL(2))
    elements = _elements(group, [(0, 0)] * 4)
    f = torch.randn(2, 3, 16, 8, 8, dtype=torch.float64)
    norm = GroupBatchNorm(3, dtype=torch.float64).eval()
    norm.norm.running_mean.normal_()
    assert_equivariant(norm, group, rep_in="lifted(8)", rep_out="lifted(8)", x=f,
                       elements=_elements(group, [(0, 0), (1, 2), (3, 3), (0, 5)]))
    assert_equivariant(GroupSpatialMaxPool(2), group, rep_in="lifted(8)", rep_out="lifted(8)",
                       x=f, elements=elements)
    assert_equivariant(GroupMaxProjection(), group, rep_in="lifted(8)", x=f,
                       elements=_elements(group, [(0, 0), (1, 2), (3, 3), (0, 5)]))
    # the local max keeps orientation: invariant to shifts only
    local = GroupMaxProjection(max_angle=0.5)
    samples = SL(2).sample_grid(2, generator=0, orbit=8)
    shifts = torch.eye(3, dtype=torch.float64).repeat(3, 1, 1)
    shifts[:, :2, 2] = torch.tensor([[1.0, 0.0], [3.0, -2.0], [0.0, 5.0]])
    assert_equivariant(lambda t: local(t, samples), TranslationGroup(2), rep_in="lifted",
                       rep_out="trivial", x=f, elements=shifts)
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(lambda t: local(t, samples), group, rep_in="lifted(8)",
                           rep_out="trivial", x=f, elements=elements[1:2])


@pytest.mark.parametrize("group", [SL(2), GLPlus(2)], ids=str)
def test_classifier_invariant_through_its_declaration(group):
    """rot90 and cyclic shifts by multiples of 4 (two 2x pools): the declared invariance."""
    model = AffineInvariantCNN(group, channels=(4, 6, 8), orbit=8, hidden=8, head=8,
                               padding_mode="circular", dtype=torch.float64).eval()
    x = torch.zeros(2, 1, 16, 16, dtype=torch.float64)
    x[..., 3:11, 4:12] = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    assert_equivariant(model, x=x,
                       elements=_elements(Affine(group), [(0, 0), (4, 0), (0, -4), (8, 4)]))
    # a shift by one pixel is not a multiple of the pooling: not an invariance, and the
    # tester says so
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(model, x=x, elements=_elements(Affine(group), [(1, 0)]))
    # a continuous element would need interpolation: the image action refuses it
    with pytest.raises(ValueError, match="interpolation"):
        assert_equivariant(model, x=x)
