"""The default SPDNetClassifier: its re-centring mean and its head, against independent truth."""

import numpy as np
import pytest

pyriemann = pytest.importorskip("pyriemann")

from geomlayers.integrations.sklearn._recentre import riemannian_mean  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def _spread_covariances(n=30, d=6, seed=0, spread=1.5):
    """SPD matrices ``A exp(S_i) Aᵀ`` around a random ``A Aᵀ``, log-spread ``spread``."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((d, d)) + d * np.eye(d)
    s = rng.standard_normal((n, d, d)) * spread / np.sqrt(d)
    s = 0.5 * (s + np.swapaxes(s, 1, 2))
    w, v = np.linalg.eigh(s)
    e = (v * np.exp(w)[:, None, :]) @ np.swapaxes(v, 1, 2)
    return a @ e @ a.T


@pytest.mark.parametrize("scale", [1.0, 1e-12])
def test_recentring_mean_is_pyriemann_riemannian_mean(scale):
    """The re-centring reference is the library's AIM Fréchet mean = pyRiemann's mean_riemann."""
    from pyriemann.utils.mean import mean_riemann

    x = scale * _spread_covariances()
    expected = mean_riemann(x, tol=1e-14, maxiter=500)
    got = riemannian_mean(x)
    np.testing.assert_allclose(got / scale, expected / scale, rtol=0, atol=1e-9)


def test_recentring_uses_the_manifold_frechet_mean(monkeypatch):
    """One code path: fit's re-centring calls SPDAffineInvariant.frechet_mean."""
    from geomlayers.manifolds import SPDAffineInvariant

    calls = []
    original = SPDAffineInvariant.frechet_mean

    def spy(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SPDAffineInvariant, "frechet_mean", spy)
    riemannian_mean(_spread_covariances(n=5, d=3))
    assert calls
