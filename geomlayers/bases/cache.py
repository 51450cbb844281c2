"""On-disk cache of generated bases.

Location: :func:`geomlayers.paths.basis_cache_dir` (``$GEOMLAYERS_CACHE_DIR`` if set, else
``~/.cache/geomlayers``). One JSON file per ``(group, k, l, kind, spanning)`` key, written
atomically by :func:`geomlayers.paths.atomic_open` (temporary file in the same folder, then
:func:`os.replace`), so readers never see a partial file and concurrent writers cannot
interleave. Each file carries the SHA-256
of its payload; a file that fails to parse, has another key or a wrong checksum is reported,
rebuilt and overwritten, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from geomlayers.paths import atomic_open, basis_cache_dir

__all__ = ["cache_dir", "cache_path", "load", "store"]

FORMAT_VERSION = 1


def cache_dir() -> Path:
    """The cache folder (created on first write); see :mod:`geomlayers.paths`."""
    return basis_cache_dir()


def cache_path(key: str) -> Path:
    """File of one key."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return cache_dir() / f"basis-{digest}.json"


def _digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def load(key: str) -> dict | None:
    """The payload stored under ``key``, or ``None`` if absent or corrupt (with a warning)."""
    path = cache_path(key)
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
        payload = record["payload"]
        valid = (
            record.get("format") == FORMAT_VERSION
            and record.get("sha256") == _digest(payload)
            and payload.get("key") == key
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        valid = False
    if not valid:
        warnings.warn(f"corrupt basis cache file {path} ignored; it will be rebuilt", stacklevel=3)
        return None
    return payload


def store(key: str, payload: dict) -> Path:
    """Write ``payload`` under ``key`` atomically; returns the file path."""
    payload = {**payload, "key": key}
    record = {"format": FORMAT_VERSION, "sha256": _digest(payload), "payload": payload}
    path = cache_path(key)
    with atomic_open(path, "w") as handle:
        json.dump(record, handle)
    return path
