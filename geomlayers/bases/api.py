"""``equivariant_basis(group, k, l)``: the one entry point to the bases of every family."""

from __future__ import annotations

from geomlayers.bases import cache
from geomlayers.bases.basis import Basis
from geomlayers.bases.numeric import _check_orders
from geomlayers.bases.permutation import (
    TupleOrbit,
    bilabelled_graphs,
    count_jellyfish,
    count_symmetric,
    jellyfish_elements,
    symmetric_elements,
    tuple_orbits,
)
from geomlayers.diagrams.bilabelled import BilabelledGraph
from geomlayers.diagrams.diagram import JellyfishDiagram, OrbitElement, PartitionDiagram
from geomlayers.groups.base import Group
from geomlayers.groups.permutation import (
    AlternatingGroup,
    FinitePermutationGroup,
    SymmetricGroup,
)

__all__ = ["equivariant_basis", "DEFAULT_MAX_ELEMENTS", "basis_size"]

#: bases with more elements than this are refused unless ``max_elements`` is raised
#: (Bell(9) = 21,147 passes, Bell(10) = 115,975 does not).
DEFAULT_MAX_ELEMENTS = 50_000

_KINDS = ("diagram", "orbit")


def basis_size(group: Group, k: int, l: int, *, spanning: bool = False) -> int | None:  # noqa: E741
    """Number of elements :func:`equivariant_basis` would return (``None`` if unknown a priori).

    Computed from closed forms (Stirling numbers) without enumerating anything.
    """
    n, r = group.n, k + l
    if isinstance(group, SymmetricGroup):
        return count_symmetric(n, r, spanning)
    if isinstance(group, AlternatingGroup):
        if n == 1:
            return count_symmetric(n, r, spanning)
        return count_symmetric(n, r, spanning) + count_jellyfish(n, r)
    return None


def equivariant_basis(
    group: Group,
    k: int,
    l: int,  # noqa: E741
    *,
    kind: str = "diagram",
    spanning: bool = False,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    use_cache: bool = True,
) -> Basis:
    """Basis of the linear maps ``(R^n)^{⊗k} → (R^n)^{⊗l}`` that commute with ``group``.

    Args:
        group: ``SymmetricGroup``, ``AlternatingGroup``, ``AutomorphismGroup`` or any
            ``PermutationGroup``; other groups: see :func:`~geomlayers.bases.numeric_basis`.
        k: input order (``>= 0``).
        l: output order (``>= 0``).
        kind: ``"diagram"`` (partition / jellyfish diagrams) or ``"orbit"`` (orbit basis
            ``X_π`` for S_n; for other permutation groups both kinds give orbit indicators).
        spanning: return the full spanning set (all Bell(k+l) diagrams for S_n and A_n;
            bilabelled graphs for other permutation groups) instead of a basis.
        max_elements: refuse (``ValueError`` naming the count) above this many elements.
        use_cache: read / write the on-disk cache (:mod:`geomlayers.bases.cache`).

    Returns:
        A :class:`Basis`; elements in the order documented in :mod:`geomlayers.bases.permutation`.

    >>> from geomlayers.groups import SymmetricGroup
    >>> len(equivariant_basis(SymmetricGroup(5), 2, 2, use_cache=False))
    15
    >>> len(equivariant_basis(SymmetricGroup(2), 2, 2, use_cache=False))  # not Bell(4)
    8

    """
    _check_orders(k, l)
    if not isinstance(group, Group):
        raise TypeError(f"group must be a geomlayers Group, got {type(group).__name__}")
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    if not isinstance(group, FinitePermutationGroup):
        raise NotImplementedError(
            f"no diagram basis for {group} yet; use geomlayers.bases.numeric_basis(group, k, l)"
        )
    if spanning and kind == "orbit" and isinstance(group, (SymmetricGroup, AlternatingGroup)):
        raise ValueError("spanning=True applies to kind='diagram' (orbit elements with more "
                         "than n blocks are zero); drop spanning or use kind='diagram'")
    size = basis_size(group, k, l, spanning=spanning)
    if size is not None and size > max_elements:
        raise ValueError(
            f"{group}, k={k}, l={l} has {size:,} basis elements (k+l={k + l}), above "
            f"max_elements={max_elements:,}; pass max_elements={size} to build it anyway"
        )
    key = f"v1|{group!r}|k={k}|l={l}|kind={kind}|spanning={spanning}"
    if use_cache:
        payload = cache.load(key)
        if payload is not None:
            return _from_payload(group, k, l, payload)
    basis = _build(group, k, l, kind, spanning)
    if len(basis) > max_elements:
        raise ValueError(
            f"{group}, k={k}, l={l} has {len(basis):,} basis elements, above "
            f"max_elements={max_elements:,}; pass max_elements={len(basis)} to allow it"
        )
    if use_cache:
        cache.store(key, _to_payload(basis))
    return basis


def _build(group: FinitePermutationGroup, k: int, l: int, kind: str, spanning: bool) -> Basis:  # noqa: E741
    n = group.n
    if isinstance(group, SymmetricGroup):
        elements = symmetric_elements(n, k, l, kind=kind, spanning=spanning)
        return Basis(group, k, l, elements, kind=kind, is_basis=not spanning or n >= k + l)
    if isinstance(group, AlternatingGroup):
        elements = symmetric_elements(n, k, l, kind=kind, spanning=spanning)
        elements += jellyfish_elements(n, k, l)
        return Basis(group, k, l, elements, kind=kind, is_basis=not spanning or n >= k + l)
    if spanning:
        return Basis(group, k, l, bilabelled_graphs(k, l), kind="bilabelled", is_basis=False)
    return Basis(group, k, l, tuple_orbits(group, k, l), kind="orbit", is_basis=True)


_ELEMENT_TYPES = {
    "D": PartitionDiagram,
    "X": OrbitElement,
    "J": JellyfishDiagram,
}


def _to_payload(basis: Basis) -> dict:
    return {
        "kind": basis.kind,
        "is_basis": basis.is_basis,
        "elements": [[e.symbol, e.to_json()] for e in basis.elements],
    }


def _from_payload(group: Group, k: int, l: int, payload: dict) -> Basis:  # noqa: E741
    elements = []
    for symbol, data in payload["elements"]:
        if symbol in _ELEMENT_TYPES:
            blocks = tuple(tuple(b) for b in data)
            elements.append(_ELEMENT_TYPES[symbol](k=k, l=l, blocks=blocks))
        elif symbol == "O":
            elements.append(TupleOrbit(group=group, k=k, l=l, representative=tuple(data)))
        elif symbol == "H":
            size, edges, labels = data
            elements.append(BilabelledGraph(k=k, l=l, num_vertices=size,
                                            edges=tuple(map(tuple, edges)), labels=tuple(labels)))
        else:
            raise ValueError(f"unknown element symbol {symbol!r} in basis cache")
    return Basis(group, k, l, elements, kind=payload["kind"], is_basis=payload["is_basis"])
