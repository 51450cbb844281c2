"""GLPlus / SL / Affine: decomposition, Haar density, samplers (geomlayers.groups.affine)."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from geomlayers.groups.affine import (
    SL,
    Affine,
    GLPlus,
    rotation_subgroup,
    so_exp,
    so_log,
    sym_basis,
    sym_exp,
    sym_log,
)

GROUPS = [GLPlus(2), SL(2), GLPlus(3), SL(3)]


def _random_gl(n, m, seed, det_one=False):
    gen = torch.Generator().manual_seed(seed)
    g = 0.5 * torch.randn(m, n, n, generator=gen, dtype=torch.float64) + torch.eye(n)
    det = torch.linalg.det(g)
    g[det < 0, 0] *= -1
    if det_one:
        g = g / torch.linalg.det(g).abs()[:, None, None] ** (1 / n)
    return g


@pytest.mark.parametrize("group", GROUPS, ids=str)
def test_decomposition_round_trip(group):
    g = _random_gl(group.n, 200, 1, det_one=group.traceless)
    x, r = group.decompose(g)
    eye = torch.eye(group.n, dtype=torch.float64)
    assert torch.allclose(group.compose(x, r), g, atol=1e-12, rtol=0)
    assert torch.allclose(x, x.transpose(-1, -2), atol=1e-13)
    assert torch.allclose(r @ r.transpose(-1, -2), eye.expand_as(r), atol=1e-12)
    assert torch.allclose(torch.linalg.det(r), torch.ones(200, dtype=torch.float64), atol=1e-12)
    trace = torch.diagonal(x, dim1=-2, dim2=-1).sum(-1)
    assert torch.allclose(trace, torch.log(torch.linalg.det(g)), atol=1e-12)
    assert torch.allclose(group.inverse(g) @ g, eye.expand_as(g), atol=1e-11)
    assert group.contains(g)
    # coordinates round-trip and uniqueness: (X, R) → g → (X, R)
    c = group.sym_coordinates(x)
    assert c.shape[-1] == group.sym_dimension
    assert torch.allclose(group.sym_from_coordinates(c), x, atol=1e-13)
    x2, r2 = group.decompose(group.compose(x, r))
    assert torch.allclose(x2, x, atol=1e-11) and torch.allclose(r2, r, atol=1e-11)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_piece_maps(n):
    gen = torch.Generator().manual_seed(n)
    a = torch.randn(50, n, n, generator=gen, dtype=torch.float64)
    sym = 0.5 * (a + a.transpose(-1, -2))
    assert torch.allclose(sym_log(sym_exp(sym)), sym, atol=1e-11)
    assert torch.allclose(sym_exp(sym), torch.linalg.matrix_exp(sym), atol=1e-11)
    skew = 0.3 * (a - a.transpose(-1, -2))  # angles well inside (-π, π)
    assert torch.allclose(so_log(so_exp(skew)), skew, atol=1e-10)
    basis = sym_basis(n, traceless=True)
    gram = torch.einsum("aij,bij->ab", basis, basis)
    assert torch.allclose(gram, torch.eye(len(basis), dtype=torch.float64), atol=1e-14)
    assert len(basis) == n * (n + 1) // 2 - 1
    traces = torch.einsum("aii->a", basis)
    assert torch.allclose(traces, torch.zeros(len(basis), dtype=torch.float64))


def test_angle_features_are_continuous():
    group = GLPlus(2)
    t = torch.tensor([-1e-9, 1e-9, 2 * math.pi - 1e-9], dtype=torch.float64)
    r = torch.stack([torch.stack([t.cos(), -t.sin()], -1), torch.stack([t.sin(), t.cos()], -1)],
                    -2)
    feats = group.features(r)
    assert (feats[0] - feats[1]).abs().max() < 1e-8  # no jump across θ = 0 ≡ 2π
    assert (feats[1] - feats[2]).abs().max() < 1e-8


def _chart(group, g0):
    """Local chart (sym coords, so(n) coords) ↦ exp(X(c))·R0·exp(A(a)) around g0."""
    n = group.n
    x0, r0 = group.decompose(g0)
    skew_basis = []
    for i in range(n):
        for j in range(i + 1, n):
            m = torch.zeros(n, n, dtype=torch.float64)
            m[j, i], m[i, j] = 1, -1
            skew_basis.append(m / math.sqrt(2))
    skew_basis = torch.stack(skew_basis)
    c0 = group.sym_coordinates(x0)

    def to_group(params):
        c, a = params[: len(c0)], params[len(c0):]
        rot = r0 @ torch.linalg.matrix_exp(torch.einsum("d,dij->ij", a, skew_basis))
        return sym_exp(group.sym_from_coordinates(c)) @ rot

    def from_group(g, r_ref):
        x, r = group.decompose(g)
        m = r_ref.transpose(-1, -2) @ r  # chart skew(M): first-order equal to log at I
        a_mat = 0.5 * (m - m.transpose(-1, -2))
        a = torch.einsum("ij,dij->d", a_mat, skew_basis)
        return torch.cat([group.sym_coordinates(x), a])

    return torch.cat([c0, torch.zeros(len(skew_basis), dtype=torch.float64)]), to_group, from_group


@pytest.mark.parametrize("group", [GLPlus(2), SL(2), GLPlus(3), SL(3)], ids=str)
@pytest.mark.parametrize("side", ["left", "right"])
def test_haar_density_is_invariant(group, side):
    """J(X') |det ∂(X', R')/∂(X, R)| = J(X) for g ↦ u g (and g ↦ g u): Jacobian by autograd."""
    gen = torch.Generator().manual_seed(3)
    for trial in range(3):
        g0 = group.sample(1, generator=gen)[0]
        u = _random_gl(group.n, 1, 10 + trial, det_one=group.traceless)[0]
        p0, to_group, _ = _chart(group, g0)
        moved0 = u @ g0 if side == "left" else g0 @ u
        _, r_ref = group.decompose(moved0)
        _, _, from_group = _chart(group, moved0)

        def transformed(p, u=u, to_group=to_group, from_group=from_group, r_ref=r_ref):
            g = to_group(p)
            return from_group(u @ g if side == "left" else g @ u, r_ref)

        jac = torch.autograd.functional.jacobian(transformed, p0)
        x_before = group.decompose(g0)[0]
        x_after = group.decompose(moved0)[0]
        lhs = group.log_haar_density(x_after) + torch.log(torch.linalg.det(jac).abs())
        assert abs(float(lhs - group.log_haar_density(x_before))) < 1e-9


def test_haar_density_detects_wrong_measure():
    """The same Jacobian check fails for the flat density (J ≡ 1): the check has teeth."""
    group = SL(2)
    g0 = sym_exp(group.sym_from_coordinates(torch.tensor([0.8, -0.5], dtype=torch.float64)))
    u = _random_gl(2, 1, 5, det_one=True)[0]
    p0, to_group, _ = _chart(group, g0)
    _, r_ref = group.decompose(u @ g0)
    _, _, from_group = _chart(group, u @ g0)
    jac = torch.autograd.functional.jacobian(lambda p: from_group(u @ to_group(p), r_ref), p0)
    assert abs(float(torch.log(torch.linalg.det(jac).abs()))) > 1e-2


@pytest.mark.parametrize("orbit", [1, 8])
def test_so2_part_is_haar_ks(orbit):
    group = SL(2)
    s = group.sample_grid(2000 // orbit, generator=7, orbit=orbit)
    theta = torch.atan2(s.rot[:, 1, 0], s.rot[:, 0, 0]).numpy()
    assert stats.kstest(theta, stats.uniform(loc=-math.pi, scale=2 * math.pi).cdf).pvalue > 0.01


def test_so3_part_is_haar_ks():
    s = SL(3).sample_grid(2000, generator=11)
    cos_angle = ((torch.einsum("bii->b", s.rot) - 1) / 2).clamp(-1, 1)
    angle = torch.arccos(cos_angle).numpy()
    # Haar on SO(3): rotation angle density (1 - cos θ)/π on [0, π]
    cdf = lambda t: (t - np.sin(t)) / np.pi  # noqa: E731
    assert stats.kstest(angle, cdf).pvalue > 0.01


def test_non_haar_angles_are_rejected():
    """KS has power: angles squeezed into (-π/2, π/2) fail it."""
    s = SL(2).sample_grid(2000, generator=7)
    theta = 0.5 * torch.atan2(s.rot[:, 1, 0], s.rot[:, 0, 0]).numpy()
    assert stats.kstest(theta, stats.uniform(loc=-math.pi, scale=2 * math.pi).cdf).pvalue < 1e-6


def _sl2_gaussian_integral(tau):
    """∫ exp(-|c|²/2τ²) J dX over Sym₀(2) by quadrature (eigenvalues ±|c|/√2, gap √2|c|)."""
    def radial(r):
        gap = math.sqrt(2) * r
        if gap < 1e-8:
            return r
        return math.exp(gap - r * r / (2 * tau * tau)) * -math.expm1(-2 * gap) / (2 * gap) * r
    value, _ = integrate.quad(radial, 0, np.inf)
    return 2 * math.pi * value


@pytest.mark.parametrize("group", [SL(2), GLPlus(2)], ids=str)
def test_importance_weights_integrate_known_function(group):
    """Σ w φ(g) ≈ ∫ φ dμ for φ = exp(-|c(X)|²/2τ²)·(1 + cos θ): quadrature truth."""
    tau, scale = 0.3, 0.35
    truth = _sl2_gaussian_integral(tau)
    if not group.traceless:  # extra trace coordinate: a 1-D Gaussian factor
        truth *= math.sqrt(2 * math.pi) * tau
    s = group.sample_grid(20000, generator=2, scale=scale)
    c = group.sym_coordinates(s.sym)
    phi = torch.exp(-(c**2).sum(-1) / (2 * tau**2)) * (1 + s.rot[:, 0, 0])
    terms = len(phi) * s.weights * phi
    estimate, stderr = float(terms.mean()), float(terms.std() / math.sqrt(len(terms)))
    assert abs(estimate - truth) < 4 * stderr + 1e-12
    assert stderr < 0.02 * truth
    # without the importance weights the estimate is far off (the authors' unweighted average)
    assert abs(float(phi.mean()) * (2 * math.pi * scale**2) ** (c.shape[-1] / 2) - truth) \
        > 10 * stderr


def test_grid_is_closed_under_its_rotations():
    group = GLPlus(2)
    s = group.sample_grid(3, generator=0, orbit=8)
    for r in rotation_subgroup(2, 8):
        moved = r @ s.elements
        dist = (moved[:, None] - s.elements[None]).flatten(2).abs().amax(-1)
        assert torch.all(dist.min(1).values < 1e-12)
        weights = s.weights[dist.argmin(1)]
        assert torch.allclose(weights, s.weights, rtol=1e-12)
    assert len(rotation_subgroup(3, 24)) == 24
    assert len(torch.unique(rotation_subgroup(3, 24).round(decimals=6), dim=0)) == 24


def test_sampling_is_seeded():
    a = SL(2).sample_grid(4, generator=5, orbit=4)
    b = SL(2).sample_grid(4, generator=5, orbit=4)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert SL(2).sample(3, generator=0, dtype=torch.float32).dtype == torch.float32


def test_affine_group():
    aff = Affine(GLPlus(2))
    assert aff.n == 3 and aff.space_dim == 2 and aff.dimension == 6
    g = aff.sample(5, generator=0)
    assert aff.contains(g)
    a, t = aff.split(g)
    assert torch.equal(aff.join(a, t), g)
    pts = torch.randn(5, 7, 2, dtype=torch.float64)
    homog = torch.cat([pts, torch.ones(5, 7, 1, dtype=torch.float64)], -1)
    expected = (homog @ g.transpose(-1, -2))[..., :2]
    assert torch.allclose(torch.stack([aff.act_points(g[i], pts[i]) for i in range(5)]), expected)
    assert Affine(SL(3)).dimension == 11
    bad = g.clone()
    bad[:, 2, 0] = 1
    assert not aff.contains(bad)
    assert SL(2).lie_algebra().shape == (3, 2, 2)
    assert GLPlus(3).dimension == 9


def test_bad_input():
    with pytest.raises(ValueError, match="n must be"):
        GLPlus(0)
    with pytest.raises(TypeError, match="n must be an int"):
        SL(2.0)
    with pytest.raises(ValueError, match="scale"):
        SL(2).sample_grid(3, scale=-1.0)
    with pytest.raises(ValueError, match="m"):
        SL(2).sample_grid(0)
    with pytest.raises(ValueError, match="det g > 0"):
        GLPlus(2).decompose(torch.zeros(2, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="order"):
        rotation_subgroup(3, 5)
    with pytest.raises(TypeError, match="linear"):
        Affine("SL2")
    with pytest.raises(ValueError, match="g must be"):
        SL(2).decompose(torch.eye(3))


def test_sym_exp_log_gradients_at_repeated_eigenvalues():
    # the one spectral implementation (geomlayers.linalg) has a finite, exact backward where
    # eigh's own backward divides by zero
    eye = torch.eye(3, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(sym_log(2 * eye).sum(), eye)
    torch.testing.assert_close(grad, torch.ones(3, 3, dtype=torch.float64))
    zero = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(sym_exp(zero).sum(), zero)
    torch.testing.assert_close(grad, torch.ones(3, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="positive definite"):
        sym_log(torch.diag(torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64)))
