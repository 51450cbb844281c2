import pytest

from geomlayers.diagrams import (
    bell,
    count_partitions,
    double_factorial,
    set_partitions,
    stirling2,
)
from tests.helpers import dims_table


def test_bell_and_restricted_counts_match_table():
    table = dims_table()["spanning_set_sizes"]
    assert [bell(r) for r in range(9)] == table["partition_diagrams_Bell(r)"]
    for n, row in table["partition_diagrams_at_most_n_blocks"].items():
        assert [count_partitions(r, max_blocks=int(n)) for r in range(9)] == row
    assert [double_factorial(r - 1) if r % 2 == 0 else 0 for r in range(9)] == table[
        "brauer_(r-1)!!"
    ]


@pytest.mark.parametrize("r", range(8))
def test_enumeration_is_complete_unique_and_ordered(r):
    partitions = list(set_partitions(r))
    assert len(partitions) == bell(r)
    assert len(set(partitions)) == len(partitions)
    for blocks in partitions:
        assert sorted(v for b in blocks for v in b) == list(range(r))
    for low in range(r + 1):
        for high in range(low, r + 1):
            subset = list(set_partitions(r, min_blocks=low, max_blocks=high))
            assert subset == [p for p in partitions if low <= len(p) <= high]
            assert len(subset) == count_partitions(r, low, high)


def test_stirling_values():
    assert [stirling2(5, t) for t in range(6)] == [0, 1, 15, 25, 10, 1]
    assert stirling2(0, 0) == 1
