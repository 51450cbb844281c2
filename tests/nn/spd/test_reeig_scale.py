"""ReEig's floor follows each matrix's scale: ``ReEig(c·X) = c·ReEig(X)`` for every ``c > 0``."""

import numpy as np
import pytest
import torch

from geomlayers.linalg import clampm
from geomlayers.nn.spd import ReEig

pytestmark = pytest.mark.usefixtures("one_thread")


def spd(batch, n=5, cond=1e6, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(batch, n, n, generator=g, dtype=torch.float64))
    ev = torch.logspace(0, -np.log10(cond), n, dtype=torch.float64).expand(batch, n)
    return ((q * ev.unsqueeze(-2)) @ q.mT).to(dtype)


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-10), (torch.float32, 2e-5)])
@pytest.mark.parametrize("c", [1e-12, 1e-6, 1e-3, 1.0, 1e3, 1e6, 1e12])
def test_reeig_commutes_with_scaling(c, dtype, rtol):
    x = spd(4, dtype=dtype)  # eigenvalues 1 .. 1e-6, trace ≈ 1.1: four of five are clamped
    layer = ReEig(1e-2)
    ref = layer(x)
    assert (torch.linalg.eigvalsh(ref.double()).amin(-1) > 1e-3 * 0.2).all()  # the floor acts
    out = layer(x * c)
    torch.testing.assert_close(out / c, ref, rtol=rtol, atol=rtol * 1e-2)


def test_reeig_relative_floor_is_threshold_times_mean_eigenvalue():
    x = spd(3, cond=1e8, seed=1)
    tau = 1e-3 * torch.diagonal(x, dim1=-2, dim2=-1).mean(-1)
    ev, u = torch.linalg.eigh(x)
    ref = (u * torch.maximum(ev, tau[:, None]).unsqueeze(-2)) @ u.mT
    torch.testing.assert_close(ReEig(1e-3)(x), ref, rtol=1e-12, atol=1e-15)
    # absolute floor kept as an option (Huang & Van Gool 2017): it does not follow the scale
    small = ReEig(1e-4, relative=False)(x * 1e-9)
    assert torch.linalg.eigvalsh(small).amin() >= 1e-4 * (1 - 1e-12)


def test_reeig_relative_gradient_matches_finite_differences():
    x = spd(2, n=4, cond=1e4, seed=2).requires_grad_()
    assert torch.autograd.gradcheck(lambda a: clampm(0.5 * (a + a.mT), 1e-1, relative=True),
                                    (x,), eps=1e-7, atol=1e-6)


def test_unit_trace_inputs_keep_the_absolute_behaviour():
    x = spd(3, cond=1e5, seed=3)
    x = x * (x.shape[-1] / torch.diagonal(x, dim1=-2, dim2=-1).sum(-1))[:, None, None]
    torch.testing.assert_close(ReEig(1e-3)(x), ReEig(1e-3, relative=False)(x))
