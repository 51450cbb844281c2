"""Reliability of the scikit-learn estimators: training that cannot fail silently."""

import sys
import warnings

import numpy as np
import pytest
import torch
from sklearn.model_selection import StratifiedKFold, cross_val_score

from geomlayers.integrations.sklearn import GrassmannClassifier, SPDNetClassifier

pytestmark = pytest.mark.usefixtures("one_thread")


def toy_covariances(n=40, d=5, seed=0):
    """Two classes of SPD matrices differing in the variance of the first coordinate."""
    rng = np.random.default_rng(seed)
    codes = np.arange(n) % 2
    x = rng.standard_normal((n, d, 60))
    x[:, 0] *= 1.0 + 1.5 * codes[:, None]
    return np.einsum("nct,ndt->ncd", x, x) / 60 + 0.05 * np.eye(d), codes


def fast(cls, **kw):
    base = {"max_epochs": 8, "random_state": 0}
    if cls is GrassmannClassifier:
        base.update(q=2, channels=4)
    return cls(**{**base, **kw})


@pytest.mark.parametrize("cls", [SPDNetClassifier, GrassmannClassifier])
def test_divergence_restores_best_weights_with_a_warning(cls):
    """An absurd learning rate: fit warns, names the epoch and the fix, predicts finitely."""
    x, y = toy_covariances()
    est = fast(cls, lr=1e300, max_epochs=6)
    with pytest.warns(RuntimeWarning, match=r"diverged at epoch \d+.*lower lr"):
        est.fit(x, y)
    proba = est.predict_proba(x)
    assert np.isfinite(proba).all()
    assert all(torch.isfinite(p).all() for p in est.module_.parameters())
    assert est.diverged_epoch_ is not None


def test_divergence_never_gives_nan_inside_cross_val_score():
    x, y = toy_covariances(n=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scores = cross_val_score(fast(GrassmannClassifier, lr=1e12), x, y,
                                 cv=StratifiedKFold(4, shuffle=True, random_state=0),
                                 error_score="raise")
    assert np.isfinite(scores).all()


def test_non_finite_parameter_is_caught_even_with_a_finite_loss(monkeypatch):
    """A parameter turned NaN by an optimiser step is caught at the end of that epoch."""
    import geoopt

    x, y = toy_covariances()  # 32 training trials: one batch, one step per epoch
    step, calls = geoopt.optim.RiemannianAdam.step, []

    def poisoned_step(self, *args, **kwargs):
        out = step(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            with torch.no_grad():
                self.param_groups[0]["params"][-1].fill_(float("nan"))
        return out

    monkeypatch.setattr(geoopt.optim.RiemannianAdam, "step", poisoned_step)
    est = fast(SPDNetClassifier, max_epochs=4, batch_size=32)
    with pytest.warns(RuntimeWarning, match="diverged at epoch 2"):
        est.fit(x, y)
    assert est.diverged_epoch_ == 2
    assert np.isfinite(est.predict_proba(x)).all()


@pytest.mark.parametrize("cls", [SPDNetClassifier, GrassmannClassifier])
def test_verbose_epoch_log_without_a_terminal(cls, capsys):
    x, y = toy_covariances()
    fast(cls, max_epochs=3, verbose=1).fit(x, y)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith(f"{cls.__name__} epoch")]
    assert len(lines) >= 3
    assert sum("train_loss" in line and "val_accuracy" in line for line in lines) >= 3
    fast(cls, max_epochs=3).fit(x, y)
    assert "epoch" not in capsys.readouterr().out  # verbose=0 (default) is silent


def test_grassmann_defaults_train():
    """The default head is the linear one (the gyro head at lr 1e-2 diverged on MAMEM)."""
    assert GrassmannClassifier().head == "linear"
    x, y = toy_covariances(n=60, d=6, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        est = GrassmannClassifier(random_state=0).fit(x, y)
    assert est.diverged_epoch_ is None
    assert est.score(x, y) > 0.7


def test_positive_definiteness_is_relative_to_scale():
    """A rank-deficient matrix is refused at any scale; a tiny-scale SPD one is accepted."""
    x, y = toy_covariances()
    v = np.linalg.qr(np.random.default_rng(0).standard_normal((5, 5)))[0]
    bad = x.copy()
    bad[3] = v @ np.diag([1e-19, 1, 2, 3, 4]) @ v.T  # singular up to rounding, >0 by chance
    with pytest.raises(ValueError, match=r"positive definite: X\[3\].*regularise.*shrinkage"):
        fast(SPDNetClassifier).fit(bad, y)
    est = fast(SPDNetClassifier).fit(x, y)
    small = fast(SPDNetClassifier).fit(1e-12 * x, y)  # covariances in V²
    np.testing.assert_allclose(small.predict_proba(1e-12 * x), est.predict_proba(x), atol=1e-6)


def test_fit_does_not_need_pyriemann(monkeypatch):
    """pyRiemann is a comparison, not a dependency: fit and predict run without it."""
    monkeypatch.setitem(sys.modules, "pyriemann", None)
    for name in [m for m in sys.modules if m.startswith("pyriemann.")]:
        monkeypatch.setitem(sys.modules, name, None)
    x, y = toy_covariances()
    for cls in (SPDNetClassifier, GrassmannClassifier):
        assert fast(cls).fit(x, y).score(x, y) > 0.5


def _tangent_baseline(head, x_train, y_train, x_test):
    """pyRiemann's tangent space at the Riemannian mean + sklearn head (independent truth)."""
    from pyriemann.tangentspace import TangentSpace
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TangentSpace(), head).fit(x_train, y_train).predict_proba(x_test)


@pytest.mark.parametrize("head_init", ["lda", "logistic"])
def test_untrained_default_network_is_the_tangent_space_classifier(head_init):
    """Square BiMap at I + head fitted on the tangent features: TS+LDA / TS+LR exactly."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression

    x, y = toy_covariances(n=60, d=4, seed=8)
    head = (LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto") if head_init == "lda"
            else LogisticRegression(max_iter=1000))
    expected = _tangent_baseline(head, x[:40], y[:40], x[40:])
    est = SPDNetClassifier(head_init=head_init, max_epochs=1, lr=1e-12,
                           validation_fraction=0.0, random_state=0).fit(x[:40], y[:40])
    np.testing.assert_allclose(est.predict_proba(x[40:]), expected, atol=1e-6)


def test_refit_without_useful_epochs_is_the_initial_classifier_on_all_trials():
    """Labels unrelated to x: training gains nothing significant on validation, so the model
    is the initial classifier (TS + shrinkage LDA) fitted on all trials."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    x, _ = toy_covariances(n=60, d=4, seed=9)
    y = np.random.default_rng(9).permutation(np.arange(60) % 2)
    est = SPDNetClassifier(max_epochs=20, patience=5, random_state=0).fit(x, y)
    assert est.best_epoch_ == 0  # no significant validation gain over the initial network
    expected = _tangent_baseline(LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
                                 x, y, x)
    np.testing.assert_allclose(est.predict_proba(x), expected, atol=1e-6)
    assert est.n_epochs_ == len(est.history_) and est.history_[0]["epoch"] == 1


def _sessions(seed=10, n=60, d=5):
    """Three sessions of the same two classes, each with its own channel gains."""
    rng = np.random.default_rng(seed)
    xs, ys, gs = [], [], []
    for session in range(3):
        x, y = toy_covariances(n=n, d=d, seed=seed + session)
        a = np.diag(np.exp(rng.normal(0, 3.0, d)))  # strong gain changes between sessions
        xs.append(a @ x @ a.T)
        ys.append(y)
        gs.append(np.full(n, session))
    return xs, ys, gs


@pytest.mark.parametrize("bn_metric", [None, "aim", "lem", "bw", "gbw"])
def test_groups_and_adapt_to_a_new_session(bn_metric):
    xs, ys, gs = _sessions()
    x, y, g = np.concatenate(xs[:2]), np.concatenate(ys[:2]), np.concatenate(gs[:2])
    est = SPDNetClassifier(bn_metric=bn_metric, max_epochs=5, random_state=0)
    est.fit(x, y, groups=g)
    assert set(est.domain_references_) == {0, 1}
    before = est.score(xs[2], ys[2])
    after = est.adapt(xs[2]).score(xs[2], ys[2])
    assert before <= 0.7 and after >= 0.95  # the shift breaks the model; adapt repairs it
    with pytest.raises(ValueError, match="groups must hold one domain label per trial"):
        est.fit(x, y, groups=g[:5])
