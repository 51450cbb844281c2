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
    "pivot_columns_blocked",
    "BLAS_PRIME",
    "select_by_elimination",
]

PRIME = 2**31 - 1
#: the prime of :func:`pivot_columns_blocked`: below ``2^20``, so a product of two residues is
#: below ``2^40`` and a float64 dot product of up to :data:`_EXACT_TERMS` of them is exact.
BLAS_PRIME = 1_048_573
_EXACT_TERMS = 8_000  # 8000 * (2^20)^2 < 2^53
#: throughput of :func:`pivot_columns_blocked` on the estimate of :func:`elimination_cost`
#: (multiply-adds per second, one core; 2000 x 4000 of rank 2000 measured at 6e9).
OPS_PER_SECOND = 2_000_000_000
#: refuse an elimination estimated above this many multiply-adds (a few minutes).
MAX_ELIMINATION_OPS = 500_000_000_000
#: warn, naming the estimated time, above this many (about ten seconds).
WARN_ELIMINATION_OPS = 20_000_000_000
#: eliminations above this many multiply-adds show a progress bar (the fallback path).
PROGRESS_OPS = 100_000_000


def elimination_cost(num_elements: int, rank: int | None) -> int:
    """Estimated multiply-adds of :func:`select_by_elimination` (``rank`` ≈ ``N``)."""
    d = num_elements if rank is None else rank
    return (d + 8) * d * num_elements


def _inverse_mod(values: np.ndarray, p: int) -> np.ndarray:
    """``values^(p-2) mod p`` elementwise (Fermat; non-zero residues ``< p < 2^31``)."""
    result = np.ones_like(values)
    base = values % p
    exponent = p - 2
    while exponent:
        if exponent & 1:
            result = result * base % p
        base = base * base % p
        exponent >>= 1
    return result


def _det_mod_p(matrices: np.ndarray, prime: int = PRIME) -> np.ndarray:
    """Determinants mod p of a batch ``(N, n, n)`` of integer matrices (Gaussian elimination)."""
    PRIME = prime  # noqa: N806  (the module constant unless a smaller prime is asked for)
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
        inverse = _inverse_mod(diagonal, PRIME)
        factors = a[:, col + 1 :, col] * inverse[:, None] % PRIME
        a[:, col + 1 :] = (a[:, col + 1 :] - factors[:, :, None] * a[:, None, col] % PRIME) % PRIME
    return det


def evaluation_matrix(elements: list, n: int, r: int, num_points: int, seed: int,
                      form: np.ndarray | None = None, prime: int = PRIME) -> np.ndarray:
    """``E[p, i] = T_i(v^{(p)}_1, …, v^{(p)}_r) mod p`` ``(num_points, len(elements))`` int64.

    Args:
        elements: Brauer (partition diagrams with pairs), symplectic Brauer or Brauer–Grood
            diagrams with the same ``k + l = r``.
        n: the dimension.
        r: ``k + l``.
        num_points: ``N``.
        seed: seed of the random points (the result is a deterministic function of it).
        form: the integer symplectic form ``J`` ``(n, n)`` for symplectic diagrams.
        prime: the modulus (:data:`PRIME`, or :data:`BLAS_PRIME` for
            :func:`pivot_columns_blocked`).

    """
    PRIME = prime  # noqa: N806
    rng = np.random.default_rng(seed)
    points = rng.integers(0, PRIME, size=(num_points, r, n), dtype=np.int64)
    dot, twisted = _pair_tables(points, form, prime)
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
                determinants[free] = _det_mod_p(points[:, list(free), :], prime)
            column = column * determinants[free] % PRIME
        out[:, index] = column
    return out


def _pair_tables(points: np.ndarray, form: np.ndarray | None, prime: int = PRIME):
    """``⟨v_u, v_w⟩`` and ``v_uᵀ J v_w`` mod p for all vertex pairs: two ``(N, r, r)`` arrays.

    Each product of two entries (``< 2^62``) is reduced before it is summed (no overflow).
    """
    PRIME = prime  # noqa: N806
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


def _reduce(x: np.ndarray, p: int) -> np.ndarray:
    """``x mod p`` in place for float64 integers ``|x| < 2^53`` (exact; 3x faster than remainder).

    The floor of ``x / p`` may be off by one near multiples of ``p``; the two corrections
    bring every value into ``[0, p)``.
    """
    x -= p * np.floor(x * (1.0 / p))
    x += p * (x < 0)
    x -= p * (x >= p)
    return x


def _matmul_mod(a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    """``a @ b mod p`` for float64 residues ``< p <= 2^20``, exact (inner sums split)."""
    out = np.zeros((a.shape[0], b.shape[1]))
    for start in range(0, a.shape[1], _EXACT_TERMS):
        out += a[:, start:start + _EXACT_TERMS] @ b[start:start + _EXACT_TERMS]
        _reduce(out, p)
    return out


def pivot_columns_blocked(matrix: np.ndarray, p: int = BLAS_PRIME, *, chunk: int = 128,
                          stop_at: int | None = None,
                          progress: bool | None = False) -> list[int]:
    """The same pivot columns as :func:`pivot_columns_mod_p`, by blocks through float64 BLAS.

    The kept columns are held in reduced form ``Q`` ``(N, s)`` (``Q[P] = I`` at their pivot
    rows ``P``). A block of ``chunk`` new columns ``X`` is first reduced by one product,
    ``X - Q X[P]``, then eliminated column by column inside the block; its new pivots reduce
    ``Q`` by a second product. Residues stay below ``p <= 2^20`` so every float64 operation is
    exact (products below ``2^40``, sums split by :func:`_matmul_mod`); the cost is about
    ``N · s · m`` multiply-adds in BLAS (the greedy rank profile of an ``(N, m)`` matrix).
    """
    if p >= 2**20 or not 1 <= chunk <= 4096:
        raise ValueError(f"pivot_columns_blocked needs p < 2^20 and 1 <= chunk <= 4096, got "
                         f"p={p}, chunk={chunk}")
    a = np.remainder(np.asarray(matrix, dtype=np.int64), p).astype(np.float64)
    rows, cols = a.shape
    basis = np.zeros((rows, 0))
    pivot_rows: list[int] = []
    pivots: list[int] = []
    starts = progress_bar(range(0, cols, chunk), desc="rank selection", progress=progress,
                          unit="block")
    for start in starts:
        if len(pivots) == rows or (stop_at is not None and len(pivots) == stop_at):
            break
        block = a[:, start:start + chunk].copy()
        if pivot_rows:  # residue minus residue: one correction brings it into [0, p)
            block -= _matmul_mod(basis, block[pivot_rows], p)
            block += p * (block < 0)
        new = np.zeros((rows, block.shape[1]))
        new_rows: list[int] = []
        # inside the block residues are reduced lazily: each step subtracts products below
        # 2^40, at most ``chunk`` (<= 4096) of them, so magnitudes stay below 2^52; a column is
        # reduced when it is examined, a row when it is used as a multiplier.
        for j in range(block.shape[1]):
            candidate = _reduce(block[:, j].copy(), p)
            nonzero = np.flatnonzero(candidate)
            if len(nonzero) == 0:
                continue
            t = int(nonzero[0])
            column = _reduce(candidate * pow(int(candidate[t]), p - 2, p), p)
            rest = block[:, j + 1:]
            rest -= np.outer(column, _reduce(rest[t].copy(), p))
            found = len(new_rows)
            if found:
                done = new[:, :found]
                done -= np.outer(column, _reduce(done[t].copy(), p))
            new[:, found] = column
            new_rows.append(t)
            pivots.append(start + j)
            if stop_at is not None and len(pivots) == stop_at:
                break
        if new_rows:
            new = _reduce(new[:, :len(new_rows)], p)
            if pivot_rows:
                basis -= _matmul_mod(new, basis[new_rows], p)
                basis += p * (basis < 0)
            basis = np.concatenate([basis, new], axis=1)
            pivot_rows += new_rows
    if hasattr(starts, "close"):
        starts.close()
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
        if rank is not None and attempt < 2:  # certified below: the fast small prime
            values = evaluation_matrix(elements, n, r, points, seed + attempt, form,
                                       prime=BLAS_PRIME)
            pivots = pivot_columns_blocked(values, BLAS_PRIME, stop_at=rank, progress=show)
        else:
            values = evaluation_matrix(elements, n, r, points, seed + attempt, form)
            pivots = pivot_columns_mod_p(values, progress=show, stop_at=rank)
        if rank is None or len(pivots) == rank:
            return pivots
    raise ArithmeticError(
        f"the rank selection of {m} elements reached {len(pivots)} independent elements, not "
        f"the dimension {rank}, for three sets of random points; please report this"
    )
