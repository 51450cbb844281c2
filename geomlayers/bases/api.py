"""``equivariant_basis(group, k, l)``: the one entry point to the bases of every family."""

from __future__ import annotations

from geomlayers.bases import brauer as _brauer
from geomlayers.bases import cache
from geomlayers.bases.basis import Basis
from geomlayers.bases.checks import content_problem, expected_size
from geomlayers.bases.dimension import equivariant_dimension
from geomlayers.bases.io import make_record
from geomlayers.bases.numeric import _check_orders
from geomlayers.bases.permutation import (
    bilabelled_graphs,
    count_jellyfish,
    count_symmetric,
    jellyfish_elements,
    symmetric_elements,
    tuple_orbits,
)
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

    Computed from closed forms (Stirling numbers, double factorials, Weyl's integration
    formula: :func:`~geomlayers.bases.dimension.equivariant_dimension`) without enumerating
    anything.
    """
    n, r = group.n, k + l
    if isinstance(group, _brauer.BRAUER_GROUPS):
        if spanning or _brauer.is_independent(group, r):
            return _brauer.spanning_size(group, r)
        return equivariant_dimension(group, k, l)  # None only beyond the Weyl grid limit
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
    progress: bool | None = None,
) -> Basis:
    """Basis of the linear maps ``(R^n)^{⊗k} → (R^n)^{⊗l}`` that commute with ``group``.

    Args:
        group: ``SymmetricGroup``, ``AlternatingGroup``, ``AutomorphismGroup`` or any
            ``PermutationGroup``; ``OrthogonalGroup``, ``SpecialOrthogonalGroup``,
            ``SymplecticGroup`` (Brauer-type diagrams, :mod:`geomlayers.bases.brauer`); other
            groups: see :func:`~geomlayers.bases.numeric_basis`.
        k: input order (``>= 0``).
        l: output order (``>= 0``).
        kind: ``"diagram"`` (partition / jellyfish diagrams) or ``"orbit"`` (orbit basis
            ``X_π`` for S_n; for other permutation groups both kinds give orbit indicators).
        spanning: return the full spanning set (all Bell(k+l) diagrams for S_n and A_n;
            bilabelled graphs for other permutation groups; all (k+l-1)!! Brauer diagrams for
            O(n) and Sp(n), plus the Brauer–Grood diagrams for SO(n)) instead of a basis.
        max_elements: refuse (``ValueError`` naming the count) above this many elements.
        use_cache: read / write the on-disk cache (:mod:`geomlayers.bases.cache`).
        progress: progress bar on stderr while enumerating more than 10,000 elements:
            ``None`` (on for a terminal), ``True`` or ``False``; ``GEOMLAYERS_PROGRESS=0``
            silences it globally (:mod:`geomlayers.progress`).

    Returns:
        A :class:`Basis`; elements in the order documented in :mod:`geomlayers.bases.permutation`.

    >>> from geomlayers.groups import SymmetricGroup
    >>> len(equivariant_basis(SymmetricGroup(5), 2, 2, use_cache=False))
    15
    >>> len(equivariant_basis(SymmetricGroup(2), 2, 2, use_cache=False))  # not Bell(4)
    8
    >>> from geomlayers.groups import SpecialOrthogonalGroup
    >>> print(equivariant_basis(SpecialOrthogonalGroup(3), 2, 1, use_cache=False)[0])
    H[ε / ε ε]

    """
    _check_orders(k, l)
    if not isinstance(group, Group):
        raise TypeError(f"group must be a geomlayers Group, got {type(group).__name__}")
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    if isinstance(group, _brauer.BRAUER_GROUPS):
        return _brauer_basis(group, k, l, kind, spanning, max_elements, use_cache, progress)
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
    cacheable = use_cache and not (spanning and not isinstance(
        group, (SymmetricGroup, AlternatingGroup))) and expected_size(
        group, k, l, spanning) is not None  # only what content_problem can check
    if cacheable:
        stored = _load(group, k, l, kind, spanning)
        if stored is not None:
            return stored
    basis = _build(group, k, l, kind, spanning, progress)
    if len(basis) > max_elements:
        raise ValueError(
            f"{group}, k={k}, l={l} has {len(basis):,} basis elements, above "
            f"max_elements={max_elements:,}; pass max_elements={len(basis)} to allow it"
        )
    if cacheable:
        _store(basis, kind, spanning)
    return basis


def _stored_kind(group: Group, kind: str, spanning: bool) -> str:
    """The ``Basis.kind`` that ``equivariant_basis(..., kind=kind, spanning=...)`` returns."""
    if isinstance(group, (SymmetricGroup, AlternatingGroup, *_brauer.BRAUER_GROUPS)):
        return kind
    return "bilabelled" if spanning else "orbit"


def _load(group: Group, k: int, l: int, kind: str, spanning: bool) -> Basis | None:  # noqa: E741
    """The cached basis, if present and its content passes :func:`content_problem`."""
    expected_kind = _stored_kind(group, kind, spanning)

    def check(fields) -> str | None:
        _, _, _, stored_kind, is_basis, elements, _ = fields
        if stored_kind != expected_kind:
            return f"kind {stored_kind!r} instead of {expected_kind!r}"
        return content_problem(group, k, l, elements, spanning=spanning, is_basis=is_basis,
                               canonical=True)

    fields = cache.load(cache.make_key(group, k, l, kind, spanning), group, check)
    if fields is None:
        return None
    _, _, _, stored_kind, is_basis, elements, _ = fields
    return Basis(group, k, l, elements, kind=stored_kind, is_basis=is_basis)


def _store(basis: Basis, kind: str, spanning: bool) -> None:
    record = make_record(basis.group, basis.k, basis.l, basis.kind, basis.is_basis,
                         basis.elements)
    cache.store(cache.make_key(basis.group, basis.k, basis.l, kind, spanning), record)


def _brauer_basis(
    group: Group, k: int, l: int, kind: str, spanning: bool,  # noqa: E741
    max_elements: int, use_cache: bool, progress: bool | None = None,
) -> Basis:
    """O(n), SO(n), Sp(n): the Brauer-type spanning set, or an independent subset of it."""
    if kind != "diagram":
        raise ValueError(f"kind must be 'diagram' for {group} (there is no orbit basis), "
                         f"got {kind!r}")
    r = k + l
    independent = _brauer.is_independent(group, r)
    selecting = not spanning and not independent
    # the guard is on what is returned: a selected basis has the dimension's size
    size = (equivariant_dimension(group, k, l) if selecting else None) or \
        _brauer.spanning_size(group, r)
    if size > max_elements:
        what = "basis elements" if selecting else "spanning diagrams"
        raise ValueError(
            f"{group}, k={k}, l={l} has {size:,} {what} (k+l={r}), above "
            f"max_elements={max_elements:,}; pass max_elements={size} to build it anyway"
        )
    if use_cache and selecting:  # only the rank selection is worth caching
        stored = _load(group, k, l, kind, spanning)
        if stored is not None:
            return stored
    elements = _brauer.spanning_elements(group, k, l, progress=progress)
    if selecting:
        elements = _brauer.select_basis(group, k, l, elements, progress=progress)
    basis = Basis(group, k, l, elements, kind=kind, is_basis=independent or not spanning)
    if use_cache and selecting:
        _store(basis, kind, spanning)
    return basis


def _build(group: FinitePermutationGroup, k: int, l: int, kind: str, spanning: bool,  # noqa: E741
           progress: bool | None = None) -> Basis:
    n = group.n
    if isinstance(group, SymmetricGroup):
        elements = symmetric_elements(n, k, l, kind=kind, spanning=spanning, progress=progress)
        return Basis(group, k, l, elements, kind=kind, is_basis=not spanning or n >= k + l)
    if isinstance(group, AlternatingGroup):
        elements = symmetric_elements(n, k, l, kind=kind, spanning=spanning, progress=progress)
        elements += jellyfish_elements(n, k, l, progress=progress)
        return Basis(group, k, l, elements, kind=kind, is_basis=not spanning or n >= k + l)
    if spanning:
        return Basis(group, k, l, bilabelled_graphs(k, l), kind="bilabelled", is_basis=False)
    orbits = tuple_orbits(group, k, l, progress=progress)
    return Basis(group, k, l, orbits, kind="orbit", is_basis=True)
