"""ConvSPDNet (learned filters → covariance → SPDNet) and its sklearn classifier."""

import copy
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
from sklearn.utils.estimator_checks import parametrize_with_checks

from geomlayers.integrations.sklearn import ConvSPDNetClassifier
from geomlayers.models import ConvSPDNet
from geomlayers.nn.spd import CovariancePooling, adapt_batch_norm
from tests.helpers import SKLEARN_CHECKS_NEEDING_2D_INPUT

pytestmark = pytest.mark.usefixtures("one_thread")


def small(**kw):
    base = {"spatial_filters": 6, "cov_channels": 4, "kernel_size": 9, "max_epochs": 6,
            "batch_size": 16, "random_state": 0}
    return ConvSPDNetClassifier(**{**base, **kw})


def ssvep_like(n=96, channels=4, times=64, seed=0):
    """Two classes: the same spatial pattern carries a sinusoid at 6 or 11 cycles per window.

    Per trial the phase is random and the amplitude is drawn from one distribution for both
    classes, so the broadband spatial covariance has the same law in both classes: a fixed
    covariance pipeline is at chance, a learned temporal filter separates the frequencies.
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = np.arange(times) / times
    freq = np.where(y == 0, 6.0, 11.0)[:, None]
    source = np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    source *= rng.uniform(0.5, 1.5, (n, 1))
    pattern = rng.standard_normal(channels)
    x = pattern[None, :, None] * source[:, None, :] + 0.5 * rng.standard_normal((n, channels,
                                                                                    times))
    return x * 1e-5, y  # volts: the estimator must not care about units


def test_covariance_pooling_matches_numpy_and_is_spd():
    x = torch.randn(5, 4, 30, dtype=torch.float64)
    x[0] = 1.0  # constant signals: zero sample covariance
    x[1, 1] = x[1, 0]  # rank deficient
    cov = CovariancePooling(eps=1e-3)(x)
    for i in range(1, 5):
        ref = np.cov(x[i].numpy())
        ref += 1e-3 * np.trace(ref) / 4 * np.eye(4)
        np.testing.assert_allclose(cov[i].numpy(), ref, rtol=1e-12, atol=1e-14)
    assert torch.linalg.eigvalsh(cov).min() > 0
    with pytest.raises(ValueError, match="T >= 2"):
        CovariancePooling()(torch.randn(2, 3, 1))
    with pytest.raises(ValueError, match="eps"):
        CovariancePooling(eps=0)


def test_covariance_pooling_trace_normalisation():
    scales = torch.tensor([1e-6, 1.0, 1e3, 1e5], dtype=torch.float64)
    x = torch.randn(4, 3, 40, dtype=torch.float64) * scales[:, None, None]
    plain = CovariancePooling()(x)
    unit = CovariancePooling(normalize_trace=True)(x)
    traces = plain.diagonal(dim1=-2, dim2=-1).sum(-1)
    torch.testing.assert_close(unit, plain / traces[:, None, None], rtol=1e-13, atol=0)
    torch.testing.assert_close(unit.diagonal(dim1=-2, dim2=-1).sum(-1),
                               torch.ones(4, dtype=torch.float64), rtol=1e-13, atol=0)
    torch.testing.assert_close(CovariancePooling(normalize_trace=True)(1e4 * x), unit)


def test_segments_give_one_covariance_per_window_and_a_joint_head():
    """Independent truth: numpy's array_split windows and np.cov of the front-end output."""
    torch.manual_seed(0)
    net = ConvSPDNet(4, 64, 3, spatial_filters=6, cov_channels=5, kernel_size=9, dims=(4,),
                     bn_metric="gbw", segments=3, dtype=torch.float64).eval()
    x = torch.randn(6, 4, 64, dtype=torch.float64)
    cov = net.covariances(x)
    assert cov.shape == (6, 3, 5, 5)
    with torch.no_grad():
        filtered = net.front(x.unsqueeze(1)).squeeze(2).numpy()  # (6, 5, 56)
    for s, window in enumerate(np.array_split(filtered, 3, axis=-1)):
        for i in range(6):
            ref = np.cov(window[i])
            ref += 1e-4 * np.trace(ref) / 5 * np.eye(5)
            np.testing.assert_allclose(cov[i, s].detach().numpy(), ref, rtol=1e-10, atol=1e-13)
    logits = net(x)
    tangent = torch.cat([net.spdnet.features(cov[:, s]) for s in range(3)], dim=1)
    assert tangent.shape == (6, 3 * 10)
    torch.testing.assert_close(logits, net.spdnet.classifier(tangent))
    reordered = net(x.flip(-1))  # the head sees windows in order: time reversal changes logits
    assert not torch.allclose(reordered, logits)
    with pytest.raises(ValueError, match="segments"):
        ConvSPDNet(4, 64, 3, kernel_size=9, segments=29)
    with pytest.raises(ValueError, match="segments"):
        ConvSPDNet(4, 64, 3, kernel_size=9, segments=0)


def test_temporal_padding_pads_the_filtered_signals_with_zeros():
    """Independent truth: the unpadded convolution of the explicitly zero-padded signals."""
    torch.manual_seed(0)
    padded = ConvSPDNet(4, 64, 3, spatial_filters=6, cov_channels=5, kernel_size=9,
                        temporal_padding=4, dims=(4,), segments=4, dtype=torch.float64).eval()
    plain = ConvSPDNet(4, 64, 3, spatial_filters=6, cov_channels=5, kernel_size=9, dims=(4,),
                       segments=4, dtype=torch.float64).eval()
    plain.load_state_dict(padded.state_dict())
    x = torch.randn(5, 4, 64, dtype=torch.float64)
    with torch.no_grad():
        spatial = padded.front[1](padded.front[0](x.unsqueeze(1)))  # (5, 6, 1, 64)
        expected = plain.front[3](plain.front[2](torch.nn.functional.pad(spatial, (4, 4))))
        out = padded.front(x.unsqueeze(1))
    assert out.shape == (5, 5, 1, 64)  # 64 + 2·4 − 9 + 1 samples
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="temporal_padding"):
        ConvSPDNet(4, 64, 3, kernel_size=9, temporal_padding=-1)
    ConvSPDNet(4, 16, 3, kernel_size=9, temporal_padding=4, segments=8)  # 16 samples remain
    with pytest.raises(ValueError, match="segments"):
        ConvSPDNet(4, 16, 3, kernel_size=9, segments=8)  # 8 samples remain


def test_conv_spdnet_shapes_dtypes_and_errors():
    net = ConvSPDNet(4, 64, 3, spatial_filters=6, cov_channels=5, kernel_size=9, dims=(4, 3),
                     bn_metric="gbw", dtype=torch.float64)
    x = torch.randn(7, 4, 64, dtype=torch.float64, requires_grad=True)
    out = net(x)
    assert out.shape == (7, 3) and out.dtype == torch.float64
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert net.covariances(x).shape == (7, 5, 5)
    f32 = ConvSPDNet(4, 64, 3, spatial_filters=6, cov_channels=5, kernel_size=9, dims=(4,))
    assert f32(torch.randn(3, 4, 64)).dtype == torch.float32
    with pytest.raises(ValueError, match=r"\(N, 4, 64\)"):
        net(torch.randn(2, 4, 63, dtype=torch.float64))
    with pytest.raises(ValueError, match="kernel_size"):
        ConvSPDNet(4, 8, 2, kernel_size=8)
    with pytest.raises(ValueError, match="spatial_filters"):
        ConvSPDNet(4, 64, 2, spatial_filters=0)


def test_learned_filters_separate_what_a_fixed_covariance_cannot():
    """Independent truth: the classes differ only in frequency (see ``ssvep_like``)."""
    from pyriemann.estimation import Covariances
    from pyriemann.tangentspace import TangentSpace
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    x, y = ssvep_like(n=160)
    xtr, ytr, xte, yte = x[:100], y[:100], x[100:], y[100:]
    baseline = make_pipeline(Covariances("oas"), TangentSpace(), LogisticRegression())
    assert baseline.fit(xtr, ytr).score(xte, yte) < 0.75
    clf = small(max_epochs=40, lr=0.02, validation_fraction=0.0).fit(xtr, ytr)
    assert clf.score(xte, yte) >= 0.9


def test_classifier_api_validation_set_and_pickle():
    x, y = ssvep_like()
    labels = np.array(["left", "right"])[y]
    est = small()
    assert est.fit(x[:64], labels[:64], X_val=x[64:80], y_val=labels[64:80]) is est
    assert est.n_features_in_ == 4 and est.n_times_ == 64 and est.scale_ > 0
    assert all("val_loss" in r for r in est.history_)
    proba = est.predict_proba(x[80:])
    assert proba.shape == (16, 2)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-12)
    np.testing.assert_array_equal(est.classes_[proba.argmax(1)], est.predict(x[80:]))
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.predict_proba(x[80:]), proba, atol=1e-6)
    refit = clone(est).fit(x[:64], labels[:64], X_val=x[64:80], y_val=labels[64:80])
    np.testing.assert_allclose(refit.predict_proba(x[80:]), proba, atol=1e-6)
    with pytest.raises(ValueError, match="fitted on"):
        est.predict(x[:, :, :50])
    with pytest.raises(ValueError, match="both X_val and y_val"):
        small().fit(x, y, X_val=x)
    with pytest.raises(ValueError, match="not in y"):
        small().fit(x[:64], labels[:64], X_val=x[64:80], y_val=np.full(16, "up"))
    with pytest.raises(ValueError, match="n_channels, n_times"):
        small().fit(x[:, 0], y)
    with pytest.raises(ValueError, match="NaN"):
        small().fit(np.full_like(x, np.nan), y)
    with pytest.raises(ValueError, match="kernel_size"):
        small(kernel_size=64).fit(x, y)
    with pytest.raises(ValueError, match="dims"):
        small(dims=(5,)).fit(x, y)
    with pytest.raises(ValueError, match="bn_metric"):
        small(bn_metric="lem").fit(x, y)
    with pytest.raises(ValueError, match=r"segments must be an integer in 1\.\.28"):
        small(segments=29).fit(x, y)
    assert small(segments=4, normalize_trace=True).fit(x, y).module_.segments == 4
    with pytest.raises(ValueError, match=r"temporal_padding must be an integer in 0\.\.8"):
        small(temporal_padding=9).fit(x, y)
    with pytest.raises(ValueError, match=r"segments must be an integer in 1\.\.32"):
        small(temporal_padding=4, segments=33).fit(x, y)
    assert small(temporal_padding=4, segments=32).fit(x, y).module_.segments == 32
    attended = small(segments=4, attention_dim=3).fit(x, y)
    assert attended.module_.attention.out_dim == 3
    assert attended.score(x, y) > 0.5
    with pytest.raises(ValueError, match="segments >= 2"):
        small(attention_dim=3).fit(x, y)


_TWO_D = "feeds 2-D feature matrices; the estimator takes signals (n_trials, n_channels, n_times)"
EXPECTED_FAILED = dict.fromkeys(SKLEARN_CHECKS_NEEDING_2D_INPUT, _TWO_D)


@parametrize_with_checks([small(max_epochs=2)], expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_adapt_re_estimates_only_the_spd_batch_norm_statistics():
    x, y = ssvep_like()
    est = small(max_epochs=2).fit(x[:64], y[:64])
    later_session = 3.0 * x[64:]  # a gain change between sessions
    reference = copy.deepcopy(est.module_)
    before = copy.deepcopy(est.module_.state_dict())
    assert est.adapt(later_session) is est
    after = est.module_.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    # adaptation is not a training batch: num_batches_tracked stays
    assert changed == {f"spdnet.spd.1.{b}" for b in ("running_mean", "running_var")}
    adapt_batch_norm(reference, est._to_input(est._prepare(later_session)))
    for k, v in reference.state_dict().items():
        torch.testing.assert_close(after[k], v, rtol=0, atol=0)
    assert np.isfinite(est.predict_proba(later_session)).all()
    with pytest.raises(ValueError, match="at least 2 trials"):
        est.adapt(x[:1])
    with pytest.raises(ValueError, match="shape"):
        est.adapt(x[:, :2])
    with pytest.raises(ValueError, match="no SPDBatchNorm"):
        small(bn_metric=None, max_epochs=1).fit(x[:64], y[:64]).adapt(x[64:])
    with pytest.raises(NotFittedError):
        small().adapt(x)


def test_adapt_re_estimates_every_checkpoint_of_an_ensemble():
    x, y = ssvep_like()
    est = small(max_epochs=3, validation_fraction=0.0, checkpoint_ensemble=2).fit(x[:64], y[:64])
    later_session = 3.0 * x[64:]
    inputs = est._to_input(est._prepare(later_session))
    expected = []
    for state in est.checkpoints_:
        member = copy.deepcopy(est.module_)
        member.load_state_dict(state)
        with torch.no_grad():
            expected.append(torch.softmax(adapt_batch_norm(member, inputs)(inputs).double(), 1))
    before = est.predict_proba(later_session)
    after = est.adapt(later_session).predict_proba(later_session)
    np.testing.assert_allclose(after, torch.stack(expected).mean(0).numpy(), atol=1e-12)
    assert not np.allclose(before, after)
