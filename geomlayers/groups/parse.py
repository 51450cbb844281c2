"""Short group strings: ``str(group)`` prints one and :func:`parse_group` reads it back.

``parse_group(str(g)) == g`` (with equal hashes) for every family:

==========================================  ==================================================
string                                      group
==========================================  ==================================================
``S5``, ``A5``                              ``SymmetricGroup(5)``, ``AlternatingGroup(5)``
``O3``, ``SO3``                             ``OrthogonalGroup(3)``, ``SpecialOrthogonalGroup(3)``
``Sp4``, ``Sp(4,block)``                    ``SymplecticGroup(4)``, ``…(4, form="block")``
``GL+3``, ``SL3``                           ``GLPlus(3)``, ``SL(3)``
``Aff(SL2)``                                ``Affine(SL(2))``
``E3``, ``SE3``, ``T3``                     Euclidean, special Euclidean, translations
``O(1,3,0)``                                ``PseudoOrthogonal(1, 3, 0)`` (``O(1,3)`` also read)
``Perm5<(0 1 2 3 4),(0 1)>``                ``PermutationGroup`` (generators in cycle notation)
``Aut5<0-1,1-2,2-3,3-4,0-4>``               ``AutomorphismGroup`` (vertex count, edge list)
``aut:<path>``                              Aut of the graph in a file (:func:`read_graph`)
==========================================  ==================================================

Names are case-insensitive, ``S(5)`` equals ``S5``, and keyword arguments are written
``E(3,translation_scale=2.0)``. Families defined outside :mod:`geomlayers.groups` add
themselves with :func:`register_family`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from geomlayers.groups.affine import SL, Affine, GLPlus
from geomlayers.groups.base import Group
from geomlayers.groups.euclidean import EuclideanGroup, SpecialEuclideanGroup, TranslationGroup
from geomlayers.groups.graph import AutomorphismGroup
from geomlayers.groups.orthogonal import OrthogonalGroup, SpecialOrthogonalGroup
from geomlayers.groups.permutation import (
    AlternatingGroup,
    PermutationGroup,
    SymmetricGroup,
    parse_cycles,
)
from geomlayers.groups.pseudo_orthogonal import PseudoOrthogonal
from geomlayers.groups.symplectic import SymplecticGroup

__all__ = ["parse_group", "read_graph", "register_family", "read_edge_list"]

#: family name (upper case) -> factory(*args, **kwargs) -> Group
_FAMILIES: dict[str, Callable[..., Group]] = {}

_USAGE = ("use S<n>, A<n>, O<n>, SO<n>, Sp<n>, GL+<n>, SL<n>, E<n>, SE<n>, T<n>, Aff(<group>), "
          "O(p,q,r), Perm<n><(cycles),...>, Aut<n><u-v,...> or aut:<graph file>")


def register_family(name: str, factory: Callable[..., Group]) -> None:
    """Let :func:`parse_group` read ``NAME<n>`` / ``NAME(args, key=value)`` as ``factory(...)``.

    Arguments are parsed as ints, floats, nested group strings or bare words. A family
    defined in a higher layer (e.g. Clifford's outermorphism groups) registers itself on
    import, so :mod:`geomlayers.groups` never imports it.
    """
    if not re.fullmatch(r"[A-Za-z]+\+?", name):
        raise ValueError(f"family name must be letters (optionally ending in '+'), got {name!r}")
    _FAMILIES[name.upper()] = factory


def _pseudo_orthogonal(*args, **kwargs) -> Group:
    if len(args) == 1 and not kwargs:
        return OrthogonalGroup(*args)
    return PseudoOrthogonal(*args, **kwargs)


for _name, _factory in {
    "S": SymmetricGroup,
    "A": AlternatingGroup,
    "O": _pseudo_orthogonal,
    "SO": SpecialOrthogonalGroup,
    "SP": SymplecticGroup,
    "GL+": GLPlus,
    "SL": SL,
    "AFF": Affine,
    "E": EuclideanGroup,
    "SE": SpecialEuclideanGroup,
    "T": TranslationGroup,
}.items():
    register_family(_name, _factory)


_PAIR = re.compile(r"(\d+)\s*(?:,|-|\s)\s*(\d+)")


def read_edge_list(text: str) -> list[tuple[int, int]]:
    """Pairs of node numbers from text: ``u v``, ``u,v`` or ``u-v``, one per line or item.

    ``#`` starts a comment; several pairs on a line are separated by ``;`` or ``,``
    (``"0-1, 1-2"``). Raises ``ValueError`` naming the first entry that is not a pair of
    non-negative integers (nothing is guessed: ``-1 2`` or ``0 1 2`` is an error).

    >>> read_edge_list("0 1; 1,2  # comment")
    [(0, 1), (1, 2)]
    """
    pairs = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        items = []
        for chunk in line.split(";"):
            chunk = chunk.strip()
            items.extend([chunk] if _PAIR.fullmatch(chunk) else chunk.split(","))
        for item in items:
            item = item.strip()
            if not item:
                continue
            match = _PAIR.fullmatch(item)
            if not match:
                raise ValueError(
                    f"edge list entry {item!r} is not a pair of node numbers; write one "
                    "'u v' (or 'u,v') pair per line"
                )
            pairs.append((int(match.group(1)), int(match.group(2))))
    return pairs


def read_graph(path: str | Path):
    """Read a graph file: ``.g6`` (graph6, first graph), ``.gml``, else an edge list.

    Edge lists have one ``u v`` (or ``u,v``) pair of integers per line (``#`` comments
    allowed); see :func:`read_edge_list`.
    """
    import networkx as nx

    path = Path(path)
    if not path.exists():
        raise ValueError(f"graph file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".g6":
        first = path.read_text().split()[0]
        return nx.from_graph6_bytes(first.encode())
    if suffix == ".gml":
        return nx.read_gml(path, label=None)
    pairs = read_edge_list(path.read_text())
    if not pairs:
        raise ValueError(f"graph file {str(path)!r} holds no edges (one 'u v' pair per line)")
    return pairs


def _split_top(text: str) -> list[str]:
    """Split at commas outside brackets."""
    parts, depth, current = [], 0, []
    for char in text:
        if char in "(<[":
            depth += 1
        elif char in ")>]":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _value(text: str):
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        pass
    if re.fullmatch(r"[A-Za-z]+\+?(\d+|\(.*\)|\d*<.*>)", text):
        return parse_group(text)
    return text


def _build(family: str, args: list, kwargs: dict, spec: str) -> Group:
    factory = _FAMILIES.get(family.upper())
    if factory is None:
        raise ValueError(f"unknown group {spec!r}: {_USAGE}")
    try:
        return factory(*args, **kwargs)
    except TypeError as err:
        raise ValueError(f"cannot build group {spec!r}: {err}") from err


def parse_group(spec: str | Group) -> Group:
    """Build a group from its short string (module docstring); a :class:`Group` passes through.

    >>> parse_group("S5")
    SymmetricGroup(n=5)
    >>> parse_group("Sp4").n
    4
    >>> g = parse_group("Aff(SL2)")
    >>> parse_group(str(g)) == g
    True
    """
    if isinstance(spec, Group):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"group must be a str such as 'S5' or a Group, got {type(spec).__name__}")
    text = spec.strip()
    if text.lower().startswith("aut:"):
        return AutomorphismGroup(read_graph(text[4:]))
    match = re.fullmatch(r"([A-Za-z]+)\s*(\d+)\s*<(.*)>", text, flags=re.DOTALL)
    if match:
        family, n, body = match.group(1).upper(), int(match.group(2)), match.group(3)
        if family == "PERM":
            cycles = [part for part in _split_top(body)]
            return PermutationGroup([parse_cycles(c, n) for c in cycles], n=n)
        if family == "AUT":
            return AutomorphismGroup(read_edge_list(body.replace(",", "\n")), num_nodes=n)
        raise ValueError(f"unknown group {spec!r}: {_USAGE}")
    match = re.fullmatch(r"([A-Za-z]+\+?)\s*\((.*)\)", text, flags=re.DOTALL)
    if match:
        args, kwargs = [], {}
        for part in _split_top(match.group(2)):
            key = re.fullmatch(r"([A-Za-z_]\w*)\s*=\s*(.+)", part)
            if key:
                kwargs[key.group(1)] = _value(key.group(2).strip())
            else:
                args.append(_value(part))
        return _build(match.group(1), args, kwargs, spec)
    match = re.fullmatch(r"([A-Za-z]+\+?)\s*(\d+)", text)
    if match:
        return _build(match.group(1), [int(match.group(2))], {}, spec)
    raise ValueError(f"unknown group {spec!r}: {_USAGE}")
