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


def _two_class_covariances(n=40, d=4, seed=0, effect=1.5):
    rng = np.random.default_rng(seed)
    codes = np.arange(n) % 2
    x = rng.standard_normal((n, d, 60))
    x[:, 0] *= 1.0 + effect * codes[:, None]
    return np.einsum("nct,ndt->ncd", x, x) / 60 + 0.05 * np.eye(d), codes


@pytest.mark.parametrize("n_classes", [2, 3])
def test_shrinkage_lda_head_is_sklearn_lda(n_classes):
    """The Cholesky shrinkage LDA gives scikit-learn's LDA(lsqr, auto) decision function."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    from geomlayers.integrations.sklearn.spdnet import _linear_head

    rng = np.random.default_rng(n_classes)
    codes = np.arange(60) % n_classes
    f = rng.standard_normal((60, 80)) + 0.5 * codes[:, None]  # p > n as for 64 channels
    coef, intercept = _linear_head("lda", f, codes, n_classes, 1.0)
    ref = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(f, codes)
    logits = f @ coef.T + intercept
    expected = ref.decision_function(f)
    if n_classes == 2:
        np.testing.assert_allclose(logits[:, 1] - logits[:, 0], expected, rtol=1e-9, atol=1e-9)
    else:
        np.testing.assert_allclose(logits, expected, rtol=1e-9, atol=1e-9)


def test_auto_head_is_the_one_of_fewer_inner_cv_errors():
    """head_init="auto": the head of fewer errors in repeated stratified 5-fold CV on the
    training trials' tangent vectors (scikit-learn's LDA and LR as the independent truth)."""
    from pyriemann.tangentspace import TangentSpace
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import RepeatedStratifiedKFold

    from geomlayers.integrations.sklearn import SPDNetClassifier
    from geomlayers.integrations.sklearn.spdnet import HEAD_CV_REPEATS, _select_head

    x, y = _two_class_covariances(n=40, d=4, seed=3, effect=0.8)
    f = TangentSpace().fit_transform(x)
    for seed in range(3):
        cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=HEAD_CV_REPEATS, random_state=seed)
        errors = {"lda": 0, "logistic": 0}
        for a, b in cv.split(f, y):
            for kind, model in (("lda", LinearDiscriminantAnalysis(solver="lsqr",
                                                                  shrinkage="auto")),
                                ("logistic", LogisticRegression(max_iter=1000))):
                errors[kind] += int(np.sum(model.fit(f[a], y[a]).predict(f[b]) != y[b]))
        choice, got = _select_head(f, y, 2, 1.0, seed)
        assert got == errors
        assert choice == ("logistic" if errors["logistic"] < errors["lda"] else "lda")
    est = SPDNetClassifier(head_init="auto", max_epochs=2, random_state=0).fit(x, y)
    assert est.head_ in ("lda", "logistic") and set(est.head_cv_errors_) == {"lda", "logistic"}
    assert SPDNetClassifier(max_epochs=2, random_state=0).fit(x, y).head_ == "lda"


def test_fine_tuning_stops_when_no_epoch_improves_validation_accuracy():
    """Separable classes: the initial network classifies the validation trials perfectly, so
    no epoch can gain accuracy and fine-tuning ends after `patience` epochs (not max_epochs)."""
    from geomlayers.integrations.sklearn import SPDNetClassifier

    x, y = _two_class_covariances(n=40, d=4, seed=1, effect=6.0)
    est = SPDNetClassifier(max_epochs=40, patience=3, random_state=0).fit(x, y)
    assert est.best_epoch_ == 0 and est.n_epochs_ == 3
