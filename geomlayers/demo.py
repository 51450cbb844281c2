"""A short tour (``make demo``): generate bases, check them, apply them fast.

Run with ``python -m geomlayers.demo``. Every number printed is computed in this run.
"""

from __future__ import annotations

import time

import networkx as nx
import torch

from geomlayers.bases import equivariant_basis, numeric_basis
from geomlayers.bases.cache import cache_dir
from geomlayers.groups import AlternatingGroup, AutomorphismGroup, SymmetricGroup
from geomlayers.testing import assert_equivariant


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def tour_symmetric() -> None:
    """S_n: Maron's 15 operations for graphs, checked against a numeric null space."""
    _section("S_5, order 2 -> 2 (graphs / adjacency matrices)")
    group = SymmetricGroup(5)
    start = time.perf_counter()
    basis = equivariant_basis(group, 2, 2)
    print(f"{basis}  [{time.perf_counter() - start:.3f} s]")
    print(basis.describe(limit=6))
    oracle = numeric_basis(group, 2, 2)
    print(f"numeric null space of the constraints (independent): dim {len(oracle)}")
    weights = torch.randn(len(basis), dtype=torch.float64)
    errors = assert_equivariant(lambda x: basis.apply(weights, x), group, in_order=2, out_order=2)
    print(f"random combination of the basis, 4 random permutations: worst error {errors[0]:.1e}")


def tour_alternating() -> None:
    """A_n: jellyfish appear once k + l >= n - 1."""
    _section("A_4 vs S_4, order 2 -> 1")
    s4 = equivariant_basis(SymmetricGroup(4), 2, 1)
    a4 = equivariant_basis(AlternatingGroup(4), 2, 1)
    print(f"S_4: {len(s4)} elements, A_4: {len(a4)} elements (extra: jellyfish)")
    for element in a4[len(s4):]:
        print(f"  {element}")
    errors = assert_equivariant(
        lambda x: a4.apply(torch.ones(len(a4), dtype=x.dtype), x),
        AlternatingGroup(4), in_order=2, out_order=1,
    )
    print(f"equivariance under A_4: worst error {errors[0]:.1e}")


def tour_large() -> None:
    """Sizes out of reach of dense methods: n = 50, k = l = 3."""
    _section("S_50, order 3 -> 3 (the dense matrix would be 125,000 x 125,000)")
    group = SymmetricGroup(50)
    start = time.perf_counter()
    basis = equivariant_basis(group, 3, 3, use_cache=False)
    built = time.perf_counter() - start
    x = torch.randn(2, 50, 50, 50)
    weights = torch.randn(len(basis))
    start = time.perf_counter()
    y = basis.apply(weights, x)
    applied = time.perf_counter() - start
    print(f"{len(basis)} diagrams built in {built:.3f} s; applied to a batch of 2 order-3 "
          f"tensors in {applied:.2f} s -> {tuple(y.shape)}")
    errors = assert_equivariant(
        lambda t: basis.apply(weights.double(), t), group, in_order=3, out_order=3,
        x=x.double()[:1], num_elements=1,
    )
    print(f"equivariance (float64, one random permutation): worst error {errors[0]:.1e}")


def tour_graph() -> None:
    """Aut(Γ) for the Petersen graph (generators from nauty)."""
    _section("Aut(Petersen graph), order 1 -> 1 and 2 -> 1")
    group = AutomorphismGroup(nx.petersen_graph())
    print(f"|Aut| = {group.order()} from {len(group.generator_images())} nauty generators")
    for k, l in [(1, 1), (2, 1)]:
        basis = equivariant_basis(group, k, l)
        spanning = equivariant_basis(group, k, l, spanning=True)
        rank = int(torch.linalg.matrix_rank(spanning.dense().reshape(len(spanning), -1)))
        print(f"k={k}, l={l}: {len(basis)} orbit elements; {len(spanning)} bilabelled graphs "
              f"of rank {rank}")


def main() -> None:
    """Run the tour."""
    torch.manual_seed(0)
    print(f"geomlayers demo (basis cache: {cache_dir()})")
    tour_symmetric()
    tour_alternating()
    tour_graph()
    tour_large()


if __name__ == "__main__":
    main()
