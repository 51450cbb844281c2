import geoopt
import numpy as np
import pytest

try:  # the `spd` extra (pyRiemann): without it this module is skipped
    import pyriemann  # noqa: F401
except ModuleNotFoundError as error:
    pytest.skip(f"needs {error.name}: pip install 'geomlayers[spd]'", allow_module_level=True)

import torch
from pyriemann.utils import distance as pd
from pyriemann.utils import mean as pm
from pyriemann.utils import tangentspace as pt

from geomlayers.groups import OrthogonalGroup
from geomlayers.linalg import expm, invsqrtm, logm, sqrtm, sym
from geomlayers.manifolds import (
    SPDAffineInvariant,
    SPDBuresWasserstein,
    SPDGeneralizedBuresWasserstein,
    SPDLogEuclidean,
    SPDManifold,
    spd_manifold,
)
from geomlayers.manifolds.spd import ConvergenceWarning

D = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")
N = 4


def spd(*batch, n=N, cond=20.0, seed=0, dtype=D):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(*batch, n, n, generator=g, dtype=D))
    eigs = (torch.rand(*batch, n, generator=g, dtype=D) * np.log(cond)).exp()
    return sym((q * eigs.unsqueeze(-2)) @ q.transpose(-1, -2)).to(dtype)


def make(name):
    if name == "aim":
        return SPDAffineInvariant()
    if name == "lem":
        return SPDLogEuclidean()
    if name == "bw":
        return SPDBuresWasserstein()
    if name == "gbw":
        return SPDGeneralizedBuresWasserstein(spd(seed=11, cond=5.0))
    if name == "gbw_pow":
        return SPDGeneralizedBuresWasserstein(spd(seed=12, cond=5.0), theta=0.5)
    raise KeyError(name)


ALL = ["aim", "lem", "bw", "gbw", "gbw_pow"]


@pytest.mark.parametrize("name", ALL)
def test_distance_symmetry_and_zero(name, seed):
    m = make(name)
    x, y = spd(3, seed=1), spd(3, seed=2)
    torch.testing.assert_close(m.dist(x, y), m.dist(y, x), rtol=1e-10, atol=1e-12)
    assert float(m.dist(x, x).max()) < 1e-6
    assert (m.dist(x, y) > 0.01).all()


@pytest.mark.parametrize("name", ALL)
def test_exp_log_round_trips(name, seed):
    m = make(name)
    x, y = spd(3, seed=1), spd(3, seed=2)
    torch.testing.assert_close(m.expmap(x, m.logmap(x, y)), y, rtol=1e-8, atol=1e-9)
    u = 0.1 * sym(torch.randn(3, N, N, dtype=D))
    torch.testing.assert_close(m.logmap(x, m.expmap(x, u)), u, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("name", ALL)
def test_dist_is_norm_of_log_and_geodesic_is_linear(name, seed):
    m = make(name)
    x, y = spd(3, seed=1), spd(3, seed=2)
    v = m.logmap(x, y)
    torch.testing.assert_close(m.inner(x, v, v), m.dist(x, y) ** 2, rtol=1e-9, atol=1e-10)
    mid = m.geodesic(x, y, 0.3)
    torch.testing.assert_close(m.dist(x, mid), 0.3 * m.dist(x, y), rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(m.dist(mid, y), 0.7 * m.dist(x, y), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", ALL)
def test_rgrad_represents_euclidean_gradient(name, seed):
    m = make(name)
    x = spd(2, seed=3)
    g = torch.randn(2, N, N, dtype=D)
    v = sym(torch.randn(2, N, N, dtype=D))
    lhs = m.inner(x, m.egrad2rgrad(x, g), v)
    torch.testing.assert_close(lhs, (sym(g) * v).sum((-1, -2)), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", ALL)
def test_transport_is_isometric(name, seed):
    m = make(name)
    x, y = spd(2, seed=1), spd(2, seed=2)
    u, v = sym(torch.randn(2, N, N, dtype=D)), sym(torch.randn(2, N, N, dtype=D))
    torch.testing.assert_close(m.inner(y, m.transp(x, y, u), m.transp(x, y, v)),
                               m.inner(x, u, v), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", ["aim", "lem", "bw", "gbw"])
def test_transport_of_geodesic_velocity(name, seed):
    """Parallel transport of Log_x y along the geodesic is −Log_y x (BW/GBW: commuting case)."""
    m = make(name)
    if name in ("bw", "gbw"):
        q = OrthogonalGroup(N).sample(1, generator=5)[0]
        x = q @ torch.diag(torch.tensor([1.0, 2.0, 3.0, 0.5], dtype=D)) @ q.T
        y = q @ torch.diag(torch.tensor([2.0, 0.7, 1.0, 4.0], dtype=D)) @ q.T
        if name == "gbw":  # commuting in ψ coordinates: M shares the eigenbasis
            m = SPDGeneralizedBuresWasserstein(q @ torch.diag(torch.tensor(
                [1.5, 0.5, 2.0, 1.0], dtype=D)) @ q.T)
    else:
        x, y = spd(seed=1), spd(seed=2)
    torch.testing.assert_close(m.transp(x, y, m.logmap(x, y)), -m.logmap(y, x),
                               rtol=1e-9, atol=1e-10)


def test_aim_congruence_invariance_gl(seed):
    m = SPDAffineInvariant()
    x, y = spd(3, seed=1), spd(3, seed=2)
    a = torch.randn(3, N, N, dtype=D)  # invertible almost surely, not orthogonal
    ax, ay = sym(a @ x @ a.mT), sym(a @ y @ a.mT)
    torch.testing.assert_close(m.dist(ax, ay), m.dist(x, y), rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(m.logmap(ax, ay), sym(a @ m.logmap(x, y) @ a.mT),
                               rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("name", ["lem", "bw"])
def test_orthogonal_invariance(name, seed):
    m = make(name)
    x, y = spd(3, seed=1), spd(3, seed=2)
    q = OrthogonalGroup(N).sample(3, generator=7)
    qx, qy = sym(q @ x @ q.mT), sym(q @ y @ q.mT)
    torch.testing.assert_close(m.dist(qx, qy), m.dist(x, y), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(m.logmap(qx, qy), q @ m.logmap(x, y) @ q.mT,
                               rtol=1e-9, atol=1e-10)
    mean = m.frechet_mean(torch.stack([qx[0], qy[0]]))
    ref = m.frechet_mean(torch.stack([x[0], y[0]]))
    torch.testing.assert_close(mean, q[0] @ ref @ q[0].T, rtol=1e-8, atol=1e-9)


def test_bw_not_gl_invariant(seed):
    """BW is only O(n)-invariant: a generic GL congruence changes the distance."""
    m = SPDBuresWasserstein()
    x, y = spd(seed=1), spd(seed=2)
    a = torch.randn(N, N, dtype=D)
    assert abs(float(m.dist(a @ x @ a.T, a @ y @ a.T) - m.dist(x, y))) > 1e-3


@pytest.mark.parametrize("theta", [1.0, 0.5])
def test_gbw_equivariance_with_m(theta, seed):
    mat = spd(seed=11, cond=5.0)
    x, y = spd(2, seed=1), spd(2, seed=2)
    q = OrthogonalGroup(N).sample(1, generator=3)[0]
    m1 = SPDGeneralizedBuresWasserstein(mat, theta)
    m2 = SPDGeneralizedBuresWasserstein(q @ mat @ q.T, theta)
    torch.testing.assert_close(m2.dist(q @ x @ q.T, q @ y @ q.T), m1.dist(x, y),
                               rtol=1e-9, atol=1e-11)


def test_gbw_closed_form_distance(seed):
    """Han et al. (2021) eq.: d²_M = tr(M⁻¹X) + tr(M⁻¹Y) − 2 tr(X^½ M⁻¹ Y M⁻¹ X^½)^½."""
    mat = spd(seed=11, cond=5.0)
    x, y = spd(3, seed=1), spd(3, seed=2)
    mi = torch.linalg.inv(mat)
    xs = sqrtm(x)
    ref = (torch.einsum("...ii", mi @ x) + torch.einsum("...ii", mi @ y)
           - 2 * torch.einsum("...ii", sqrtm(sym(xs @ mi @ y @ mi @ xs))))
    torch.testing.assert_close(SPDGeneralizedBuresWasserstein(mat).dist(x, y) ** 2, ref,
                               rtol=1e-9, atol=1e-10)
    # M = I, θ = 1 is BW
    torch.testing.assert_close(SPDGeneralizedBuresWasserstein().dist(x, y),
                               SPDBuresWasserstein().dist(x, y))


PEER_DIST = {"aim": pd.distance_riemann, "lem": pd.distance_logeuclid,
             "bw": pd.distance_wasserstein}
PEER_MEAN = {"aim": pm.mean_riemann, "lem": pm.mean_logeuclid, "bw": pm.mean_wasserstein}


@pytest.mark.parametrize("name", ["aim", "lem", "bw"])
def test_against_pyriemann(name, seed):
    m = make(name)
    x = spd(6, seed=4, cond=50.0)
    for i in range(3):
        ref = PEER_DIST[name](x[i].numpy(), x[i + 3].numpy())
        assert float(m.dist(x[i], x[i + 3])) == pytest.approx(ref, rel=1e-9)
    w = torch.tensor([1.0, 2.0, 0.5, 1.0, 3.0, 1.0], dtype=D)
    ours = m.frechet_mean(x, w, tol=1e-13, max_iter=200)
    kwargs = {"tol": 1e-13, "maxiter": 500} if name != "lem" else {}
    ref = PEER_MEAN[name](x.numpy(), sample_weight=w.numpy(), **kwargs)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-8, atol=1e-9)


def test_log_exp_against_pyriemann(seed):
    x, c = spd(3, seed=1), spd(seed=2)
    np.testing.assert_allclose(SPDBuresWasserstein().logmap(c, x).numpy(),
                               pt.log_map_wasserstein(x.numpy(), c.numpy()), rtol=1e-9,
                               atol=1e-10)
    v = 0.3 * sym(torch.randn(3, N, N, dtype=D))
    np.testing.assert_allclose(SPDBuresWasserstein().expmap(c, v).numpy(),
                               pt.exp_map_wasserstein(v.numpy(), c.numpy()), rtol=1e-9,
                               atol=1e-10)
    np.testing.assert_allclose(SPDAffineInvariant().logmap(c, x).numpy(),
                               pt.log_map_riemann(x.numpy(), c.numpy(), C12=True), rtol=1e-9,
                               atol=1e-10)


@pytest.mark.parametrize("name", ALL)
def test_mean_of_identical_points_and_stationarity(name, seed):
    m = make(name)
    x = spd(seed=5)
    torch.testing.assert_close(m.frechet_mean(x.expand(5, N, N)), x, rtol=1e-9, atol=1e-10)
    pts = spd(7, seed=6)
    g = m.frechet_mean(pts, tol=1e-13, max_iter=300)
    grad = m.logmap(g.expand_as(pts), pts).mean(0)  # Riemannian gradient of the variance
    assert float(m.norm(g, grad)) < 1e-8


@pytest.mark.parametrize("name", ["aim", "lem", "bw", "gbw_pow"])
def test_mean_of_two_is_geodesic_midpoint(name, seed):
    m = make(name)
    x, y = spd(seed=1), spd(seed=2)
    mean = m.frechet_mean(torch.stack([x, y]), tol=1e-14, max_iter=500)
    torch.testing.assert_close(mean, m.geodesic(x, y, 0.5), rtol=1e-8, atol=1e-9)


def test_means_of_commuting_matrices_closed_form(seed):
    q = OrthogonalGroup(N).sample(1, generator=9)[0]
    eigs = torch.rand(5, N, dtype=D) * 3 + 0.2
    x = q @ torch.diag_embed(eigs) @ q.T
    geo = q @ torch.diag(eigs.log().mean(0).exp()) @ q.T
    bw = q @ torch.diag(eigs.sqrt().mean(0) ** 2) @ q.T
    torch.testing.assert_close(SPDAffineInvariant().frechet_mean(x), geo, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(SPDLogEuclidean().frechet_mean(x), geo, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(SPDBuresWasserstein().frechet_mean(x), bw, rtol=1e-9, atol=1e-10)


def test_mean_iteration_cap_and_tolerance(seed):
    x = spd(10, seed=3, cond=1e3)
    m = SPDBuresWasserstein()
    with pytest.warns(ConvergenceWarning, match=r"did not converge.*max_iter=2"):
        _, its = m.frechet_mean(x, max_iter=2, return_iterations=True)
    assert its == 2
    _, its = m.frechet_mean(x, tol=1e-3, return_iterations=True)
    assert 1 <= its < 50
    with pytest.raises(ValueError, match="weights"):
        m.frechet_mean(x, torch.ones(3, dtype=D))
    with pytest.raises(ValueError, match="weights"):
        m.frechet_mean(x, -torch.ones(10, dtype=D))


@pytest.mark.parametrize("name", ["aim", "lem", "bw", "gbw"])
def test_riemannian_adam_converges_to_mean(name, seed):
    m = make(name)
    pts = spd(6, seed=8, cond=5.0)
    target = m.frechet_mean(pts, tol=1e-13, max_iter=300)
    p = geoopt.ManifoldParameter(torch.eye(N, dtype=D), manifold=m)
    opt = geoopt.optim.RiemannianAdam([p], lr=0.1)
    for _ in range(150):
        opt.zero_grad()
        loss = m.dist2(p.expand_as(pts), pts).mean()
        loss.backward()
        opt.step()
    assert float(m.dist(p.detach(), target)) < 1e-3
    assert m.check_point_on_manifold(p.detach())


def test_float32_smoke(seed):
    x, y = spd(3, seed=1, dtype=torch.float32), spd(3, seed=2, dtype=torch.float32)
    for name in ALL:
        m = make(name)
        if name.startswith("gbw"):
            m = m.to(torch.float32)
        out = [m.dist(x, y), m.logmap(x, y), m.expmap(x, 0.1 * sym(y)), m.frechet_mean(x)]
        for t in out:
            assert t.dtype == torch.float32 and torch.isfinite(t).all()


def test_bw_exp_gradcheck_at_identity(seed):
    v = 0.2 * sym(torch.randn(2, 3, 3, dtype=D))
    p = torch.eye(3, dtype=D).expand(2, 3, 3).clone().requires_grad_()
    m = SPDBuresWasserstein()
    assert torch.autograd.gradcheck(lambda a, b: m.expmap(sym(a), sym(b)),
                                    (p, v.requires_grad_()))


def test_bad_input_and_factory():
    with pytest.raises(ValueError, match="metric"):
        spd_manifold("stein")
    with pytest.raises(ValueError, match="theta"):
        SPDGeneralizedBuresWasserstein(theta=0.0)
    with pytest.raises(ValueError, match="symmetric"):
        SPDGeneralizedBuresWasserstein(torch.tensor([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="positive"):
        SPDAffineInvariant().logmap(torch.eye(2), torch.diag(torch.tensor([1.0, -2.0])))
    assert isinstance(spd_manifold("gbw", theta=0.5), SPDGeneralizedBuresWasserstein)


def test_helpers_consistent(seed):
    x = spd(seed=1)
    torch.testing.assert_close(expm(logm(x)), x)
    torch.testing.assert_close(invsqrtm(x) @ sqrtm(x), torch.eye(N, dtype=D))


@pytest.mark.parametrize("name", ["aim", "lem", "bw", "gbw"])
def test_batch_norm_verbs_match_their_definitions(name, seed):
    """Closed-form ``to_identity`` / ``from_identity`` / ``recenter`` against the generic
    definitions from ``logmap``, ``transp`` and ``expmap`` (SPDManifold's defaults)."""
    m = make(name)
    g, b, x = spd(seed=40), spd(seed=41, cond=5.0), spd(5, seed=42)
    w = SPDManifold.to_identity(m, g, x)
    torch.testing.assert_close(m.to_identity(g, x), w, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(m.from_identity(b, 0.3 * w),
                               SPDManifold.from_identity(m, b, 0.3 * w), rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(m.recenter(x, g, b, 0.7), SPDManifold.recenter(m, x, g, b, 0.7),
                               rtol=1e-9, atol=1e-10)
    # the recentred batch's Fréchet mean is the target when G is the batch's mean
    mean = m.frechet_mean(x, tol=1e-14, max_iter=500)
    out = m.recenter(x, mean, b)
    torch.testing.assert_close(m.frechet_mean(out, tol=1e-14, max_iter=500), b, rtol=1e-8,
                               atol=1e-9)
    torch.testing.assert_close(m.geodesic(g, b, 0.3), m.expmap(g, 0.3 * m.logmap(g, b)),
                               rtol=1e-9, atol=1e-10)
