"""On-disk cache of generated bases.

Location: ``$GEOMLAYERS_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/geomlayers/bases`` (default
``~/.cache/geomlayers/bases``). One JSON file per ``(group, k, l, kind, spanning)`` key, written
to a temporary file in the same folder and moved into place with :func:`os.replace`, so readers
never see a partial file and concurrent writers cannot interleave. Each file carries the SHA-256
of its payload; a file that fails to parse, has another key or a wrong checksum is reported,
rebuilt and overwritten, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

__all__ = ["cache_dir", "cache_path", "load", "store"]

FORMAT_VERSION = 1


def cache_dir() -> Path:
    """The cache folder (created on first write)."""
    override = os.environ.get("GEOMLAYERS_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "geomlayers" / "bases"


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
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=path.name, suffix=".tmp", delete=False
    )
    try:
        with handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return path
