import geoopt
import numpy as np
import pytest
import scipy.linalg
import torch

from geomlayers.groups import OrthogonalGroup
from geomlayers.manifolds.grassmann import Grassmann, qr_positive, spectral_fn

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")
GR = Grassmann()


def pair(n=7, p=3, batch=(), seed=0):
    g = torch.Generator().manual_seed(seed)
    return GR.random(*batch, n, p, dtype=F64, generator=g), GR.random(*batch, n, p, dtype=F64,
                                                                    generator=g)


def proj(x):
    return x @ x.transpose(-1, -2)


@pytest.mark.parametrize(("n", "p"), [(5, 1), (7, 3), (6, 4), (10, 5)])
def test_dist_matches_scipy_subspace_angles(n, p):
    x, y = pair(n, p, batch=(4,), seed=n + p)
    ours = GR.principal_angles(x, y)
    for i in range(4):
        ref = np.sort(scipy.linalg.subspace_angles(x[i].numpy(), y[i].numpy()))
        # scipy's arccos branch is only ~1e-8 accurate at zero angles (forced when 2p > n)
        np.testing.assert_allclose(ours[i].numpy(), ref, atol=1e-7)
        big = ref > 1e-3
        np.testing.assert_allclose(ours[i].numpy()[big], ref[big], atol=1e-12)
        np.testing.assert_allclose(float(GR.dist(x[i], y[i])), np.linalg.norm(ref), atol=1e-7)
    if 2 * p > n:  # subspaces must meet in 2p − n dimensions: exactly zero angles
        assert float(ours[:, : 2 * p - n].max()) < 1e-12


def test_dist_small_and_right_angles_accurate():
    x = torch.eye(6, 2, dtype=F64)
    for angle in (1e-9, 1e-4, np.pi / 2 - 1e-9):
        y = x.clone()
        y[:, 1] = 0
        y[1, 1], y[4, 1] = np.cos(angle), np.sin(angle)
        ref = scipy.linalg.subspace_angles(x.numpy(), y.numpy()).max()
        assert abs(float(GR.dist(x, y)) - angle) < 1e-14 and abs(ref - angle) < 1e-8


def test_dist_symmetric_and_invariant(seed):
    x, y = pair(8, 3, batch=(5,))
    q1, q2 = OrthogonalGroup(3).sample(5, dtype=F64), OrthogonalGroup(3).sample(5, dtype=F64)
    g = OrthogonalGroup(8).sample(5, dtype=F64)
    d = GR.dist(x, y)
    torch.testing.assert_close(GR.dist(y, x), d, atol=1e-12, rtol=0)
    torch.testing.assert_close(GR.dist(x @ q1, y @ q2), d, atol=1e-12, rtol=0)  # basis choice
    torch.testing.assert_close(GR.dist(g @ x, g @ y), d, atol=1e-12, rtol=0)  # O(n) isometry
    assert float(GR.dist(x, x @ q1).max()) < 1e-7


def test_exp_log_round_trip_and_basis_invariance(seed):
    x, y = pair(9, 4, batch=(6,), seed=3)
    u = GR.logmap(x, y)
    assert float((x.transpose(-1, -2) @ u).abs().max()) < 1e-12  # horizontal
    z = GR.expmap(x, u)
    torch.testing.assert_close(proj(z), proj(y), atol=1e-11, rtol=0)
    torch.testing.assert_close(z.transpose(-1, -2) @ z, torch.eye(4, dtype=F64).expand(6, 4, 4),
                               atol=1e-12, rtol=0)
    torch.testing.assert_close(GR.norm(x, u), GR.dist(x, y), atol=1e-11, rtol=0)
    q = OrthogonalGroup(4).sample(6, dtype=F64)
    torch.testing.assert_close(GR.logmap(x, y @ q), u, atol=1e-11, rtol=0)
    torch.testing.assert_close(GR.logmap(x @ q, y), u @ q, atol=1e-11, rtol=0)
    # Log ∘ Exp = id inside the injectivity radius (‖U‖₂ < π/2)
    v = GR.proju(x, torch.randn(6, 9, 4, dtype=F64))
    v = v / torch.linalg.matrix_norm(v, ord=2)[:, None, None] * 1.2
    torch.testing.assert_close(GR.logmap(x, GR.expmap(x, v)), v, atol=1e-10, rtol=0)


def test_expmap_is_the_geodesic_with_constant_speed():
    x, y = pair(6, 2, seed=4)
    u = GR.logmap(x, y)
    d = float(GR.dist(x, y))
    for t in (0.25, 0.5, 0.8):
        assert abs(float(GR.dist(x, GR.expmap(x, t * u))) - t * d) < 1e-12
        assert abs(float(GR.dist(GR.expmap(x, t * u), y)) - (1 - t) * d) < 1e-12


def test_parallel_transport_isometry_and_velocity():
    x, y = pair(8, 3, batch=(4,), seed=5)
    a = GR.proju(x, torch.randn(4, 8, 3, dtype=F64))
    b = GR.proju(x, torch.randn(4, 8, 3, dtype=F64))
    ta, tb = GR.transp(x, y, a), GR.transp(x, y, b)
    assert float((y.transpose(-1, -2) @ ta).abs().max()) < 1e-12
    torch.testing.assert_close(GR.inner(y, ta, tb), GR.inner(x, a, b), atol=1e-11, rtol=0)
    # the geodesic's velocity is parallel: Γ(Log_X Y) = −Log_Y X
    torch.testing.assert_close(GR.transp(x, y, GR.logmap(x, y)), -GR.logmap(y, x),
                               atol=1e-11, rtol=0)
    # transport composes along the geodesic: X -> mid -> Y equals X -> Y
    mid = GR.expmap(x, 0.5 * GR.logmap(x, y))
    torch.testing.assert_close(GR.transp(mid, y, GR.transp(x, mid, a)), ta, atol=1e-10, rtol=0)


def test_projections_and_retraction():
    x, _ = pair(7, 3, batch=(3,), seed=6)
    w = torch.randn(3, 7, 3, dtype=F64)
    u = GR.proju(x, w)
    torch.testing.assert_close(GR.proju(x, u), u)
    assert GR.check_vector_on_tangent(x, u)
    r = GR.retr(x, 0.3 * u)
    assert GR.check_point_on_manifold(r)
    q, rr = qr_positive(w)
    assert bool((torch.diagonal(rr, dim1=-2, dim2=-1) > 0).all())
    torch.testing.assert_close(q @ rr, w)
    torch.testing.assert_close(proj(GR.projx(w)), proj(torch.linalg.qr(w)[0]))
    assert not GR.check_point(torch.zeros(2, 5))


def test_frechet_mean():
    x, y = pair(6, 2, seed=7)
    same = x.expand(5, 6, 2)
    torch.testing.assert_close(proj(GR.frechet_mean(same)), proj(x), atol=1e-12, rtol=0)
    mid = GR.frechet_mean(torch.stack([x, y]))
    torch.testing.assert_close(proj(mid), proj(GR.expmap(x, 0.5 * GR.logmap(x, y))),
                               atol=1e-10, rtol=0)
    # first-order condition of the Karcher mean on a cluster
    g = torch.Generator().manual_seed(8)
    pts = GR.expmap(x.expand(10, 6, 2), GR.proju(x, 0.3 * torch.randn(10, 6, 2, dtype=F64,
                                                                         generator=g)))
    m = GR.frechet_mean(pts)
    grad = GR.logmap(m.expand_as(pts), pts).mean(0)
    assert float(grad.norm()) < 1e-7


def test_gradcheck_exp_log_transp():
    x, y = pair(5, 2, seed=9)
    u = GR.proju(x, torch.randn(5, 2, dtype=F64)).requires_grad_()
    torch.autograd.gradcheck(lambda v: GR.expmap(x, v), (u,))
    yy = y.clone().requires_grad_()
    torch.autograd.gradcheck(lambda b: GR.logmap(x, b), (yy,))
    v = GR.proju(x, torch.randn(5, 2, dtype=F64)).requires_grad_()
    torch.autograd.gradcheck(lambda a, b: GR.transp_follow_expmap(x, a, b), (u, v))


def test_gradcheck_at_repeated_and_zero_eigenvalues():
    x = torch.eye(6, 2, dtype=F64)
    # UᵀU = 0.49·I (equal principal angles) and U = 0: SVD-based formulas give inf/NaN here
    for scale in (0.7, 0.0):
        u = torch.zeros(6, 2, dtype=F64)
        u[2, 0] = u[3, 1] = scale
        u.requires_grad_()
        torch.autograd.gradcheck(lambda v: GR.expmap(x, v), (u,))
        torch.autograd.gradcheck(lambda v: GR.transp_follow_expmap(x, v, v), (u,))
    y = torch.zeros(6, 2, dtype=F64)
    y[0, 0] = y[1, 1] = np.cos(0.4)
    y[2, 0] = y[3, 1] = np.sin(0.4)
    torch.autograd.gradcheck(lambda b: GR.logmap(x, b), (y.requires_grad_(),))
    torch.autograd.gradcheck(lambda b: GR.logmap(x, b), (x.clone().requires_grad_(),))


def test_spectral_fn_gradcheck_repeated():
    s = torch.diag(torch.tensor([0.5, 0.5, 2.0], dtype=F64)).requires_grad_()
    torch.autograd.gradcheck(lambda a: spectral_fn(a, torch.exp, torch.exp), (s,))
    out = spectral_fn(s, torch.exp, torch.exp)
    torch.testing.assert_close(out, torch.linalg.matrix_exp(s.detach()))


def test_riemannian_adam_finds_a_subspace():
    torch.manual_seed(0)
    x, target = pair(8, 2, seed=10)
    param = geoopt.ManifoldParameter(x.clone(), manifold=GR)
    opt = geoopt.optim.RiemannianAdam([param], lr=0.1)
    start = float(GR.dist(param.detach(), target))
    for _ in range(150):
        opt.zero_grad()
        loss = -(proj(param) * proj(target)).sum()  # maximise the projector overlap
        loss.backward()
        opt.step()
    assert GR.check_point_on_manifold(param.data)
    assert float(GR.dist(param.detach(), target)) < 1e-3 < start


def test_float32_smoke():
    g = torch.Generator().manual_seed(0)
    x, y = GR.random(3, 6, 2, generator=g), GR.random(3, 6, 2, generator=g)
    assert x.dtype == torch.float32
    u = GR.logmap(x, y)
    assert u.dtype == torch.float32
    torch.testing.assert_close(proj(GR.expmap(x, u)), proj(y), atol=1e-4, rtol=0)
    assert torch.isfinite(GR.transp(x, y, u)).all()


def test_grassmann_mean_warns_on_non_convergence_and_refuses_nan():
    """Like the SPD means: stopping at max_iter above tol warns with the count and residual."""
    import warnings

    from geomlayers.manifolds import Grassmann
    from geomlayers.manifolds.spd import ConvergenceWarning

    g = torch.Generator().manual_seed(3)
    x = torch.linalg.qr(torch.randn(6, 7, 2, generator=g, dtype=torch.float64))[0]
    man = Grassmann()
    with pytest.warns(ConvergenceWarning, match=r"did not converge: residual .* max_iter=1 "):
        man.frechet_mean(x, max_iter=1, tol=1e-14)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        man.frechet_mean(x, max_iter=1, tol=1e-14, warn=False)
        man.frechet_mean(x)
    bad = x.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="x contains NaN"):
        man.frechet_mean(bad)
