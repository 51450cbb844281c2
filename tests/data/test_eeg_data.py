import hashlib
import shutil

import numpy as np
import pytest

try:  # the `spd` extra (pyRiemann, scikit-learn, MNE): without it this module is skipped
    import mne  # noqa: F401
    import pyriemann  # noqa: F401
    import sklearn  # noqa: F401
except ModuleNotFoundError as error:
    pytest.skip(f"needs {error.name}: pip install 'geomlayers[spd]'", allow_module_level=True)

import scipy.io

from geomlayers.data import eeg


def test_mamem_split_and_contents(shared_data):
    x, y = eeg.load_mamem(3, "train", root=shared_data / "eeg")
    assert x.shape == (300, 8, 125) and x.dtype == np.float64 and y.shape == (300,)
    raw = scipy.io.loadmat(shared_data / "eeg" / "mamem" / "U003.mat")
    np.testing.assert_array_equal(x, raw["x_test"][:300])
    xv, yv = eeg.load_mamem(3, "val")
    xt, yt = eeg.load_mamem(3, "test")
    np.testing.assert_array_equal(xt, raw["x_test"][400:])
    # five blocks of 100 with the same class make-up (README of the data)
    assert list(np.bincount(yv)) == list(np.bincount(yt)) == [20, 20, 24, 20, 16]
    assert list(np.bincount(y)) == [60, 60, 72, 60, 48]


@pytest.mark.parametrize("bad", [0, 12, 2.0, "1"])
def test_mamem_bad_subject(bad):
    with pytest.raises(ValueError, match="subject"):
        eeg.load_mamem(bad)


def test_mamem_bad_split_and_missing_root(tmp_path):
    with pytest.raises(ValueError, match="split"):
        eeg.load_mamem(1, "validation")
    with pytest.raises(FileNotFoundError, match="GEOMLAYERS_DATA_DIR"):
        eeg.load_mamem(1, root=tmp_path / "nowhere")


def test_covariances_match_numpy_and_shrinkage():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4, 200))
    scm = eeg.covariances(x, "scm")
    xc = x - x.mean(axis=-1, keepdims=True)
    manual = np.einsum("nct,ndt->ncd", xc, xc) / x.shape[-1]  # pyRiemann 'scm': centred X Xᵀ / T
    np.testing.assert_allclose(scm, manual, rtol=1e-12)
    shrunk = eeg.covariances(x, "scm", shrinkage=0.3)
    mu = np.trace(manual, axis1=1, axis2=2)[:, None, None] / 4
    np.testing.assert_allclose(shrunk, 0.7 * manual + 0.3 * mu * np.eye(4), rtol=1e-12)
    from sklearn.covariance import oas

    np.testing.assert_allclose(eeg.covariances(x, "oas")[2], oas(x[2].T, assume_centered=False)[0],
                               rtol=1e-10)
    assert np.all(np.linalg.eigvalsh(eeg.covariances(x, "lwf")) > 0)


def test_delay_embedding_is_block_toeplitz():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 50))
    z = eeg.delay_embed(x, order=3, lag=2)
    assert z.shape == (3, 6, 46)
    np.testing.assert_array_equal(z[:, 2:4, :], x[:, :, 2:48])
    c = eeg.covariances(x, "scm", order=3, lag=2)
    assert c.shape == (3, 6, 6)
    np.testing.assert_array_equal(eeg.covariances(x, "scm", order=1), eeg.covariances(x, "scm"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"estimator": "ledoit"}, "estimator"), ({"shrinkage": 1.5}, "shrinkage"),
     ({"order": 0}, "order"), ({"lag": 0}, "lag"), ({"order": 30, "lag": 5}, "lower order")],
)
def test_covariances_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        eeg.covariances(np.ones((2, 3, 100)), **kwargs)


def test_covariances_reject_nan_and_bad_shape():
    x = np.ones((2, 3, 10))
    x[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        eeg.covariances(x)
    with pytest.raises(ValueError, match="n_trials"):
        eeg.covariances(np.ones((3, 10)))


def test_eegmmidb_checksums_verified(shared_data):
    table = eeg.eegmmidb_checksums()
    folder = shared_data / "eeg" / "eegmmidb" / "S001"
    for run in (4, 8, 12):
        path = folder / f"S001R{run:02d}.edf"
        digest = eeg.verify_eegmmidb_file(path)
        assert digest == hashlib.sha256(path.read_bytes()).hexdigest() == table[f"S001/{path.name}"]


def test_eegmmidb_corrupt_file_is_refused(shared_data, tmp_path):
    source = shared_data / "eeg" / "eegmmidb" / "S001" / "S001R04.edf"
    folder = tmp_path / "eegmmidb" / "S001"
    folder.mkdir(parents=True)
    data = bytearray(source.read_bytes())
    data[5000] ^= 1  # one flipped bit in the signal
    (folder / "S001R04.edf").write_bytes(bytes(data))
    with pytest.raises(eeg.ChecksumError, match="differs from the official"):
        eeg.load_eegmmidb_raw(1, (4,), root=tmp_path)
    unknown = tmp_path / "recording.edf"
    shutil.copy(source, unknown)
    with pytest.raises(eeg.ChecksumError, match="not in mne"):
        eeg.verify_eegmmidb_file(unknown)


def test_eegmmidb_epochs_left_right(shared_data):
    x, y = eeg.load_eegmmidb_epochs(1, "imagery_left_right", channels=("C3", "Cz", "C4"))
    # 3 runs x 15 cues, 2 s at 160 Hz inclusive of both ends
    assert x.shape == (45, 3, 321) and y.shape == (45,)
    assert set(np.unique(y)) == {0, 1}
    # the band-pass removed the slow drifts: mean power is mostly inside 8-30 Hz
    spectrum = np.abs(np.fft.rfft(x, axis=-1)) ** 2
    freqs = np.fft.rfftfreq(x.shape[-1], 1 / 160)
    inside = spectrum[..., (freqs >= 7) & (freqs <= 31)].sum()
    assert inside / spectrum.sum() > 0.9


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"task": "imagery"}, "task"), ({"fmin": 30.0, "fmax": 8.0}, "fmin"),
     ({"tmin": 2.0, "tmax": 1.0}, "tmin"), ({"channels": ("C3", "Q9")}, "Q9")],
)
def test_eegmmidb_bad_arguments(shared_data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        eeg.load_eegmmidb_epochs(1, **kwargs)


def test_bundled_matches_the_recordings(shared_data):
    cov, y = eeg.load_bundled("imagery_left_right")
    assert cov.shape == (45, 22, 22) and y.shape == (45,)
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    x, y_ref = eeg.load_eegmmidb_epochs(1, "imagery_left_right", channels=eeg.MOTOR_CHANNELS)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_allclose(cov, eeg.covariances(x * 1e6, "oas"), rtol=1e-8)


def test_bundled_without_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOMLAYERS_DATA_DIR", str(tmp_path / "absent"))
    cov, y = eeg.load_bundled()
    assert cov.shape == (45, 22, 22) and np.bincount(y).tolist() == [21, 24]
    with pytest.raises(ValueError, match="task"):
        eeg.load_bundled("mamem")


def test_mamem_truncated_file_names_the_file_and_the_fix(shared_data, tmp_path):
    source = shared_data / "eeg" / "mamem" / "U002.mat"
    folder = tmp_path / "mamem"
    folder.mkdir()
    data = source.read_bytes()
    (folder / "U002.mat").write_bytes(data[: len(data) // 2])
    with pytest.raises(eeg.ChecksumError, match=r"U002\.mat.*size.*truncated.*re-obtain"):
        eeg.load_mamem(2, root=tmp_path)
    with pytest.raises(ValueError, match=r"U002\.mat.*cannot read.*re-obtain"):
        eeg.load_mamem(2, root=tmp_path, verify=False)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 1
    (folder / "U002.mat").write_bytes(bytes(flipped))
    with pytest.raises(eeg.ChecksumError, match=r"U002\.mat.*SHA-256"):
        eeg.load_mamem(2, root=tmp_path)


def test_mamem_recorded_checksums_match_the_files(shared_data):
    for name, (size, digest) in eeg.MAMEM_FILES.items():
        path = shared_data / "eeg" / "mamem" / name
        assert path.stat().st_size == size
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_eegmmidb_truncated_file_names_the_file(shared_data, tmp_path):
    source = shared_data / "eeg" / "eegmmidb" / "S001" / "S001R04.edf"
    folder = tmp_path / "eegmmidb" / "S001"
    folder.mkdir(parents=True)
    data = source.read_bytes()
    (folder / "S001R04.edf").write_bytes(data[:200])  # header cut short
    with pytest.raises(eeg.ChecksumError, match=r"S001R04\.edf.*differs"):
        eeg.load_eegmmidb_raw(1, (4,), root=tmp_path)
    with pytest.raises(ValueError, match=r"S001R04\.edf.*cannot read.*re-obtain"):
        eeg.load_eegmmidb_raw(1, (4,), root=tmp_path, verify=False)
