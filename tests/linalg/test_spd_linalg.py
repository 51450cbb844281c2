import numpy as np
import pytest
import scipy.linalg
import torch

from geomlayers.linalg import (
    EigenvalueFloorWarning,
    LoewnerKernel,
    SumPowerKernel,
    clampm,
    config,
    eig_kernel_apply,
    expm,
    invsqrtm,
    logm,
    lyapunov,
    powm,
    sqrtm,
    sym,
)

D = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def random_spd(n, batch=(), cond=10.0, gen=None, dtype=D):
    q, _ = torch.linalg.qr(torch.randn(*batch, n, n, generator=gen, dtype=D))
    logs = torch.rand(*batch, n, generator=gen, dtype=D) * np.log(cond)
    x = (q * logs.exp().unsqueeze(-2)) @ q.transpose(-1, -2)
    return sym(x).to(dtype)


def repeated_spd(eigs, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(len(eigs), len(eigs), generator=g, dtype=D))
    return sym(q @ torch.diag(torch.tensor(eigs, dtype=D)) @ q.T)


SCIPY = {
    "sqrt": (sqrtm, lambda a: scipy.linalg.sqrtm(a).real),
    "invsqrt": (invsqrtm, lambda a: np.linalg.inv(scipy.linalg.sqrtm(a).real)),
    "log": (logm, lambda a: scipy.linalg.logm(a).real),
    "exp": (expm, scipy.linalg.expm),
    "pow0.3": (lambda x: powm(x, 0.3), lambda a: scipy.linalg.fractional_matrix_power(a, 0.3).real),
    "pow-1.7": (lambda x: powm(x, -1.7),
                lambda a: scipy.linalg.fractional_matrix_power(a, -1.7).real),
}


@pytest.mark.parametrize("name", sorted(SCIPY))
def test_forward_matches_scipy(name, seed):
    ours, ref = SCIPY[name]
    x = random_spd(5, (3,), cond=100.0)
    y = ours(x)
    for i in range(3):
        np.testing.assert_allclose(y[i].numpy(), ref(x[i].numpy()), rtol=1e-9, atol=1e-10)


MATRICES = {
    "random": lambda: random_spd(4, (2,), cond=20.0),
    "repeated": lambda: torch.stack([repeated_spd([2.0, 2.0, 3.0, 0.5]),
                                     repeated_spd([1.5, 1.5, 1.5, 1.5], seed=1)]),
    "identity": lambda: torch.eye(4, dtype=D).expand(2, 4, 4).clone(),
    "near_tie": lambda: repeated_spd([1.0, 1.0 + 1e-9, 2.0, 4.0])[None],
}
FUNCS = {
    "sqrt": sqrtm, "invsqrt": invsqrtm, "log": logm, "exp": expm,
    "pow": lambda x: powm(x, 0.7), "clamp": lambda x: clampm(x, 0.1),
}


@pytest.mark.parametrize("mat", sorted(MATRICES))
@pytest.mark.parametrize("fn", sorted(FUNCS))
def test_gradcheck(fn, mat, seed):
    x = MATRICES[mat]().requires_grad_()
    f = FUNCS[fn]
    assert torch.autograd.gradcheck(lambda a: f(sym(a)), (x,), atol=1e-6, rtol=1e-5)


def test_gradcheck_theta(seed):
    x = torch.stack([random_spd(3), repeated_spd([1.0, 1.0, 2.0])]).requires_grad_()
    theta = torch.tensor(0.6, dtype=D, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, t: powm(sym(a), t), (x, theta))


@pytest.mark.parametrize("mat", ["repeated", "identity"])
def test_expm_grad_matches_torch_matrix_exp(mat, seed):
    """Independent truth: autograd through torch.linalg.matrix_exp (Padé, no eigh)."""
    x = MATRICES[mat]()
    weight = sym(torch.randn_like(x))
    a = x.clone().requires_grad_()
    (expm(a) * weight).sum().backward()
    b = x.clone().requires_grad_()
    (torch.linalg.matrix_exp(sym(b)) * weight).sum().backward()
    torch.testing.assert_close(a.grad, sym(b.grad), rtol=1e-10, atol=1e-10)


def test_logm_grad_repeated_matches_exp_inverse(seed):
    """D log_X = (D exp_{log X})^{-1}: check with torch.func.jvp of matrix_exp."""
    x = repeated_spd([2.0, 2.0, 0.5])
    v = sym(torch.randn(3, 3, dtype=D))
    a = logm(x)
    # solve D exp_a[dlog] = v through the Kronecker form of the directional derivative
    n = 3
    basis = torch.eye(n * n, dtype=D).reshape(n * n, n, n)
    cols = [torch.func.jvp(torch.linalg.matrix_exp, (a,), (e,))[1].reshape(-1) for e in basis]
    jac = torch.stack(cols, dim=1)
    dlog = torch.linalg.solve(jac, v.reshape(-1)).reshape(n, n)
    xr = x.clone().requires_grad_()
    w = sym(torch.randn(3, 3, dtype=D))
    (logm(xr) * w).sum().backward()
    # ⟨∇, v⟩ = ⟨w, Dlog_x[v]⟩
    torch.testing.assert_close((xr.grad * v).sum(), (w * dlog).sum(), rtol=1e-9, atol=1e-10)


def test_lyapunov_matches_kronecker_solve(seed):
    p = random_spd(4, (3,))
    v = sym(torch.randn(3, 4, 4, dtype=D))
    eye = torch.eye(4, dtype=D)
    kron = torch.stack([torch.kron(eye, pi) + torch.kron(pi, eye) for pi in p])
    ref = torch.linalg.solve(kron, v.reshape(3, 16, 1)).reshape(3, 4, 4)
    torch.testing.assert_close(lyapunov(p, v), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mat", ["random", "repeated", "identity"])
@pytest.mark.parametrize("kernel", [SumPowerKernel(1.0, -1.0), SumPowerKernel(0.5**0.5, 0.5),
                                    LoewnerKernel("log"), LoewnerKernel("pow", 0.5),
                                    LoewnerKernel("exp", inverse=True)],
                         ids=["lyap", "transp", "dlog", "dpow", "dexp_inv"])
def test_kernel_gradcheck(kernel, mat, seed):
    p = MATRICES[mat]().requires_grad_()
    w = sym(torch.randn_like(p)).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: eig_kernel_apply(sym(a), sym(b), kernel), (p, w), atol=1e-6, rtol=1e-5)


def test_kernel_shared_p_gradcheck(seed):
    p = repeated_spd([1.0, 1.0, 2.0]).requires_grad_()
    w = sym(torch.randn(4, 3, 3, dtype=D)).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: eig_kernel_apply(sym(a), sym(b), SumPowerKernel(1.0, -1.0)), (p, w))


def test_lyapunov_grad_matches_kronecker(seed):
    p0 = repeated_spd([1.0, 1.0, 3.0])
    v = sym(torch.randn(3, 3, dtype=D))
    eye = torch.eye(3, dtype=D)
    w = sym(torch.randn(3, 3, dtype=D))
    p = p0.clone().requires_grad_()
    (lyapunov(p, v) * w).sum().backward()
    q = p0.clone().requires_grad_()
    qs = sym(q)
    ref = torch.linalg.solve(torch.kron(eye, qs) + torch.kron(qs, eye), v.reshape(9, 1))
    (ref.reshape(3, 3) * w).sum().backward()
    torch.testing.assert_close(p.grad, sym(q.grad), rtol=1e-9, atol=1e-11)


def test_dlog_kernel_is_frechet_derivative(seed):
    p = random_spd(4)
    v = sym(torch.randn(4, 4, dtype=D))
    h = 1e-6
    fd = (logm(p + h * v) - logm(p - h * v)) / (2 * h)
    torch.testing.assert_close(eig_kernel_apply(p, v, LoewnerKernel("log")), fd,
                               rtol=1e-7, atol=1e-8)


def test_float32_repeated_eigenvalues_finite(seed):
    x = torch.eye(6).expand(3, 6, 6).clone().requires_grad_()
    loss = sum(f(x).sum() for f in FUNCS.values())
    loss = loss + lyapunov(x, torch.eye(6)).sum()
    loss.backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad.dtype == torch.float32


def test_ill_conditioned_no_nan(seed):
    x = random_spd(8, (4,), cond=1e6).requires_grad_()
    (logm(x).sum() + invsqrtm(x).sum() + sqrtm(x).sum()).backward()
    assert torch.isfinite(x.grad).all()
    np.testing.assert_allclose(logm(x)[0].detach().numpy(),
                               scipy.linalg.logm(x[0].detach().numpy()).real, atol=1e-7)


def test_bad_input():
    with pytest.raises(ValueError, match="symmetric"):
        sqrtm(torch.tensor([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="positive"):
        logm(torch.diag(torch.tensor([1.0, -1.0])))
    with pytest.raises(ValueError, match="NaN"):
        sqrtm(torch.tensor([[float("nan"), 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"\(\.\.\., n, n\)"):
        sqrtm(torch.ones(2, 3))
    with pytest.raises(TypeError):
        sqrtm(np.eye(2))
    with pytest.raises(TypeError):
        sqrtm(torch.eye(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="threshold"):
        clampm(torch.eye(2), 0.0)
    # expm accepts indefinite symmetric input
    torch.testing.assert_close(expm(torch.diag(torch.tensor([1.0, -1.0]))),
                               torch.diag(torch.tensor([1.0, -1.0]).exp()))


def test_clamp_floor_and_config(seed):
    x = torch.diag(torch.tensor([1.0, 1e-30], dtype=D))
    # the floor is relative to the matrix's scale: config.floor · n · max eigenvalue; moving
    # an eigenvalue (here 1e-30 → 4.4e-16) is announced
    with pytest.warns(EigenvalueFloorWarning):
        assert torch.isfinite(logm(x)).all()
        assert logm(x)[1, 1] == pytest.approx(np.log(config.floor(D) * 2))
        assert logm(1e-12 * x)[1, 1] == pytest.approx(np.log(config.floor(D) * 2e-12))
    y = clampm(torch.diag(torch.tensor([2.0, 1e-3], dtype=D)), 0.1)
    torch.testing.assert_close(y, torch.diag(torch.tensor([2.0, 0.1], dtype=D)))
    assert config.tie(torch.float32) > config.tie(torch.float64)
