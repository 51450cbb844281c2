"""Content checks of a stored basis: is a list of elements the basis it claims to be.

A checksum proves a file is the one that was written, not that its content is right (another
version's enumeration order, a hand edit with a recomputed checksum, a bug in a writer).
:func:`content_problem` checks what can be checked without recomputing the basis:

* every element is of the right type for the group, ``(k, l)`` and ``n`` (block counts,
  number of free vertices, symplectic form), with no duplicates;
* the number of elements equals the exact count: the spanning-set size, or the dimension
  (:func:`geomlayers.bases.dimension.equivariant_dimension`) for a basis;
* for bases from :func:`~geomlayers.bases.equivariant_basis` (``canonical=True``), the
  elements are in the documented enumeration order (docs/bases.md, docs/brauer.md), and the
  O(n) / Sp(n) diagrams satisfy the selection rule of :mod:`geomlayers.bases.standard`.

For S_n, A_n, O(n) and Sp(n) these checks pin the list down completely (a strictly increasing
list of the right length drawn from a set of that size is the set in order).
"""

from __future__ import annotations

from geomlayers.bases import brauer as _brauer
from geomlayers.bases.dimension import equivariant_dimension
from geomlayers.bases.permutation import TupleOrbit, count_jellyfish, count_symmetric
from geomlayers.bases.standard import is_standard
from geomlayers.diagrams.brauer import BrauerGroodDiagram, SymplecticBrauerDiagram
from geomlayers.diagrams.diagram import JellyfishDiagram, OrbitElement, PartitionDiagram
from geomlayers.groups.base import Group
from geomlayers.groups.permutation import AlternatingGroup, SymmetricGroup
from geomlayers.groups.symplectic import SymplecticGroup

__all__ = ["expected_size", "content_problem"]


def expected_size(group: Group, k: int, l: int, spanning: bool) -> int | None:  # noqa: E741
    """Exact number of elements of ``equivariant_basis(group, k, l, spanning=...)`` or None."""
    r = k + l
    if isinstance(group, _brauer.BRAUER_GROUPS):
        if spanning or _brauer.is_independent(group, r):
            return _brauer.spanning_size(group, r)
        return equivariant_dimension(group, k, l)
    if isinstance(group, SymmetricGroup):
        return count_symmetric(group.n, r, spanning)
    if isinstance(group, AlternatingGroup):
        return count_symmetric(group.n, r, spanning) + count_jellyfish(group.n, r)
    if spanning:
        return None
    return equivariant_dimension(group, k, l)


def _order_key(element, brauer: bool) -> tuple:
    """Sort key of the enumeration order (matchings lexicographic; partitions by RGS)."""
    if isinstance(element, BrauerGroodDiagram):
        return (1, element.free, element.blocks)
    if isinstance(element, SymplecticBrauerDiagram) or (
            brauer and isinstance(element, PartitionDiagram)):
        return (0, (), element.blocks)
    if isinstance(element, JellyfishDiagram):
        return (1, element.block_of_vertex())
    if isinstance(element, (PartitionDiagram, OrbitElement)):
        return (0, element.block_of_vertex())
    if isinstance(element, TupleOrbit):
        return element.representative
    raise TypeError(type(element).__name__)


def _element_problem(element, group: Group, k: int, l: int, spanning: bool) -> str | None:  # noqa: E741
    n = group.n
    if (getattr(element, "k", k), getattr(element, "l", l)) != (k, l):
        return f"element {element} is not a ({k}, {l}) element"
    brauer = isinstance(group, _brauer.BRAUER_GROUPS)
    if isinstance(element, BrauerGroodDiagram):
        if not brauer or len(element.free) != n:
            return f"{element} is not an element for {group}"
    elif isinstance(element, SymplecticBrauerDiagram):
        if not isinstance(group, SymplecticGroup) or element.form != group.form:
            return f"{element} (form {element.form!r}) is not an element for {group}"
    elif isinstance(element, JellyfishDiagram):
        if not isinstance(group, AlternatingGroup) or element.num_blocks not in (n - 1, n):
            return f"{element} is not a jellyfish diagram of {group}"
    elif isinstance(element, (PartitionDiagram, OrbitElement)):
        if brauer and any(len(b) != 2 for b in element.blocks):
            return f"{element} is not a Brauer diagram"
        if not brauer and not spanning and element.num_blocks > n:
            return f"{element} has more than n={n} blocks"
    return None


def content_problem(group: Group, k: int, l: int, elements, *, spanning: bool,  # noqa: E741
                    is_basis: bool, canonical: bool) -> str | None:
    """What is wrong with ``elements`` as the stored basis, or ``None`` (module docstring)."""
    elements = list(elements)
    if any(isinstance(e, str) for e in elements):  # numeric bases: only the count is known
        if is_basis:
            dim = equivariant_dimension(group, k, l)
            if dim is not None and dim != len(elements):
                return f"{len(elements)} numeric elements, but the dimension is {dim}"
        return None
    try:
        if len(set(elements)) != len(elements):
            return "an element occurs twice"
    except TypeError:
        return "elements are not hashable"
    for element in elements:
        problem = _element_problem(element, group, k, l, spanning)
        if problem:
            return problem
    expected = expected_size(group, k, l, spanning) if (is_basis or canonical) else None
    if expected is not None and expected != len(elements):
        return f"{len(elements)} elements where {group}, k={k}, l={l} has exactly {expected}"
    if canonical:
        if expected is None:
            return f"the element count of {group}, k={k}, l={l} cannot be checked"
        try:
            brauer = isinstance(group, _brauer.BRAUER_GROUPS)
            keys = [_order_key(e, brauer) for e in elements]
        except TypeError as error:
            return f"no canonical order for {error} elements"
        if any(a >= b for a, b in zip(keys, keys[1:], strict=False)):
            return "the elements are not in the documented order"
        if isinstance(group, _brauer.BRAUER_GROUPS) and not spanning:
            kind = "Sp" if isinstance(group, SymplecticGroup) else "O"
            r = k + l
            if not _brauer.is_independent(group, r) and not all(
                    is_standard(e.blocks, r, kind, group.n) for e in elements
                    if not isinstance(e, BrauerGroodDiagram)):
                return "a diagram outside the documented selection rule"
    return None
