"""Bases for O(n), SO(n) and Sp(n) from Brauer-type diagrams (Pearce-Crump, arXiv 2212.08630).

Spanning sets (``docs/brauer.md``), in the fixed order of :mod:`geomlayers.diagrams.brauer`:

* O(n): the ``(r-1)!!`` Brauer diagrams ``E_β`` (``r = k + l``); a basis iff ``2n >= r``.
* SO(n): the Brauer diagrams, then the ``C(r, n)(r-n-1)!!`` Brauer–Grood diagrams ``H_α``;
  a basis iff ``2n >= r`` and (``r <= n`` or ``r - n`` odd).
* Sp(n): the ``(r-1)!!`` symplectic Brauer diagrams ``F_β``; a basis iff ``n >= r``.

When the spanning set is dependent, the basis is its greedy independent subset: the elements
not in the span of the elements before them. For O(n) and Sp(n) (and the Brauer part of
SO(n), which spans the O(n)-invariant half, independent of the Levi-Civita half) it is read off
each diagram by the rule of :mod:`geomlayers.bases.standard`, checked against the exact
dimension (:mod:`geomlayers.bases.dimension`). The Brauer–Grood part of SO(n) is first cut to
a spanning subset (:func:`grood_candidates`, proved) and then read off by the nested-fan rule
(:func:`geomlayers.bases.standard.is_standard_levi_civita`), also checked against the exact
dimension; a mismatch falls back to the exact elimination of
:mod:`geomlayers.bases.elimination`, whose cost is named (and refused above
:data:`~geomlayers.bases.elimination.MAX_ELIMINATION_OPS`) before it starts.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import scipy.sparse
import torch

from geomlayers.bases import elimination
from geomlayers.bases.dimension import equivariant_dimension
from geomlayers.bases.elimination import (
    elimination_cost,
    pivot_columns_mod_p,
    select_by_elimination,
)
from geomlayers.bases.standard import (
    is_standard,
    is_standard_levi_civita,
    standard_matchings,
)
from geomlayers.diagrams.brauer import (
    BrauerGroodDiagram,
    SymplecticBrauerDiagram,
    brauer_diagrams,
    brauer_grood_diagrams,
    count_brauer,
    count_brauer_grood,
    perfect_matchings,
    symplectic_brauer_diagrams,
)
from geomlayers.diagrams.diagram import PartitionDiagram
from geomlayers.groups.base import Group
from geomlayers.groups.orthogonal import OrthogonalGroup, SpecialOrthogonalGroup
from geomlayers.groups.symplectic import SymplecticGroup, symplectic_form
from geomlayers.progress import ELEMENT_THRESHOLD, progress_bar

__all__ = [
    "BRAUER_GROUPS",
    "spanning_elements",
    "spanning_size",
    "is_independent",
    "select_independent",
    "select_basis",
    "check_elimination_cost",
    "gram_matrix",
    "pivot_columns_mod_p",
    "MAX_GRAM_ENTRIES",
    "to_payload",
    "from_payload",
]

BRAUER_GROUPS = (OrthogonalGroup, SpecialOrthogonalGroup, SymplecticGroup)

#: :func:`gram_matrix` refuses more non-zero entries than this.
MAX_GRAM_ENTRIES = 20_000_000  # about 0.5 GB of index arrays at the peak



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
    """Exact integer Gram matrix ``G[i, j] = Σ_x T_i[x] T_j[x]`` ``(m, m)`` int64 (tests).

    Built from the sparse entries; raises ``ValueError`` above :data:`MAX_GRAM_ENTRIES`.
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
                f"the Gram matrix needs the entries of {len(elements)} elements (more than "
                f"MAX_GRAM_ENTRIES={MAX_GRAM_ENTRIES:,})"
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


def _form(elements: list, n: int) -> np.ndarray | None:
    symplectic = [e for e in elements if isinstance(e, SymplecticBrauerDiagram)]
    if not symplectic:
        return None
    return symplectic_form(n, symplectic[0].form).to(torch.int64).numpy()


def select_independent(elements: list, n: int, r: int, *, rank: int | None = None,
                       progress: bool | None = None) -> list:
    """The elements not in the span of those before them, by exact elimination.

    Args:
        elements: Brauer-type elements with the same ``k + l = r``, in their fixed order.
        n: the dimension.
        r: ``k + l``.
        rank: the dimension of their span when known (certifies the result).
        progress: progress bar switch (:mod:`geomlayers.progress`).

    Raises:
        ValueError: when the estimated cost exceeds
            :data:`~geomlayers.bases.elimination.MAX_ELIMINATION_OPS` (the message names it).

    """
    if not elements:
        return []
    check_elimination_cost(len(elements), rank, f"{len(elements)} diagrams (n={n}, k+l={r})")
    positions = select_by_elimination(elements, n, r, rank, form=_form(elements, n),
                                      progress=progress)
    return [elements[i] for i in positions]


def check_elimination_cost(count: int, rank: int | None, what: str) -> None:
    """Name the cost of an elimination before it starts: refuse or warn when it is large.

    Raises ``ValueError`` above :data:`~geomlayers.bases.elimination.MAX_ELIMINATION_OPS`
    and warns above :data:`~geomlayers.bases.elimination.WARN_ELIMINATION_OPS`; both name
    the estimated multiply-adds and seconds and the fixes (``spanning=True``, smaller orders).
    """
    cost = elimination_cost(count, rank)
    seconds = cost / elimination.OPS_PER_SECOND
    fixes = ("Use spanning=True (the dependent spanning set works in layers and takes no "
             "elimination) or smaller orders k, l")
    detail = (f"selecting a basis among {what} needs an exact elimination of about {cost:.1e} "
              f"multiply-adds (rank {rank if rank is not None else 'unknown'}; about "
              f"{seconds:,.0f} s on one core)")
    if cost > elimination.MAX_ELIMINATION_OPS:
        raise ValueError(f"{detail}, above MAX_ELIMINATION_OPS="
                         f"{elimination.MAX_ELIMINATION_OPS:.0e}. {fixes}")
    if cost > elimination.WARN_ELIMINATION_OPS:
        warnings.warn(f"{detail}. {fixes}", stacklevel=4)


#: (largest n, largest k + l) up to which the nested-fan rule for the SO(n) Levi-Civita half
#: is checked to keep independent diagrams (equal to the greedy elimination for k + l <= 10;
#: rank at fresh random points for k + l = 11, 12). The rule is not proved, so beyond this
#: range the exact elimination selects (its count alone could not reveal a dependent set).
LEVI_CIVITA_RULE_VERIFIED = (6, 12)


def select_basis(group: Group, k: int, l: int, elements: list, *,  # noqa: E741
                 progress: bool | None = None) -> list:
    """The greedy basis inside the spanning set ``elements`` of ``group`` (module docstring)."""
    n, r = group.n, k + l
    dim = equivariant_dimension(group, k, l)
    brauer = [e for e in elements if not isinstance(e, BrauerGroodDiagram)]
    grood = [e for e in elements if isinstance(e, BrauerGroodDiagram)]
    kind = "Sp" if isinstance(group, SymplecticGroup) else "O"
    kept = [brauer[i] for i in standard_matchings([e.blocks for e in brauer], r, kind, n)]
    if isinstance(group, SpecialOrthogonalGroup):
        brauer_dim = equivariant_dimension(OrthogonalGroup(n), k, l)
        if brauer_dim is not None and len(kept) != brauer_dim:
            kept = _fallback(brauer, n, r, brauer_dim, progress, group)
        twisted_dim = None if dim is None or brauer_dim is None else dim - brauer_dim
        candidates = grood_candidates(grood, n, r)
        verified = n <= LEVI_CIVITA_RULE_VERIFIED[0] and r <= LEVI_CIVITA_RULE_VERIFIED[1]
        rule = ([e for e in candidates if is_standard_levi_civita(e.blocks, e.free, r, n)]
                if verified else [])
        if verified and twisted_dim is not None and len(rule) == twisted_dim:
            kept += rule
        else:
            if verified and twisted_dim is not None:
                warnings.warn(
                    f"the Levi-Civita rule for {group}, k+l={r} keeps {len(rule)} diagrams, "
                    f"not the dimension {twisted_dim}; selecting by exact elimination instead "
                    "(please report this)", stacklevel=2)
            kept += select_independent(candidates, n, r, rank=twisted_dim, progress=progress)
    elif dim is not None and len(kept) != dim:
        kept = _fallback(brauer, n, r, dim, progress, group)
    if dim is not None and len(kept) != dim:
        raise ArithmeticError(f"{group}, k={k}, l={l}: selected {len(kept)} diagrams, but "
                              f"the dimension is {dim}; please report this")
    return kept


def grood_candidates(grood: list, n: int, r: int) -> list:
    """A spanning subset of the Brauer–Grood diagrams of SO(n), read off each diagram.

    Keeps ``H_α = det(v_F) Π_{(u,w)} ⟨v_u, v_w⟩`` only when

    1. vertex 0 is free (``0 ∈ F``). Schouten's identity (the Laplace expansion of a vanishing
       ``(n+1) x (n+1)`` determinant) gives, for a pair ``(a, b)`` with ``a < min F``,
       ``det(v_F) ⟨v_a, v_b⟩ = Σ_{f ∈ F} ± det(v_{F - f + a}) ⟨v_f, v_b⟩``: every other term
       has a lexicographically smaller free set, so by induction the diagrams with
       ``min F = 0`` span;
    2. its matching, relabelled onto ``0..r-n-1`` in order, is a standard O(n) matching
       (:func:`geomlayers.bases.standard.is_standard`): the Gram-determinant relations of
       O(n) hold among the pairings of the complement of ``F`` and multiplying by
       ``det(v_F)`` keeps them, so each matching is a combination of standard ones with the
       same ``F``. Used only where the rule's count equals the exact O(n) dimension.

    The subset still spans; the exact elimination then picks the basis among fewer columns
    (and its rank is certified against the exact dimension).
    """
    size = r - n
    standard = {pairs for pairs in perfect_matchings(tuple(range(size)))
                if is_standard(pairs, size, "O", n)}
    if len(standard) != equivariant_dimension(OrthogonalGroup(n), 0, size):
        standard = set(perfect_matchings(tuple(range(size))))  # never seen; keep all
    kept = []
    for element in grood:
        if not element.free or element.free[0] != 0:
            continue
        rest = sorted(v for pair in element.blocks for v in pair)
        label = {v: i for i, v in enumerate(rest)}
        if tuple(sorted((label[u], label[w]) for u, w in element.blocks)) in standard:
            kept.append(element)
    return kept


def _fallback(elements: list, n: int, r: int, dim: int, progress, group) -> list:
    warnings.warn(
        f"the combinatorial basis rule for {group}, k+l={r} disagrees with the dimension "
        f"{dim}; selecting by exact elimination instead (please report this)", stacklevel=3,
    )
    return select_independent(elements, n, r, rank=dim, progress=progress)


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

