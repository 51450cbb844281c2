import json
import multiprocessing

import pytest

from geomlayers.bases import cache, equivariant_basis
from geomlayers.groups import AlternatingGroup, SymmetricGroup


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOMLAYERS_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_round_trip_and_location(private_cache):
    built = equivariant_basis(AlternatingGroup(4), 2, 1)
    files = list(private_cache.glob("basis-*.json"))
    assert len(files) == 1 and cache.cache_dir() == private_cache
    loaded = equivariant_basis(AlternatingGroup(4), 2, 1)
    assert [str(e) for e in loaded] == [str(e) for e in built]
    assert loaded[0] == built[0] and loaded.is_basis and loaded.kind == built.kind


def test_corrupt_file_is_rebuilt_not_trusted(private_cache):
    equivariant_basis(SymmetricGroup(3), 1, 1)
    (path,) = private_cache.glob("basis-*.json")
    record = json.loads(path.read_text())
    record["elements"] = record["elements"][:1]  # tampered, checksum stale
    path.write_text(json.dumps(record))
    with pytest.warns(UserWarning, match="corrupt basis cache"):
        rebuilt = equivariant_basis(SymmetricGroup(3), 1, 1)
    assert len(rebuilt) == 2
    path.write_text("{ not json")
    with pytest.warns(UserWarning, match="corrupt"):
        assert len(equivariant_basis(SymmetricGroup(3), 1, 1)) == 2
    assert "|S3|SymmetricGroup(n=3)|" in json.loads(path.read_text())["key"]


def test_truncated_file_is_rebuilt(private_cache):
    equivariant_basis(SymmetricGroup(4), 2, 2)
    (path,) = private_cache.glob("basis-*.json")
    path.write_text(path.read_text()[:50])
    with pytest.warns(UserWarning):
        assert len(equivariant_basis(SymmetricGroup(4), 2, 2)) == 15


def _build_in_process(folder: str) -> int:
    import os

    os.environ["GEOMLAYERS_CACHE_DIR"] = folder
    return len(equivariant_basis(SymmetricGroup(6), 3, 3))


def test_concurrent_writers_leave_a_valid_file(private_cache):
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        sizes = pool.map(_build_in_process, [str(private_cache)] * 6)
    assert set(sizes) == {203}
    assert not list(private_cache.glob("*.tmp"))
    (path,) = private_cache.glob("basis-*.json")
    assert cache.load(json.loads(path.read_text())["key"]) is not None
