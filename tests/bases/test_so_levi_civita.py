"""SO(n) Levi-Civita (Brauer–Grood) part of small-n bases: spanning subset + blocked elimination.

Issue 36 item 5: the twisted half of ``equivariant_basis(SO(n), k, l)`` is selected among the
Brauer–Grood diagrams with vertex 0 free and an O(n)-standard matching
(:func:`geomlayers.bases.brauer.grood_candidates`), by the BLAS elimination
:func:`geomlayers.bases.elimination.pivot_columns_blocked`. Truths: the exact dimension
(Weyl integration), the dense null space of the equivariance constraints
(:func:`geomlayers.bases.numeric_basis`), and the greedy elimination modulo ``2^31 - 1``.
"""

import numpy as np
import pytest
import torch

from geomlayers.bases import elimination, equivariant_basis, numeric_basis
from geomlayers.bases.brauer import grood_candidates, select_independent
from geomlayers.bases.dimension import equivariant_dimension
from geomlayers.bases.elimination import (
    BLAS_PRIME,
    evaluation_matrix,
    pivot_columns_blocked,
    pivot_columns_mod_p,
)
from geomlayers.diagrams.brauer import BrauerGroodDiagram, brauer_grood_diagrams
from geomlayers.groups import OrthogonalGroup, SpecialOrthogonalGroup

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("seed", range(6))
def test_blocked_pivots_equal_the_plain_elimination(seed):
    rng = np.random.default_rng(seed)
    for _ in range(10):
        rows, cols = int(rng.integers(1, 40)), int(rng.integers(1, 90))
        rank = int(rng.integers(0, min(rows, cols) + 1))
        small = rng.integers(0, 4, (rows, rank)) @ rng.integers(0, 4, (rank, cols))
        small[:, rng.random(cols) < 0.2] = 0
        large = rng.integers(0, BLAS_PRIME, (rows, rank)) @ rng.integers(0, BLAS_PRIME,
                                                                      (rank, cols)) % BLAS_PRIME
        for matrix in (small, large):
            chunk = int(rng.integers(1, 9))
            assert pivot_columns_blocked(matrix, chunk=chunk) == pivot_columns_mod_p(
                matrix, BLAS_PRIME)
            stop = max(1, rank - 1)
            assert pivot_columns_blocked(matrix, chunk=chunk, stop_at=stop) == \
                pivot_columns_mod_p(matrix, BLAS_PRIME, stop_at=stop)


def test_blocked_pivots_refuse_a_large_prime():
    with pytest.raises(ValueError, match="2\\^20"):
        pivot_columns_blocked(np.eye(2, dtype=np.int64), 2**31 - 1)


def _twisted_dim(n, r):
    return (equivariant_dimension(SpecialOrthogonalGroup(n), 0, r)
            - equivariant_dimension(OrthogonalGroup(n), 0, r))


@pytest.mark.parametrize("n, r", [(2, 4), (2, 6), (2, 8), (3, 5), (3, 7), (3, 9), (4, 6),
                                  (4, 8), (5, 7), (6, 8)])
def test_candidates_span_the_levi_civita_half(n, r):
    """The subset has the rank of the whole Brauer–Grood set (greedy mod 2^31 - 1)."""
    k = r // 2
    grood = brauer_grood_diagrams(n, k, r - k)
    candidates = grood_candidates(grood, n, r)
    assert all(0 in e.free for e in candidates)
    assert len(candidates) < len(grood)
    rank = len(select_independent(grood, n, r, rank=None))
    assert rank == _twisted_dim(n, r)
    assert len(select_independent(candidates, n, r, rank=None)) == rank


def test_candidates_drop_non_standard_matchings_for_small_n():
    # SO(2), k+l = 8: 6 non-free vertices, O(2) keeps 10 of their 15 matchings
    grood = brauer_grood_diagrams(2, 4, 4)
    assert len(grood_candidates(grood, 2, 8)) == 7 * 10


def test_so4_at_10_selects_among_fewer_diagrams(monkeypatch):
    """SO(4), k+l = 10 under a cost bound that the former elimination over all 3,150
    Brauer–Grood diagrams (estimated 2.4e9 multiply-adds) exceeds; the elimination among the
    1,260 candidates (9.4e8) and the rule (none) pass."""
    monkeypatch.setattr(elimination, "MAX_ELIMINATION_OPS", 1_500_000_000)
    group = SpecialOrthogonalGroup(4)
    basis = equivariant_basis(group, 5, 5, use_cache=False, progress=False)
    assert len(basis) == equivariant_dimension(group, 5, 5) == 1764
    twisted = [e for e in basis if isinstance(e, BrauerGroodDiagram)]
    assert len(twisted) == 861
    values = evaluation_matrix(twisted, 4, 10, 900, seed=7)
    assert len(pivot_columns_mod_p(values)) == 861  # independent (other points, other prime)


@pytest.mark.parametrize("group, k, l, numeric", [
    (SpecialOrthogonalGroup(2), 2, 4, True), (SpecialOrthogonalGroup(2), 4, 4, True),
    (SpecialOrthogonalGroup(3), 2, 3, True),
    pytest.param(SpecialOrthogonalGroup(3), 3, 4, True, marks=pytest.mark.slow),
    (SpecialOrthogonalGroup(4), 3, 3, False),  # 4^6: the dense solve takes minutes
    (SpecialOrthogonalGroup(5), 3, 4, False),
], ids=str)
def test_basis_equals_the_numeric_null_space(group, k, l, numeric):  # noqa: E741
    """Size, independence and span against the dense null space; equivariance in float64."""
    basis = equivariant_basis(group, k, l, use_cache=False, progress=False)
    n = group.n
    dense = basis.dense(torch.float64).reshape(len(basis), -1)
    assert len(basis) == equivariant_dimension(group, k, l)
    assert torch.linalg.matrix_rank(dense).item() == len(basis)
    if numeric:
        null = numeric_basis(group, k, l, max_size=5000).dense().reshape(-1, n ** (k + l))
        assert len(null) == len(basis)
        # span: every element lies in the null space
        residual = dense - (dense @ null.T) @ null
        assert residual.abs().max().item() < 1e-10 * max(1.0, dense.abs().max().item())
    # equivariance of a random combination
    gen = torch.Generator().manual_seed(0)
    weight = (torch.randn(len(basis), generator=gen, dtype=torch.float64) @ dense).reshape(
        n**l, n**k)
    g = group.sample(1, generator=1)[0].to(torch.float64)

    def power(m, times):
        out = torch.ones(1, 1, dtype=torch.float64)
        for _ in range(times):
            out = torch.kron(out, m)
        return out

    moved = power(g, l) @ weight @ power(g, k).T
    assert (moved - weight).abs().max().item() < 1e-10 * weight.abs().max().item()


# -- the nested-fan rule (geomlayers.bases.standard.is_standard_levi_civita) ----------------
RULE_CASES = [(n, r) for n in range(1, 7) for r in range(n + 2, 11, 2)
              if not (2 * n >= r and (r - n) % 2 == 1)]


@pytest.mark.parametrize("n, r", RULE_CASES)
def test_levi_civita_rule_equals_the_greedy_elimination(n, r):
    """Independent truth: the greedy selection mod 2^31 - 1 among all Brauer–Grood diagrams
    ordered with the candidates first gives the same diagrams as the rule."""
    from geomlayers.bases.standard import is_standard_levi_civita

    grood = brauer_grood_diagrams(n, r // 2, r - r // 2)
    candidates = grood_candidates(grood, n, r)
    rule = [e for e in candidates if is_standard_levi_civita(e.blocks, e.free, r, n)]
    assert len(rule) == _twisted_dim(n, r)
    assert select_independent(candidates, n, r, rank=None) == rule


@pytest.mark.parametrize("n, k, l", [(4, 6, 6), (6, 6, 6), (3, 5, 6), (5, 5, 6), (2, 6, 6)])
def test_so_n_at_12_needs_no_elimination(monkeypatch, n, k, l):  # noqa: E741
    """Issue 36 item 5 beyond SO(3): the Levi-Civita half is read off too (SO(4) at 12 was
    refused, estimated at 1.3e12 multiply-adds)."""
    monkeypatch.setattr(elimination, "MAX_ELIMINATION_OPS", 0)  # any elimination would raise
    group = SpecialOrthogonalGroup(n)
    basis = equivariant_basis(group, k, l, use_cache=False, progress=False)
    assert len(basis) == equivariant_dimension(group, k, l)
    assert len(set(basis)) == len(basis)


@pytest.mark.slow
@pytest.mark.parametrize("n, k, l", [(3, 5, 6), (5, 5, 6), (6, 6, 6)])
def test_levi_civita_half_at_11_and_12_is_independent(n, k, l):  # noqa: E741
    """Rank of the kept diagrams' evaluations at fresh random points mod 1,048,573."""
    basis = equivariant_basis(SpecialOrthogonalGroup(n), k, l, use_cache=False, progress=False)
    twisted = [e for e in basis if isinstance(e, BrauerGroodDiagram)]
    values = evaluation_matrix(twisted, n, k + l, len(twisted) + 8, seed=123, prime=BLAS_PRIME)
    assert len(pivot_columns_blocked(values)) == len(twisted) == _twisted_dim(n, k + l)


def test_levi_civita_rule_is_not_trusted_beyond_its_checked_range(monkeypatch):
    """The nested-fan rule is checked only up to n = 6, k + l = 12; beyond that the exact
    elimination selects, because a dependent set of the right size would pass the count."""
    import geomlayers.bases.brauer as brauer_module

    def refuse(*args):
        raise AssertionError("the unproved rule was consulted outside its checked range")

    monkeypatch.setattr(brauer_module, "is_standard_levi_civita", refuse)
    group = SpecialOrthogonalGroup(7)
    basis = equivariant_basis(group, 4, 5, use_cache=False, progress=False)
    twisted = [e for e in basis if isinstance(e, BrauerGroodDiagram)]
    assert twisted and len(basis) == equivariant_dimension(group, 4, 5)
    values = evaluation_matrix(twisted, 7, 9, len(twisted) + 8, seed=5, prime=BLAS_PRIME)
    assert len(pivot_columns_blocked(values)) == len(twisted)
