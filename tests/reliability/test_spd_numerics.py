"""Scale-free, honest SPD numerics (issue 34, item 1).

Independent truths: the identities ``logm(cX) = log c · I + logm X``, ``(cX)^p = c^p X^p``,
the scale laws of the distances, and mpmath's eigen-decomposition of the exact float64
matrix at 60 digits.
"""

import math
import warnings

import mpmath
import numpy as np
import pytest
import torch

from geomlayers import linalg
from geomlayers.manifolds import (
    SPDAffineInvariant,
    SPDBuresWasserstein,
    SPDGeneralizedBuresWasserstein,
    SPDLogEuclidean,
)
from geomlayers.manifolds.spd import ConvergenceWarning
from geomlayers.models import SPDNet

SCALES = [1e-12, 1e-9, 1e-6, 1.0, 1e6, 1e12]


def spd_with_eigs(eigs, seed=0, dtype=torch.float64):
    """``Q diag(eigs) Qᵀ`` with a Haar-random Q (float64 construction)."""
    eigs = torch.as_tensor(eigs, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(len(eigs), len(eigs), generator=g, dtype=torch.float64))
    x = (q * eigs) @ q.T
    return (0.5 * (x + x.T)).to(dtype)


def well_conditioned(n=5, seed=0, dtype=torch.float64):
    return spd_with_eigs(torch.logspace(0, 1, n), seed=seed, dtype=dtype)


def rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("c", SCALES)
def test_logm_is_scale_covariant(c, dtype):
    x = well_conditioned(dtype=dtype)
    tol = 1e-12 if dtype == torch.float64 else 2e-5
    eye = torch.eye(5, dtype=dtype)
    ref = linalg.logm(x) + math.log(c) * eye
    assert rel(linalg.logm(c * x), ref) < tol


@pytest.mark.parametrize("c", SCALES)
def test_powers_are_scale_covariant(c, dtype):
    x = well_conditioned(seed=1, dtype=dtype)
    tol = 1e-12 if dtype == torch.float64 else 2e-5
    assert rel(linalg.sqrtm(c * x), math.sqrt(c) * linalg.sqrtm(x)) < tol
    assert rel(linalg.invsqrtm(c * x), linalg.invsqrtm(x) / math.sqrt(c)) < tol
    assert rel(linalg.powm(c * x, 0.3), c**0.3 * linalg.powm(x, 0.3)) < tol


@pytest.mark.parametrize("c", SCALES)
def test_distances_and_means_follow_their_scale_laws(c, dtype):
    a, b = well_conditioned(seed=2, dtype=dtype), well_conditioned(seed=3, dtype=dtype)
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    for man in (SPDAffineInvariant(), SPDLogEuclidean()):  # invariant under X -> cX
        assert float(man.dist(c * a, c * b)) == pytest.approx(float(man.dist(a, b)), rel=tol)
    bw = SPDBuresWasserstein()  # d(cA, cB) = sqrt(c) d(A, B)
    assert float(bw.dist(c * a, c * b)) == pytest.approx(math.sqrt(c) * float(bw.dist(a, b)),
                                                         rel=100 * tol)
    x = torch.stack([a, b, well_conditioned(seed=4, dtype=dtype)])
    for man in (SPDAffineInvariant(), SPDLogEuclidean(), SPDBuresWasserstein()):
        mean = man.frechet_mean(c * x, max_iter=200, tol=1e-12 if dtype == torch.float64
                                else 1e-6)
        assert rel(mean, c * man.frechet_mean(x, max_iter=200)) < 100 * tol


def test_eeg_scale_covariances_in_volts_squared():
    """EEG covariances in V² (eigenvalues ~1e-12..1e-9): LEM distance and invsqrtm exact."""
    a = spd_with_eigs(torch.logspace(-12, -9, 8), seed=5)
    b = spd_with_eigs(torch.logspace(-12, -9, 8), seed=6)
    lem = SPDLogEuclidean()
    ref = float(torch.linalg.norm(_mp_logm(a) - _mp_logm(b)))
    assert float(lem.dist(a, b)) == pytest.approx(ref, rel=1e-9)
    inv = linalg.invsqrtm(a)
    assert rel(inv @ a @ inv, torch.eye(8, dtype=torch.float64)) < 1e-9


def _mp_logm(x: torch.Tensor) -> torch.Tensor:
    """logm of the exact float64 matrix, eigen-decomposed by mpmath at 60 digits."""
    with mpmath.workdps(60):
        m = mpmath.matrix(x.tolist())
        e, q = mpmath.eigsy(m)
        out = q * mpmath.diag([mpmath.log(v) for v in e]) * q.T
        return torch.tensor([[float(out[i, j]) for j in range(x.shape[1])]
                             for i in range(x.shape[0])], dtype=torch.float64)


@pytest.mark.parametrize("kappa", [1e8, 1e12, 1e14])
def test_logm_error_at_high_condition_number(kappa):
    """Relative error against mpmath within a small factor of the best achievable.

    An eigensolver's backward error is about eps·‖X‖, which moves the smallest eigenvalue
    λ_min = ‖X‖/κ by a relative eps·κ, hence log λ_min by about eps·κ: the achievable relative
    Frobenius error is about eps·κ / ‖log X‖_F · √n.
    """
    n = 6
    x = spd_with_eigs(torch.logspace(0, -math.log10(kappa), n), seed=7)
    ref = _mp_logm(x)
    achievable = 2.2e-16 * kappa * math.sqrt(n) / float(ref.norm())
    assert rel(linalg.logm(x), ref) < max(20 * achievable, 1e-13)


def test_floor_that_moves_an_eigenvalue_warns():
    x = spd_with_eigs([1.0, 0.5, 0.0], seed=8)
    x = x - 1e-10 * torch.eye(3, dtype=torch.float64)  # an eigenvalue at -1e-10 (within tol)
    with pytest.warns(linalg.EigenvalueFloorWarning, match="floor"):
        linalg.logm(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        linalg.logm(spd_with_eigs(torch.logspace(0, -13, 4), seed=9))  # representable: silent
        linalg.clampm(x, 0.1)  # an explicit clamp (ReEig) is the function itself: silent


def test_frechet_means_warn_on_non_convergence():
    eigs = torch.logspace(0, -8, 4)
    x = torch.stack([spd_with_eigs(eigs, seed=s) for s in (10, 11)])
    for man in (SPDAffineInvariant(), SPDBuresWasserstein(),
                SPDGeneralizedBuresWasserstein(theta=0.5)):
        with pytest.warns(ConvergenceWarning, match=r"relative change .* max_iter=3"):
            man.frechet_mean(x, max_iter=3, tol=1e-15)


def test_lyapunov_refuses_a_singular_p():
    p = spd_with_eigs([1.0, 2.0, 0.0], seed=12)
    v = spd_with_eigs([1.0, 1.0, 1.0], seed=13)
    with pytest.raises(ValueError, match="p must be positive definite"):
        linalg.lyapunov(p, v)
    good = spd_with_eigs([1.0, 2.0, 1e-9], seed=12)
    sol = linalg.lyapunov(good, v)
    assert rel(good @ sol + sol @ good, v) < 1e-5  # backward stable: eps · κ(P) ≈ 4e-7


@pytest.mark.parametrize("layer_name", ["BiMap", "SPDBatchNorm", "LogEig", "SPDNet"])
def test_spd_layers_check_symmetry_definiteness_finiteness(layer_name):
    from geomlayers.nn import spd as nnspd

    layer = {"BiMap": lambda: nnspd.BiMap(3, 2, dtype=torch.float64),
             "SPDBatchNorm": lambda: nnspd.SPDBatchNorm(3, dtype=torch.float64),
             "LogEig": lambda: nnspd.LogEig(),
             "SPDNet": lambda: SPDNet([3, 2], 2, dtype=torch.float64)}[layer_name]()
    good = torch.stack([spd_with_eigs([1.0, 2.0, 3.0], seed=s) for s in (1, 2)])
    asym = good.clone()
    asym[:, 0, 1] += 0.5
    indefinite = torch.stack([spd_with_eigs([1.0, 2.0, -1.0], seed=s) for s in (1, 2)])
    nonfinite = good.clone()
    nonfinite[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="must be symmetric: relative asymmetry"):
        layer(asym)
    with pytest.raises(ValueError, match="positive .*definite"):
        layer(indefinite)
    with pytest.raises(ValueError, match="NaN or infinite"):
        layer(nonfinite)
    assert torch.isfinite(layer(good)).all()


def test_float32_small_scale_logm_against_float64():
    x = spd_with_eigs(torch.logspace(-12, -10, 5), seed=14)
    ref = linalg.logm(x)
    out = linalg.logm(x.float()).double()
    assert rel(out, ref) < 1e-5
    assert np.isfinite(out.numpy()).all()


@pytest.mark.parametrize("man", [SPDAffineInvariant(), SPDLogEuclidean()], ids=["aim", "lem"])
def test_mean_warm_started_at_the_mean_is_stable(man):
    """At the mean the averaged logarithms cancel to ~1e-17: their rounding asymmetry must
    not be refused as 'not symmetric' (batch norm warm-starts there)."""
    x = torch.stack([spd_with_eigs(torch.logspace(0, 1, 5), seed=s) for s in range(37)])
    mean = man.frechet_mean(x, max_iter=100, tol=1e-15, warn=False)
    for _ in range(3):
        again = man.frechet_mean(x, init=mean, max_iter=3, tol=0.0, warn=False)
        assert rel(again, mean) < 1e-12
        x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(1))]


@pytest.mark.parametrize("fn", [linalg.logm, linalg.invsqrtm, lambda x: linalg.powm(x, -0.3)])
def test_floor_that_raises_a_positive_unresolved_eigenvalue_warns(fn, dtype):
    """An exactly known positive eigenvalue below the floor is moved too: warn, not only σ < 0.

    ``diag(1, tiny)`` is decomposed exactly, so ``logm`` would silently return
    ``log(n·eps)`` in place of ``log(tiny)`` (-35.4 against -39.1 in float64).
    """
    tiny = 1e-17 if dtype == torch.float64 else 1e-9
    x = torch.diag(torch.tensor([1.0, tiny], dtype=dtype))
    with pytest.warns(linalg.EigenvalueFloorWarning, match=r"eigenvalue at 1\.0e-(17|09) times"):
        fn(x)


def test_floor_of_a_rounding_level_eigenvalue_is_silent_for_sqrt_and_positive_powers():
    """sqrt and X^θ (θ > 0) are continuous at 0: a floor within rounding changes nothing."""
    x = torch.diag(torch.tensor([1.0, 1e-17, -1e-17], dtype=torch.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        linalg.sqrtm(x)
        linalg.powm(x, 0.5)
    with pytest.warns(linalg.EigenvalueFloorWarning):  # moved by more than rounding
        linalg.sqrtm(torch.diag(torch.tensor([1.0, -1e-12], dtype=torch.float64)))


def test_powm_refuses_a_non_finite_exponent():
    x = 2.0 * torch.eye(3, dtype=torch.float64)
    for theta in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="theta must be finite"):
            linalg.powm(x, theta)


def _mp_aim_midpoint(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``A # B = A^½ (A^-½ B A^-½)^½ A^½`` of the exact float64 matrices, mpmath at 50 digits."""
    with mpmath.workdps(50):
        def spectral(m, fn):
            e, q = mpmath.eigsy(m)
            return q * mpmath.diag([fn(v) for v in e]) * q.T

        am, bm = mpmath.matrix(a.tolist()), mpmath.matrix(b.tolist())
        root, inv_root = spectral(am, mpmath.sqrt), spectral(am, lambda v: 1 / mpmath.sqrt(v))
        inner = inv_root * bm * inv_root
        out = root * spectral((inner + inner.T) / 2, mpmath.sqrt) * root
        n = a.shape[0]
        return torch.tensor([[float(out[i, j]) for j in range(n)] for i in range(n)],
                            dtype=torch.float64)


@pytest.mark.parametrize(("kappa", "seed", "tol"), [(1e4, 0, 1e-12), (1e8, 0, 1e-9),
                                                    (1e8, 1, 1e-9), (1e12, 0, 1e-6)])
def test_aim_mean_of_ill_conditioned_pair_is_the_exact_midpoint(kappa, seed, tol):
    """The AIM mean of two matrices is A # B (mpmath): reached without a warning.

    Before: the relative-Frobenius stop criterion ignored the small eigenvalues and the unit
    Karcher step overshoots for spread data, so the default call was 0.6·d(A, B) off at
    κ = 1e12 (with a warning) and more iterations drifted 0.4·d off even at κ = 1e4.
    """
    eigs = torch.logspace(0, -math.log10(kappa), 4)
    a = spd_with_eigs(eigs, seed=20 + seed)
    b = spd_with_eigs(eigs, seed=30 + seed)
    man = SPDAffineInvariant()
    mid, d_ab = _mp_aim_midpoint(a, b), float(man.dist(a, b))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        mean = man.frechet_mean(torch.stack([a, b]))
    assert float(man.dist(mean, mid)) < tol * d_ab
    longer = man.frechet_mean(torch.stack([a, b]), max_iter=200, tol=0.0, warn=False)
    assert float(man.dist(longer, mid)) < tol * d_ab


@pytest.mark.parametrize("kappa", [1e8, 1e12, 1e14])
def test_aim_distance_error_at_high_condition_number(kappa):
    """d_AIM(A, B) against mpmath: within a small factor of the achievable eps·κ/d.

    Eigenvalues of A⁻¹B move by a relative eps·(κ(A) + κ(B)) under rounding of A and B, so
    their logs by about that, and d by about eps·κ·√n / d relative.  The explicit congruence
    A^{-1/2} B A^{-1/2} was 2.4e-2 off at κ = 1e8 and 0.26 at 1e12.
    """
    n, worst = 5, 0.0
    for seed in range(3):
        a = spd_with_eigs(torch.logspace(0, -math.log10(kappa), n), seed=40 + seed)
        b = spd_with_eigs(torch.logspace(0, -math.log10(kappa), n), seed=50 + seed)
        with mpmath.workdps(60):
            am, bm = mpmath.matrix(a.tolist()), mpmath.matrix(b.tolist())
            e, q = mpmath.eigsy(am)
            inv_root = q * mpmath.diag([1 / mpmath.sqrt(v) for v in e]) * q.T
            c = inv_root * bm * inv_root
            lam, _ = mpmath.eigsy((c + c.T) / 2)
            exact = float(mpmath.sqrt(sum(mpmath.log(v) ** 2 for v in lam)))
        got = float(SPDAffineInvariant().dist(a, b))
        worst = max(worst, abs(got - exact) / exact / (2.2e-16 * kappa * math.sqrt(n) / exact))
    assert worst < 10


def test_aim_distance_gradient_is_finite_at_coincident_points():
    """The Cholesky/SVD distance differentiates through repeated singular values (X = Y)."""
    x = spd_with_eigs([1.0, 2.0, 3.0], seed=60).requires_grad_()
    y = x.detach().clone().requires_grad_()
    SPDAffineInvariant().dist2(x, y).backward()
    assert torch.isfinite(x.grad).all() and float(x.grad.abs().max()) < 1e-10
    a = spd_with_eigs([1.0, 2.0, 3.0], seed=61).requires_grad_()
    b = spd_with_eigs([1.0, 1.0, 3.0], seed=62).requires_grad_()
    assert torch.autograd.gradcheck(lambda p, q: SPDAffineInvariant().dist2(
        linalg.sym(p), linalg.sym(q)), (a, b))


def _mp_aim_logmap(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``A^½ log(A^-½ B A^-½) A^½`` of the exact float64 matrices, mpmath at 60 digits."""
    with mpmath.workdps(60):
        def spectral(m, fn):
            e, q = mpmath.eigsy((m + m.T) / 2)
            return q * mpmath.diag([fn(v) for v in e]) * q.T

        am, bm = mpmath.matrix(a.tolist()), mpmath.matrix(b.tolist())
        root, inv_root = spectral(am, mpmath.sqrt), spectral(am, lambda v: 1 / mpmath.sqrt(v))
        out = root * spectral(inv_root * bm * inv_root, mpmath.log) * root
        n = a.shape[0]
        return torch.tensor([[float(out[i, j]) for j in range(n)] for i in range(n)],
                            dtype=torch.float64)


def test_aim_logmap_geodesic_expmap_at_high_condition_number():
    """κ = 1e8 per matrix against mpmath (relative Frobenius).

    The explicit congruences X^{-1/2} Y X^{-1/2} gave logmap errors up to 5.8e-2 in the sweep
    (2.6e-6 for this pair), the geodesic midpoint up to
    1.9e-2 · d(A, B) and Exp(Log) 1.6e-6; the values now come from Cholesky factors.
    """
    eigs = torch.logspace(0, -8, 5)
    a, b = spd_with_eigs(eigs, seed=70), spd_with_eigs(eigs, seed=71)
    man = SPDAffineInvariant()
    ref = _mp_aim_logmap(a, b)
    assert rel(man.logmap(a, b), ref) < 1e-8
    mid = _mp_aim_midpoint(a, b)
    assert float(man.dist(man.geodesic(a, b, 0.5), mid)) < 1e-8 * float(man.dist(a, b))
    assert rel(man.expmap(a, ref), b) < 3e-7
    # the gradient is the eigen-route's (finite for repeated eigenvalues)
    x = spd_with_eigs([1.0, 1.0, 2.0], seed=72).requires_grad_()
    y = spd_with_eigs([1.0, 3.0, 2.0], seed=73)
    assert torch.autograd.gradcheck(lambda p: man.logmap(linalg.sym(p), y), (x,))
    u = y - x.detach().clone()
    assert torch.autograd.gradcheck(lambda p: man.expmap(linalg.sym(p), u), (x,))


def test_lyapunov_names_an_indefinite_p_as_such():
    p = spd_with_eigs([1.0, 2.0, -1.0], seed=14)
    with pytest.raises(ValueError, match="p must be positive definite: .*negative eigenvalue"):
        linalg.lyapunov(p, torch.eye(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="singular to working precision"):
        linalg.lyapunov(spd_with_eigs([1.0, 2.0, 0.0], seed=14), torch.eye(3, dtype=torch.float64))
