"""Environment oracles: prove that escnn and pyriemann really import and work in this venv.

escnn is imported unconditionally on purpose: if the environment recipe breaks (for example
numpy 2 sneaking in under lie_learn's numpy-1.x binaries), this file must fail, not skip.
"""

from collections import Counter

import numpy as np
import pytest

try:  # the `escnn` extra (escnn): without it this module is skipped
    import escnn  # noqa: F401
except ModuleNotFoundError as error:
    pytest.skip(f"needs {error.name}: pip install 'geomlayers[escnn]'", allow_module_level=True)

import torch
from escnn import group, gspaces
from escnn import nn as enn

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def hom_dim_from_irreps(rho_in, rho_out):
    """dim Hom_G(rho_in, rho_out) from escnn's irrep decompositions.

    For real irreps psi, End_G(psi) is R, C or H, whose real dimension escnn exposes as
    ``psi.sum_of_squares_constituents``; Schur's lemma then gives
    sum_psi m_in(psi) * m_out(psi) * dim End_G(psi).
    """
    G = rho_in.group
    m_in, m_out = Counter(rho_in.irreps), Counter(rho_out.irreps)
    return sum(m_in[psi] * m_out[psi] * G.irrep(*psi).sum_of_squares_constituents for psi in m_in)


def intertwiner_basis_numeric(rho_in, rho_out, n_samples=6, seed=0):
    """Null space of W -> rho_out(g) W - W rho_in(g) over sampled g (independent check)."""
    G = rho_in.group
    np.random.seed(seed)
    din, dout = rho_in.size, rho_out.size
    blocks = []
    for _ in range(n_samples):
        g = G.sample()
        A, B = rho_in(g), rho_out(g)
        # vec(B W - W A) = (I (x) B - A^T (x) I) vec(W)   (column-major vec)
        blocks.append(np.kron(np.eye(din), B) - np.kron(A.T, np.eye(dout)))
    M = np.concatenate(blocks, axis=0)
    _, s, vt = np.linalg.svd(M)
    rank = int((s > 1e-8 * max(1.0, s[0])).sum())
    null = vt[rank:]
    return [v.reshape(din, dout).T for v in null]  # each W has shape (dout, din)


def assert_change_of_basis(rho, n_samples=4):
    """rho(g) == Q diag(irreps(g)) Q^{-1}, with Q = rho.change_of_basis."""
    G = rho.group
    Q, Qinv = rho.change_of_basis, rho.change_of_basis_inv
    for _ in range(n_samples):
        g = G.sample()
        blocks = [G.irrep(*psi)(g) for psi in rho.irreps]
        D = np.zeros((rho.size, rho.size))
        i = 0
        for b in blocks:
            D[i : i + b.shape[0], i : i + b.shape[1]] = b
            i += b.shape[0]
        np.testing.assert_allclose(Q @ D @ Qinv, rho(g), atol=1e-8)


# --------------------------------------------------------------------------------------------
# escnn
# --------------------------------------------------------------------------------------------


@pytest.mark.escnn
def test_so3_std_tensor_std_to_std_is_cross_product():
    G = group.so3_group()
    std = G.standard_representation()
    t = std.tensor(std)
    assert t.size == 9
    # 3 (x) 3 = 1 (+) 3 (+) 5
    assert sorted(t.irreps) == sorted([G.irrep(j).id for j in (0, 1, 2)])
    assert_change_of_basis(t)

    assert hom_dim_from_irreps(t, std) == 1
    assert hom_dim_from_irreps(t, G.trivial_representation) == 1  # the dot product

    basis = intertwiner_basis_numeric(t, std)
    assert len(basis) == 1
    W = basis[0]
    # The unique intertwiner is the cross product: W[k, 3i+j] proportional to eps_{ijk}.
    eps = np.zeros((3, 3, 3))
    for (i, j, k), s in {(0, 1, 2): 1, (1, 2, 0): 1, (2, 0, 1): 1}.items():
        eps[i, j, k], eps[j, i, k] = s, -s
    cross = np.einsum("ijk->kij", eps).reshape(3, 9)
    W = W / np.linalg.norm(W) * np.linalg.norm(cross)
    sign = np.sign(np.sum(W * cross))
    np.testing.assert_allclose(sign * W, cross, atol=1e-8)


@pytest.mark.escnn
def test_so2_endomorphisms_of_standard_rep_is_2():
    G = group.so2_group()
    std = G.standard_representation()
    assert std.size == 2
    assert std.irreps == [G.irrep(1).id]
    assert G.irrep(1).sum_of_squares_constituents == 2  # complex type: End = C
    assert hom_dim_from_irreps(std, std) == 2
    assert len(intertwiner_basis_numeric(std, std)) == 2


@pytest.mark.escnn
def test_o3_std_tensor_std_to_std_is_zero():
    G = group.o3_group()
    std = G.standard_representation()
    t = std.tensor(std)
    assert_change_of_basis(t)
    # the cross product yields a pseudo-vector, which is not the (polar) standard rep
    assert std.irreps[0] not in t.irreps
    assert hom_dim_from_irreps(t, std) == 0
    assert len(intertwiner_basis_numeric(t, std)) == 0
    assert hom_dim_from_irreps(t, G.trivial_representation) == 1


@pytest.mark.escnn
def test_directsum_irreps_roundtrip():
    G = group.so3_group()
    rho = group.directsum([G.irrep(0), G.irrep(1), G.irrep(1), G.irrep(2)])
    assert rho.size == 1 + 3 + 3 + 5
    assert hom_dim_from_irreps(rho, rho) == 1 + 4 + 1
    assert len(intertwiner_basis_numeric(rho, rho)) == 6


@pytest.mark.escnn
def test_escnn_r2conv_is_equivariant_under_c4():
    torch.manual_seed(0)
    gs = gspaces.rot2dOnR2(N=4)
    f_in = enn.FieldType(gs, [gs.trivial_repr])
    f_out = enn.FieldType(gs, [gs.regular_repr] * 2)
    conv = enn.R2Conv(f_in, f_out, kernel_size=3, padding=1).eval()
    x = enn.GeometricTensor(torch.randn(2, 1, 9, 9), f_in)
    with torch.no_grad():
        for g in gs.testing_elements:
            y_of_gx = conv(x.transform(g)).tensor
            gy = conv(x).transform(g).tensor
            torch.testing.assert_close(y_of_gx, gy, atol=1e-5, rtol=1e-5)


@pytest.mark.escnn
def test_escnn_backends_present():
    import lie_learn  # noqa: F401  (escnn imports it eagerly; numpy-1.x binaries)

    assert int(np.__version__.split(".")[0]) < 2, "lie_learn's binaries need numpy<2"
    # py3nj is required: without it escnn's numerical Clebsch-Gordan fallback hands np.matrix
    # to sklearn's randomized_svd, which scikit-learn >= 1.9 rejects.
    import py3nj

    # Wigner 3j (j1 j2 j3; m1 m2 m3) = (1 1 1; 1 -1 0) = 1/sqrt(6); py3nj takes 2j, 2m.
    val = py3nj.wigner3j(2, 2, 2, 2, -2, 0)
    assert abs(val - 1 / np.sqrt(6)) < 1e-12


# --------------------------------------------------------------------------------------------
# pyriemann (same env)
# --------------------------------------------------------------------------------------------


def test_pyriemann_mdm_on_random_spd():
    pytest.importorskip("pyriemann", reason="the `spd` extra (pyRiemann)")
    from pyriemann.classification import MDM
    from pyriemann.estimation import Covariances

    rng = np.random.default_rng(0)
    n, c = 30, 4

    def spd_cloud(scale):
        A = rng.standard_normal((n, c, c))
        return A @ A.transpose(0, 2, 1) / c + scale * np.eye(c)

    X = np.concatenate([spd_cloud(0.1), spd_cloud(5.0)])
    y = np.repeat([0, 1], n)
    mdm = MDM(metric="riemann").fit(X, y)
    assert mdm.covmeans_.shape == (2, c, c)
    assert (mdm.predict(X) == y).mean() > 0.9

    # Covariances estimator on raw multichannel signals
    sig = rng.standard_normal((10, c, 200))
    C = Covariances(estimator="scm").fit_transform(sig)
    assert C.shape == (10, c, c)
    assert np.all(np.linalg.eigvalsh(C) > 0)
    np.testing.assert_allclose(C, C.transpose(0, 2, 1))
