"""On-disk cache of generated bases; caching is never fatal and never trusted blindly.

Location: :func:`geomlayers.paths.basis_cache_dir` (``$GEOMLAYERS_CACHE_DIR`` if set, else
``~/.cache/geomlayers``). One file ``basis-<sha256 of the key>.json`` per key; the key
(:func:`make_key`) holds the file format and its version, the geomlayers version, the group's
short string (``str(group)``, read back by :func:`~geomlayers.groups.parse_group`) and its
``repr``, ``k``, ``l``, ``kind`` and ``spanning``, so another version's file is never read.
A file is a :mod:`geomlayers.bases.io` record (the format of :meth:`Basis.save
<geomlayers.bases.Basis.save>`, docs/bases.md) plus its key.

* Writes go through :func:`geomlayers.paths.atomic_write` (temporary file beside the target,
  then :func:`os.replace`): readers never see a partial file, two processes writing the same
  key leave one complete file, and orphaned ``*.tmp`` files of killed writers older than an
  hour are removed.
* A folder that cannot be written (read-only, a file in the way, a folder sitting at a cache
  file's path) gives one warning per folder; the computed basis is returned uncached.
* A file that fails to parse, has a wrong checksum or another key, or whose content fails
  :func:`geomlayers.bases.checks.content_problem` (an element dropped, duplicated or
  reordered, even under a recomputed checksum) is reported, ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from geomlayers.bases.io import (
    FORMAT_NAME,
    FORMAT_VERSION,
    checksum,
    library_version,
    read_record,
)
from geomlayers.groups.base import Group
from geomlayers.paths import atomic_write, basis_cache_dir

__all__ = ["CACHE_VERSION", "cache_dir", "cache_path", "make_key", "load", "store"]

#: version of the cache's own conventions (the key layout); part of every key.
CACHE_VERSION = 2

_warned: set[tuple[str, str]] = set()


def cache_dir() -> Path:
    """The cache folder (created on first write); see :mod:`geomlayers.paths`."""
    return basis_cache_dir()


def make_key(group: Group, k: int, l: int, kind: str, spanning: bool) -> str:  # noqa: E741
    """The cache key of ``equivariant_basis(group, k, l, kind=kind, spanning=spanning)``.

    >>> from geomlayers.groups import SymmetricGroup
    >>> make_key(SymmetricGroup(3), 1, 1, "diagram", False).split("|")[3:5]
    ['S3', 'SymmetricGroup(n=3)']
    """
    return (f"{FORMAT_NAME}/{FORMAT_VERSION}|cache/{CACHE_VERSION}|"
            f"geomlayers/{library_version()}|{group}|{group!r}|k={k}|l={l}|kind={kind}|"
            f"spanning={spanning}")


def cache_path(key: str) -> Path:
    """File of one key."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return cache_dir() / f"basis-{digest}.json"


def _warn_once(topic: str, where: Path, message: str) -> None:
    if (topic, str(where)) in _warned:
        return
    _warned.add((topic, str(where)))
    warnings.warn(message, stacklevel=4)


def load(key: str, group: Group | None = None, check=None):
    """The record stored under ``key``, or ``None`` if absent or not trustworthy (warned).

    Args:
        key: from :func:`make_key`.
        group: the group of the key (its string must match the record's).
        check: ``check(record_fields) -> str | None``, the content check; a non-``None``
            answer rejects the file. ``record_fields`` is the tuple of
            :func:`geomlayers.bases.io.read_record`.

    Returns:
        That tuple, or ``None``.

    """
    path = cache_path(key)
    try:
        if not path.exists():
            return None
        if not path.is_file():
            _warn_once("not-a-file", path, f"basis cache path {path} is not a file; it is "
                       "left alone and this basis is not cached")
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or record.get("key") != key:
            raise ValueError("the file holds another key")
        fields = read_record(record, group)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        warnings.warn(f"corrupt basis cache file {path} ignored ({error}); it will be rebuilt",
                      stacklevel=3)
        return None
    problem = check(fields) if check is not None else None
    if problem:
        warnings.warn(f"basis cache file {path} has a valid checksum but wrong content "
                      f"({problem}); ignored, it will be rebuilt", stacklevel=3)
        return None
    return fields


def store(key: str, record: dict) -> Path | None:
    """Write ``record`` (from :func:`geomlayers.bases.io.make_record`) under ``key``.

    Returns the file, or ``None`` when the folder cannot be written (one warning per folder;
    never an exception).
    """
    record = {**record, "key": key}
    record["sha256"] = checksum(record)
    path = cache_path(key)
    try:
        if path.exists() and not path.is_file():
            _warn_once("not-a-file", path, f"basis cache path {path} is not a file; it is "
                       "left alone and this basis is not cached")
            return None
        return atomic_write(path, json.dumps(record))
    except OSError as error:
        _warn_once("unwritable", path.parent, (
            f"cannot write the basis cache in {path.parent} ({error}); bases are computed but "
            "not cached. Set GEOMLAYERS_CACHE_DIR to a writable folder, or pass use_cache=False"
        ))
        return None
