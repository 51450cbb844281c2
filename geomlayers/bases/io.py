"""Basis files: a documented, versioned JSON format (never pickle); also the cache's payload.

A file written by :meth:`geomlayers.bases.Basis.save` (format ``geomlayers-basis``, version 1,
specified in docs/bases.md) is one UTF-8 JSON object::

    {"format": "geomlayers-basis", "version": 1, "library": "0.1.0",
     "group": "SO3", "k": 2, "l": 1, "kind": "diagram", "is_basis": true,
     "elements": [{"type": "BrauerGroodDiagram", "blocks": [], "free": [0, 1, 2]}, ...],
     "sha256": "<hex digest of the canonical JSON of every other field>"}

``group`` is the group's short string, read back by :func:`geomlayers.groups.parse_group`;
``elements`` are in the basis order. Element records by ``type``: ``PartitionDiagram``,
``OrbitElement``, ``JellyfishDiagram`` (``blocks``: lists of vertices),
``SymplecticBrauerDiagram`` (``blocks``: pairs, ``form``), ``BrauerGroodDiagram`` (``blocks``:
pairs, ``free``: the ``n`` free vertices), ``TupleOrbit`` (``representative``: ``k + l``
indices), ``BilabelledGraph`` (``num_vertices``, ``edges``, ``labels``) and ``Numeric``
(``values``: the ``n^(l+k)`` entries of the tensor, row-major, as JSON numbers — exact for
float64 because Python writes the shortest round-tripping decimal).
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

import torch

from geomlayers.bases.permutation import TupleOrbit
from geomlayers.diagrams.bilabelled import BilabelledGraph
from geomlayers.diagrams.brauer import BrauerGroodDiagram, SymplecticBrauerDiagram
from geomlayers.diagrams.diagram import JellyfishDiagram, OrbitElement, PartitionDiagram
from geomlayers.groups.base import Group
from geomlayers.groups.parse import parse_group
from geomlayers.paths import atomic_write

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "SUFFIXES",
    "library_version",
    "checksum",
    "encode_element",
    "decode_element",
    "make_record",
    "read_record",
    "write_file",
    "check_basis_path",
    "read_file",
]

FORMAT_NAME = "geomlayers-basis"
FORMAT_VERSION = 1
#: file name endings :meth:`Basis.save` writes and :meth:`Basis.load` reads.
SUFFIXES = (".json",)

_BLOCK_TYPES = {
    "PartitionDiagram": PartitionDiagram,
    "OrbitElement": OrbitElement,
    "JellyfishDiagram": JellyfishDiagram,
}


def library_version() -> str:
    """The installed geomlayers version (``"unknown"`` when not installed)."""
    try:
        return metadata.version("geomlayers")
    except metadata.PackageNotFoundError:  # pragma: no cover - source checkout on sys.path
        return "unknown"


def encode_element(element) -> dict:
    """JSON-able record of one element (module docstring)."""
    if isinstance(element, (PartitionDiagram, OrbitElement, JellyfishDiagram)):
        return {"type": type(element).__name__, "blocks": [list(b) for b in element.blocks]}
    if isinstance(element, SymplecticBrauerDiagram):
        return {"type": "SymplecticBrauerDiagram", "blocks": [list(p) for p in element.blocks],
                "form": element.form}
    if isinstance(element, BrauerGroodDiagram):
        return {"type": "BrauerGroodDiagram", "blocks": [list(p) for p in element.blocks],
                "free": list(element.free)}
    if isinstance(element, TupleOrbit):
        return {"type": "TupleOrbit", "representative": list(element.representative)}
    if isinstance(element, BilabelledGraph):
        return {"type": "BilabelledGraph", "num_vertices": element.num_vertices,
                "edges": [list(e) for e in element.edges], "labels": list(element.labels)}
    raise TypeError(f"cannot encode a basis element of type {type(element).__name__}")


def _ints(value, name: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{name} must be a list of integers, got {value!r}")
    return tuple(value)


def decode_element(record: dict, k: int, l: int, group: Group):  # noqa: E741
    """The element of :func:`encode_element`'s ``record`` (``ValueError`` if malformed)."""
    if not isinstance(record, dict) or "type" not in record:
        raise ValueError(f"an element record must be an object with a 'type', got {record!r}")
    kind = record["type"]
    if kind in _BLOCK_TYPES:
        blocks = tuple(_ints(b, "blocks") for b in record["blocks"])
        return _BLOCK_TYPES[kind](k=k, l=l, blocks=blocks)
    if kind == "SymplecticBrauerDiagram":
        pairs = tuple(_ints(p, "blocks") for p in record["blocks"])
        return SymplecticBrauerDiagram(k=k, l=l, blocks=pairs, form=str(record["form"]))
    if kind == "BrauerGroodDiagram":
        pairs = tuple(_ints(p, "blocks") for p in record["blocks"])
        return BrauerGroodDiagram(k=k, l=l, blocks=pairs, free=_ints(record["free"], "free"))
    if kind == "TupleOrbit":
        representative = _ints(record["representative"], "representative")
        if len(representative) != k + l or any(not 0 <= v < group.n for v in representative):
            raise ValueError(f"orbit representative {representative} is not in [n]^(k+l)")
        return TupleOrbit(group=group, k=k, l=l, representative=representative)
    if kind == "BilabelledGraph":
        return BilabelledGraph(k=k, l=l, num_vertices=int(record["num_vertices"]),
                               edges=tuple(_ints(e, "edges") for e in record["edges"]),
                               labels=_ints(record["labels"], "labels"))
    raise ValueError(f"unknown basis element type {kind!r}")


def checksum(record: dict) -> str:
    """SHA-256 of the canonical JSON of every field but ``sha256``."""
    body = {key: value for key, value in record.items() if key != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def make_record(group: Group, k: int, l: int, kind: str, is_basis: bool,  # noqa: E741
                elements, tensors: torch.Tensor | None = None, **extra) -> dict:
    """The file / cache record of a basis (module docstring); ``extra`` fields are added."""
    if tensors is not None:
        encoded = [{"type": "Numeric", "values": t.reshape(-1).tolist()}
                   for t in tensors.to(torch.float64)]
    else:
        encoded = [encode_element(e) for e in elements]
    record = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "library": library_version(),
        "group": str(group), "k": k, "l": l, "kind": kind, "is_basis": bool(is_basis),
        "elements": encoded, **extra,
    }
    record["sha256"] = checksum(record)
    return record


def read_record(record: dict, group: Group | None = None):
    """``(group, k, l, kind, is_basis, elements, tensors)`` of a record; ``ValueError`` if bad.

    ``group``: when given, the record's group string must be ``str(group)``; otherwise the
    group is rebuilt by :func:`~geomlayers.groups.parse_group`.
    """
    if not isinstance(record, dict) or record.get("format") != FORMAT_NAME:
        raise ValueError(f"not a {FORMAT_NAME} record (no 'format': {FORMAT_NAME!r} field)")
    if record.get("version") != FORMAT_VERSION:
        raise ValueError(f"{FORMAT_NAME} version {record.get('version')!r} is not supported "
                         f"(this geomlayers reads version {FORMAT_VERSION})")
    if record.get("sha256") != checksum(record):
        raise ValueError("the checksum does not match the content (the file was modified or "
                         "truncated)")
    if group is None:
        group = parse_group(record["group"])
    elif record["group"] != str(group):
        raise ValueError(f"the record is for group {record['group']!r}, not {group}")
    k, l = record["k"], record["l"]  # noqa: E741
    for name, value in (("k", k), ("l", l)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    elements, tensors = [], None
    raw = record["elements"]
    if not isinstance(raw, list):
        raise ValueError("'elements' must be a list")
    if raw and all(isinstance(e, dict) and e.get("type") == "Numeric" for e in raw):
        n = group.n
        values = [e["values"] for e in raw]
        if any(len(v) != n ** (k + l) for v in values):
            raise ValueError(f"numeric elements must have n^(k+l) = {n ** (k + l)} values")
        tensors = torch.tensor(values, dtype=torch.float64).reshape(-1, n**l, n**k)
        elements = [f"numeric[{i}]" for i in range(len(values))]
    else:
        elements = [decode_element(e, k, l, group) for e in raw]
    return group, k, l, record["kind"], bool(record["is_basis"]), elements, tensors


def check_basis_path(path: str | Path) -> Path:
    """``Path(path)``, or ``ValueError`` unless it ends in one of :data:`SUFFIXES`."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(
            f"basis files end in {' or '.join(SUFFIXES)} (the {FORMAT_NAME} JSON format of "
            f"docs/bases.md), got {str(path)!r}; torch.save/pickle files are not read or "
            "written"
        )
    return path


def write_file(record: dict, path: str | Path) -> Path:
    """Write a record to ``path`` (``.json``) atomically."""
    path = Path(path)
    check_basis_path(path)
    return atomic_write(path, json.dumps(record))


def read_file(path: str | Path) -> dict:
    """The record in ``path``; ``ValueError`` naming the file when it is not a basis file."""
    path = Path(path)
    check_basis_path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a {FORMAT_NAME} JSON file ({error})") from error
