import pickle

import numpy as np
import pytest

try:  # the `spd` extra (pyRiemann, scikit-learn): without it this module is skipped
    import pyriemann  # noqa: F401
    import sklearn  # noqa: F401
except ModuleNotFoundError as error:
    pytest.skip(f"needs {error.name}: pip install 'geomlayers[spd]'", allow_module_level=True)

import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from geomlayers.data.eeg import load_bundled
from geomlayers.integrations.sklearn import GrassmannClassifier, SPDNetClassifier
from tests.helpers import SKLEARN_CHECKS_NEEDING_2D_INPUT

pytestmark = pytest.mark.usefixtures("one_thread")


def fast(cls, **kw):
    base = {"max_epochs": 8, "random_state": 0}
    if cls is GrassmannClassifier:
        base.update(q=2, channels=4)
    return cls(**{**base, **kw})


def toy_covariances(n=40, d=5, seed=0, labels=("a", "b")):
    """Two classes of SPD matrices differing in the variance of the first coordinate."""
    rng = np.random.default_rng(seed)
    y = np.array(labels)[np.arange(n) % len(labels)]
    codes = np.arange(n) % len(labels)
    x = rng.standard_normal((n, d, 60))
    x[:, 0] *= 1.0 + 1.5 * codes[:, None]
    cov = np.einsum("nct,ndt->ncd", x, x) / 60 + 0.05 * np.eye(d)
    return cov, y


CLASSES = [SPDNetClassifier, GrassmannClassifier]

# sklearn's generic checks generate 2-D (n_samples, n_features) data; both estimators take SPD
# covariance matrices (n_trials, d, d) and refuse anything else with a ValueError naming the
# shape. Every check below fails only for that reason; the same properties are tested on SPD
# data in this file (test_api_on_spd_data, test_pickle_idempotent_subset_invariance, ...).
_TWO_D = "feeds 2-D feature matrices; the estimator takes SPD matrices (n_trials, d, d)"
EXPECTED_FAILED = dict.fromkeys(SKLEARN_CHECKS_NEEDING_2D_INPUT, _TWO_D)


@parametrize_with_checks([fast(SPDNetClassifier), fast(GrassmannClassifier, q=1)],
                         expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("cls", CLASSES)
def test_api_on_spd_data(cls):
    x, y = toy_covariances()
    est = fast(cls)
    params = est.get_params()
    assert not [k for k in vars(est) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        est.predict(x)
    assert est.fit(x, y) is est
    assert est.get_params() == params  # fit does not touch hyper-parameters
    assert list(est.classes_) == ["a", "b"] and est.n_features_in_ == 5
    assert est.n_epochs_ <= 8 and len(est.history_) == est.n_epochs_ and est.fit_time_ > 0
    proba = est.predict_proba(x)
    assert proba.shape == (40, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(est.classes_[proba.argmax(1)], est.predict(x))
    dec = est.decision_function(x)
    assert dec.shape == (40,)
    np.testing.assert_array_equal(dec > 0, proba[:, 1] > 0.5)
    assert 0 <= est.score(x, y) <= 1
    with pytest.raises(ValueError, match="size 4"):
        est.predict(x[:, :4, :4])
    assert cls(**params).get_params() == clone(est).get_params()


@pytest.mark.parametrize("cls", CLASSES)
def test_pickle_idempotent_subset_invariance(cls):
    x, y = toy_covariances(seed=1)
    est = fast(cls).fit(x, y)
    proba = est.predict_proba(x)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.predict_proba(x), proba, atol=1e-12)
    refit = clone(est).fit(x, y)  # same random_state: same model
    np.testing.assert_allclose(refit.predict_proba(x), proba, atol=1e-10)
    np.testing.assert_allclose(est.predict_proba(x[:7]), proba[:7], atol=1e-10)  # eval-mode BN
    order = np.random.default_rng(0).permutation(40)
    np.testing.assert_allclose(est.predict_proba(x[order]), proba[order], atol=1e-10)


def test_random_state_and_global_rng():
    x, y = toy_covariances(seed=2)
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a = fast(SPDNetClassifier, head_init=None, random_state=1).fit(x, y).predict_proba(x)
    assert torch.equal(torch.rand(1), expected)  # the global torch RNG is left as it was
    b = fast(SPDNetClassifier, head_init=None, random_state=2).fit(x, y).predict_proba(x)
    assert not np.allclose(a, b)
    c = fast(SPDNetClassifier, random_state=np.random.RandomState(5)).fit(x, y).predict_proba(x)
    d = fast(SPDNetClassifier, random_state=np.random.RandomState(5)).fit(x, y).predict_proba(x)
    np.testing.assert_allclose(c, d)


@pytest.mark.parametrize("metric", [None, "aim", "bw", "gbw"])
def test_every_bn_metric_trains_on_ill_conditioned_input(metric):
    rng = np.random.default_rng(3)
    x, y = toy_covariances(n=30, d=6, seed=3)
    # condition numbers up to 1e6: squash one direction of half the trials
    v = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    scale = np.diag([1e-6, 1, 1, 1, 1, 1])
    x[::2] = x[::2] @ v @ scale @ v.T @ x[::2] / 10 + 1e-9 * np.eye(6)
    x = 0.5 * (x + np.swapaxes(x, 1, 2))
    est = fast(SPDNetClassifier, bn_metric=metric, max_epochs=3).fit(x, y)
    assert np.isfinite(est.predict_proba(x)).all()
    assert np.all(np.isfinite([h["train_loss"] for h in est.history_]))


def test_early_stopping_and_validation_fraction():
    x, y = toy_covariances(n=60, seed=4)
    noise = np.random.default_rng(4).permutation(y)  # labels unrelated to x: val loss rises
    est = SPDNetClassifier(max_epochs=60, patience=3, lr=0.05, head_init=None,
                          random_state=0).fit(x, noise)
    assert est.n_epochs_ < 60
    losses = [h["val_loss"] for h in est.history_]
    assert est.best_val_loss_ == pytest.approx(min(losses), abs=1e-4)
    plain = SPDNetClassifier(max_epochs=4, validation_fraction=0.0, random_state=0).fit(x, y)
    assert plain.n_epochs_ == 4 and plain.best_val_loss_ is None
    # too few trials for a stratified validation split: train on all, no early stopping
    tiny = SPDNetClassifier(max_epochs=3, random_state=0).fit(x[:4], y[:4])
    assert tiny.n_epochs_ == 3 and "val_loss" not in tiny.history_[0]


def _member_outputs(est, states, x):
    """Logits (k, n, classes) of each state dict loaded into a copy of the fitted network."""
    import copy

    member = copy.deepcopy(est.module_)
    inputs = est._to_input(est._prepare(x))
    outputs = []
    for state in states:
        member.load_state_dict(state)
        with torch.no_grad():
            outputs.append(member.eval()(inputs).double())
    return torch.stack(outputs)


def test_checkpoint_ensemble_averages_the_lowest_validation_loss_epochs():
    x, y = toy_covariances(n=60, seed=6)
    kw = {"bn_metric": "gbw", "max_epochs": 12, "lr": 0.05, "random_state": 0,
          "dtype": "float64", "head_init": None}
    est = SPDNetClassifier(**kw, checkpoint_ensemble=4).fit(x[:40], y[:40], X_val=x[40:],
                                                                y_val=y[40:])
    assert len(est.checkpoints_) == 4
    # each kept state reproduces one of the 4 lowest validation losses, in order
    codes = torch.as_tensor(np.searchsorted(est.classes_, y[40:]))
    logits = _member_outputs(est, est.checkpoints_, x[40:])
    member_losses = [float(torch.nn.functional.cross_entropy(m, codes)) for m in logits]
    lowest = sorted(h["val_loss"] for h in est.history_)[:4]
    np.testing.assert_allclose(member_losses, lowest, rtol=1e-6)
    # predictions: the members' mean probabilities
    np.testing.assert_allclose(est.predict_proba(x), torch.softmax(
        _member_outputs(est, est.checkpoints_, x), -1).mean(0).numpy(), atol=1e-12)
    assert np.array_equal(est.predict(x), est.classes_[est.predict_proba(x).argmax(1)])
    # same training trajectory as the single best epoch
    single = SPDNetClassifier(**kw).fit(x[:40], y[:40], X_val=x[40:], y_val=y[40:])
    assert single.checkpoints_ is None
    assert [h["val_loss"] for h in single.history_] == [h["val_loss"] for h in est.history_]
    assert member_losses[0] == pytest.approx(single.best_val_loss_, abs=1e-4)


def test_checkpoint_ensemble_without_validation_keeps_the_last_epochs():
    x, y = toy_covariances(n=30, seed=7)
    est = SPDNetClassifier(max_epochs=5, validation_fraction=0.0, checkpoint_ensemble=3,
                           random_state=0).fit(x, y)
    assert len(est.checkpoints_) == 3
    # the newest kept state is the last epoch's, which module_ holds without validation
    for key, value in est.module_.state_dict().items():
        assert torch.equal(est.checkpoints_[0][key], value)
    assert not all(torch.equal(est.checkpoints_[0][k], est.checkpoints_[2][k])
                   for k in est.checkpoints_[0])


def test_float32_and_recenter_option():
    x, y = toy_covariances(seed=5)
    est = fast(SPDNetClassifier, dtype="float32").fit(x, y)
    assert next(est.module_.parameters()).dtype == torch.float32
    assert est.predict_proba(x).dtype == np.float64
    flat = fast(SPDNetClassifier, recenter=False).fit(x, y)
    np.testing.assert_array_equal(flat.reference_, np.eye(5))
    from pyriemann.utils.mean import mean_riemann

    # the refit on all trials re-centres at their mean
    np.testing.assert_allclose(est.reference_, mean_riemann(x), rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"bn_metric": "spd"}, "bn_metric"), ({"lr": -1.0}, "lr"), ({"max_epochs": 0}, "max_epochs"),
     ({"batch_size": 1}, "batch_size"), ({"validation_fraction": 1.0}, "validation_fraction"),
     ({"dims": (8,)}, "dims"), ({"dtype": "float16"}, "dtype"),
     ({"checkpoint_ensemble": 0}, "checkpoint_ensemble")],
)
def test_bad_hyper_parameters(kwargs, match):
    x, y = toy_covariances()
    with pytest.raises(ValueError, match=match):
        SPDNetClassifier(**kwargs).fit(x, y)


def test_bad_inputs():
    x, y = toy_covariances()
    est = fast(SPDNetClassifier)
    with pytest.raises(ValueError, match=r"\(n_trials, d, d\)"):
        est.fit(x.reshape(40, 25), y)
    bad = x.copy()
    bad[0, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad, y)
    neg = x.copy()
    neg[3] = -np.eye(5)
    with pytest.raises(ValueError, match="positive definite"):
        est.fit(neg, y)
    asym = x.copy()
    asym[0, 0, 1] += 1.0
    with pytest.raises(ValueError, match="symmetric"):
        est.fit(asym, y)
    with pytest.raises(ValueError, match="2 classes"):
        est.fit(x, np.zeros(40))
    with pytest.raises(ValueError, match="Unknown label type"):
        est.fit(x, np.linspace(0, 1, 40))
    with pytest.raises(ValueError, match="q must be"):
        GrassmannClassifier(q=5).fit(x, y)


def test_pipeline_on_raw_signals_with_cross_val_score():
    from pyriemann.estimation import Covariances

    rng = np.random.default_rng(6)
    signals = rng.standard_normal((40, 4, 100))
    y = np.arange(40) % 2
    signals[y == 1, 0] *= 2.5
    pipe = make_pipeline(Covariances("oas"), fast(SPDNetClassifier, max_epochs=30))
    scores = cross_val_score(pipe, signals, y, cv=StratifiedKFold(4, shuffle=True,
                                                                   random_state=0))
    assert scores.mean() >= 0.9


def test_bundled_eeg_matches_riemannian_baseline():
    """Real EEG (EEGMMIDB S001 imagery hands vs feet): within 10 points of pyRiemann's MDM."""
    from pyriemann.classification import MDM

    x, y = load_bundled("imagery_hands_feet")
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    ours = cross_val_score(SPDNetClassifier(random_state=0, max_epochs=40), x, y, cv=cv).mean()
    mdm = cross_val_score(MDM(), x, y, cv=cv).mean()
    assert mdm > 0.85  # the data are what the README says they are
    assert ours >= mdm - 0.1


def test_grassmann_classifier_uses_principal_subspaces():
    x, y = toy_covariances(seed=7)
    est = fast(GrassmannClassifier).fit(x, y)
    z = est._prepare(x)
    sub = est._to_input(z)
    assert sub.shape == (40, 5, 2)
    w, v = np.linalg.eigh(z.numpy())
    ref = v[:, :, -2:] @ np.swapaxes(v[:, :, -2:], 1, 2)
    np.testing.assert_allclose((sub @ sub.transpose(1, 2)).numpy(), ref, atol=1e-10)
