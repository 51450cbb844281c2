"""Exact greedy rank selection of Brauer-type diagrams, modulo a large prime.

Keep an element iff it is not in the span of the elements before it. Instead of the
``n^{k+l}`` entries of each tensor, every element ``T`` is *evaluated* at ``N`` random points
``(v_1, …, v_r) ∈ (F_p^n)^r`` of the multilinear form it defines:
``T(v_1, …, v_r) = Π_{pairs (u, w)} β(v_u, v_w) · det(v_{f_1}, …, v_{f_n})``, with
``β = ⟨·,·⟩`` for O(n) pairs and through-strands, ``vᵀ J w`` on symplectic caps and
``-vᵀ J w`` on cups (Pearce-Crump, arXiv 2212.08630; docs/brauer.md), and the determinant only
for Brauer–Grood diagrams. The ``N x m`` evaluation matrix ``E = R Sᵀ`` (``S`` the elements'
entries, ``R`` the rank-one point tensors) has the same column dependencies as the elements
whenever ``R`` is injective on their span, which holds for random points with probability
``>= 1 - d r / p`` (Schwartz–Zippel) and is certified when the rank reached equals the exact
dimension ``d`` (:mod:`geomlayers.bases.dimension`); otherwise new points are drawn. The
pivot columns of ``E`` over ``F_p`` (``p = 2^31 - 1``) are those over ``Q`` unless ``p``
divides one of the integer minors involved.

Cost: ``N · m · r`` to evaluate and about ``d · N · m`` for the elimination (``m`` elements).
:func:`elimination_cost` names it before it starts.
"""

from __future__ import annotations

import numpy as np

from geomlayers.progress import progress_bar

__all__ = [
    "PRIME",
    "MAX_ELIMINATION_OPS",
    "WARN_ELIMINATION_OPS",
    "elimination_cost",
    "evaluation_matrix",
    "pivot_columns_mod_p",
    "select_by_elimination",
]

PRIME = 2**31 - 1
#: measured throughput of :func:`pivot_columns_mod_p` (multiply-adds per second, one core).
OPS_PER_SECOND = 50_000_000
#: refuse an elimination estimated above this many multiply-adds (a few minutes).
MAX_ELIMINATION_OPS = 10_000_000_000
#: warn, naming the estimated time, above this many (about ten seconds).
WARN_ELIMINATION_OPS = 500_000_000
#: eliminations above this many multiply-adds show a progress bar.
PROGRESS_OPS = 100_000_000


def elimination_cost(num_elements: int, rank: int | None) -> int:
    """Estimated multiply-adds of :func:`select_by_elimination` (``rank`` ≈ ``N``)."""
    d = num_elements if rank is None else rank
    return (d + 8) * d * num_elements


def _det_mod_p(matrices: np.ndarray) -> np.ndarray:
    """Determinants mod p of a batch ``(N, n, n)`` of integer matrices (Gaussian elimination)."""
    a = matrices.copy() % PRIME
    count, n, _ = a.shape
    det = np.ones(count, dtype=np.int64)
    for col in range(n):
        # first row at or below ``col`` with a non-zero entry in this column, per matrix
        nonzero = a[:, col:, col] != 0
        has = nonzero.any(axis=1)
        pivot = col + nonzero.argmax(axis=1)
        det = np.where(has, det, 0)
        rows = np.arange(count)
        swap = pivot != col
        det = np.where(swap, (PRIME - det) % PRIME, det)
        top = a[rows, pivot].copy()
        a[rows, pivot] = a[:, col]
        a[:, col] = top
        diagonal = np.where(has, a[:, col, col], 1)
        det = det * diagonal % PRIME
        inverse = np.array([pow(int(v), PRIME - 2, PRIME) for v in diagonal], dtype=np.int64)
        factors = a[:, col + 1 :, col] * inverse[:, None] % PRIME
        a[:, col + 1 :] = (a[:, col + 1 :] - factors[:, :, None] * a[:, None, col] % PRIME) % PRIME
    return det


def evaluation_matrix(elements: list, n: int, r: int, num_points: int, seed: int,
                      form: np.ndarray | None = None) -> np.ndarray:
    """``E[p, i] = T_i(v^{(p)}_1, …, v^{(p)}_r) mod p`` ``(num_points, len(elements))`` int64.

    Args:
        elements: Brauer (partition diagrams with pairs), symplectic Brauer or Brauer–Grood
            diagrams with the same ``k + l = r``.
        n: the dimension.
        r: ``k + l``.
        num_points: ``N``.
        seed: seed of the random points (the result is a deterministic function of it).
        form: the integer symplectic form ``J`` ``(n, n)`` for symplectic diagrams.

    """
    rng = np.random.default_rng(seed)
    points = rng.integers(0, PRIME, size=(num_points, r, n), dtype=np.int64)
    dot, twisted = _pair_tables(points, form)
    out = np.ones((num_points, len(elements)), dtype=np.int64)
    determinants: dict[tuple[int, ...], np.ndarray] = {}
    for index, element in enumerate(elements):
        column = np.ones(num_points, dtype=np.int64)
        kinds = element.pair_kinds() if hasattr(element, "pair_kinds") else None
        for position, (u, w) in enumerate(element.blocks):
            kind = kinds[position] if kinds is not None else "through"
            if form is None or kind == "through":
                factor = dot[:, u, w]
            elif kind == "cap":
                factor = twisted[:, u, w]
            else:
                factor = (PRIME - twisted[:, u, w]) % PRIME
            column = column * factor % PRIME
        free = tuple(getattr(element, "free", ()))
        if free:
            if free not in determinants:
                determinants[free] = _det_mod_p(points[:, list(free), :])
            column = column * determinants[free] % PRIME
        out[:, index] = column
    return out


def _pair_tables(points: np.ndarray, form: np.ndarray | None):
    """``⟨v_u, v_w⟩`` and ``v_uᵀ J v_w`` mod p for all vertex pairs: two ``(N, r, r)`` arrays.

    Each product of two entries (``< 2^62``) is reduced before it is summed (no overflow).
    """
    def bilinear(right: np.ndarray) -> np.ndarray:
        total = np.zeros((points.shape[0], points.shape[1], points.shape[1]), dtype=np.int64)
        for a in range(points.shape[2]):
            total = (total + points[:, :, None, a] * right[:, None, :, a] % PRIME) % PRIME
        return total

    dot = bilinear(points)
    if form is None:
        return dot, dot
    twisted = np.einsum("ab,pwb->pwa", np.asarray(form, dtype=np.int64), points) % PRIME
    return dot, bilinear(twisted)


def pivot_columns_mod_p(matrix: np.ndarray, p: int = PRIME, *, progress: bool | None = False,
                        stop_at: int | None = None) -> list[int]:
    """Pivot columns of the row echelon form of an integer matrix over ``F_p``.

    These are the columns not in the span of the columns before them (greedy, left to right).
    ``stop_at``: stop once this many pivots are found (the remaining columns are dependent).

    >>> pivot_columns_mod_p(np.array([[1, 2, 0], [2, 4, 1]]))
    [0, 2]
    """
    a = np.mod(np.asarray(matrix, dtype=np.int64), p)
    pivots: list[int] = []
    row = 0
    columns = progress_bar(range(a.shape[1]), desc="rank selection", progress=progress,
                           unit="diagram")
    for col in columns:
        if row == a.shape[0] or (stop_at is not None and len(pivots) == stop_at):
            break
        nonzero = np.flatnonzero(a[row:, col])
        if len(nonzero) == 0:
            continue
        pivot = row + int(nonzero[0])
        if pivot != row:
            a[[row, pivot]] = a[[pivot, row]]
        inverse = pow(int(a[row, col]), p - 2, p)
        a[row, col:] = (a[row, col:] * inverse) % p
        factors = a[row + 1 :, col].copy()
        nz = np.flatnonzero(factors)
        if len(nz):
            rows = row + 1 + nz
            a[rows, col:] = (a[rows, col:] - factors[nz, None] * a[row, col:]) % p
        pivots.append(col)
        row += 1
    if hasattr(columns, "close"):
        columns.close()
    return pivots


def select_by_elimination(elements: list, n: int, r: int, rank: int | None, *,
                          form: np.ndarray | None = None, progress: bool | None = None,
                          seed: int = 0) -> list[int]:
    """Positions of the greedy independent subset of ``elements`` (module docstring).

    Args:
        elements: the spanning elements in their fixed order.
        n: the dimension.
        r: ``k + l``.
        rank: the exact dimension of their span when known (certifies the result; ``None``:
            use ``len(elements)`` points and no certificate).
        form: the symplectic form for symplectic diagrams.
        progress: progress bar switch (:mod:`geomlayers.progress`); shown above
            ``PROGRESS_OPS`` estimated multiply-adds.
        seed: seed of the first set of points.

    """
    if not elements:
        return []
    m = len(elements)
    cost = elimination_cost(m, rank)
    show = progress if progress is not None else (None if cost > PROGRESS_OPS else False)
    for attempt in range(3):
        points = m if rank is None else min(m, rank + 8)
        values = evaluation_matrix(elements, n, r, points, seed + attempt, form)
        pivots = pivot_columns_mod_p(values, progress=show, stop_at=rank)
        if rank is None or len(pivots) == rank:
            return pivots
    raise ArithmeticError(
        f"the rank selection of {m} elements reached {len(pivots)} independent elements, not "
        f"the dimension {rank}, for three sets of random points; please report this"
    )
