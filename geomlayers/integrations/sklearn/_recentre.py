"""Re-centring of covariance matrices at a Riemannian mean (Zanini et al. 2018), per domain."""

from __future__ import annotations

import numpy as np
import torch


def riemannian_mean(x: np.ndarray, *, max_iter: int = 100, tol: float = 1e-10) -> np.ndarray:
    """Affine-invariant (Karcher) mean ``(d, d)`` of SPD matrices ``(n, d, d)``, float64.

    :meth:`geomlayers.manifolds.SPDAffineInvariant.frechet_mean` (Karcher flow
    ``G ← G^{1/2} exp(mean_i log(G^{-1/2} X_i G^{-1/2})) G^{1/2}``, Moakher 2005; Pennec et al.
    2006) from the arithmetic mean, until the relative change falls below ``tol``; it warns
    (:class:`geomlayers.manifolds.spd.ConvergenceWarning`) with the residual if ``max_iter`` steps
    do not get there.  The library's eigen-functions floor eigenvalues relative to each
    matrix's scale, so ``mean(c·X) = c·mean(X)``: covariances in V² and in µV² give the same
    re-centred inputs.
    """
    from geomlayers.manifolds import SPDAffineInvariant

    xt = torch.as_tensor(0.5 * (x + np.swapaxes(x, 1, 2)), dtype=torch.float64)
    mean = SPDAffineInvariant().frechet_mean(xt, tol=tol, max_iter=max_iter, validate=False)
    return mean.numpy()


def inv_sqrt_spd(g: np.ndarray) -> np.ndarray:
    """``G^{-1/2}`` of one SPD matrix."""
    w, v = np.linalg.eigh(g)
    return (v / np.sqrt(w)) @ v.T


def floor_eigenvalues(x: np.ndarray, rel: float) -> np.ndarray:
    """Eigenvalues of each matrix floored at ``rel ·`` its mean eigenvalue."""
    w, v = np.linalg.eigh(x)
    w = np.maximum(w, rel * w.mean(axis=1, keepdims=True))
    return (v * w[:, None, :]) @ np.swapaxes(v, 1, 2)


def recentre(x: np.ndarray, reference: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """``G^{-1/2} X G^{-1/2}`` symmetrised, eigenvalues floored at ``floor ·`` their mean.

    The floor (a ridge in whitened coordinates) keeps trials with condition numbers above
    ``1/floor`` inside the range where the network's eigen-functions are accurate.
    """
    w = inv_sqrt_spd(reference)
    z = w @ x @ w
    return floor_eigenvalues(0.5 * (z + np.swapaxes(z, 1, 2)), floor)
