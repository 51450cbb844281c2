"""Automorphism groups of simple graphs, with generators from nauty (pynauty).

Pearce-Crump & Knottenbelt, "Graph Automorphism Group Equivariant Neural Networks"
(arXiv 2307.07810): Aut(Γ) acts on ``R^n`` (``n`` = number of vertices) by permutation
matrices; by Frucht's theorem every finite group arises this way.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pynauty

from geomlayers.groups.permutation import FinitePermutationGroup
from geomlayers.validation import check_int, check_int_sequence, check_integral_tensor

__all__ = ["AutomorphismGroup", "canonical_edges"]


def canonical_edges(graph: object, num_nodes: int | None = None) -> tuple[int, tuple]:
    """Normalise a graph to ``(n, sorted undirected edges (u, v) with u < v)``.

    Accepts a :class:`networkx.Graph` (nodes relabelled ``0..n-1`` in sorted order), an
    ``edge_index`` tensor/array of shape ``(2, E)`` (torch_geometric; both directions may be
    listed), or an iterable of ``(u, v)`` pairs over ``0..n-1``. Self-loops are rejected;
    duplicate and reversed edges are merged.
    """
    nodes_from_graph = None
    if hasattr(graph, "nodes") and hasattr(graph, "edges"):  # networkx
        if graph.is_directed():
            raise ValueError("graph must be undirected; pass graph.to_undirected()")
        order = sorted(graph.nodes)
        index = {v: i for i, v in enumerate(order)}
        pairs = [(index[u], index[v]) for u, v in graph.edges]
        nodes_from_graph = len(order)
    elif hasattr(graph, "shape") and len(graph.shape) == 2 and graph.shape[0] == 2:
        index = check_integral_tensor("edge_index", graph, ndim=2)
        pairs = [(int(u), int(v)) for u, v in index.T.tolist()]
    else:
        if isinstance(graph, (str, bytes)):
            raise TypeError("graph must be a networkx.Graph, an edge_index (2, E) or (u, v) "
                            "pairs, got a str; use parse_group('Aut5<0-1,1-2>') or "
                            "read_graph(path) for text")
        try:
            pairs = [tuple(check_int_sequence(f"edge {i}", pair, minimum=0))
                     for i, pair in enumerate(graph)]
        except TypeError as err:
            raise TypeError(
                "graph must be a networkx.Graph, an edge_index of shape (2, E), or an "
                f"iterable of (u, v) integer pairs; got {type(graph).__name__}: {err}"
            ) from err
        for pair in pairs:
            if len(pair) != 2:
                raise ValueError(f"each edge must be a (u, v) pair, got {pair}")
    if num_nodes is not None:
        num_nodes = check_int("num_nodes", num_nodes, minimum=1)
    n = num_nodes if num_nodes is not None else nodes_from_graph
    if n is None:
        n = 1 + max((max(p) for p in pairs), default=-1)
    if n < 1:
        raise ValueError("graph must have at least one node (pass num_nodes for edgeless graphs)")
    edges = set()
    for u, v in pairs:
        if not (0 <= u < n and 0 <= v < n):
            raise ValueError(f"edge ({u}, {v}) refers to a node outside 0..{n - 1}")
        if u == v:
            raise ValueError(f"self-loop ({u}, {u}) in graph: only simple graphs are supported")
        edges.add((min(u, v), max(u, v)))
    return n, tuple(sorted(edges))


@dataclass(frozen=True, init=False)
class AutomorphismGroup(FinitePermutationGroup):
    """The automorphism group Aut(Γ) of a simple undirected graph Γ on ``n`` vertices.

    Args:
        graph: a :class:`networkx.Graph`, a torch_geometric ``edge_index`` ``(2, E)``, or an
            iterable of ``(u, v)`` edges over ``0..n-1``.
        num_nodes: number of vertices (needed when isolated vertices have the largest labels).

    Generators come from nauty (McKay & Piperno), so graphs with huge automorphism groups
    cost nothing extra. Hash and equality are those of the labelled edge set. The short
    string lists the vertex count and the edges, ``Aut5<0-1,0-4,1-2,2-3,3-4>``.

    >>> AutomorphismGroup([(0, 1), (1, 2), (2, 3), (3, 4), (4, 0)]).order()  # C5: dihedral
    10

    """

    n: int
    edges: tuple[tuple[int, int], ...]

    def __init__(self, graph: object, num_nodes: int | None = None):
        n, edges = canonical_edges(graph, num_nodes)
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "edges", edges)

    @functools.cached_property
    def _nauty(self) -> tuple:
        adjacency: dict[int, list[int]] = {v: [] for v in range(self.n)}
        for u, v in self.edges:
            adjacency[u].append(v)
        return pynauty.autgrp(pynauty.Graph(self.n, adjacency_dict=adjacency))

    def generator_images(self) -> tuple[tuple[int, ...], ...]:
        """Generators found by nauty, as image tuples."""
        return tuple(tuple(int(v) for v in gen) for gen in self._nauty[0])

    def adjacency(self):
        """The ``(n, n)`` 0/1 adjacency matrix (float64 tensor)."""
        import torch

        adj = torch.zeros(self.n, self.n, dtype=torch.float64)
        for u, v in self.edges:
            adj[u, v] = adj[v, u] = 1
        return adj

    def __repr__(self) -> str:
        return f"AutomorphismGroup(n={self.n}, edges={list(self.edges)})"

    def __str__(self) -> str:
        return f"Aut{self.n}<{','.join(f'{u}-{v}' for u, v in self.edges)}>"
