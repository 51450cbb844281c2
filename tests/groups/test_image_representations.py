"""Images and LiftedImages (geomlayers.groups.images): values, and exact pixel/sample actions
checked against torch.rot90 / torch.roll and a direct evaluation on the rotated sample grid."""

import pytest
import torch

from geomlayers.groups import SL, Affine, GLPlus, Images, LiftedImages, parse_representation
from geomlayers.groups.affine import rotation_subgroup

QUARTER = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=torch.float64)  # torch.rot90's matrix


AFFINE_SL2 = Affine(SL(2))


def _element(a, t=(0.0, 0.0), group=AFFINE_SL2):
    return group.join(torch.as_tensor(a, dtype=torch.float64),
                      torch.as_tensor(t, dtype=torch.float64))


@pytest.mark.parametrize("rep", [Images(), Images(16), Images(channels=3), LiftedImages(),
                                 LiftedImages(8), LiftedImages(24, 6, channels=2)], ids=str)
def test_values_round_trip(rep):
    assert parse_representation(str(rep)) == rep
    assert hash(parse_representation(str(rep))) == hash(rep)
    assert eval(repr(rep)) == rep  # noqa: S307
    with pytest.raises(AttributeError):
        rep.size = 5


@pytest.mark.parametrize("text", ["images(0)", "images(1,2)", "lifted(8,8,8)", "lifted(0)",
                                  "picture"])
def test_parse_errors(text):
    with pytest.raises(ValueError):
        parse_representation(text)


@pytest.mark.parametrize("size", [6, 7])
def test_images_act_as_rot90_and_roll(size):
    f = torch.randn(2, 3, size, size, dtype=torch.float64)
    for k in range(4):
        g = _element(torch.linalg.matrix_power(QUARTER, k))
        assert torch.equal(Images().act(g, f), torch.rot90(f, k, (2, 3)))
    g = _element(torch.eye(2), (2.0, -3.0))
    assert torch.equal(Images().act(g, f), torch.roll(f, (2, -3), (2, 3)))
    # (A, t): rotate about the centre, then shift
    g = _element(QUARTER, (1.0, 0.0))
    assert torch.equal(Images().act(g, f), torch.roll(torch.rot90(f, 1, (2, 3)), 1, 2))


def test_images_in_3d_and_the_action_law():
    group = Affine(SL(3))
    cube = rotation_subgroup(3, 24)
    f = torch.randn(2, 5, 5, 5, dtype=torch.float64)
    g = group.join(cube[5], torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64))
    h = group.join(cube[17], torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64))
    rep = Images()
    assert torch.equal(rep.act(g, rep.act(h, f)), rep.act(g @ h, f))
    assert torch.equal(rep.act(torch.eye(4, dtype=torch.float64), f), f)
    # one element per batch entry
    both = rep.act(torch.stack([g, h]), f)
    assert torch.equal(both[0], rep.act(g, f[0])) and torch.equal(both[1], rep.act(h, f[1]))


def test_images_refuse_maps_that_need_interpolation():
    f = torch.randn(6, 6, dtype=torch.float64)
    with pytest.raises(ValueError, match="interpolation"):
        Images().act(Affine(SL(2)).sample(1, generator=0)[0], f)
    with pytest.raises(ValueError, match="interpolation"):
        Images().act(_element(torch.eye(2), (0.5, 0.0)), f)
    # a shear permutes the lattice but, on an even grid, not the lattice centred at (S-1)/2
    with pytest.raises(ValueError, match="pixel grid"):
        Images().act(_element([[1.0, 1.0], [0.0, 1.0]]), f)
    # elements must be homogeneous; a linear group (whose 2x2 shear would read as a 1-D
    # translation) is refused
    with pytest.raises(ValueError, match="homogeneous"):
        Images().act(QUARTER, f)
    with pytest.raises(ValueError, match="homogeneous"):
        GLPlus(2).act(torch.tensor([[1.0, 1.0], [0.0, 1.0]], dtype=torch.float64), f, "images")
    assert torch.equal(Affine(SL(2)).act(_element(QUARTER), f, "images"), torch.rot90(f))


def _phi(h):
    """A function on GL+(2) that tells samples apart."""
    return torch.sin(3 * h[..., 0, 0] + 2 * h[..., 0, 1] - h[..., 1, 0] + 0.5 * h[..., 1, 1])


@pytest.mark.parametrize("group", [SL(2), GLPlus(2)], ids=str)
def test_lifted_images_move_space_and_permute_the_grid(group):
    """F(y, h_b) = φ(h_b)·f(y): then (g·F)(y, h) = φ(A⁻¹h)·f(g⁻¹y), evaluated directly."""
    orbit, size = 8, 6
    grid = group.sample_grid(3, generator=1, orbit=orbit)
    f = torch.randn(2, size, size, dtype=torch.float64)
    big = _phi(grid.elements)[:, None, None] * f[:, None]  # (2, N, S, S)
    for k in range(4):
        a = torch.linalg.matrix_power(QUARTER, k)
        g = _element(a, (k, -1.0), Affine(group))
        expected = _phi(torch.linalg.inv(a) @ grid.elements)[:, None, None] * torch.roll(
            torch.rot90(f, k, (1, 2)), (k, -1), (1, 2))[:, None]
        got = LiftedImages(orbit).act(g, big)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    # any grid: translations only
    g = _element(torch.eye(2), (1.0, 2.0), Affine(group))
    assert torch.equal(LiftedImages().act(g, big), torch.roll(big, (1, 2), (2, 3)))
    with pytest.raises(ValueError, match="give its orbit"):
        LiftedImages().act(_element(QUARTER, group=Affine(group)), big)
    with pytest.raises(ValueError, match="not a rotation of the orbit group"):
        LiftedImages(2).act(_element(QUARTER, group=Affine(group)), big)
