"""Shared helpers and reference data for the tests."""

import json
from pathlib import Path

import torch

DIMS_JSON = Path(__file__).parent / "data" / "equivariant-bases-dims.json"


def dims_table() -> dict:
    """Published dimension tables (copied from shared/research; provenance in the file)."""
    return json.loads(DIMS_JSON.read_text())


def matrix_fn(matrix: torch.Tensor, n: int, k: int, l: int):  # noqa: E741
    """x (*batch, n^(k)) -> (*batch, n^(l)) through a dense (n^l, n^k) matrix."""

    def fn(x):
        batch = x.shape[: x.dim() - k]
        flat = x.reshape(-1, n**k).to(matrix.dtype)
        return (flat @ matrix.T).reshape(*batch, *([n] * l))

    return fn


def rank(matrices: torch.Tensor) -> int:
    return int(torch.linalg.matrix_rank(matrices.reshape(matrices.shape[0], -1)))


def burnside_dimension(images: list, n: int, r: int) -> int:
    """(1/|G|) Σ_g fix(g)^r over an explicit element list (exact integers)."""
    total = sum(sum(1 for i in range(n) if g[i] == i) ** r for g in images)
    assert total % len(images) == 0
    return total // len(images)
