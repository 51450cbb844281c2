"""Re-centring of covariance matrices at a Riemannian mean (Zanini et al. 2018), per domain."""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch


def riemannian_mean(x: np.ndarray, *, max_iter: int = 100, tol: float = 1e-10) -> np.ndarray:
    """Affine-invariant (Karcher) mean ``(d, d)`` of SPD matrices ``(n, d, d)``, float64.

    Karcher flow ``G ← G^{1/2} exp(ν mean_i log(G^{-1/2} X_i G^{-1/2})) G^{1/2}`` (Moakher 2005;
    the fixed point of :meth:`geomlayers.manifolds.spd.SPDAffineInvariant.frechet_mean`) with
    :mod:`geomlayers.linalg`'s eigen-functions, on the matrices divided by the geometric mean
    ``s`` of their traces and multiplied back by ``s`` (``mean(c·X) = c·mean(X)``), so
    covariances in V² and in µV² give the same re-centred inputs.  Stops when the mean
    tangent vector's norm falls below ``tol``; warns (``RuntimeWarning``) with the residual
    if ``max_iter`` steps do not get there.  The step ``ν`` starts at 1 and halves whenever
    ``ν·residual`` rises (as in pyRiemann's ``mean_riemann``).
    """
    from geomlayers import linalg

    x = 0.5 * (x + np.swapaxes(x, 1, 2))
    scale = float(np.exp(np.mean(np.log(np.trace(x, axis1=1, axis2=2) / x.shape[1]))))
    xt = torch.as_tensor(x / scale, dtype=torch.float64)
    g, step, best = xt.mean(0), 1.0, math.inf
    for _ in range(max_iter):
        s, si = linalg.sqrtm(g), linalg.invsqrtm(g)
        t = linalg.sym(linalg.logm(linalg.sym(si @ xt @ si)).mean(0))
        residual = float(t.norm())
        if residual < tol:
            break
        g = linalg.sym(s @ linalg.expm(step * t) @ s)
        # step control (a shorter step after a rise of the residual) keeps the flow convergent
        # for widely spread inputs, where the unit step oscillates
        if step * residual < best:
            best, step = step * residual, min(1.0, 1.05 * step)
        else:
            step *= 0.5
    else:
        warnings.warn(f"Riemannian mean of {x.shape[0]} matrices: {max_iter} Karcher steps left "
                      f"a residual {residual:.2e} > {tol:.0e}; the inputs are very spread or "
                      "ill-conditioned (regularise them, e.g. with shrinkage)", RuntimeWarning,
                      stacklevel=3)
    return scale * g.numpy()


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
