import geoopt
import numpy as np
import pytest
import scipy.linalg
import torch

from geomlayers.groups import OrthogonalGroup
from geomlayers.manifolds.grassmann import (
    Grassmann,
    exp_identity,
    grassmann_identity,
    gyro_translate,
    log_identity,
)
from geomlayers.models import GrNet
from geomlayers.nn.grassmann import (
    FRMap,
    GrassmannMLR,
    OrthMap,
    ProjMap,
    ProjPooling,
    ReOrth,
    orthmap,
    reorth,
)
from geomlayers.testing import assert_equivariant

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")
GR = Grassmann()


def bases(*shape, seed=0, dtype=F64):
    return GR.random(*shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))


# -- ProjMap / ReOrth / OrthMap ---------------------------------------------------------------

def test_projmap_invariant_to_basis_choice():
    x = bases(4, 3, 7, 2)
    q = OrthogonalGroup(2).sample(12, dtype=F64).reshape(4, 3, 2, 2)
    torch.testing.assert_close(ProjMap()(x @ q), ProjMap()(x), atol=1e-12, rtol=0)
    p = ProjMap()(x)
    torch.testing.assert_close(p @ p, p, atol=1e-12, rtol=0)  # idempotent, rank 2
    torch.testing.assert_close(torch.diagonal(p, dim1=-2, dim2=-1).sum(-1),
                               torch.full((4, 3), 2.0, dtype=F64))


def test_reorth_matches_qr_and_gradcheck():
    x = torch.randn(2, 5, 3, dtype=F64, generator=torch.Generator().manual_seed(1))
    q = ReOrth()(x)
    q_ref, r_ref = np.linalg.qr(x[0].numpy())
    signs = np.sign(np.diag(r_ref))
    np.testing.assert_allclose(q[0].numpy(), q_ref * signs, atol=1e-12)
    torch.testing.assert_close(q.transpose(-1, -2) @ q, torch.eye(3, dtype=F64).expand(2, 3, 3))
    torch.autograd.gradcheck(reorth, (x.clone().requires_grad_(),))
    # same gradient as autograd through torch's QR with the sign fix
    xx = x.clone().requires_grad_()
    w = torch.randn(2, 5, 3, dtype=F64)
    (reorth(xx) * w).sum().backward()
    yy = x.clone().requires_grad_()
    qq, rr = torch.linalg.qr(yy)
    ((qq * torch.sign(torch.diagonal(rr, dim1=-2, dim2=-1)).unsqueeze(-2)) * w).sum().backward()
    torch.testing.assert_close(xx.grad, yy.grad, atol=1e-10, rtol=0)


def test_reorth_rejects_wide_input():
    with pytest.raises(ValueError, match="n >= q"):
        ReOrth()(torch.randn(2, 3, 5))


def test_orthmap_matches_scipy_and_is_equivariant():
    a = torch.randn(4, 6, 6, dtype=F64, generator=torch.Generator().manual_seed(2))
    s = a @ a.transpose(-1, -2)
    u = OrthMap(2)(s)
    for i in range(4):
        w, v = scipy.linalg.eigh(s[i].numpy())
        ref = v[:, -2:] @ v[:, -2:].T
        np.testing.assert_allclose((u[i] @ u[i].T).numpy(), ref, atol=1e-12)
    # declared: O(6) from congruence to subspaces (compared through projectors)
    assert_equivariant(OrthMap(2, n=6), x=s, tol=1e-11)
    assert_equivariant(ProjMap(n=6), x=u, tol=1e-12)
    assert_equivariant(ReOrth(n=6), x=u @ torch.randn(2, 2, dtype=F64), tol=1e-11)


def test_orthmap_gradcheck_including_repeated_eigenvalues():
    w = torch.randn(5, 5, dtype=F64, generator=torch.Generator().manual_seed(3))

    def loss(s):  # symmetrised: gradcheck perturbs single entries, which orthmap refuses
        return (ProjMap()(orthmap(0.5 * (s + s.mT), 2)) * w).sum()

    a = torch.randn(2, 5, 5, dtype=F64, generator=torch.Generator().manual_seed(4))
    torch.autograd.gradcheck(loss, ((a @ a.transpose(-1, -2)).requires_grad_(),))
    # repeated eigenvalues inside the kept and the discarded block: torch's eigh backward is NaN
    s = torch.diag(torch.tensor([3.0, 3.0, 1.0, 1.0, 1.0], dtype=F64))
    h = OrthogonalGroup(5).sample(1, dtype=F64)[0]
    s = (h @ s @ h.T).requires_grad_()
    torch.autograd.gradcheck(loss, (s,))
    exact = torch.diag(torch.tensor([3.0, 3.0, 1.0, 1.0, 1.0], dtype=F64)).requires_grad_()
    torch.autograd.gradcheck(loss, (exact,))


def test_orthmap_bad_q():
    with pytest.raises(ValueError, match="q must be"):
        orthmap(torch.eye(4), 4)


# -- FRMap / pooling ----------------------------------------------------------------------------

def test_frmap_shapes_and_stiefel_weight():
    layer = FRMap(8, 5, channels=3, dtype=F64)
    assert isinstance(layer.weight, geoopt.ManifoldParameter)
    w = layer.weight
    torch.testing.assert_close(w.transpose(-1, -2) @ w, torch.eye(5, dtype=F64).expand(3, 5, 5))
    x = bases(2, 1, 8, 2)
    out = layer(x)
    assert out.shape == (2, 3, 5, 2)
    torch.testing.assert_close(out[:, 1], w[1].T @ x[:, 0])
    assert layer(bases(2, 3, 8, 2)).shape == (2, 3, 5, 2)
    with pytest.raises(ValueError, match="out_features"):
        FRMap(4, 5)
    with pytest.raises(ValueError, match="shape"):
        layer(bases(2, 2, 8, 2))
    assert "channels=3" in repr(layer)


def test_frmap_then_reorth_equivariance():
    """span(WᵀX) depends on span(X) only: FRMap∘ReOrth∘ProjMap is invariant to X → XQ."""
    layer = FRMap(8, 5, channels=2, dtype=F64)
    x = bases(3, 1, 8, 2)
    q = OrthogonalGroup(2).sample(3, dtype=F64)[:, None]
    block = torch.nn.Sequential(layer, ReOrth(), ProjMap())
    torch.testing.assert_close(block(x @ q), block(x), atol=1e-12, rtol=0)


def test_projpooling_modes():
    p = ProjMap()(bases(2, 4, 6, 2))
    pooled = ProjPooling(2)(p)
    torch.testing.assert_close(pooled[:, 1], 0.5 * (p[:, 2] + p[:, 3]))
    win = ProjPooling(3, mode="window")(p)
    assert win.shape == (2, 4, 2, 2)
    torch.testing.assert_close(win[0, 0, 1, 0], p[0, 0, 3:6, 0:3].mean())
    assert float(torch.linalg.eigvalsh(win).min()) > -1e-12
    with pytest.raises(ValueError, match="divisible"):
        ProjPooling(3)(p)
    with pytest.raises(ValueError, match="mode"):
        ProjPooling(2, mode="max")


# -- gyro structure and MLR -----------------------------------------------------------------------

def test_gyro_translate_matches_matrix_exponential():
    n, p = 7, 3
    g = torch.Generator().manual_seed(5)
    b = torch.randn(2, n - p, p, dtype=F64, generator=g)
    y = bases(2, n, p, seed=6)
    omega = torch.zeros(2, n, n, dtype=F64)
    omega[:, p:, :p], omega[:, :p, p:] = b, -b.transpose(-1, -2)
    torch.testing.assert_close(gyro_translate(b, y), torch.linalg.matrix_exp(omega) @ y,
                               atol=1e-12, rtol=0)
    eye = grassmann_identity(n, p, dtype=F64)
    tangent = torch.cat([torch.zeros(2, p, p, dtype=F64), b], dim=-2)
    torch.testing.assert_close(exp_identity(b), GR.expmap(eye.expand(2, n, p), tangent))
    torch.testing.assert_close(log_identity(y), GR.logmap(eye.expand(2, n, p), y)[:, p:])
    small = 0.3 * b
    torch.testing.assert_close(log_identity(exp_identity(small)), small, atol=1e-12, rtol=0)
    # left cancellation of the gyrogroup: ⊖P ⊕ (P ⊕ Y) = Y
    torch.testing.assert_close(gyro_translate(-b, gyro_translate(b, y)), y, atol=1e-12, rtol=0)
    # ‖Log_Ĩ Y‖ is the geodesic distance, computed independently by scipy
    ref = np.linalg.norm(scipy.linalg.subspace_angles(eye.numpy(), y[0].numpy()))
    assert abs(float(log_identity(y[0]).norm()) - ref) < 1e-7


def test_mlr_logits_closed_form_and_invariance():
    n, q, k, c = 6, 2, 3, 2
    mlr = GrassmannMLR(n, q, k, c, dtype=F64)
    with torch.no_grad():
        mlr.offset.normal_(generator=torch.Generator().manual_seed(7))
    y = bases(4, c, n, q, seed=8)
    logits = mlr(y)
    assert logits.shape == (4, k)
    # independent route: dense n×n matrix exponential and Grassmann logmap
    eye = grassmann_identity(n, q, dtype=F64)
    for kk in range(k):
        total = torch.zeros(4, dtype=F64)
        for cc in range(c):
            b = mlr.offset[kk, cc].detach()
            omega = torch.zeros(n, n, dtype=F64)
            omega[q:, :q], omega[:q, q:] = b, -b.T
            moved = torch.linalg.matrix_exp(-omega) @ y[:, cc]
            tangent = GR.logmap(eye.expand(4, n, q), moved)[:, q:]
            total += (tangent * mlr.normal[kk, cc].detach()).sum((-1, -2))
        torch.testing.assert_close(logits[:, kk], total, atol=1e-11, rtol=0)
    # invariance to the basis of each input subspace
    qq = OrthogonalGroup(q).sample(8, dtype=F64).reshape(4, c, q, q)
    torch.testing.assert_close(mlr(y @ qq), logits, atol=1e-11, rtol=0)
    # a point on the k-th hyperplane's offset has logit 0 for that class
    on_plane = torch.stack([exp_identity(mlr.offset[0, cc].detach()) for cc in range(c)])[None]
    assert abs(float(mlr(on_plane)[0, 0].detach())) < 1e-12


def test_mlr_gradcheck():
    mlr = GrassmannMLR(5, 2, 2, 1, dtype=F64)
    with torch.no_grad():
        mlr.offset.normal_(generator=torch.Generator().manual_seed(9))
    y = bases(3, 1, 5, 2, seed=10).requires_grad_()
    torch.autograd.gradcheck(lambda a: mlr(a), (y,))
    params = (mlr.offset, mlr.normal)
    torch.autograd.gradcheck(
        lambda o, w: torch.func.functional_call(mlr, {"offset": o, "normal": w}, (y.detach(),)),
        tuple(p.detach().clone().requires_grad_() for p in params))


# -- GrNet --------------------------------------------------------------------------------------

@pytest.mark.parametrize("head", ["linear", "gyro"])
def test_grnet_learns_two_subspace_clusters(head):
    torch.manual_seed(0)
    n, q = 8, 2
    centres = bases(2, n, q, seed=11)
    g = torch.Generator().manual_seed(12)
    labels = torch.arange(24) % 2
    noise = GR.proju(centres[labels], 0.25 * torch.randn(24, n, q, dtype=F64, generator=g))
    x = GR.expmap(centres[labels], noise)
    net = GrNet(n, q, 2, dims=(6,), channels=4, pool=2, head=head, dtype=F64)
    opt = geoopt.optim.RiemannianAdam(net.parameters(), lr=0.03)
    for _ in range(30):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), labels)
        loss.backward()
        opt.step()
    acc = float((net(x).argmax(1) == labels).double().mean())
    assert acc >= 0.95
    # basis-invariant end to end
    qq = OrthogonalGroup(q).sample(24, dtype=F64)
    torch.testing.assert_close(net(x @ qq), net(x), atol=1e-9, rtol=0)


def test_grnet_float32_smoke_and_errors():
    net = GrNet(8, 2, 3, dims=(6, 4), channels=4, pool=2, head="gyro")
    out = net(bases(5, 8, 2, dtype=torch.float32))
    assert out.dtype == torch.float32 and out.shape == (5, 3) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())
    with pytest.raises(ValueError, match="head"):
        GrNet(8, 2, 3, head="softmax")
    with pytest.raises(ValueError, match="dims"):
        GrNet(8, 2, 3, dims=(2,))
