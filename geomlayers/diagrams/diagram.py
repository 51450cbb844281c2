"""Partition diagrams, orbit elements and jellyfish diagrams, and their tensors.

Conventions (``docs/diagrams.md``): a ``(k, l)``-diagram has ``l`` top vertices ``0..l-1`` (the
output indices ``i_1..i_l``) and ``k`` bottom vertices ``l..l+k-1`` (the input indices
``j_1..j_k``). Its tensor ``T`` has shape ``(n,)*(l+k)`` and its matrix is
``W = T.reshape(n**l, n**k)`` (row-major), acting by ``y = W x``.

* :class:`PartitionDiagram` ``D_π``: ``T[x] = 1`` iff ``x`` is constant on every block
  (Pearce-Crump, arXiv 2212.08648, §5; Maron et al. 2019's operations for k, l <= 2).
* :class:`OrbitElement` ``X_π``: ``T[x] = 1`` iff ``x_u = x_v`` exactly when ``u, v`` share a
  block (zero when π has more than ``n`` blocks).
* :class:`JellyfishDiagram` ``J_π`` (π with ``n`` or ``n-1`` blocks; Pearce-Crump, arXiv
  2301.10152): with blocks ordered by smallest vertex and ``x`` constant on them with pairwise
  distinct values ``v_1..v_t``, ``T[x] = sgn(v_1, …, v_t[, m])`` where ``m`` is the one value
  missing when ``t = n-1``; zero otherwise. These span the maps with
  ``W ρ(σ) = sgn(σ) ρ(σ) W``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar

import torch

from geomlayers.diagrams.partitions import Blocks
from geomlayers.diagrams.plot import plot_diagram

__all__ = [
    "SetPartitionElement",
    "PartitionDiagram",
    "OrbitElement",
    "JellyfishDiagram",
    "permutation_signs",
    "dense_from_entries",
]

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def dense_from_entries(
    coords: torch.Tensor, values: torch.Tensor, n: int, order: int, dtype: torch.dtype
) -> torch.Tensor:
    """Dense ``(n,)*order`` tensor from ``(nnz, order)`` coordinates and ``(nnz,)`` values."""
    out = torch.zeros((n,) * order, dtype=dtype)
    out[tuple(coords.T)] = values.to(dtype)
    return out


def permutation_signs(perms: torch.Tensor) -> torch.Tensor:
    """Signs of permutations given as rows of an ``(N, n)`` integer tensor (by inversions)."""
    if perms.shape[1] < 2:
        return torch.ones(perms.shape[0], dtype=torch.int64)
    i, j = torch.triu_indices(perms.shape[1], perms.shape[1], offset=1)
    inversions = (perms[:, i] > perms[:, j]).sum(dim=1)
    return 1 - 2 * (inversions % 2)


@dataclass(frozen=True)
class SetPartitionElement:
    """A spanning element indexed by a set partition of the ``l + k`` vertices.

    Attributes:
        k: input order (bottom vertices ``l..l+k-1``).
        l: output order (top vertices ``0..l-1``).
        blocks: the partition, blocks sorted, ordered by smallest vertex.

    """

    k: int
    l: int  # noqa: E741  (the papers' name for the output order)
    blocks: Blocks
    symbol: ClassVar[str] = "?"

    def __post_init__(self) -> None:
        vertices = sorted(v for block in self.blocks for v in block)
        if vertices != list(range(self.k + self.l)):
            raise ValueError(
                f"blocks must partition 0..{self.k + self.l - 1} (k={self.k}, l={self.l}), "
                f"got {self.blocks}"
            )
        canonical = tuple(sorted(tuple(sorted(b)) for b in self.blocks))
        object.__setattr__(self, "blocks", canonical)

    @property
    def order(self) -> int:
        """``r = k + l``, the number of vertices."""
        return self.k + self.l

    @property
    def num_blocks(self) -> int:
        """Number of blocks."""
        return len(self.blocks)

    def block_of_vertex(self) -> tuple[int, ...]:
        """For each vertex ``0..r-1``, the index of its block."""
        owner = [0] * self.order
        for index, block in enumerate(self.blocks):
            for v in block:
                owner[v] = index
        return tuple(owner)

    def block_kinds(self) -> tuple[str, ...]:
        """Per block: ``"propagating"``, ``"top"`` (output only) or ``"bottom"`` (input only)."""
        kinds = []
        for block in self.blocks:
            top = any(v < self.l for v in block)
            bottom = any(v >= self.l for v in block)
            kinds.append("propagating" if top and bottom else "top" if top else "bottom")
        return tuple(kinds)

    def transpose(self) -> SetPartitionElement:
        """The element with rows swapped (``D_πᵀ = D_{flip π}``)."""
        def flip(v: int) -> int:
            return v + self.k if v < self.l else v - self.l

        blocks = tuple(tuple(flip(v) for v in b) for b in self.blocks)
        return type(self)(k=self.l, l=self.k, blocks=blocks)

    # -- tensors ------------------------------------------------------------------------
    def _value_rows(self, n: int) -> torch.Tensor:
        """All assignments of values in ``0..n-1`` to the blocks: ``(n**t, t)`` int64."""
        t = self.num_blocks
        if t == 0:
            return torch.zeros(1, 0, dtype=torch.int64)
        grids = torch.meshgrid(*([torch.arange(n)] * t), indexing="ij")
        return torch.stack([g.reshape(-1) for g in grids], dim=1)

    def _weights(self, rows: torch.Tensor, n: int) -> torch.Tensor:
        """Entry values for each row of block values (subclasses restrict / sign them)."""
        return torch.ones(rows.shape[0], dtype=torch.int64)

    def entries(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Non-zero entries of the tensor for dimension ``n``.

        Returns:
            ``coords`` ``(nnz, l + k)`` int64 indices ``(i_1..i_l, j_1..j_k)`` and ``values``
            ``(nnz,)`` int64 (entries are ``±1``).

        """
        rows = self._value_rows(n)
        values = self._weights(rows, n)
        keep = values != 0
        rows, values = rows[keep], values[keep]
        owner = torch.tensor(self.block_of_vertex(), dtype=torch.int64)
        coords = rows[:, owner] if self.order else rows.new_zeros(rows.shape[0], 0)
        return coords, values

    def tensor(self, n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Dense tensor of shape ``(n,)*(l+k)`` (small sizes only)."""
        return dense_from_entries(*self.entries(n), n, self.order, dtype)

    def matrix(self, n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Dense ``(n**l, n**k)`` matrix (small sizes only)."""
        return self.tensor(n, dtype).reshape(n**self.l, n**self.k)

    # -- printing -----------------------------------------------------------------------
    def rows(self) -> tuple[str, str]:
        """The diagram as two rows of block letters: (top/output row, bottom/input row)."""
        owner = self.block_of_vertex()
        letters = [_LETTERS[b] if b < len(_LETTERS) else f"<{b}>" for b in owner]
        top = " ".join(letters[: self.l]) or "∅"
        bottom = " ".join(letters[self.l :]) or "∅"
        return top, bottom

    def __str__(self) -> str:
        top, bottom = self.rows()
        return f"{self.symbol}[{top} / {bottom}]"

    def to_json(self) -> list:
        """JSON-able description (used by the basis cache)."""
        return [list(b) for b in self.blocks]

    def plot(self, ax=None, *, title: str | None = None):
        """Draw the diagram with matplotlib; returns the Axes (see :mod:`geomlayers.diagrams.plot`).

        Top row: output vertices ``0..l-1``; bottom row: input vertices. Needs matplotlib.
        """
        return plot_diagram(self, ax, title=title)


@dataclass(frozen=True)
class PartitionDiagram(SetPartitionElement):
    """Diagram-basis element ``D_π``: 1 where the index is constant on every block.

    ``str`` shows the two rows (output / input) with one letter per block:

    >>> print(PartitionDiagram(k=1, l=1, blocks=((0, 1),)))
    D[a / a]
    """

    symbol: ClassVar[str] = "D"


@dataclass(frozen=True)
class OrbitElement(SetPartitionElement):
    """Orbit-basis element ``X_π``: 1 where the equality pattern of the index is exactly π.

    >>> OrbitElement(k=1, l=1, blocks=((0,), (1,))).matrix(2)
    tensor([[0., 1.],
            [1., 0.]], dtype=torch.float64)
    """

    symbol: ClassVar[str] = "X"

    def _weights(self, rows: torch.Tensor, n: int) -> torch.Tensor:
        return _all_distinct(rows).to(torch.int64)


@dataclass(frozen=True)
class JellyfishDiagram(SetPartitionElement):
    """Sign-twisted element ``J_π`` of the A_n basis (π with ``n`` or ``n-1`` blocks).

    Valid only for the ``n`` with ``num_blocks in (n - 1, n)``; :meth:`entries` checks it.
    """

    symbol: ClassVar[str] = "J"

    def _weights(self, rows: torch.Tensor, n: int) -> torch.Tensor:
        t = self.num_blocks
        if t not in (n - 1, n):
            raise ValueError(
                f"a jellyfish diagram with {t} blocks exists only for n = {t} or {t + 1}, "
                f"not n = {n}"
            )
        distinct = _all_distinct(rows)
        perms = rows
        if t == n - 1:
            missing = n * (n - 1) // 2 - rows.sum(dim=1, keepdim=True)
            perms = torch.cat([rows, missing], dim=1)
        return permutation_signs(perms) * distinct


def _all_distinct(rows: torch.Tensor) -> torch.Tensor:
    t = rows.shape[1]
    if t < 2:
        return torch.ones(rows.shape[0], dtype=torch.bool)
    i, j = zip(*itertools.combinations(range(t), 2), strict=True)
    return (rows[:, list(i)] != rows[:, list(j)]).all(dim=1)
