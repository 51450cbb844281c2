"""Plans of diagram layers: which reductions, channel mixes and embeddings a layer runs.

A :class:`LayerPlan` depends on the diagrams and the orders only, never on ``n``; the
executors (:mod:`geomlayers.ops.layer`, :mod:`geomlayers.ops.fused`, the C++ ops of
:mod:`geomlayers.ops.extension`) share these types (``docs/layers.md``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from geomlayers.diagrams.diagram import PartitionDiagram

__all__ = ["Embedding", "LayerPlan", "Reduction", "Term", "plan_layer"]


@dataclass(frozen=True)
class Reduction:
    """Input pattern of a reduction.

    ``labels[a]`` is the block of input axis ``a`` (blocks numbered by first appearance);
    ``keep[b]`` says block ``b`` propagates (kept) rather than being summed.
    """

    labels: tuple[int, ...]
    keep: tuple[bool, ...]

    @property
    def summed(self) -> int:
        """Number of summed (bottom-only) blocks."""
        return sum(not flag for flag in self.keep)

    @property
    def is_identity(self) -> bool:
        """All axes distinct and kept: the reduction is the identity map."""
        return len(set(self.labels)) == len(self.labels) and all(self.keep)


@dataclass(frozen=True)
class Embedding:
    """Output pattern of an embedding.

    ``labels[a]`` is the block of output axis ``a``; ``keep[b]`` says block ``b`` is fed by
    the mixed tensor (propagating) rather than broadcast (top-only).
    """

    labels: tuple[int, ...]
    keep: tuple[bool, ...]

    @property
    def is_identity(self) -> bool:
        """All axes distinct and propagating: the embedding is the identity map."""
        return not self.is_diagonal and all(self.keep)

    @property
    def is_diagonal(self) -> bool:
        """Some output axes share a block: the values go on a proper generalised diagonal."""
        return len(set(self.labels)) < len(self.labels)


@dataclass(frozen=True)
class Term:
    """One diagram of a layer.

    Its weight row, its reduction, and the axis permutation from the kept blocks in bottom
    order to the propagating blocks in top order.
    """

    element: int
    reduction: int
    permutation: tuple[int, ...]


@dataclass(frozen=True)
class LayerPlan:
    """Static, ``n``-independent description of a partition-diagram layer."""

    k: int
    l: int  # noqa: E741
    reductions: tuple[Reduction, ...]
    outputs: tuple[tuple[Embedding, tuple[Term, ...]], ...]

    @property
    def num_elements(self) -> int:
        """Number of diagrams (rows of the weight)."""
        return sum(len(terms) for _, terms in self.outputs)


def _row_pattern(diagram: PartitionDiagram, vertices: range) -> tuple[tuple, tuple, list[int]]:
    """Labels by first appearance, propagating flags and original block ids of one row."""
    owner = diagram.block_of_vertex()
    kinds = diagram.block_kinds()
    order: list[int] = []
    for vertex in vertices:
        if owner[vertex] not in order:
            order.append(owner[vertex])
    labels = tuple(order.index(owner[vertex]) for vertex in vertices)
    keep = tuple(kinds[block] == "propagating" for block in order)
    return labels, keep, order


@functools.lru_cache(maxsize=1024)
def plan_layer(diagrams: tuple[PartitionDiagram, ...], k: int, l: int) -> LayerPlan:  # noqa: E741
    """Plan of the layer ``Σ_i Λ_i ⊗ D_i`` for ``diagrams`` (weight row ``i`` ↔ ``diagrams[i]``).

    Raises:
        TypeError: if an element is not a :class:`PartitionDiagram` of shape ``k → l``.

    """
    reductions: dict[Reduction, int] = {}
    outputs: dict[Embedding, list[Term]] = {}
    for index, diagram in enumerate(diagrams):
        if not isinstance(diagram, PartitionDiagram) or (diagram.k, diagram.l) != (k, l):
            raise TypeError(f"diagrams[{index}] must be a PartitionDiagram {k} -> {l}, "
                            f"got {diagram!r}")
        bottom_labels, bottom_keep, bottom_order = _row_pattern(diagram, range(l, l + k))
        top_labels, top_keep, top_order = _row_pattern(diagram, range(l))
        reduction = Reduction(bottom_labels, bottom_keep)
        position = reductions.setdefault(reduction, len(reductions))
        kinds = diagram.block_kinds()
        kept_bottom = [b for b in bottom_order if kinds[b] == "propagating"]
        kept_top = [b for b in top_order if kinds[b] == "propagating"]
        permutation = tuple(kept_bottom.index(b) for b in kept_top)
        outputs.setdefault(Embedding(top_labels, top_keep), []).append(
            Term(index, position, permutation)
        )
    return LayerPlan(
        k, l, tuple(reductions), tuple((e, tuple(terms)) for e, terms in outputs.items())
    )


# -- the two primitive products (torch reference) ---------------------------------------------
