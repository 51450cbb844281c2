"""Folders and atomic writes: one meaning per environment variable, no orphaned temp files."""

import os
import time

import pytest

from geomlayers import paths
from geomlayers.bases import cache
from geomlayers.data import nbody
from geomlayers.data_dir import data_dir
from geomlayers.ops import extension


def test_one_meaning_for_the_cache_root(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOMLAYERS_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GEOMLAYERS_TU_ROOT", raising=False)
    assert paths.cache_root() == tmp_path
    assert cache.cache_dir() == paths.basis_cache_dir() == tmp_path
    assert nbody.nbody_cache_dir() == tmp_path / "nbody"
    from geomlayers.data import graphs

    assert graphs.tu_cache_root() == tmp_path / "tu"
    monkeypatch.setenv("GEOMLAYERS_TU_ROOT", str(tmp_path / "elsewhere"))
    assert graphs.tu_cache_root() == tmp_path / "elsewhere"


def test_extension_dir_ignores_the_cache_root(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOMLAYERS_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GEOMLAYERS_EXTENSION_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert extension.extension_dir() == tmp_path / "xdg" / "geomlayers" / "extensions"
    monkeypatch.setenv("GEOMLAYERS_EXTENSION_DIR", str(tmp_path / "ext"))
    assert extension.extension_dir() == paths.extension_dir() == tmp_path / "ext"


def test_data_dir_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOMLAYERS_DATA_DIR", str(tmp_path))
    assert data_dir() == paths.data_dir() == tmp_path


def test_atomic_write_replaces_and_cleans_stale_tmp(tmp_path):
    target = tmp_path / "sub" / "file.json"
    paths.atomic_write(target, "one")
    stale = target.parent / "file.json.abc.tmp"
    fresh = target.parent / "other.json.def.tmp"
    stale.write_text("orphan")
    fresh.write_text("in progress")
    old = time.time() - 2 * paths.STALE_TMP_SECONDS
    os.utime(stale, (old, old))
    paths.atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert not stale.exists() and fresh.exists()


def test_atomic_open_failure_leaves_the_old_file(tmp_path):
    target = tmp_path / "keep.txt"
    paths.atomic_write(target, "old")
    with pytest.raises(RuntimeError), paths.atomic_open(target) as handle:
        handle.write("partial")
        raise RuntimeError("writer died")
    assert target.read_text() == "old"
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with paths.atomic_open(tmp_path / "x", "a"):
            pass
    with pytest.raises(TypeError, match="data"):
        paths.atomic_write(tmp_path / "x", 3)
    with pytest.raises(ValueError, match="name"):
        paths.processed_dir("../up")
