"""Folders the library reads and writes, and atomic writes into them (the one home for both).

Environment variables (each read on every call, so tests may redirect them):

==============================  ==============================================================
``GEOMLAYERS_CACHE_DIR``        the cache root. Default ``$XDG_CACHE_HOME/geomlayers``, else
                                ``~/.cache/geomlayers``. Basis files ``basis-*.json`` sit at
                                its top level; other caches in named sub-folders
                                (``nbody/``, ``tu/``).
``GEOMLAYERS_EXTENSION_DIR``    where the C++ extension is built. Default
                                ``<default cache root>/extensions``: it does *not* follow
                                ``GEOMLAYERS_CACHE_DIR``, so redirecting the data caches (as a
                                test suite does) never triggers a rebuild of the extension.
``GEOMLAYERS_DATA_DIR``         the real data sets (read only). Default ``shared/data`` beside
                                the repository checkout.
``GEOMLAYERS_TU_ROOT``          processed TU graph datasets. Default ``<cache root>/tu``.
==============================  ==============================================================

Writes go through :func:`atomic_write` / :func:`atomic_open`: a temporary file in the target's
folder, flushed and fsynced, then moved into place with :func:`os.replace`, so a reader never
sees a partial file and concurrent writers cannot interleave. A writer killed between the
write and the rename leaves a ``*.tmp`` file; every atomic write removes those older than
:data:`STALE_TMP_SECONDS` from its folder.

This module imports nothing from geomlayers, so every layer of the library may use it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = [
    "ENV_VARS",
    "STALE_TMP_SECONDS",
    "cache_root",
    "basis_cache_dir",
    "extension_dir",
    "data_dir",
    "processed_dir",
    "atomic_open",
    "atomic_write",
    "clean_stale_tmp",
]

#: Every environment variable the library reads for a folder, with what it sets.
ENV_VARS = {
    "GEOMLAYERS_CACHE_DIR": "cache root (basis files at its top, nbody/, tu/ below)",
    "GEOMLAYERS_EXTENSION_DIR": "build folder of the C++ extension",
    "GEOMLAYERS_DATA_DIR": "folder of the real data sets (read only)",
    "GEOMLAYERS_TU_ROOT": "processed TU graph datasets",
}

#: Age after which an orphaned ``*.tmp`` file of an interrupted write is removed.
STALE_TMP_SECONDS = 3600.0


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def _default_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "geomlayers"


def cache_root() -> Path:
    """``$GEOMLAYERS_CACHE_DIR``, else ``$XDG_CACHE_HOME/geomlayers`` (``~/.cache/geomlayers``)."""
    return _env_path("GEOMLAYERS_CACHE_DIR") or _default_cache_root()


def basis_cache_dir() -> Path:
    """Folder of the basis cache files: the cache root itself."""
    return cache_root()


def extension_dir() -> Path:
    """``$GEOMLAYERS_EXTENSION_DIR``, else ``<default cache root>/extensions``."""
    return _env_path("GEOMLAYERS_EXTENSION_DIR") or _default_cache_root() / "extensions"


def data_dir() -> Path:
    """``$GEOMLAYERS_DATA_DIR`` if set, else ``shared/data`` beside the repository checkout."""
    return _env_path("GEOMLAYERS_DATA_DIR") or (
        Path(__file__).resolve().parents[2] / "shared" / "data"
    )


def processed_dir(name: str) -> Path:
    """Folder of one processed-data cache, ``<cache root>/<name>``.

    ``name="tu"`` honours ``$GEOMLAYERS_TU_ROOT`` first.
    """
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ValueError(f"name must be a plain folder name such as 'tu', got {name!r}")
    if name == "tu":
        override = _env_path("GEOMLAYERS_TU_ROOT")
        if override is not None:
            return override
    return cache_root() / name


def clean_stale_tmp(folder: str | Path, max_age: float = STALE_TMP_SECONDS) -> int:
    """Remove ``*.tmp`` files older than ``max_age`` seconds from ``folder``; return the count.

    Files that vanish or cannot be removed (another process, a read-only folder) are skipped.
    """
    folder = Path(folder)
    removed = 0
    now = time.time()
    try:
        candidates = list(folder.glob("*.tmp"))
    except OSError:
        return 0
    for path in candidates:
        try:
            if path.is_file() and now - path.stat().st_mtime > max_age:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success move it onto ``path`` atomically.

    ``mode`` is ``"w"`` (text, UTF-8) or ``"wb"``. The parent folder is created. On an
    exception the temporary file is removed and ``path`` is left as it was.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_open(target) as handle:
    ...     _ = handle.write("done")
    >>> target.read_text()
    'done'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_tmp(path.parent)
    handle = tempfile.NamedTemporaryFile(
        mode, dir=path.parent, prefix=f"{path.name}.", suffix=".tmp", delete=False,
        **({"encoding": "utf-8"} if mode == "w" else {}),
    )
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (``str`` as UTF-8, or ``bytes``) to ``path`` atomically; return ``path``."""
    if not isinstance(data, (str, bytes)):
        raise TypeError(f"data must be str or bytes, got {type(data).__name__}")
    with atomic_open(path, "w" if isinstance(data, str) else "wb") as handle:
        handle.write(data)
    return Path(path)
