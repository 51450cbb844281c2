"""Basis.save / Basis.load: a versioned JSON format, never pickle (issue 36, item 6)."""

import json

import pytest
import torch

from geomlayers.bases import Basis, equivariant_basis, numeric_basis
from geomlayers.bases.io import checksum
from geomlayers.groups import (
    AlternatingGroup,
    AutomorphismGroup,
    OrthogonalGroup,
    SpecialOrthogonalGroup,
    SymmetricGroup,
)
from geomlayers.groups.symplectic import SymplecticGroup

CASES = [
    (SymmetricGroup(3), 2, 2, {}),
    (SymmetricGroup(3), 2, 1, {"kind": "orbit"}),
    (AlternatingGroup(4), 2, 1, {}),
    (OrthogonalGroup(2), 3, 3, {}),
    (SpecialOrthogonalGroup(3), 2, 3, {}),
    (SymplecticGroup(4, "block"), 2, 2, {"spanning": True}),
    (AutomorphismGroup([(0, 1), (1, 2), (2, 3)]), 1, 1, {}),
    (AutomorphismGroup([(0, 1), (1, 2)]), 1, 1, {"spanning": True}),
]


def _same(a: Basis, b: Basis) -> None:
    assert str(a.group) == str(b.group) and a.group == b.group
    assert (a.k, a.l, a.kind, a.is_basis) == (b.k, b.l, b.kind, b.is_basis)
    assert list(a) == list(b)  # same elements, same order


@pytest.mark.parametrize("group, k, l, options", CASES, ids=lambda c: str(c))
def test_round_trip(tmp_path, group, k, l, options):  # noqa: E741
    basis = equivariant_basis(group, k, l, use_cache=False, **options)
    path = basis.save(tmp_path / "basis.json")
    loaded = Basis.load(path)
    _same(basis, loaded)
    x = torch.randn(2, *[group.n] * k, dtype=torch.float64)
    weights = torch.randn(len(basis), dtype=torch.float64)
    torch.testing.assert_close(loaded.apply(weights, x), basis.apply(weights, x))


def test_numeric_basis_round_trip_is_exact(tmp_path):
    basis = numeric_basis(SymmetricGroup(3), 1, 1)
    loaded = Basis.load(basis.save(tmp_path / "numeric.json"))
    assert torch.equal(loaded.dense(), basis.dense())
    assert loaded.kind == "numeric" and len(loaded) == len(basis)


def test_the_file_is_plain_versioned_json(tmp_path):
    path = equivariant_basis(SymmetricGroup(2), 1, 1).save(tmp_path / "b.json")
    record = json.loads(path.read_text())
    assert record["format"] == "geomlayers-basis" and record["version"] == 1
    assert record["group"] == "S2" and record["elements"][0]["type"] == "PartitionDiagram"


@pytest.mark.parametrize("name", ["basis.pt", "basis.npy", "basis.pkl", "basis"])
def test_unknown_extensions_are_refused(tmp_path, name):
    basis = equivariant_basis(SymmetricGroup(2), 1, 1)
    with pytest.raises(ValueError, match=r"end in \.json"):
        basis.save(tmp_path / name)
    with pytest.raises(ValueError, match=r"end in \.json"):
        Basis.load(tmp_path / name)
    assert not list(tmp_path.iterdir())


def test_tampered_files_are_refused(tmp_path):
    path = equivariant_basis(SymmetricGroup(3), 1, 1).save(tmp_path / "b.json")
    record = json.loads(path.read_text())
    record["elements"] = record["elements"][:1]
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="checksum"):
        Basis.load(path)
    record["sha256"] = checksum(record)  # a consistent file, but not a basis
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="exactly 2"):
        Basis.load(path)
    path.write_text("{ not json")
    with pytest.raises(ValueError, match="not a geomlayers-basis JSON file"):
        Basis.load(path)
    record["version"] = 99
    record["sha256"] = checksum(record)
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="version 99"):
        Basis.load(path)


def test_load_checks_an_expected_group(tmp_path):
    path = equivariant_basis(SymmetricGroup(3), 1, 1).save(tmp_path / "b.json")
    assert len(Basis.load(path, group=SymmetricGroup(3))) == 2
    with pytest.raises(ValueError, match="not S4"):
        Basis.load(path, group=SymmetricGroup(4))
