"""Set partitions and their counts (exact integers).

A set partition of ``{0, …, r-1}`` is stored as a tuple of blocks, each block a sorted tuple,
blocks sorted by their smallest element. Enumeration goes through restricted-growth strings
(RGS: ``a_0 = 0``, ``a_i <= 1 + max(a_0..a_{i-1})``) in lexicographic order, which fixes the
order of every diagram basis in geomlayers.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator

__all__ = [
    "stirling2",
    "bell",
    "count_partitions",
    "set_partitions",
    "blocks_from_rgs",
    "double_factorial",
]

Blocks = tuple[tuple[int, ...], ...]


@functools.cache
def stirling2(r: int, t: int) -> int:
    """Stirling number of the second kind ``S(r, t)``: partitions of ``r`` items into ``t`` blocks.

    >>> [stirling2(4, t) for t in range(5)]
    [0, 1, 7, 6, 1]
    """
    if r == t:
        return 1
    if r == 0 or t == 0 or t > r:
        return 0
    return t * stirling2(r - 1, t) + stirling2(r - 1, t - 1)


def count_partitions(r: int, min_blocks: int = 0, max_blocks: int | None = None) -> int:
    """Number of set partitions of ``r`` items with a block count in ``[min_blocks, max_blocks]``.

    >>> count_partitions(4, max_blocks=2)
    8
    """
    top = r if max_blocks is None else min(r, max_blocks)
    return sum(stirling2(r, t) for t in range(max(0, min_blocks), top + 1))


def bell(r: int) -> int:
    """Bell number ``B(r)`` (all set partitions of ``r`` items).

    >>> [bell(r) for r in range(9)]
    [1, 1, 2, 5, 15, 52, 203, 877, 4140]
    """
    return count_partitions(r)


def double_factorial(m: int) -> int:
    """``m!! = m (m-2) (m-4) …`` with ``(-1)!! = 0!! = 1``."""
    return math.prod(range(m, 0, -2)) if m > 0 else 1


def blocks_from_rgs(rgs: tuple[int, ...]) -> Blocks:
    """Blocks of the partition whose restricted-growth string is ``rgs``.

    >>> blocks_from_rgs((0, 1, 0))
    ((0, 2), (1,))
    """
    blocks: list[list[int]] = []
    for vertex, label in enumerate(rgs):
        if label == len(blocks):
            blocks.append([])
        blocks[label].append(vertex)
    return tuple(tuple(b) for b in blocks)


def set_partitions(
    r: int, min_blocks: int = 0, max_blocks: int | None = None
) -> Iterator[Blocks]:
    """All set partitions of ``{0..r-1}`` with ``min_blocks <= #blocks <= max_blocks``.

    Yielded in lexicographic order of restricted-growth strings; the branches that can no
    longer reach ``min_blocks`` or that exceed ``max_blocks`` are pruned, so the cost is
    proportional to the output.

    >>> list(set_partitions(3, max_blocks=2))
    [((0, 1, 2),), ((0, 1), (2,)), ((0, 2), (1,)), ((0,), (1, 2))]
    """
    if r < 0:
        raise ValueError(f"r must be >= 0, got {r}")
    cap = r if max_blocks is None else min(r, max_blocks)
    if r == 0:
        if min_blocks <= 0:
            yield ()
        return
    if cap < 1:
        return
    rgs = [0] * r

    def extend(position: int, used: int) -> Iterator[Blocks]:
        if position == r:
            if used >= min_blocks:
                yield blocks_from_rgs(tuple(rgs))
            return
        remaining = r - position
        for label in range(min(used, cap - 1) + 1):
            new_used = max(used, label + 1)
            if new_used + remaining - 1 < min_blocks:
                continue
            rgs[position] = label
            yield from extend(position + 1, new_used)

    yield from extend(1, 1)
