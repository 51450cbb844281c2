"""(k, l)-bilabelled graphs and their homomorphism matrices.

Pearce-Crump & Knottenbelt, "Graph Automorphism Group Equivariant Neural Networks"
(arXiv 2307.07810), §4: a ``(k, l)``-bilabelled graph is a simple graph ``H`` with an output
labelling ``(a_1..a_l)`` and an input labelling ``(b_1..b_k)`` by vertices of ``H`` (repeats
allowed). For a graph Γ on ``n`` vertices its tensor is

``T[i_1..i_l, j_1..j_k] = #{φ: V(H) → V(Γ) homomorphism, φ(a_s) = i_s, φ(b_t) = j_t}``,

and these tensors span the Aut(Γ)-equivariant maps (never a basis: the index set is
infinite). The tensor is a contraction: one copy of Γ's adjacency matrix per edge of ``H``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from geomlayers.diagrams.diagram import _LETTERS

__all__ = ["BilabelledGraph"]


@dataclass(frozen=True)
class BilabelledGraph:
    """A ``(k, l)``-bilabelled graph.

    Attributes:
        k: number of input labels.
        l: number of output labels.
        num_vertices: vertices of ``H`` (``0..num_vertices-1``).
        edges: sorted ``(u, v)`` pairs with ``u < v``.
        labels: ``l + k`` vertices of ``H``: output labels first, then input labels.

    """

    k: int
    l: int  # noqa: E741
    num_vertices: int
    edges: tuple[tuple[int, int], ...]
    labels: tuple[int, ...]
    symbol = "H"

    def __post_init__(self) -> None:
        if len(self.labels) != self.k + self.l:
            raise ValueError(f"labels must have l + k = {self.k + self.l} entries")
        if any(not 0 <= v < self.num_vertices for v in self.labels):
            raise ValueError("labels must be vertices of H")
        object.__setattr__(self, "edges", tuple(sorted(tuple(sorted(e)) for e in self.edges)))

    @property
    def order(self) -> int:
        """``r = k + l``."""
        return self.k + self.l

    def homomorphism_tensor(self, adjacency: torch.Tensor) -> torch.Tensor:
        """Homomorphism counts into the graph with ``(n, n)`` ``adjacency``: ``(n,)*(l+k)``."""
        operands: list = []
        for u, v in self.edges:
            operands += [adjacency, [u, v]]
        n = adjacency.shape[0]
        for v in range(self.num_vertices):  # every vertex ranges over V(Γ)
            operands += [torch.ones(n, dtype=adjacency.dtype), [v]]
        # Each label position gets its own output index tied to its vertex by δ, so that
        # repeated labels become diagonal embeddings.
        eye = torch.eye(n, dtype=adjacency.dtype)
        outputs = [self.num_vertices + p for p in range(self.order)]
        for position, vertex in enumerate(self.labels):
            operands += [eye, [vertex, outputs[position]]]
        return torch.einsum(*operands, outputs)

    def tensor(self, n: int, dtype: torch.dtype = torch.float64, *, adjacency=None):
        """Dense tensor for the graph with ``adjacency`` (required; ``n`` is checked)."""
        if adjacency is None or adjacency.shape != (n, n):
            raise ValueError("adjacency of shape (n, n) is required for a bilabelled graph")
        return self.homomorphism_tensor(adjacency.to(dtype))

    def __str__(self) -> str:
        out = " ".join(_LETTERS[v] for v in self.labels[: self.l]) or "∅"
        inp = " ".join(_LETTERS[v] for v in self.labels[self.l :]) or "∅"
        edges = ",".join(_LETTERS[u] + _LETTERS[v] for u, v in self.edges) or "no edges"
        return f"H[{out} / {inp}; {edges}]"

    def to_json(self) -> list:
        """JSON-able description."""
        return [self.num_vertices, [list(e) for e in self.edges], list(self.labels)]
