import geoopt
import numpy as np
import pytest

try:  # the `spd` extra (pyRiemann): without it this module is skipped
    import pyriemann  # noqa: F401
except ModuleNotFoundError as error:
    pytest.skip(f"needs {error.name}: pip install 'geomlayers[spd]'", allow_module_level=True)

import scipy.linalg
import torch
from pyriemann.utils import mean as pm

from geomlayers.groups import Congruence, OrthogonalGroup
from geomlayers.linalg import sym
from geomlayers.manifolds import (
    SPDAffineInvariant,
    SPDBuresWasserstein,
    SPDGeneralizedBuresWasserstein,
    SPDLogEuclidean,
)
from geomlayers.models import SPDNet
from geomlayers.nn.spd import (
    BiMap,
    ExpEig,
    LogEig,
    ReEig,
    SPDBatchNorm,
    adapt_batch_norm,
    sym_to_vec,
    vec_to_sym,
)
from geomlayers.testing import assert_equivariant

D = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def spd(*batch, n=4, cond=10.0, seed=0, dtype=D):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(*batch, n, n, generator=g, dtype=D))
    eigs = (torch.rand(*batch, n, generator=g, dtype=D) * np.log(cond)).exp()
    return sym((q * eigs.unsqueeze(-2)) @ q.transpose(-1, -2)).to(dtype)


def bn_with_params(metric, n=4, theta=1.0, **kwargs):
    bn = SPDBatchNorm(n, metric, theta=theta, dtype=D, **kwargs)
    with torch.no_grad():
        if bn.bias is not None:
            bn.bias.copy_(spd(n=n, seed=21, cond=4.0))
        if bn.m is not None:
            bn.m.copy_(spd(n=n, seed=22, cond=4.0))
        if bn.scale is not None:
            bn.scale.fill_(0.6)
    return bn


def output_manifold(bn):
    if bn.metric == "aim":
        return SPDAffineInvariant()
    if bn.metric == "bw":
        return SPDBuresWasserstein()
    if bn.metric == "lem":
        return SPDLogEuclidean()
    return SPDGeneralizedBuresWasserstein(bn.m.detach().clone(), float(bn.theta))


CASES = [("aim", 1.0, {}), ("aim", 1.0, {"scale": True}), ("lem", 1.0, {}), ("bw", 1.0, {}),
         ("gbw", 1.0, {}), ("gbw", 0.5, {})]
IDS = ["aim", "aim_scaled", "lem", "bw", "gbw", "gbw_theta0.5"]


@pytest.mark.parametrize(("metric", "theta", "kw"), CASES, ids=IDS)
def test_bn_output_mean_is_bias_and_dispersion_is_scale(metric, theta, kw, seed):
    bn = bn_with_params(metric, theta=theta, n_iter=200, tol=1e-14, **kw)
    x = spd(16, seed=3, cond=8.0)
    y = bn(x).detach()
    man = output_manifold(bn)
    mean = man.frechet_mean(y, tol=1e-13, max_iter=500)
    torch.testing.assert_close(mean, bn.bias.detach(), rtol=1e-7, atol=1e-8)
    if bn.scale is not None:
        var = man.dist2(y, bn.bias.detach()).mean()
        v = float(bn.running_var - 0.9) / 0.1  # batch variance (running_var started at 1)
        eps = bn.eps
        if metric in ("bw", "gbw"):  # ε in the variance's units: times tr(G)/n of the mean
            with torch.no_grad():
                z = bn.manifold.chart(x)
                g = bn.manifold.base.frechet_mean(z, tol=1e-14, max_iter=200)
            eps = bn.eps * float(torch.diagonal(g).mean())
        assert float(var) == pytest.approx(0.36 * v / (v + eps), rel=1e-7)


@pytest.mark.parametrize("metric", ["aim", "bw"])
def test_bn_mean_against_pyriemann(metric, seed):
    """Peer oracle: pyRiemann's mean_riemann / mean_wasserstein of the BN output is B."""
    bn = bn_with_params(metric, n_iter=200, tol=1e-14)
    y = bn(spd(12, seed=4, cond=6.0)).detach().numpy()
    ref = (pm.mean_riemann if metric == "aim" else pm.mean_wasserstein)(
        y, tol=1e-12, maxiter=500)
    np.testing.assert_allclose(ref, bn.bias.detach().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("metric", "theta", "kw"), CASES, ids=IDS)
def test_bn_running_stats_and_eval(metric, theta, kw, seed):
    bn = bn_with_params(metric, theta=theta, momentum=1.0, n_iter=100, tol=1e-14, **kw)
    x = spd(10, seed=5)
    y_train = bn(x)
    man = output_manifold(bn)
    batch_mean = man.frechet_mean(x, tol=1e-13, max_iter=300)
    torch.testing.assert_close(bn.running_mean, batch_mean, rtol=1e-7, atol=1e-8)
    bn.eval()
    state = {k: v.clone() for k, v in bn.state_dict().items()}
    y_eval = bn(x)
    torch.testing.assert_close(y_eval, y_train, rtol=1e-7, atol=1e-8)
    for k, v in bn.state_dict().items():  # eval leaves the buffers alone
        torch.testing.assert_close(v, state[k])
    # momentum 0.1 from I: running mean is the geodesic point at 0.1 (metric of the BN)
    bn2 = bn_with_params(metric, theta=theta, momentum=0.1, n_iter=100, tol=1e-14, **kw)
    bn2(x)
    eye = torch.eye(4, dtype=D)
    torch.testing.assert_close(bn2.running_mean, man.geodesic(eye, batch_mean, 0.1),
                               rtol=1e-7, atol=1e-8)
    assert int(bn2.num_batches_tracked) == 1


def test_bn_cumulative_momentum(seed):
    bn = SPDBatchNorm(4, "bw", momentum=None, n_iter=50, tol=1e-14, dtype=D)
    a, b = spd(6, seed=1), spd(6, seed=2)
    bn(a)
    first = bn.running_var.clone()
    bn(b)
    man = SPDBuresWasserstein()
    vb = man.frechet_var(b, man.frechet_mean(b, tol=1e-13, max_iter=200))
    assert float(bn.running_var) == pytest.approx(0.5 * float(first) + 0.5 * float(vb),
                                                  rel=1e-7)


@pytest.mark.parametrize("metric", ["aim", "lem", "bw", "gbw"])
def test_bn_state_dict_round_trip(metric, seed):
    bn = bn_with_params(metric, theta=0.7 if metric == "gbw" else 1.0, learn_theta=True)
    x = spd(8, seed=6)
    bn(x)
    bn(spd(8, seed=7))
    keys = set(bn.state_dict())
    assert {"running_mean", "running_var", "num_batches_tracked"} <= keys
    fresh = SPDBatchNorm(4, metric, theta=0.7 if metric == "gbw" else 1.0, learn_theta=True,
                         dtype=D)
    fresh.load_state_dict(bn.state_dict())
    bn.eval()
    fresh.eval()
    torch.testing.assert_close(fresh(x), bn(x))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("metric", "theta"),
                         [("aim", 1.0), ("lem", 1.0), ("bw", 1.0), ("gbw", 0.5)])
def test_bn_ill_conditioned_finite_and_spd(metric, theta, dtype, seed):
    x = spd(12, n=6, cond=1e6, seed=8, dtype=dtype).requires_grad_()
    bn = SPDBatchNorm(6, metric, theta=theta, scale=True, learn_theta=metric == "gbw",
                      dtype=dtype)
    y = bn(x)
    assert y.dtype == dtype
    assert torch.isfinite(y).all()
    assert (torch.linalg.eigvalsh(y.detach().double()) > 0).all()
    (y * sym(torch.randn_like(y))).sum().backward()
    assert torch.isfinite(x.grad).all()
    for p in bn.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all()
    bn.eval()
    assert torch.isfinite(bn(x)).all()


@pytest.mark.parametrize("metric", ["aim", "lem", "bw", "gbw"])
def test_bn_gradcheck(metric, seed):
    # warm_start=False: the truncated mean must not depend on the previous calls' running mean
    bn = bn_with_params(metric, n=3, theta=0.8, scale=True, learn_theta=True,
                        detach_stats=False, n_iter=2, tol=0.0, warm_start=False)
    x = spd(4, n=3, seed=9).requires_grad_()
    params = list(bn.parameters())
    assert torch.autograd.gradcheck(lambda a: bn(sym(a)), (x,), atol=1e-6, rtol=1e-5)
    for p in params:
        base = p.detach().clone()
        direction = sym(torch.randn_like(base)) if base.dim() == 2 else torch.ones_like(base)
        bn.zero_grad()
        out_w = sym(torch.randn(4, 3, 3, dtype=D))
        (bn(x.detach()) * out_w).sum().backward()
        analytic = float((p.grad * direction).sum())
        h = 1e-6
        with torch.no_grad():
            p.copy_(base + h * direction)
            plus = float((bn(x.detach()) * out_w).sum())
            p.copy_(base - h * direction)
            minus = float((bn(x.detach()) * out_w).sum())
            p.copy_(base)
        assert analytic == pytest.approx((plus - minus) / (2 * h), rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("metric", ["aim", "lem", "bw"])
def test_bn_orthogonal_equivariance(metric, seed):
    """With its initial bias B = I the batch norm commutes with O(n) congruence (it declares no
    group, since a learned B breaks this): checked with the explicit group and representations."""
    bn = SPDBatchNorm(4, metric, scale=True, dtype=D, n_iter=20, tol=1e-13)
    assert not hasattr(bn, "group")
    assert_equivariant(bn, OrthogonalGroup(4), rep_in=Congruence(), rep_out=Congruence(),
                       x=spd(8, seed=10), tol=1e-9)


def test_aim_bn_gl_invariant_spectrum(seed):
    """AIM BN with B = I whitens: spectra of the output are invariant under X ↦ A X Aᵀ."""
    bn = SPDBatchNorm(4, "aim", dtype=D, n_iter=100, tol=1e-14)
    x = spd(8, seed=10)
    a = torch.randn(4, 4, dtype=D)
    ev1 = torch.linalg.eigvalsh(bn(sym(a @ x @ a.T)))
    ev2 = torch.linalg.eigvalsh(bn(x))
    torch.testing.assert_close(ev1, ev2, rtol=1e-8, atol=1e-9)


def test_layers_against_numpy_and_equivariance(seed):
    x = spd(5, cond=1e3, seed=11)
    q = OrthogonalGroup(4).sample(5, generator=4)
    ev, u = np.linalg.eigh(x.numpy())
    ref = (u * np.maximum(ev, 0.05)[..., None, :]) @ np.swapaxes(u, -1, -2)
    np.testing.assert_allclose(ReEig(0.05, relative=False)(x).numpy(), ref, rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(LogEig()(x)[2].numpy(), scipy.linalg.logm(x[2].numpy()).real,
                               atol=1e-10)
    torch.testing.assert_close(ExpEig()(LogEig()(x)), x)
    for layer in (ReEig(0.05, n=4), LogEig(n=4), ExpEig(n=4)):  # declared O(4) congruence
        assert layer.group == OrthogonalGroup(4) and layer.rep_in == Congruence()
        inp = sym(x) if not isinstance(layer, ExpEig) else LogEig()(x)
        assert_equivariant(layer, x=inp, elements=q)
    assert not hasattr(LogEig(vectorize=True, n=4), "rep_out")
    with pytest.raises(AttributeError):
        ReEig().group  # noqa: B018 (no n: no declared group)
    v = LogEig(vectorize=True)(x)
    assert v.shape == (5, 10)
    torch.testing.assert_close(v.norm(dim=-1), LogEig()(x).norm(dim=(-1, -2)))
    torch.testing.assert_close(vec_to_sym(sym_to_vec(LogEig()(x))), LogEig()(x))
    with pytest.raises(ValueError, match="n\\(n\\+1\\)/2"):
        vec_to_sym(torch.ones(4))


def test_bimap(seed):
    layer = BiMap(5, 3, dtype=D)
    w = layer.weight.detach()
    torch.testing.assert_close(w.T @ w, torch.eye(3, dtype=D))
    x = spd(2, n=5, seed=12)
    torch.testing.assert_close(layer(x), w.T @ x @ w)
    multi = BiMap(5, 3, in_channels=2, out_channels=4, dtype=D)
    xc = spd(6, 2, n=5, seed=13)
    out = multi(xc)
    assert out.shape == (6, 4, 3, 3)
    wm = multi.weight.detach()
    ref = wm[1, 0].T @ xc[:, 0] @ wm[1, 0] + wm[1, 1].T @ xc[:, 1] @ wm[1, 1]
    torch.testing.assert_close(out[:, 1], ref)
    # a RiemannianAdam step keeps the weight on the Stiefel manifold
    opt = geoopt.optim.RiemannianAdam(multi.parameters(), lr=0.1)
    multi(xc).sum().backward()
    opt.step()
    wm = multi.weight.detach()
    torch.testing.assert_close(wm.mT @ wm, torch.eye(3, dtype=D).expand(4, 2, 3, 3))
    with pytest.raises(ValueError, match="out_dim"):
        BiMap(3, 5)
    with pytest.raises(ValueError, match="shape"):
        layer(spd(2, n=4))


def test_bn_bad_input():
    with pytest.raises(ValueError, match="metric"):
        SPDBatchNorm(3, "lie")
    with pytest.raises(ValueError, match="momentum"):
        SPDBatchNorm(3, momentum=1.5)
    with pytest.raises(ValueError, match="theta"):
        SPDBatchNorm(3, "gbw", theta=0.0)
    with pytest.raises(ValueError, match="variance"):
        SPDBatchNorm(3, "bw", variance="x")
    bn = SPDBatchNorm(3, "bw")
    with pytest.raises(ValueError, match="shape"):
        bn(torch.eye(4).expand(2, 4, 4))
    with pytest.raises(ValueError, match="more than one"):
        bn(torch.eye(3)[None])
    with pytest.raises(ValueError, match="symmetric"):
        bn(torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]).expand(2, 3, 3))


def test_bn_channels_and_float32(seed):
    bn = SPDBatchNorm(4, "gbw", theta=0.5)
    x = spd(5, 3, seed=14, dtype=torch.float32)
    y = bn(x)
    assert y.shape == x.shape and y.dtype == torch.float32 and torch.isfinite(y).all()
    assert bn.running_mean.dtype == torch.float32
    assert "metric='gbw'" in repr(bn)


@pytest.mark.parametrize("bn_metric", [None, "aim", "lem", "bw", "gbw"])
def test_spdnet_learns_separable_task(bn_metric, seed):
    g = torch.Generator().manual_seed(0)
    n, per = 6, 40
    q, _ = torch.linalg.qr(torch.randn(2 * per, n, n, generator=g, dtype=D))
    eigs = torch.rand(2 * per, n, generator=g, dtype=D) + 0.5
    eigs[per:, 0] *= 6.0  # class 1: one inflated eigenvalue along a fixed direction
    base, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=D))
    noise = 0.3 * q
    rot = torch.linalg.qr(base + noise)[0]
    x = sym(rot @ torch.diag_embed(eigs) @ rot.mT)
    y = torch.cat([torch.zeros(per), torch.ones(per)]).long()
    net = SPDNet([n, 4], 2, bn_metric=bn_metric, dtype=D)
    opt = geoopt.optim.RiemannianAdam(net.parameters(), lr=0.05)
    for _ in range(40):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
    net.eval()
    acc = float((net(x).argmax(1) == y).double().mean())
    assert acc > 0.85, acc
    assert net(x).shape == (2 * per, 2)


def test_spdnet_bad_args():
    with pytest.raises(ValueError, match="non-increasing"):
        SPDNet([4, 6], 2)
    with pytest.raises(ValueError, match="bn_metric"):
        SPDNet([4, 2], 2, bn_metric="lie")


def _np_logm(a):
    return scipy.linalg.logm(a).real


@pytest.mark.parametrize("metric", ["aim", "lem"])
def test_gyro_mlr_against_explicit_formula(metric, seed):
    from geomlayers.nn.spd import SPDGyroMLR

    mlr = SPDGyroMLR(4, 3, metric=metric, dtype=D)
    with torch.no_grad():
        mlr.points.copy_(spd(3, seed=30, cond=5.0))
    x = spd(3, seed=31)
    out = mlr(x).detach().numpy()
    p, a = mlr.points.detach().numpy(), sym(mlr.normals.detach()).numpy()
    for i in range(3):
        for k in range(3):
            if metric == "lem":
                d = _np_logm(x[i].numpy()) - _np_logm(p[k])
            else:
                pi = np.linalg.inv(scipy.linalg.sqrtm(p[k]).real)
                d = _np_logm(pi @ x[i].numpy() @ pi)
            assert out[i, k] == pytest.approx(float((d * a[k]).sum()), rel=1e-8, abs=1e-10)
    # orthogonal invariance: rotate inputs, points and normals together
    q = OrthogonalGroup(4).sample(1, generator=6)[0]
    rot = SPDGyroMLR(4, 3, metric=metric, dtype=D)
    with torch.no_grad():
        rot.points.copy_(q @ mlr.points @ q.T)
        rot.normals.copy_(q @ mlr.normals @ q.T)
    torch.testing.assert_close(rot(q @ x @ q.T), mlr(x), rtol=1e-9, atol=1e-10)


def test_gyro_mlr_gradcheck_at_identity_points(seed):
    from geomlayers.nn.spd import SPDGyroMLR

    mlr = SPDGyroMLR(3, 2, metric="aim", dtype=D)  # points = I: repeated eigenvalues
    x = spd(3, n=3, seed=32).requires_grad_()
    assert torch.autograd.gradcheck(lambda a: mlr(sym(a)), (x,))
    mlr(x).sum().backward()
    assert torch.isfinite(mlr.points.grad).all() and mlr.points.grad.abs().sum() > 0


def test_spdnet_gyro_head(seed):
    net = SPDNet([6, 4], 3, bn_metric="bw", head="gyro-aim", dtype=D)
    out = net(spd(5, n=6, seed=33))
    assert out.shape == (5, 3) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="head"):
        SPDNet([6, 4], 3, head="mlp")


def test_bn_official_gbwbn_settings(seed):
    """n_iter=1 and variance='identity' reproduce the official GBWBN statistics."""
    bn = SPDBatchNorm(4, "bw", n_iter=1, variance="identity", momentum=1.0, bias=False,
                      dtype=D)
    x = spd(8, seed=40)
    bn(x)
    a = x.mean(0)
    a_half = torch.as_tensor(scipy.linalg.sqrtm(a.numpy()).real)
    a_ihalf = torch.linalg.inv(a_half)
    inner = torch.stack([torch.as_tensor(scipy.linalg.sqrtm((a_half @ xi @ a_half).numpy()).real)
                         for xi in x]).mean(0)
    one_step = a_ihalf @ inner @ inner @ a_ihalf
    torch.testing.assert_close(bn.running_mean, sym(one_step), rtol=1e-8, atol=1e-9)
    eye = torch.eye(4, dtype=D)
    var_about_identity = np.mean([np.sum((scipy.linalg.sqrtm(xi.numpy()).real - eye.numpy())
                                         ** 2) for xi in x])
    assert float(bn.running_var) == pytest.approx(var_about_identity, rel=1e-8)
    assert bn.bias is None and "variance='identity'" in repr(bn)


@pytest.mark.parametrize(("metric", "theta", "kw"), CASES, ids=IDS)
def test_adapt_batch_norm_recentres_a_new_domain(metric, theta, kw, seed):
    """After adaptation, the BN output on the new domain has its barycentre at the bias."""
    bn = bn_with_params(metric, theta=theta, n_iter=200, tol=1e-14, **kw)
    net = torch.nn.Sequential(BiMap(5, 4, dtype=D), bn, torch.nn.Dropout(0.5))
    net(spd(12, n=5, seed=6))  # training-mode statistics of a first domain
    shift = torch.randn(5, 5, generator=torch.Generator().manual_seed(7), dtype=D)
    domain = sym(shift @ spd(16, n=5, seed=8) @ shift.T)  # another domain: a congruence away
    params = {k: v.detach().clone() for k, v in net.named_parameters()}
    assert adapt_batch_norm(net, domain) is net
    assert not net.training and not bn.training and bn.momentum == 0.1
    for k, v in net.named_parameters():
        torch.testing.assert_close(v.detach(), params[k], rtol=0, atol=0)
    y = net(domain).detach()  # eval mode: the adapted running statistics, no dropout
    mean = output_manifold(bn).frechet_mean(y, tol=1e-13, max_iter=500)
    torch.testing.assert_close(mean, bn.bias.detach(), rtol=1e-7, atol=1e-8)
    torch.testing.assert_close(net(domain), y)  # eval really is deterministic
    with pytest.raises(ValueError, match="no SPDBatchNorm"):
        adapt_batch_norm(BiMap(5, 4, dtype=D), domain)


# -- domain-specific batch norm (Kobler et al. 2022; Zanini et al. 2018) -------------------------


def two_domains(n=4, per=10, seed=30):
    """Two sessions a congruence apart, interleaved in one batch; ids (2·per,)."""
    shift = torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=D)
    a = spd(per, n=n, seed=seed + 1, cond=6.0)
    b = sym(shift @ spd(per, n=n, seed=seed + 2, cond=6.0) @ shift.T)
    x = torch.stack([a, b], 1).reshape(2 * per, n, n)
    ids = torch.tensor([3, 7]).repeat(per)
    return x, ids


@pytest.mark.parametrize(("metric", "theta", "kw"), CASES, ids=IDS)
def test_domain_bn_recentres_each_domain_and_keeps_its_statistics(metric, theta, kw, seed):
    """Each domain's output barycentre is the bias (oracle: the manifold's Fréchet mean), its
    running mean is its own Fréchet mean, and eval reproduces training."""
    bn = bn_with_params(metric, theta=theta, momentum=1.0, n_iter=200, tol=1e-14, **kw)
    x, ids = two_domains()
    y = bn(x, domains=ids)
    man = output_manifold(bn)
    assert bn.domains == [3, 7]
    for d in (3, 7):
        sel = ids == d
        mean = man.frechet_mean(y[sel].detach(), tol=1e-13, max_iter=500)
        torch.testing.assert_close(mean, bn.bias.detach(), rtol=1e-7, atol=1e-8)
        dmean, dvar = bn.domain_statistics(d)
        torch.testing.assert_close(dmean, man.frechet_mean(x[sel], tol=1e-13, max_iter=500),
                                   rtol=1e-7, atol=1e-8)
        # one domain alone through a fresh layer with the same parameters gives the same output
        alone = bn_with_params(metric, theta=theta, momentum=1.0, n_iter=200, tol=1e-14, **kw)
        torch.testing.assert_close(alone(x[sel]), y[sel], rtol=1e-9, atol=1e-10)
        torch.testing.assert_close(alone.running_var, dvar, rtol=1e-9, atol=1e-10)
    # the global statistics are untouched in domain mode
    torch.testing.assert_close(bn.running_mean, torch.eye(4, dtype=D))
    bn.eval()
    torch.testing.assert_close(bn(x, domains=ids), y, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize(("metric", "theta", "kw"), CASES, ids=IDS)
def test_domain_bn_unknown_domain_then_adapt(metric, theta, kw, seed):
    bn = bn_with_params(metric, theta=theta, n_iter=200, tol=1e-14, **kw)
    x, ids = two_domains()
    bn(x, domains=ids)
    before = {d: [t.clone() for t in bn.domain_statistics(d)] for d in (3, 7)}
    shift = torch.randn(4, 4, generator=torch.Generator().manual_seed(40), dtype=D)
    new = sym(shift @ spd(12, seed=41, cond=5.0) @ shift.T)
    new_ids = torch.full((12,), 11)
    bn.eval()
    with pytest.raises(ValueError, match=r"domain 11 has no running statistics.*adapt_batch_norm"):
        bn(new, domains=new_ids)
    assert bn.adapt(new, new_ids) is bn and not bn.training
    assert bn.domains == [3, 7, 11]
    y = bn(new, domains=new_ids).detach()
    mean = output_manifold(bn).frechet_mean(y, tol=1e-13, max_iter=500)
    torch.testing.assert_close(mean, bn.bias.detach(), rtol=1e-7, atol=1e-8)
    for d in (3, 7):  # other domains keep their statistics
        for a, b in zip(bn.domain_statistics(d), before[d], strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    # adapt_batch_norm does the same and leaves the module in eval mode
    bn2 = bn_with_params(metric, theta=theta, n_iter=200, tol=1e-14, **kw)
    bn2.load_state_dict(bn.state_dict())
    bn2.forget_domain(11)
    assert bn2.domains == [3, 7]
    bn2.train()
    assert adapt_batch_norm(bn2, new, domains=new_ids) is bn2 and not bn2.training
    torch.testing.assert_close(bn2(new, domains=new_ids), y, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("metric", ["aim", "lem", "bw", "gbw"])
def test_domain_bn_unknown_domain_policies(metric, seed):
    x, ids = two_domains()
    new = spd(6, seed=50, cond=5.0)
    batch = SPDBatchNorm(4, metric, unknown_domain="batch", n_iter=100, tol=1e-14, dtype=D)
    batch(x, domains=ids)
    batch.eval()
    ref = SPDBatchNorm(4, metric, n_iter=100, tol=1e-14, dtype=D)  # the batch's own statistics
    torch.testing.assert_close(batch(new, domains=torch.full((6,), 9)), ref(new))
    assert batch.domains == [3, 7]
    glob = SPDBatchNorm(4, metric, unknown_domain="global", dtype=D)
    glob(x, domains=ids)
    glob(x)  # global statistics from a domain-free batch
    glob.eval()
    torch.testing.assert_close(glob(new, domains=torch.full((6,), 9)), glob(new))
    with pytest.raises(ValueError, match="unknown_domain must be one of"):
        SPDBatchNorm(4, metric, unknown_domain="skip")


def test_domain_bn_state_dict_channels_and_bad_ids(seed):
    x, ids = two_domains()
    bn = SPDBatchNorm(4, "bw", dtype=D)
    bn(x, domains=ids)
    fresh = SPDBatchNorm(4, "bw", dtype=D)
    fresh.load_state_dict(bn.state_dict())  # the domain buffers take the saved sizes
    assert fresh.domains == [3, 7]
    fresh.eval(), bn.eval()
    torch.testing.assert_close(fresh(x, domains=ids), bn(x, domains=ids))
    old = {k: v for k, v in bn.state_dict().items() if not k.startswith("domain_")}
    fresh.load_state_dict(old)  # a state dict from before domains loads, with no domains
    assert fresh.domains == []
    # channels: every channel of a sample takes the sample's domain
    xc = torch.stack([x, x.flip(0)], 1)  # (20, 2, 4, 4)
    bnc = SPDBatchNorm(4, "aim", momentum=1.0, n_iter=100, tol=1e-14, dtype=D)
    bnc(xc, domains=ids)
    pooled = torch.cat([xc[ids == 3].reshape(-1, 4, 4)])
    torch.testing.assert_close(bnc.domain_statistics(3)[0],
                               SPDAffineInvariant().frechet_mean(pooled, tol=1e-13))
    with pytest.raises(TypeError, match="integer domain ids"):
        bn(x, domains=ids.double())
    with pytest.raises(ValueError, match=r"domains must have shape \(20,\)"):
        bn(x, domains=ids[:5])


def test_domain_bn_singleton_domain_in_training_uses_running_statistics(seed):
    x, ids = two_domains()
    bn = SPDBatchNorm(4, "aim", momentum=0.5, dtype=D)
    bn(x, domains=ids)
    stats = [t.clone() for t in bn.domain_statistics(3)]
    y = bn(x[:2], domains=ids[:2])  # one matrix of domain 3, one of domain 7
    for a, b in zip(bn.domain_statistics(3), stats, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    bn.eval()
    torch.testing.assert_close(y[:1], bn(x[:1], domains=torch.tensor([3])))


@pytest.mark.parametrize("bn_metric", ["aim", "gbw"])
def test_spdnet_domains_reach_batch_norm_and_train(bn_metric, seed):
    x, ids = two_domains(n=5, per=8)
    net = SPDNet([5, 4, 3], 2, bn_metric=bn_metric, dtype=D)
    out = net(x, domains=ids)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
    norms = [m for m in net.modules() if isinstance(m, SPDBatchNorm)]
    assert len(norms) == 2 and all(bn.domains == [3, 7] for bn in norms)
    net.eval()
    with pytest.raises(ValueError, match="domain 5 has no running statistics"):
        net(x, domains=torch.full((16,), 5))
    adapt_batch_norm(net, x, domains=torch.full((16,), 5))
    assert all(bn.domains == [3, 7, 5] for bn in norms)
