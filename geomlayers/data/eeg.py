"""EEG recordings as covariance matrices: MAMEM SSVEP II, PhysioNet EEGMMIDB, a bundled default.

The recordings live in ``<data_dir>/eeg`` (:func:`geomlayers.data_dir.data_dir`, i.e.
``$GEOMLAYERS_DATA_DIR`` or ``../shared/data``); nothing is downloaded. Every loader returns
numpy arrays: signals ``(n_trials, n_channels, n_times)`` or covariances
``(n_trials, n_channels, n_channels)`` with integer labels ``(n_trials,)``.

* MAMEM SSVEP dataset II (Nikolopoulos et al. 2021), preprocessed as in the GBWBN / MAtt papers:
  11 subjects, 500 one-second trials of 8 channels at 125 Hz, 5 flicker frequencies (labels 0-4),
  standard split trials 0-299 train, 300-399 validation, 400-499 test (:func:`load_mamem`).
* PhysioNet EEG Motor Movement/Imagery (Schalk et al. 2004), subject S001, runs 3-14, EDF+ at
  160 Hz, 64 channels; every file is checked against the SHA-256 list shipped inside ``mne``
  before it is read (:func:`load_eegmmidb_epochs`).
* Covariances with pyRiemann's estimators ('scm', 'lwf', 'oas', ...) and optional shrinkage, and
  time-delay (augmented) covariances for SSVEP (Carrara & Papadopoulo 2023, arXiv 2302.04508)
  (:func:`covariances`).
* :func:`load_bundled`: EEGMMIDB S001 imagery covariances copied into the package (< 1 MB) so
  that an EEG classification runs without ``../shared/data``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from geomlayers.data_dir import data_dir

__all__ = [
    "EEGMMIDB_TASKS",
    "MAMEM_FILES",
    "MAMEM_FREQUENCIES",
    "MAMEM_SFREQ",
    "MAMEM_SPLITS",
    "MAMEM_SUBJECTS",
    "MOTOR_CHANNELS",
    "ChecksumError",
    "covariances",
    "delay_embed",
    "eegmmidb_checksums",
    "load_bundled",
    "load_eegmmidb_epochs",
    "load_eegmmidb_raw",
    "load_mamem",
    "load_mamem_covariances",
    "verify_eegmmidb_file",
    "verify_mamem_file",
]

MAMEM_SUBJECTS: tuple[int, ...] = tuple(range(1, 12))
MAMEM_SFREQ = 125.0
#: flicker frequency (Hz) of labels 0-4, inferred from the class-conditional spectra (the data
#: files store none; ``../shared/data/README.md``); a training-free CCA on sin/cos references at
#: these frequencies scores 0.6-0.9 on the strong subjects, far above chance (0.2).
MAMEM_FREQUENCIES: tuple[float, ...] = (12.0, 10.0, 8.57, 7.5, 6.66)
MAMEM_SPLITS: dict[str, slice] = {
    "train": slice(0, 300), "val": slice(300, 400), "test": slice(400, 500), "all": slice(0, 500),
}

#: EEGMMIDB runs of each task: (runs, meaning of T1, meaning of T2).
EEGMMIDB_TASKS: dict[str, tuple[tuple[int, ...], str, str]] = {
    "imagery_left_right": ((4, 8, 12), "left fist", "right fist"),
    "imagery_hands_feet": ((6, 10, 14), "both fists", "both feet"),
    "executed_left_right": ((3, 7, 11), "left fist", "right fist"),
    "executed_hands_feet": ((5, 9, 13), "both fists", "both feet"),
}

#: The 22 positions of the BCI Competition IV 2a montage (sensorimotor cortex), all in EEGMMIDB.
MOTOR_CHANNELS: tuple[str, ...] = (
    "Fz", "FC3", "FC1", "FCz", "FC2", "FC4", "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
    "CP3", "CP1", "CPz", "CP2", "CP4", "P1", "Pz", "P2", "POz",
)

#: size in bytes and SHA-256 of each MAMEM file as published in the GBWBN authors' repository
#: (jjscc/GBWBN, commit 1ec32321, GBWBN_SPDNet/experiments/data/MAMEM/); :func:`load_mamem`
#: checks them before reading.
MAMEM_FILES: dict[str, tuple[int, str]] = {
    "U001.mat": (2332531, "f0038f1f59698c5fbfd11496b7a2e10e534eabd08e2f086acbd88dec73381bb9"),
    "U002.mat": (2357800, "6aa75a5a48d19881687bae17ad296be5c9c8ebe9f44d1cace12999441d0ea6ad"),
    "U003.mat": (2334310, "51c3cf3b78a3dd320b3ce1778cf9cda264332fe8f0257c8769594e1748710f8f"),
    "U004.mat": (2331400, "31fd1af3ad1ee9deac2a25ab46c4f51528a131b6eb3786517aa3afb2dd052e27"),
    "U005.mat": (2333346, "71eda11e276ccdc04289b9bc7cdc8b81d2c6b2067b923d283f74f3c931c39394"),
    "U006.mat": (2328573, "26d8d2217ca5a721155b840dc1dd25812577ba3b2f89acdc4f155096ba992f44"),
    "U007.mat": (2334311, "4c5ff7152cf8d2109c7fc14cf3db0efd82d8105431a0ca31e95ac9e8556e9d3e"),
    "U008.mat": (2336802, "253d61feef3ca70393e05962e6ba40ed68351eb46ab9f73e99ef2535765e76dd"),
    "U009.mat": (2330624, "3032972728ab118953577b7124068b01514a58c36845ac772a4f9f83f058d64c"),
    "U010.mat": (2329050, "f12b61d9c226e7d9a79e975916840958b99a80fa5f26613316a6946e218797b7"),
    "U011.mat": (2329548, "dc9aef4918a7f4c249982df3ff6abec158a80d0c6fd8b35e57da17784d51e33d"),
}

_ESTIMATORS = ("scm", "lwf", "oas", "cov", "sch", "corr", "mcd", "hub", "stu", "tyl")
_BUNDLED = Path(__file__).parent / "bundled"


class ChecksumError(ValueError):
    """A recording's SHA-256 differs from the official checksum list."""


# ---------------------------------------------------------------------------------------------
# MAMEM SSVEP II
# ---------------------------------------------------------------------------------------------

def _eeg_root(root: str | Path | None) -> Path:
    folder = Path(root) if root is not None else data_dir() / "eeg"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"EEG data folder {folder} is absent; set GEOMLAYERS_DATA_DIR to the folder that holds "
            "eeg/mamem and eeg/eegmmidb, pass root=..., or use load_bundled() for the packaged copy"
        )
    return folder


def verify_mamem_file(path: str | Path) -> str:
    """Check a MAMEM file's size and SHA-256 against :data:`MAMEM_FILES`; return the digest.

    Raises:
        ChecksumError: the size or digest differs (a truncated or altered copy), or the file
            name is not one of ``U001.mat`` .. ``U011.mat``.

    """
    path = Path(path)
    if path.name not in MAMEM_FILES:
        raise ChecksumError(f"{path}: not a MAMEM SSVEP II file name (U001.mat .. U011.mat)")
    size, expected = MAMEM_FILES[path.name]
    actual_size = path.stat().st_size
    fix = ("re-obtain it from jjscc/GBWBN (GBWBN_SPDNet/experiments/data/MAMEM/), or pass "
           "verify=False to read it anyway")
    if actual_size != size:
        state = "truncated" if actual_size < size else "longer than the original"
        raise ChecksumError(f"{path}: size {actual_size} bytes, expected {size}: the file is "
                            f"{state}; {fix}")
    actual = _sha256(path)
    if actual != expected:
        raise ChecksumError(f"{path}: SHA-256 {actual} differs from the published file's "
                            f"{expected}: the file is corrupt; {fix}")
    return actual


def load_mamem(
    subject: int, split: str = "all", *, root: str | Path | None = None, verify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """One MAMEM SSVEP II subject: signals ``(n, 8, 125)`` float64 (µV scale) and labels ``(n,)``.

    Args:
        subject: 1..11.
        split: 'train' (trials 0-299), 'val' (300-399), 'test' (400-499) or 'all'; the standard
            split of MAtt (Pan et al., NeurIPS 2022, §4.1) and GBWBN.
        root: folder holding ``mamem/U0xx.mat`` (default ``data_dir()/eeg``).
        verify: check the file's size and SHA-256 first (:func:`verify_mamem_file`).

    Returns:
        ``X`` (n_trials, 8, 125) float64 at :data:`MAMEM_SFREQ` Hz, ``y`` (n_trials,) int64 in 0..4.

    """
    import scipy.io

    if not isinstance(subject, (int, np.integer)) or subject not in MAMEM_SUBJECTS:
        raise ValueError(f"subject must be an integer in 1..11, got {subject!r}")
    if split not in MAMEM_SPLITS:
        raise ValueError(f"split must be one of {sorted(MAMEM_SPLITS)}, got {split!r}")
    path = _eeg_root(root) / "mamem" / f"U{int(subject):03d}.mat"
    if not path.is_file():
        raise FileNotFoundError(f"MAMEM file {path} is absent")
    if verify:
        verify_mamem_file(path)
    try:
        content = scipy.io.loadmat(path)
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f"{path}: cannot read the MATLAB file ({error}); it is probably "
                         "truncated or corrupt: re-obtain it (verify=True checks its size and "
                         "SHA-256)") from error
    if "x_test" not in content or "y_test" not in content:
        raise ValueError(f"{path}: expected variables x_test and y_test, found "
                         f"{sorted(k for k in content if not k.startswith('__'))}")
    x = np.asarray(content["x_test"], dtype=np.float64)
    y = np.asarray(content["y_test"]).ravel().astype(np.int64)
    if x.shape != (500, 8, 125) or y.shape != (500,):
        raise ValueError(f"{path}: expected x_test (500, 8, 125) and y_test (500, 1), "
                         f"got {x.shape} and {y.shape}")
    part = MAMEM_SPLITS[split]
    return x[part], y[part]


def load_mamem_covariances(
    subject: int,
    split: str = "all",
    *,
    estimator: str = "oas",
    shrinkage: float | None = None,
    order: int = 1,
    lag: int = 1,
    root: str | Path | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """MAMEM subject as covariances ``(n, 8·order, 8·order)``; see :func:`covariances`."""
    x, y = load_mamem(subject, split, root=root)
    return covariances(x, estimator, shrinkage=shrinkage, order=order, lag=lag), y


# ---------------------------------------------------------------------------------------------
# PhysioNet EEGMMIDB
# ---------------------------------------------------------------------------------------------

def eegmmidb_checksums() -> dict[str, str]:
    """The official PhysioNet SHA-256 list shipped in ``mne/data/eegbci_checksums.txt``.

    Returns:
        ``{"S001/S001R04.edf": "3d16...", ...}``.

    """
    import mne

    path = Path(mne.__file__).parent / "data" / "eegbci_checksums.txt"
    if not path.is_file():
        raise FileNotFoundError(
            f"mne {mne.__version__} does not ship {path}; cannot verify EEGMMIDB files"
        )
    table = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            table[parts[0]] = parts[1].lower()
    return table


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_eegmmidb_file(path: str | Path) -> str:
    """Check an EEGMMIDB EDF file against mne's official checksum list; return its SHA-256.

    The key is ``S###/S###R##.edf`` taken from the file name.

    Raises:
        ChecksumError: the digest differs from the official one, or the file is not in the list.

    """
    path = Path(path)
    key = f"{path.name[:4]}/{path.name}"
    expected = eegmmidb_checksums().get(key)
    if expected is None:
        raise ChecksumError(f"{path}: {key} is not in mne's EEGMMIDB checksum list; "
                            "file names must look like S001R04.edf")
    actual = _sha256(path)
    if actual != expected:
        raise ChecksumError(
            f"{path}: SHA-256 {actual} differs from the official PhysioNet checksum {expected} "
            f"(mne/data/eegbci_checksums.txt); the file is corrupt or not the original recording. "
            "Re-obtain it, or pass verify=False to read it anyway"
        )
    return actual


def _eegmmidb_path(subject: int, run: int, root: str | Path | None) -> Path:
    if not isinstance(subject, (int, np.integer)) or not 1 <= subject <= 109:
        raise ValueError(f"subject must be an integer in 1..109, got {subject!r}")
    if not isinstance(run, (int, np.integer)) or not 1 <= run <= 14:
        raise ValueError(f"runs must be integers in 1..14, got {run!r}")
    name = f"S{int(subject):03d}"
    path = _eeg_root(root) / "eegmmidb" / name / f"{name}R{int(run):02d}.edf"
    if not path.is_file():
        raise FileNotFoundError(f"EEGMMIDB file {path} is absent")
    return path


def load_eegmmidb_raw(
    subject: int = 1,
    runs: Sequence[int] = (4, 8, 12),
    *,
    root: str | Path | None = None,
    verify: bool = True,
):
    """Read, verify and concatenate EEGMMIDB runs as one ``mne.io.Raw`` with standard channel names.

    Args:
        subject: 1..109 (only S001 is in ``../shared/data``).
        runs: run numbers in 1..14 (see :data:`EEGMMIDB_TASKS`).
        root: folder holding ``eegmmidb/S001/...`` (default ``data_dir()/eeg``).
        verify: check each file's SHA-256 against mne's list first (:func:`verify_eegmmidb_file`).

    """
    import mne

    if len(runs) == 0:
        raise ValueError("runs must name at least one run in 1..14")
    raws = []
    for run in runs:
        path = _eegmmidb_path(subject, run, root)
        if verify:
            verify_eegmmidb_file(path)
        try:
            raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
        except (OSError, ValueError, RuntimeError, IndexError) as error:
            raise ValueError(f"{path}: cannot read the EDF file ({type(error).__name__}: "
                             f"{error}); it is probably truncated or corrupt: re-obtain it "
                             "(verify=True checks it against PhysioNet's checksum)") from error
        mne.datasets.eegbci.standardize(raw)
        raws.append(raw)
    return mne.concatenate_raws(raws, verbose="error") if len(raws) > 1 else raws[0]


def load_eegmmidb_epochs(
    subject: int = 1,
    task: str = "imagery_left_right",
    *,
    fmin: float = 8.0,
    fmax: float = 30.0,
    tmin: float = 0.5,
    tmax: float = 2.5,
    channels: Sequence[str] | None = None,
    root: str | Path | None = None,
    verify: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Band-passed EEGMMIDB epochs of one task: ``X`` (n, C, T) in volts, ``y`` (n,) in {0, 1}.

    Label 0 is the task's T1 cue, 1 its T2 cue (:data:`EEGMMIDB_TASKS`): e.g. for
    'imagery_left_right' (runs 4, 8, 12), 0 = left fist, 1 = right fist. Filtering is mne's
    zero-phase FIR band-pass on the continuous runs, epochs are ``[tmin, tmax]`` s after the cue
    (the protocol of the MOABB ``LeftRightImagery`` paradigm with the 8-30 Hz band).

    Args:
        task: a key of :data:`EEGMMIDB_TASKS`.
        fmin, fmax: band-pass edges in Hz, ``0 < fmin < fmax < 80`` (Nyquist at 160 Hz).
        tmin, tmax: epoch window in seconds after the cue, ``0 <= tmin < tmax <= 4``.
        channels: channel names to keep (e.g. :data:`MOTOR_CHANNELS`); default all 64.

    """
    import mne

    if task not in EEGMMIDB_TASKS:
        raise ValueError(f"task must be one of {sorted(EEGMMIDB_TASKS)}, got {task!r}")
    if not 0 < fmin < fmax < 80:
        raise ValueError(f"need 0 < fmin < fmax < 80 Hz, got fmin={fmin}, fmax={fmax}")
    if not 0 <= tmin < tmax <= 4:
        raise ValueError(f"need 0 <= tmin < tmax <= 4 s, got tmin={tmin}, tmax={tmax}")
    raw = load_eegmmidb_raw(subject, EEGMMIDB_TASKS[task][0], root=root, verify=verify)
    if channels is not None:
        missing = sorted(set(channels) - set(raw.ch_names))
        if missing:
            raise ValueError(f"channels not in the recording: {missing}")
        raw.pick(list(channels))
    else:
        raw.pick("eeg")
    raw.filter(fmin, fmax, verbose="error")
    events, _ = mne.events_from_annotations(raw, event_id={"T1": 1, "T2": 2}, verbose="error")
    epochs = mne.Epochs(raw, events, {"T1": 1, "T2": 2}, tmin=tmin, tmax=tmax, baseline=None,
                        preload=True, verbose="error")
    return epochs.get_data(copy=True), epochs.events[:, 2].astype(np.int64) - 1


# ---------------------------------------------------------------------------------------------
# Covariances
# ---------------------------------------------------------------------------------------------

def delay_embed(x: np.ndarray, order: int, lag: int) -> np.ndarray:
    """Stack ``order`` copies of the signals shifted by multiples of ``lag`` samples.

    ``(n, C, T) -> (n, C·order, T − (order−1)·lag)``, block k holding ``x[..., k·lag : k·lag+T']``
    (Takens delay embedding; the covariance of the result is the block-Toeplitz "augmented
    covariance" of Carrara & Papadopoulo 2023, §2, which carries the autocovariances at lags
    0..(order−1)·lag and hence the spectral content SSVEP classes differ in).
    """
    if not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"order must be an integer >= 1, got {order!r}")
    if not isinstance(lag, (int, np.integer)) or lag < 1:
        raise ValueError(f"lag must be an integer >= 1, got {lag!r}")
    length = x.shape[-1] - (order - 1) * lag
    if length < 2:
        raise ValueError(f"(order-1)*lag = {(order - 1) * lag} leaves fewer than 2 of the "
                         f"{x.shape[-1]} samples; lower order or lag")
    return np.concatenate([x[..., k * lag:k * lag + length] for k in range(order)], axis=-2)


def covariances(
    x: np.ndarray,
    estimator: str = "oas",
    *,
    shrinkage: float | None = None,
    order: int = 1,
    lag: int = 1,
) -> np.ndarray:
    """Covariance matrices of EEG trials with pyRiemann's estimators.

    Args:
        x: signals ``(n_trials, n_channels, n_times)``.
        estimator: a pyRiemann estimator: 'scm' (sample), 'lwf' (Ledoit-Wolf), 'oas' (oracle
            approximating shrinkage), 'cov', 'sch', 'corr', 'mcd', 'hub', 'stu', 'tyl'.
        shrinkage: if given, a further fixed shrinkage towards ``tr(C)/d · I`` with this weight in
            ``[0, 1]`` (pyRiemann ``Shrinkage``).
        order, lag: time-delay embedding before the estimate (:func:`delay_embed`); ``order=1`` is
            the plain spatial covariance.

    Returns:
        ``(n_trials, n_channels·order, n_channels·order)`` float64, symmetric positive definite.

    """
    from pyriemann.estimation import Shrinkage
    from pyriemann.utils.covariance import covariances as _pyriemann_covariances

    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (n_trials, n_channels, n_times), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or inf")
    if estimator not in _ESTIMATORS:
        raise ValueError(f"estimator must be one of {_ESTIMATORS}, got {estimator!r}")
    if shrinkage is not None and not 0.0 <= float(shrinkage) <= 1.0:
        raise ValueError(f"shrinkage must be in [0, 1] or None, got {shrinkage!r}")
    if order > 1:
        x = delay_embed(x, order, lag)
    else:
        delay_embed(x[:1], order, lag)  # validates order and lag
    c = _pyriemann_covariances(x.astype(np.float64), estimator=estimator)
    if shrinkage is not None:
        c = Shrinkage(shrinkage=float(shrinkage)).fit_transform(c)
    return 0.5 * (c + np.swapaxes(c, -1, -2))


# ---------------------------------------------------------------------------------------------
# Bundled default
# ---------------------------------------------------------------------------------------------

def load_bundled(task: str = "imagery_hands_feet") -> tuple[np.ndarray, np.ndarray]:
    """EEGMMIDB S001 imagery covariances shipped in the package; no data folder needed.

    22 sensorimotor channels (:data:`MOTOR_CHANNELS`), 8-30 Hz, 0.5-2.5 s after the cue, OAS
    covariances in µV², 45 trials per task (runs 4/8/12 or 6/10/14). Built by
    ``geomlayers/data/bundled/make_bundled.py`` from the verified EDF files; provenance in
    ``geomlayers/data/bundled/PROVENANCE.md``.

    Args:
        task: 'imagery_hands_feet' (both fists vs both feet) or 'imagery_left_right'.

    Returns:
        covariances ``(45, 22, 22)`` float64 and labels ``(45,)`` int64 in {0, 1}.

    """
    if task not in ("imagery_hands_feet", "imagery_left_right"):
        raise ValueError(f"task must be 'imagery_hands_feet' or 'imagery_left_right', got {task!r}")
    with np.load(_BUNDLED / "eegmmidb_s001_imagery.npz") as content:
        return content[f"{task}_cov"].astype(np.float64), content[f"{task}_y"].astype(np.int64)
