"""Bases for O(n), SO(n) and Sp(n) from Brauer-type diagrams (Pearce-Crump, arXiv 2212.08630).

Spanning sets (``docs/brauer.md``), in the fixed order of :mod:`geomlayers.diagrams.brauer`:

* O(n): the ``(r-1)!!`` Brauer diagrams ``E_β`` (``r = k + l``); a basis iff ``2n >= r``.
* SO(n): the Brauer diagrams, then the ``C(r, n)(r-n-1)!!`` Brauer–Grood diagrams ``H_α``;
  a basis iff ``2n >= r`` and (``r <= n`` or ``r - n`` odd).
* Sp(n): the ``(r-1)!!`` symplectic Brauer diagrams ``F_β``; a basis iff ``n >= r``.

When the spanning set is dependent, :func:`select_independent` keeps the elements that are
not in the span of the elements before them (greedy in the fixed order). It never forms the
``n^{k+l}``-column dense matrix of the elements: it builds their exact integer Gram matrix
``G = S Sᵀ`` from the sparse entries ``S`` (``G[i, j] = ⟨T_i, T_j⟩``; ``null(G) = null(Sᵀ)``,
so the columns of ``G`` have the same linear dependencies as the elements) and finds the pivot
columns of ``G`` by Gaussian elimination modulo the prime ``p = 2^31 - 1`` (exact integer
arithmetic; the pivots over ``F_p`` equal those over ``Q`` unless ``p`` divides one of the
minors involved, which the tests rule out against a floating-point null space for every case
they cover). The dependent cases are exactly the small-``n`` ones, where the entries are few.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse

from geomlayers.diagrams.brauer import (
    BrauerGroodDiagram,
    SymplecticBrauerDiagram,
    brauer_diagrams,
    brauer_grood_diagrams,
    count_brauer,
    count_brauer_grood,
    symplectic_brauer_diagrams,
)
from geomlayers.diagrams.diagram import PartitionDiagram
from geomlayers.groups.base import Group
from geomlayers.groups.orthogonal import OrthogonalGroup, SpecialOrthogonalGroup
from geomlayers.groups.symplectic import SymplecticGroup
from geomlayers.progress import ELEMENT_THRESHOLD, progress_bar

__all__ = [
    "BRAUER_GROUPS",
    "spanning_elements",
    "spanning_size",
    "is_independent",
    "select_independent",
    "gram_matrix",
    "pivot_columns_mod_p",
    "MAX_GRAM_ENTRIES",
    "to_payload",
    "from_payload",
]

BRAUER_GROUPS = (OrthogonalGroup, SpecialOrthogonalGroup, SymplecticGroup)

#: refuse to select a basis when the spanning set has more non-zero entries than this.
MAX_GRAM_ENTRIES = 20_000_000  # about 0.5 GB of index arrays at the peak

_PRIME = 2**31 - 1


def spanning_elements(group: Group, k: int, l: int, *,  # noqa: E741
                      progress: bool | None = None) -> list:
    """The spanning set of ``Hom_G((R^n)^{⊗k}, (R^n)^{⊗l})`` in its fixed order.

    A progress bar (:mod:`geomlayers.progress`) shows above ``ELEMENT_THRESHOLD`` diagrams.
    """
    if isinstance(group, OrthogonalGroup):
        diagrams = brauer_diagrams(k, l)
    elif isinstance(group, SpecialOrthogonalGroup):
        diagrams = itertools.chain(brauer_diagrams(k, l), brauer_grood_diagrams(group.n, k, l))
    elif isinstance(group, SymplecticGroup):
        diagrams = symplectic_brauer_diagrams(k, l, group.form)
    else:
        raise TypeError(f"no Brauer-type spanning set for {group}")
    return list(progress_bar(diagrams, total=spanning_size(group, k + l),
                             desc=f"{group} diagrams", progress=progress,
                             min_total=ELEMENT_THRESHOLD, unit="diagram"))


def spanning_size(group: Group, r: int) -> int:
    """Size of the spanning set for ``k + l = r`` (closed form, nothing enumerated)."""
    if isinstance(group, SpecialOrthogonalGroup):
        return count_brauer(r) + count_brauer_grood(group.n, r)
    return count_brauer(r)


def is_independent(group: Group, r: int) -> bool:
    """Whether the spanning set for ``k + l = r`` is linearly independent (``docs/brauer.md``)."""
    n = group.n
    if isinstance(group, OrthogonalGroup):
        return 2 * n >= r
    if isinstance(group, SpecialOrthogonalGroup):
        return 2 * n >= r and (r <= n or (r - n) % 2 == 1)
    return n >= r


def _flat_entries(element, n: int) -> tuple[np.ndarray, np.ndarray]:
    coords, values = element.entries(n)
    flat = np.zeros(coords.shape[0], dtype=np.int64)
    for axis in range(coords.shape[1]):
        flat = flat * n + coords[:, axis].numpy()
    return flat, values.numpy().astype(np.int64)


def gram_matrix(elements: list, n: int, r: int, *, progress: bool | None = None) -> np.ndarray:
    """Exact integer Gram matrix ``G[i, j] = Σ_x T_i[x] T_j[x]`` ``(m, m)`` int64.

    Built from the sparse entries; raises ``ValueError`` above :data:`MAX_GRAM_ENTRIES`.
    A progress bar (:mod:`geomlayers.progress`) shows above ``ELEMENT_THRESHOLD // 10``
    elements (each one's entries are expanded, which is the slow step).
    """
    if n**r >= 2**62:
        raise ValueError(f"n^(k+l) = {n}^{r} does not fit 64-bit flat indices")
    rows, cols, data = [], [], []
    total = 0
    for index, element in enumerate(progress_bar(
            elements, desc="Gram matrix", progress=progress,
            min_total=ELEMENT_THRESHOLD // 10, unit="element")):
        flat, values = _flat_entries(element, n)
        total += len(flat)
        if total > MAX_GRAM_ENTRIES:
            raise ValueError(
                f"selecting a basis needs the entries of {len(elements)} elements (more than "
                f"MAX_GRAM_ENTRIES={MAX_GRAM_ENTRIES:,}); pass spanning=True to use the "
                "(dependent) spanning set instead"
            )
        rows.append(np.full(len(flat), index, dtype=np.int64))
        cols.append(flat)
        data.append(values)
    if not elements:
        return np.zeros((0, 0), dtype=np.int64)
    # column indices are compressed to the support (n^r may exceed scipy's index range)
    support, compressed = np.unique(np.concatenate(cols), return_inverse=True)
    matrix = scipy.sparse.csr_matrix(
        (np.concatenate(data), (np.concatenate(rows), compressed)),
        shape=(len(elements), len(support)), dtype=np.int64,
    )
    return np.asarray((matrix @ matrix.T).todense(), dtype=np.int64)


def pivot_columns_mod_p(matrix: np.ndarray, p: int = _PRIME) -> list[int]:
    """Pivot columns of the row echelon form of an integer matrix over ``F_p``.

    These are the columns not in the span of the columns before them (greedy, left to right).

    >>> pivot_columns_mod_p(np.array([[1, 2, 0], [2, 4, 1]]))
    [0, 2]
    """
    a = np.mod(np.asarray(matrix, dtype=np.int64), p)
    pivots: list[int] = []
    row = 0
    for col in range(a.shape[1]):
        if row == a.shape[0]:
            break
        nonzero = np.flatnonzero(a[row:, col])
        if len(nonzero) == 0:
            continue
        pivot = row + int(nonzero[0])
        if pivot != row:
            a[[row, pivot]] = a[[pivot, row]]
        inverse = pow(int(a[row, col]), p - 2, p)
        a[row] = (a[row] * inverse) % p
        factors = a[row + 1 :, col].copy()
        a[row + 1 :] = (a[row + 1 :] - factors[:, None] * a[row]) % p  # products < p² < 2^62
        pivots.append(col)
        row += 1
    return pivots


def select_independent(elements: list, n: int, r: int, *,
                       progress: bool | None = None) -> list:
    """The elements not in the span of those before them (see the module docstring)."""
    if not elements:
        return []
    gram = gram_matrix(elements, n, r, progress=progress)
    return [elements[i] for i in pivot_columns_mod_p(gram)]


# -- cache payloads ------------------------------------------------------------------------
def to_payload(elements: list, kind: str, is_basis: bool) -> dict:
    """JSON-able description of a Brauer-type basis."""
    return {
        "kind": kind,
        "is_basis": is_basis,
        "elements": [[e.symbol, e.to_json()] for e in elements],
    }


def from_payload(k: int, l: int, payload: dict) -> list:  # noqa: E741
    """Elements back from :func:`to_payload`."""
    elements = []
    for symbol, data in payload["elements"]:
        if symbol == "D":
            elements.append(PartitionDiagram(k=k, l=l, blocks=tuple(tuple(b) for b in data)))
        elif symbol == "F":
            pairs, form = data
            elements.append(SymplecticBrauerDiagram(
                k=k, l=l, blocks=tuple(tuple(p) for p in pairs), form=form))
        elif symbol == "H":
            pairs, free = data
            elements.append(BrauerGroodDiagram(
                k=k, l=l, blocks=tuple(tuple(p) for p in pairs), free=tuple(free)))
        else:
            raise ValueError(f"unknown element symbol {symbol!r} in Brauer basis cache")
    return elements

