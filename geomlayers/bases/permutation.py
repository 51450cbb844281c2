"""Bases for permutation groups: S_n, A_n, and any permutation group / Aut(Γ).

* S_n (Pearce-Crump, arXiv 2212.08648): partition diagrams ``D_π`` with at most ``n`` blocks
  form a basis (all Bell(k+l) of them span, independent iff ``n >= k+l``); or the orbit basis
  ``X_π`` (``kind="orbit"``).
* A_n (Pearce-Crump, arXiv 2301.10152): the S_n basis plus the jellyfish ``J_π`` for π with
  exactly ``n`` or ``n-1`` blocks; they appear from ``k+l >= n-1``.
* Any permutation group, in particular Aut(Γ) (Pearce-Crump & Knottenbelt, arXiv 2307.07810):
  the indicators of the group's orbits on ``[n]^{k+l}`` (a basis), or the homomorphism tensors
  of small bilabelled graphs (a spanning set).

Orders: diagrams by restricted-growth string of the vertex labels (outputs first), S_n part
before jellyfish; orbits by their smallest flat index (row-major over ``(i_1..i_l, j_1..j_k)``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from geomlayers.diagrams.bilabelled import BilabelledGraph
from geomlayers.diagrams.diagram import (
    JellyfishDiagram,
    OrbitElement,
    PartitionDiagram,
    dense_from_entries,
)
from geomlayers.diagrams.partitions import count_partitions, set_partitions
from geomlayers.groups.permutation import FinitePermutationGroup
from geomlayers.progress import ELEMENT_THRESHOLD, progress_bar

__all__ = [
    "TupleOrbit",
    "symmetric_elements",
    "jellyfish_elements",
    "tuple_orbits",
    "bilabelled_graphs",
    "count_symmetric",
    "count_jellyfish",
    "DEFAULT_MAX_TUPLES",
]

#: orbit enumeration visits all ``n^(k+l)`` index tuples; refuse beyond this by default.
DEFAULT_MAX_TUPLES = 20_000_000


def count_symmetric(n: int, r: int, spanning: bool) -> int:
    """Number of S_n diagram elements for ``r = k + l`` (Bell(r) when ``spanning``)."""
    return count_partitions(r, max_blocks=None if spanning else n)


def count_jellyfish(n: int, r: int) -> int:
    """Number of jellyfish ``S(r, n) + S(r, n-1)`` (0 for ``n == 1``, where A_1 = S_1)."""
    if n == 1:
        return 0
    return count_partitions(r, min_blocks=n - 1, max_blocks=n)


def symmetric_elements(n: int, k: int, l: int, *, kind: str, spanning: bool,  # noqa: E741
                       progress: bool | None = None) -> list:
    """S_n elements: ``D_π`` (``kind="diagram"``) or ``X_π`` (``kind="orbit"``).

    A progress bar (:mod:`geomlayers.progress`) shows above ``ELEMENT_THRESHOLD`` elements.
    """
    cls = PartitionDiagram if kind == "diagram" else OrbitElement
    max_blocks = None if spanning else n
    blocks = progress_bar(set_partitions(k + l, max_blocks=max_blocks),
                          total=count_symmetric(n, k + l, spanning), desc=f"S_{n} diagrams",
                          progress=progress, min_total=ELEMENT_THRESHOLD, unit="diagram")
    return [cls(k=k, l=l, blocks=b) for b in blocks]


def jellyfish_elements(n: int, k: int, l: int, *,  # noqa: E741
                       progress: bool | None = None) -> list:
    """The jellyfish ``J_π``: partitions of the ``k+l`` vertices into ``n-1`` or ``n`` blocks."""
    if n == 1:
        return []
    blocks = progress_bar(set_partitions(k + l, min_blocks=n - 1, max_blocks=n),
                          total=count_jellyfish(n, k + l), desc=f"A_{n} jellyfish",
                          progress=progress, min_total=ELEMENT_THRESHOLD, unit="diagram")
    return [JellyfishDiagram(k=k, l=l, blocks=b) for b in blocks]


@dataclass(frozen=True)
class TupleOrbit:
    """Indicator of the orbit of one index tuple under a permutation group.

    Attributes:
        group: the permutation group.
        k, l: orders.
        representative: the orbit's lexicographically smallest tuple ``(i_1..i_l, j_1..j_k)``.

    """

    group: FinitePermutationGroup
    k: int
    l: int  # noqa: E741
    representative: tuple[int, ...]
    symbol = "O"

    def entries(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The orbit's tuples ``(size, l+k)`` (breadth-first search) and ones."""
        gens = [np.asarray(g, dtype=np.int64) for g in self.group.generator_images()]
        start = np.asarray(self.representative, dtype=np.int64)[None, :]
        if start.shape[1] == 0:
            return torch.zeros(1, 0, dtype=torch.int64), torch.ones(1, dtype=torch.int64)
        seen = {tuple(start[0])}
        frontier = start
        while len(frontier):
            fresh = []
            for images in gens:
                for row in map(tuple, images[frontier]):
                    if row not in seen:
                        seen.add(row)
                        fresh.append(row)
            frontier = np.asarray(fresh, dtype=np.int64).reshape(-1, start.shape[1])
        coords = torch.tensor(sorted(seen), dtype=torch.int64).reshape(-1, start.shape[1])
        return coords, torch.ones(coords.shape[0], dtype=torch.int64)

    def tensor(self, n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Dense 0/1 tensor ``(n,)*(l+k)``."""
        return dense_from_entries(*self.entries(n), n, self.k + self.l, dtype)

    def __str__(self) -> str:
        top = " ".join(map(str, self.representative[: self.l])) or "∅"
        bottom = " ".join(map(str, self.representative[self.l :])) or "∅"
        return f"O[{top} / {bottom}]"

    def to_json(self) -> list:
        """JSON-able description."""
        return list(self.representative)


def tuple_orbits(
    group: FinitePermutationGroup, k: int, l: int, max_tuples: int = DEFAULT_MAX_TUPLES,  # noqa: E741
    *, progress: bool | None = None,
) -> list[TupleOrbit]:
    """Orbits of ``group`` on ``[n]^{k+l}`` (connected components of the generator action).

    A progress bar (:mod:`geomlayers.progress`) shows above ``ELEMENT_THRESHOLD`` orbits.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n, r = group.n, k + l
    total = n**r
    if total > max_tuples:
        raise ValueError(
            f"enumerating orbits visits n^(k+l) = {n}^{r} = {total:,} tuples, above "
            f"max_tuples={max_tuples:,}; raise max_tuples to allow it"
        )
    flat = np.arange(total, dtype=np.int64)
    digits = [(flat // n ** (r - 1 - axis)) % n for axis in range(r)]
    sources, targets = [], []
    for images in group.generator_images():
        images = np.asarray(images, dtype=np.int64)
        moved = np.zeros(total, dtype=np.int64)
        for axis in range(r):
            moved = moved * n + images[digits[axis]]
        sources.append(flat)
        targets.append(moved)
    if sources:
        src, dst = np.concatenate(sources), np.concatenate(targets)
    else:
        src = dst = flat
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(total, total))
    _, labels = connected_components(graph, directed=True, connection="weak")
    first = np.full(labels.max() + 1, total, dtype=np.int64)
    np.minimum.at(first, labels, flat)
    orbits = []
    for smallest in progress_bar(np.sort(first), desc=f"orbits of {group}", progress=progress,
                                 min_total=ELEMENT_THRESHOLD, unit="orbit"):
        rep = tuple(int(d) for d in np.unravel_index(smallest, (n,) * r)) if r else ()
        orbits.append(TupleOrbit(group=group, k=k, l=l, representative=rep))
    return orbits


def bilabelled_graphs(k: int, l: int, extra_vertices: int = 1) -> list[BilabelledGraph]:  # noqa: E741
    """Bilabelled graphs whose labelled vertices realise every set partition of the labels.

    For each set partition of the ``k + l`` label positions (positions in one block share a
    vertex of ``H``), ``H`` gets one vertex per block plus up to ``extra_vertices`` unlabelled
    vertices, and every simple edge set on them in which each unlabelled vertex has an edge.
    Edgeless graphs with no extra vertex are exactly the partition diagrams. The set is
    finite, spans for the graphs in our tests (Γ ∈ {C5, C6, P4, K4, K_{1,3}}, ``k+l <= 3``)
    but is not guaranteed to span for every Γ; the tests check its rank.
    """
    graphs = []
    r = k + l
    for blocks in set_partitions(r):
        labels = [0] * r
        for b, block in enumerate(blocks):
            for position in block:
                labels[position] = b
        for extra in range(extra_vertices + 1):
            size = len(blocks) + extra
            pairs = list(itertools.combinations(range(size), 2))
            for mask in range(2 ** len(pairs)):
                edges = tuple(p for bit, p in enumerate(pairs) if mask >> bit & 1)
                touched = {v for e in edges for v in e}
                if any(v not in touched for v in range(len(blocks), size)):
                    continue
                graphs.append(
                    BilabelledGraph(k=k, l=l, num_vertices=size, edges=edges, labels=tuple(labels))
                )
    return graphs
