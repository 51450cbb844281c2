"""Every SPD layer refuses bad input with linalg's messages and accepts tiny valid input.

Issue 34, item 1: singular (rank-deficient or zero) matrices are refused by the layers, not
floored; the test is relative to each matrix's scale, so covariances in V² (1e-12) pass.
"""

import pytest
import torch

from geomlayers import linalg
from geomlayers.models import SPDNet
from geomlayers.nn.grassmann import OrthMap
from geomlayers.nn.spd import BiMap, ExpEig, LogEig, ReEig, SPDBatchNorm, SPDGyroMLR

N = 4
D = torch.float64


def spd(scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(3, N, 3 * N, generator=g, dtype=D)
    return scale * (a @ a.transpose(-1, -2) / (3 * N) + 0.1 * torch.eye(N, dtype=D))


def singular():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(3, N, 2, generator=g, dtype=D)
    return a @ a.transpose(-1, -2)  # rank 2 of 4


SPD_LAYERS = {
    "BiMap": lambda: BiMap(N, 3, dtype=D),
    "LogEig": lambda: LogEig(),
    "BN-aim": lambda: SPDBatchNorm(N, "aim", dtype=D),
    "BN-lem": lambda: SPDBatchNorm(N, "lem", dtype=D),
    "BN-bw": lambda: SPDBatchNorm(N, "bw", dtype=D),
    "BN-gbw": lambda: SPDBatchNorm(N, "gbw", dtype=D),
    "GyroMLR": lambda: SPDGyroMLR(N, 2, dtype=D),
    "SPDNet": lambda: SPDNet([N, 3], 2, dtype=D),
    "SPDNet-bn": lambda: SPDNet([N, 3], 2, bn_metric="aim", dtype=D),
}


@pytest.mark.parametrize("name", SPD_LAYERS)
@pytest.mark.parametrize("bad", ["singular", "zeros"])
def test_spd_layers_refuse_singular_input(name, bad):
    layer = SPD_LAYERS[name]()
    x = singular() if bad == "singular" else torch.zeros(3, N, N, dtype=D)
    with pytest.raises(ValueError, match=r"x must be symmetric positive definite: .*singular to "
                                         r"working precision.*regularise"):
        layer(x)
    with pytest.raises(ValueError, match=r"x must be symmetric positive definite: .*singular"):
        linalg.check_spd(x, "x")  # the same message


@pytest.mark.parametrize("name", SPD_LAYERS)
def test_spd_layers_refuse_indefinite_input(name):
    x = spd() - 5.0 * torch.eye(N, dtype=D)
    with pytest.raises(ValueError, match=r"x must be symmetric positive definite: .*negative"):
        SPD_LAYERS[name]()(x)


@pytest.mark.parametrize("name", SPD_LAYERS)
@pytest.mark.parametrize("scale", [1e-12, 1e12])
def test_spd_layers_accept_tiny_and_huge_valid_input(name, scale):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = SPD_LAYERS[name]()(spd(scale))
    assert torch.isfinite(y).all()


def test_relative_reeig_refuses_a_non_positive_trace():
    """ReEig's relative floor τ·tr(X)/n is zero for a zero matrix: the output was singular."""
    with pytest.raises(ValueError, match="positive trace"):
        ReEig()(torch.zeros(2, N, N, dtype=D))
    y = ReEig(relative=False)(torch.zeros(2, N, N, dtype=D))  # the absolute floor is defined
    assert torch.equal(y, 1e-4 * torch.eye(N, dtype=D).expand(2, N, N))


@pytest.mark.parametrize("layer", [ReEig(n=N), LogEig(n=N), ExpEig(n=N), OrthMap(2, n=N)])
def test_layers_built_with_n_refuse_another_size(layer):
    with pytest.raises(ValueError, match=rf"x must have shape \(\.\.\., {N}, {N}\)"):
        layer(torch.eye(N + 1, dtype=D).expand(2, N + 1, N + 1))


def test_orthmap_names_its_argument_x():
    with pytest.raises(ValueError, match="x must be symmetric"):
        OrthMap(2)(torch.triu(torch.ones(2, N, N, dtype=D)))


def test_conv_spdnet_nan_input_leaves_the_front_end_statistics_intact():
    """A train-mode pass over NaN trials raised only at the covariance pooling, after the
    front-end's BatchNorm2d had taken NaN running statistics: every later eval-mode
    prediction then failed.  The input is now checked first."""
    from geomlayers.models import ConvSPDNet

    net = ConvSPDNet(4, 32, 2, spatial_filters=4, cov_channels=4, kernel_size=8, dims=(3,),
                     dtype=D)
    x = torch.randn(3, 4, 32, dtype=D)
    bad = x.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="x contains NaN or infinite entries"):
        net.train()(bad)
    with pytest.raises(ValueError, match=r"domains must have shape \(3,\)"):
        net.train()(x, domains=torch.zeros(2, dtype=torch.long))
    assert all(torch.isfinite(b).all() for b in net.buffers() if b.is_floating_point())
    assert torch.isfinite(net.eval()(x)).all()
