"""Basis cache: never fatal, never trusted blindly, nothing lost under concurrency (issue 35)."""

import json
import multiprocessing
import os
import time
import warnings

import pytest

from geomlayers.bases import cache, equivariant_basis
from geomlayers.bases.io import checksum
from geomlayers.groups import (
    AlternatingGroup,
    AutomorphismGroup,
    OrthogonalGroup,
    SymmetricGroup,
)


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("GEOMLAYERS_CACHE_DIR", str(folder))
    monkeypatch.setattr(cache, "_warned", set())
    return folder


def _only_file(folder):
    (path,) = folder.glob("basis-*.json")
    return path


def _rewrite(path, edit):
    """Edit the stored elements and recompute the checksum, as a buggy writer would."""
    record = json.loads(path.read_text())
    record["elements"] = edit(record["elements"])
    record["sha256"] = checksum(record)
    path.write_text(json.dumps(record))


def test_unwritable_folder_warns_once_and_returns_the_basis(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GEOMLAYERS_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(cache, "_warned", set())
    with pytest.warns(UserWarning, match="cannot write the basis cache") as caught:
        first = equivariant_basis(SymmetricGroup(3), 2, 1)
        second = equivariant_basis(SymmetricGroup(3), 1, 2)
    assert len(first) == len(second) == 5
    assert sum("cannot write" in str(w.message) for w in caught) == 1  # once per folder


def test_read_only_folder_is_not_fatal(private_cache, monkeypatch):
    private_cache.mkdir()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache, "atomic_write", refuse)
    with pytest.warns(UserWarning, match="cannot write the basis cache"):
        basis = equivariant_basis(OrthogonalGroup(2), 3, 3)
    assert len(basis) == 10


def test_folder_at_the_cache_file_path(private_cache):
    key = cache.make_key(SymmetricGroup(3), 1, 1, "diagram", False)
    cache.cache_path(key).mkdir(parents=True)
    (cache.cache_path(key) / "keep.txt").write_text("mine")
    with pytest.warns(UserWarning, match="is not a file"):
        assert len(equivariant_basis(SymmetricGroup(3), 1, 1)) == 2
    assert (cache.cache_path(key) / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("edit, why", [
    (lambda e: e[:-1], "elements where"),  # an element dropped
    (lambda e: e + e[-1:], "occurs twice"),  # duplicated
    (lambda e: [e[1], e[0], *e[2:]], "documented order"),  # reordered
])
def test_valid_checksum_wrong_content_is_rebuilt(private_cache, edit, why):
    built = equivariant_basis(AlternatingGroup(4), 2, 1)
    path = _only_file(private_cache)
    _rewrite(path, edit)
    with pytest.warns(UserWarning, match=why):
        again = equivariant_basis(AlternatingGroup(4), 2, 1)
    assert list(again) == list(built)
    assert list(equivariant_basis(AlternatingGroup(4), 2, 1)) == list(built)  # rewritten


def test_brauer_selection_with_a_swapped_diagram_is_rebuilt(private_cache):
    built = equivariant_basis(OrthogonalGroup(2), 3, 3)
    path = _only_file(private_cache)

    def swap(elements):  # replace the last kept diagram by the first dependent one
        from geomlayers.bases.brauer import spanning_elements
        from geomlayers.bases.io import encode_element

        dropped = [e for e in spanning_elements(OrthogonalGroup(2), 3, 3) if e not in built]
        return [*elements[:-1], encode_element(dropped[-1])]

    _rewrite(path, swap)
    with pytest.warns(UserWarning, match="selection rule|documented order"):
        assert list(equivariant_basis(OrthogonalGroup(2), 3, 3)) == list(built)


def test_key_holds_format_version_and_group_string(private_cache, monkeypatch):
    group = SymmetricGroup(4)
    key = cache.make_key(group, 2, 2, "diagram", False)
    assert str(group) in key and "geomlayers/" in key and f"cache/{cache.CACHE_VERSION}" in key
    equivariant_basis(group, 2, 2)
    monkeypatch.setattr(cache, "library_version", lambda: "999.0")
    assert cache.make_key(group, 2, 2, "diagram", False) != key
    equivariant_basis(group, 2, 2)  # another version: its own file, the first one untouched
    assert len(list(private_cache.glob("basis-*.json"))) == 2


def test_graphs_with_equal_size_do_not_share_a_file(private_cache):
    path4 = AutomorphismGroup([(0, 1), (1, 2), (2, 3)])
    star = AutomorphismGroup([(0, 1), (0, 2), (0, 3)])
    assert len(equivariant_basis(path4, 1, 1)) == 8  # orbits of Aut(P4) on [4]^2
    assert len(equivariant_basis(star, 1, 1)) == 5
    assert len(equivariant_basis(path4, 1, 1)) == 8


def test_old_orphan_tmp_files_are_removed(private_cache):
    private_cache.mkdir()
    old = private_cache / "basis-0123.json.abc.tmp"
    young = private_cache / "basis-4567.json.def.tmp"
    for path in (old, young):
        path.write_text("partial")
    stale = time.time() - 2 * 3600
    os.utime(old, (stale, stale))
    equivariant_basis(SymmetricGroup(3), 2, 2)
    assert not old.exists() and young.exists()  # a young one may belong to a live writer


def _build_in_process(args) -> list[str]:
    folder, n = args
    os.environ["GEOMLAYERS_CACHE_DIR"] = folder
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a torn or foreign file would warn
        return [str(e) for e in equivariant_basis(SymmetricGroup(n), 3, 3)]


def test_concurrent_writers_of_two_keys(private_cache):
    private_cache.mkdir()
    (private_cache / "notes.txt").write_text("user file")
    context = multiprocessing.get_context("spawn")
    jobs = [(str(private_cache), n) for n in (4, 5) * 4]
    with context.Pool(4) as pool:
        results = pool.map(_build_in_process, jobs)
    for (_, n), result in zip(jobs, results, strict=True):
        assert result == [str(e) for e in equivariant_basis(SymmetricGroup(n), 3, 3,
                                                             use_cache=False)]
    assert len(list(private_cache.glob("basis-*.json"))) == 2
    assert not list(private_cache.glob("*.tmp"))
    assert (private_cache / "notes.txt").read_text() == "user file"
