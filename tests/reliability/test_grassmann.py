"""Grassmann reliability (issue 35): bad bases are refused with errors that name the problem."""

import pytest
import torch

from geomlayers.manifolds import Grassmann
from geomlayers.nn.grassmann import reorth

D = torch.float64
GR = Grassmann()


def basis(n=5, p=2, seed=0):
    return GR.random(n, p, dtype=D, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("verb", ["dist", "dist2", "logmap", "principal_angles"])
def test_non_orthonormal_bases_are_refused(verb):
    x, y = basis(seed=1), basis(seed=2)
    fn = getattr(GR, verb)
    with pytest.raises(ValueError, match=r"y must have orthonormal columns.*projx"):
        fn(x, 2.0 * y)
    with pytest.raises(ValueError, match=r"x must have orthonormal columns"):
        fn(x + 0.1, y)
    deficient = torch.cat([x[:, :1], x[:, :1]], dim=1)  # rank 1
    with pytest.raises(ValueError, match=r"x must have orthonormal columns"):
        fn(deficient, y)
    nan = x.clone()
    nan[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        fn(nan, y)
    assert torch.isfinite(fn(x, y)).all()


def test_logmap_between_orthogonal_subspaces_names_the_precondition():
    eye = torch.eye(4, dtype=D)
    x, y = eye[:, :2], eye[:, 2:]  # every principal angle is pi/2: the cut locus
    with pytest.raises(ValueError, match=r"principal angle.*pi/2.*cut locus"):
        GR.logmap(x, y)
    assert float(GR.dist(x, y)) == pytest.approx(torch.pi / 2 * 2**0.5)  # dist still works


def test_reorth_gradient_at_rank_deficient_input_raises():
    x = basis(6, 3, seed=3)
    x = torch.cat([x[:, :2], x[:, :1] + x[:, 1:2]], dim=1).requires_grad_()  # rank 2
    q = reorth(x)
    with pytest.raises(ValueError, match=r"rank-deficient"):
        q.sum().backward()
    good = basis(6, 3, seed=4).requires_grad_()
    reorth(good).sum().backward()
    assert torch.isfinite(good.grad).all()


def test_grassmann_layers_check_their_inputs_with_the_linalg_messages():
    from geomlayers.nn.grassmann import FRMap, OrthMap, ProjMap, ProjPooling, ReOrth

    x = basis(6, 2, seed=5)[None, None]  # (1, 1, 6, 2)
    bad = x.clone()
    bad[..., 0, 0] = float("inf")
    for layer in (FRMap(6, 4, channels=1, dtype=D), ReOrth(), ProjMap()):
        with pytest.raises(ValueError, match="x contains NaN or infinite entries"):
            layer(bad)
    proj = ProjMap()(x)
    asym = proj.clone()
    asym[..., 0, 1] += 0.5
    with pytest.raises(ValueError, match="x must be symmetric: relative asymmetry"):
        ProjPooling(1)(asym)
    with pytest.raises(ValueError, match="x must be symmetric: relative asymmetry"):
        OrthMap(2)(asym)
    assert OrthMap(2)(proj).shape == (1, 1, 6, 2)
