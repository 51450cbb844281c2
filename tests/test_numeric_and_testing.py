import pytest
import torch

from geomlayers.bases import numeric_basis
from geomlayers.groups import (
    OrthogonalGroup,
    PermutationGroup,
    SpecialOrthogonalGroup,
    SymmetricGroup,
)
from geomlayers.testing import assert_equivariant, equivariance_error
from tests.helpers import dims_table, matrix_fn


@pytest.mark.parametrize(
    "group, k, l, expected",
    [
        (SpecialOrthogonalGroup(3), 2, 1, 1),  # cross product
        (SpecialOrthogonalGroup(2), 1, 1, 2),  # identity and 90° rotation
        (OrthogonalGroup(2), 3, 3, 10),
        (OrthogonalGroup(3), 1, 2, 0),
        (OrthogonalGroup(3), 2, 2, 3),
    ],
)
def test_numeric_anchors_for_continuous_groups(group, k, l, expected):
    basis = numeric_basis(group, k, l, max_size=5000)
    assert len(basis) == expected
    for matrix in basis.dense():
        assert_equivariant(matrix_fn(matrix, group.n, k, l), group, in_order=k, out_order=l)


def test_numeric_dims_match_tables_for_orthogonal_groups():
    table = dims_table()
    for family, cls in (("O(n)", OrthogonalGroup), ("SO(n)", SpecialOrthogonalGroup)):
        for n in ("2", "3"):
            for r in range(5):
                assert len(numeric_basis(cls(int(n)), r // 2, r - r // 2)) == table[family][n][r]


def test_numeric_basis_is_orthonormal():
    dense = numeric_basis(SymmetricGroup(3), 2, 1).dense().reshape(5, -1)
    torch.testing.assert_close(dense @ dense.T, torch.eye(5, dtype=torch.float64))


def test_numeric_guard():
    with pytest.raises(ValueError, match="max_size"):
        numeric_basis(SymmetricGroup(10), 2, 2)


def test_assert_equivariant_catches_a_broken_function():
    group = SymmetricGroup(4)
    weights = torch.randn(4, 4, dtype=torch.float64)
    with pytest.raises(AssertionError, match="output 0 is not equivariant"):
        assert_equivariant(lambda x: x @ weights.T, group, in_order=1, out_order=1)
    # several outputs, one per order; worst error reported per output
    errors = equivariance_error(
        lambda x: (x.sum(-1), x @ weights.T), group, in_order=1, out_order=(0, 1)
    )
    assert errors[0] < 1e-12 < 0.1 < errors[1]


def test_assert_equivariant_float32_module():
    layer = torch.nn.Linear(1, 1).to(torch.float32)
    group = PermutationGroup([(1, 2, 0)])
    fn = lambda x: layer(x.unsqueeze(-1)).squeeze(-1)  # noqa: E731  pointwise: equivariant
    x = torch.randn(2, 3, dtype=torch.float32)
    assert_equivariant(fn, group, in_order=1, out_order=1, x=x, tol=1e-6)
