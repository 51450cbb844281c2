"""Bad input to the three scikit-learn estimators: clear errors, never silent NaN (issue 34).

Cases from an outside-style bad-input sweep (docs/notes/2026-12-08-spd-bad-input-sweep.md).
"""

import warnings

import numpy as np
import pytest
import torch
from sklearn.model_selection import StratifiedKFold, cross_val_score

from geomlayers.integrations.sklearn import (
    ConvSPDNetClassifier,
    GrassmannClassifier,
    SPDNetClassifier,
)

pytestmark = pytest.mark.usefixtures("one_thread")

ESTIMATORS = [SPDNetClassifier, GrassmannClassifier, ConvSPDNetClassifier]


def data(cls, n=30, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.standard_normal((n, 4, 40))
    x[:, 0] *= 1.0 + 1.5 * y[:, None]
    if cls is ConvSPDNetClassifier:
        return x, y
    return np.einsum("nct,ndt->ncd", x, x) / 40 + 0.05 * np.eye(4), y


def small(cls, **kw):
    base = {"max_epochs": 3, "random_state": 0}
    if cls is GrassmannClassifier:
        base.update(q=2, channels=4)
    if cls is ConvSPDNetClassifier:
        base.update(spatial_filters=4, cov_channels=4, dims=(3,), kernel_size=8)
    return cls(**{**base, **kw})


def test_conv_spdnet_overflowing_manifold_step_is_a_divergence_not_a_crash():
    """lr = 1e6: the SPD batch norm's Riemannian Adam step overflows (inf inside ``expmap``)
    and its own finiteness check raised ``ValueError: x contains NaN or infinite entries``
    out of ``fit`` while the parameters were still finite.  Now: a divergence warning."""
    x, y = data(ConvSPDNetClassifier)
    est = small(ConvSPDNetClassifier, lr=1e6, max_epochs=2)
    with pytest.warns(RuntimeWarning, match=r"diverged at epoch \d+.*lower lr"):
        est.fit(x, y)
    assert np.isfinite(est.predict_proba(x)).all()


@pytest.mark.slow
def test_conv_spdnet_overflow_inside_cross_val_score_gives_finite_scores():
    x, y = data(ConvSPDNetClassifier)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scores = cross_val_score(small(ConvSPDNetClassifier, lr=1e6, max_epochs=2), x, y,
                                 cv=StratifiedKFold(3, shuffle=True, random_state=0),
                                 error_score="raise")
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_a_class_with_one_trial_is_a_clear_error(cls):
    x, y = data(cls)
    y = y.copy()
    y[0] = 7
    with pytest.raises(ValueError, match=r"at least 2 trials of every class.*\[7\] has one"):
        small(cls).fit(x, y)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_strings_are_refused_not_parsed(cls):
    x, y = data(cls)
    with pytest.raises(TypeError, match="X must be a numeric array .* got strings"):
        small(cls).fit(x.astype(str), y)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_empty_input_says_zero_samples(cls):
    x, _ = data(cls)
    with pytest.raises(ValueError, match=r"0 sample\(s\)"):
        small(cls).fit(x[:0], np.empty(0))


def test_non_finite_network_output_at_predict_is_an_error_not_nan(monkeypatch):
    """A fitted network whose output overflows for new trials: predict raises, never NaN."""
    x, y = data(SPDNetClassifier)
    est = small(SPDNetClassifier).fit(x, y)
    with torch.no_grad():
        for p in est.module_.parameters():
            p.fill_(float("nan"))
    with pytest.raises(ValueError, match=r"output is NaN or inf for \w+ of 30 trials"):
        est.predict_proba(x)
    est.module_.forward = lambda inputs, *a, **k: torch.full((len(inputs), 2), float("nan"))
    with pytest.raises(ValueError, match=r"output is NaN or inf for 30 of 30 trials"):
        est.predict(x)


def test_an_indefinite_matrix_is_not_called_singular():
    """It was told to regularise (shrinkage, ridge) with a 'rounding level' ratio."""
    x, y = data(SPDNetClassifier)
    x = x.copy()
    x[0] -= 10.0 * np.eye(4)
    with pytest.raises(ValueError, match=r"X\[0\] has a negative eigenvalue .* not a covariance"):
        small(SPDNetClassifier).fit(x, y)
    v = np.random.default_rng(1).standard_normal((4, 2))
    x[0] = v @ v.T  # rank 2: singular, the fix is regularisation
    with pytest.raises(ValueError, match=r"rounding level.*shrinkage"):
        small(SPDNetClassifier).fit(x, y)
