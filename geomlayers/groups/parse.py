"""Parse short group names: ``S5``, ``A4``, ``O3``, ``SO3``, ``Sp4``, ``aut:<graph file>``."""

from __future__ import annotations

import re
from pathlib import Path

from geomlayers.groups.base import Group
from geomlayers.groups.euclidean import EuclideanGroup, SpecialEuclideanGroup, TranslationGroup
from geomlayers.groups.graph import AutomorphismGroup
from geomlayers.groups.orthogonal import OrthogonalGroup, SpecialOrthogonalGroup
from geomlayers.groups.permutation import AlternatingGroup, SymmetricGroup
from geomlayers.groups.symplectic import SymplecticGroup

__all__ = ["parse_group", "read_graph"]

_NAMED = {
    "S": SymmetricGroup,
    "A": AlternatingGroup,
    "O": OrthogonalGroup,
    "SO": SpecialOrthogonalGroup,
    "SP": SymplecticGroup,
    "E": EuclideanGroup,
    "SE": SpecialEuclideanGroup,
    "T": TranslationGroup,
}


def read_graph(path: str | Path):
    """Read a graph file: ``.g6`` (graph6, first graph), ``.gml``, else an edge list.

    Edge lists have one ``u v`` pair of integers per line (``#`` comments allowed).
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
    return nx.read_edgelist(path, nodetype=int, comments="#")


def parse_group(spec: str) -> Group:
    """Build a group from a short name.

    ``S<n>``, ``A<n>``, ``O<n>``, ``SO<n>``, ``Sp<n>`` (n even; also ``S(5)``), ``E<d>``,
    ``SE<d>``, ``T<d>`` (Euclidean groups of ``R^d``), or
    ``aut:<path>`` for the automorphism group of the graph in a file (see :func:`read_graph`).

    >>> parse_group("S5")
    SymmetricGroup(n=5)
    >>> parse_group("Sp4").n
    4
    """
    text = spec.strip()
    if text.lower().startswith("aut:"):
        return AutomorphismGroup(read_graph(text[4:]))
    match = re.fullmatch(r"(SO|SP|SE|S|A|O|E|T)\(?(\d+)\)?", text, flags=re.IGNORECASE)
    if not match:
        raise ValueError(
            f"unknown group {spec!r}: use S<n>, A<n>, O<n>, SO<n>, Sp<n>, E<d>, SE<d>, T<d> or "
            "aut:<graph file>"
        )
    family, n = match.group(1).upper(), int(match.group(2))
    return _NAMED[family](n)
