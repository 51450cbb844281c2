"""The Clifford (geometric) algebra ``Cl(p, q, r)`` with batched products on the last axis.

Basis vectors ``e_1 … e_n`` (``n = p + q + r``) square to ``+1`` (the first ``p``), ``-1``
(the next ``q``) and ``0`` (the last ``r``, the radical); :meth:`CliffordAlgebra.from_metric`
takes any diagonal metric in any order. A multivector is a tensor ``(..., 2^n)`` of
coefficients over the ``2^n`` basis blades ``e_A = e_{a_1} e_{a_2} …`` (``a_1 < a_2 < …``) in
**short-lex order**: grade 0, then the grade-1 blades, grade 2, …, each grade in
``itertools.combinations`` order (``1, e1, e2, …, en, e12, e13, …``); blade ``A`` is stored
as the bitmap with bit ``i - 1`` set for ``e_i``.

The Cayley table is built exactly in integers: ``e_A e_B = s(A, B) · Π_{i ∈ A∩B} m_i ·
e_{A xor B}`` with the reordering sign ``s(A, B) = (-1)^{#{(a, b) ∈ A × B : a > b}}`` (Ruhe et
al., NeurIPS 2023, App. A; Dorst, Fontijne & Mann, *Geometric Algebra for Computer Science*,
§19.1). From ``n = 5`` on, products are *index-gather based*: for output blade ``C`` the only
left/right pairs that contribute are ``(A, A xor C)``, so ``(a b)_C = Σ_A sign(A, C) a_A
b_{A xor C}`` — ``4^n`` multiply-adds instead of the ``8^n`` of the dense Cayley einsum used by
the CGENN and GLGENN code; for ``n ≤ 4`` the dense einsum is faster on CPU and is used
(:attr:`CliffordAlgebra.product_backend`; timings in ``docs/clifford.md``).
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field

import torch

from geomlayers.groups.pseudo_orthogonal import PseudoOrthogonal
from geomlayers.validation import check_int

__all__ = ["CliffordAlgebra", "quaternion_type_dims", "blade_sign"]

_MAX_DIM = 10


def blade_sign(a: int, b: int) -> int:
    """Reordering sign of ``e_A e_B`` for bitmaps ``a``, ``b``.

    ``s(A, B) = (-1)^{#{(i, j): i ∈ A, j ∈ B, i > j}}``.

    >>> blade_sign(0b10, 0b01)  # e2 e1 = -e12
    -1
    """
    swaps = 0
    a >>= 1
    while a:
        swaps += bin(a & b).count("1")
        a >>= 1
    return -1 if swaps % 2 else 1


def quaternion_type_dims(n: int) -> tuple[int, int, int, int]:
    """``dim Cl^{k̄} = Σ_{g ≡ k (mod 4)} C(n, g)`` for ``k = 0..3``, as exact integers.

    The quaternion types of Filimoshina & Shirokov (ICML 2025, §3). Their code uses the closed
    form ``2^{n-2} ± 2^{n/2-1} sin/cos(πn/4)`` with ``int`` truncation, which gives
    ``(2, 2, 0, 0)`` for ``n = 2`` instead of ``(1, 2, 1, 0)``.

    >>> quaternion_type_dims(2), quaternion_type_dims(5)
    ((1, 2, 1, 0), (6, 6, 10, 10))
    """
    n = check_int("n", n, minimum=0)
    return tuple(sum(math.comb(n, g) for g in range(k, n + 1, 4)) for k in range(4))


def _gather_pairs(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``(..., D)`` → ``(..., D, D)`` with ``out[..., i, k] = x[..., index[i * D + k]]``.

    ``index_select`` on a 2-D view: on CPU about 15x faster than on the N-D tensor or than
    advanced indexing.
    """
    size = x.shape[-1]
    flat = x.reshape(-1, size).index_select(1, index)
    return flat.view(*x.shape[:-1], size, size)


@functools.lru_cache(maxsize=64)
def _tables(metric: tuple[int, ...]) -> dict[str, torch.Tensor]:
    """Integer tables of one metric (CPU): blade bitmaps, grades, gather indices and signs."""
    n = len(metric)
    bitmaps = [sum(1 << i for i in combo) for g in range(n + 1)
               for combo in itertools.combinations(range(n), g)]
    index_of = {bm: i for i, bm in enumerate(bitmaps)}
    size = len(bitmaps)

    def product_sign(a: int, b: int) -> int:
        sign = blade_sign(a, b)
        for i in range(n):
            if a & b & (1 << i):
                sign *= metric[i]
        return sign

    # right[i, k]: index of the right blade j with e_i e_j ∝ e_k; sign[i, k] its coefficient.
    right = torch.empty(size, size, dtype=torch.int64)
    sign = torch.empty(size, size, dtype=torch.int64)
    outer = torch.empty(size, size, dtype=torch.int64)
    inner = torch.empty(size, size, dtype=torch.int64)
    for i, a in enumerate(bitmaps):
        for k, c in enumerate(bitmaps):
            b = a ^ c
            right[i, k] = index_of[b]
            s = product_sign(a, b)
            sign[i, k] = s
            outer[i, k] = s if a & b == 0 else 0
            inner[i, k] = s if a & ~b == 0 else 0  # left contraction: A ⊆ B
    grades = torch.tensor([bin(bm).count("1") for bm in bitmaps], dtype=torch.int64)
    square = torch.tensor([product_sign(bm, bm) for bm in bitmaps], dtype=torch.int64)
    return {
        "bitmaps": torch.tensor(bitmaps, dtype=torch.int64),
        "grades": grades,
        "right": right,
        "right_flat": right.flatten(),
        "sign": sign,
        "outer": outer,
        "inner": inner,
        # q(e_A) = <reverse(e_A) e_A>_0 = Π_{i∈A} m_i
        "quadratic": square * (-1) ** (grades * (grades - 1) // 2),
    }


@functools.lru_cache(maxsize=64)
def _dense(metric: tuple[int, ...], signs: str, dtype: torch.dtype, device: str) -> torch.Tensor:
    """Dense ``(D, D, D)`` table ``[left, right, out]`` of one sign table."""
    tables = _tables(metric)
    size = 1 << len(metric)
    dense = torch.zeros(size, size, size, dtype=dtype)
    left = torch.arange(size).unsqueeze(1).expand(size, size)
    out = torch.arange(size).unsqueeze(0).expand(size, size)
    dense[left, tables["right"], out] = tables[signs].to(dtype)
    return dense.to(device)


@functools.lru_cache(maxsize=256)
def _on(metric: tuple[int, ...], name: str, dtype: torch.dtype | None, device: str) -> torch.Tensor:
    table = _tables(metric)[name]
    return table.to(device=device) if dtype is None else table.to(dtype=dtype, device=device)


def _metric_entry(index: int, value) -> int:
    """``metric[index]`` as an int in {-1, 0, 1}; integral floats are read, others refused."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise TypeError(f"metric[{index}] must be +1, -1 or 0, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"metric[{index}] must be +1, -1 or 0, got {value!r}") from None
    if number not in (-1.0, 0.0, 1.0):
        raise ValueError(f"metric[{index}] must be +1, -1 or 0 (e_i squares to it), got "
                         f"{value!r}; scale the basis vector instead of the metric")
    return int(number)


@dataclass(frozen=True)
class CliffordAlgebra:
    """``Cl(p, q, r)``: the geometric algebra of ``R^{p,q,r}`` (diagonal metric).

    Args:
        p: number of basis vectors with ``e_i² = +1``.
        q: number with ``e_i² = -1``.
        r: number with ``e_i² = 0`` (degenerate directions).

    Multivectors are tensors ``(..., 2^n)`` over the blades in short-lex order (module
    docstring). All operations broadcast over the leading axes and keep dtype and device.

    >>> cl = CliffordAlgebra(3)
    >>> cl.blade_names[:5]
    ('1', 'e1', 'e2', 'e3', 'e12')
    >>> e1, e2 = cl.basis_vector(0), cl.basis_vector(1)
    >>> cl.geometric_product(e1, e2).tolist() == cl.blade("e12").tolist()
    True

    """

    p: int
    q: int = 0
    r: int = 0
    _metric: tuple[int, ...] | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        group = PseudoOrthogonal(self.p, self.q, self.r)  # the one validation of (p, q, r)
        for name in ("p", "q", "r"):
            object.__setattr__(self, name, int(getattr(group, name)))
        if not 1 <= self.p + self.q + self.r <= _MAX_DIM:
            raise ValueError(
                f"p + q + r must be in 1..{_MAX_DIM} (2^n blades), got {self.p + self.q + self.r}"
            )
        if self._metric is not None:
            counts = (self._metric.count(1), self._metric.count(-1), self._metric.count(0))
            if counts != (self.p, self.q, self.r) or len(self._metric) != self.n:
                raise ValueError(f"metric {self._metric} does not match (p, q, r)")

    @classmethod
    def from_metric(cls, metric) -> CliffordAlgebra:
        """Algebra with ``e_i² = metric[i]`` (entries in {+1, -1, 0}, any order).

        >>> CliffordAlgebra.from_metric((0, 1, 1)).metric
        (0, 1, 1)
        """
        metric = tuple(_metric_entry(i, m) for i, m in enumerate(metric))
        p, q, r = metric.count(1), metric.count(-1), metric.count(0)
        default = (1,) * p + (-1,) * q + (0,) * r
        return cls(p, q, r, _metric=None if metric == default else metric)

    @classmethod
    def from_group(cls, group: PseudoOrthogonal) -> CliffordAlgebra:
        """The algebra ``Cl(p, q, r)`` on which ``group = PseudoOrthogonal(p, q, r)`` acts.

        >>> CliffordAlgebra.from_group(PseudoOrthogonal(1, 3))
        CliffordAlgebra(1, 3, 0)
        """
        if not isinstance(group, PseudoOrthogonal):
            raise TypeError(f"group must be a PseudoOrthogonal(p, q, r), got {group!r}")
        return cls(group.p, group.q, group.r)

    @property
    def group(self) -> PseudoOrthogonal:
        """``PseudoOrthogonal(p, q, r)``: the isometries whose outermorphisms act on the algebra.

        Defined for the standard basis order (``metric = (1^p, (-1)^q, 0^r)``); an algebra
        made by :meth:`from_metric` with another order has the permuted group instead.
        """
        if self._metric is not None:
            raise ValueError(f"{self} orders its basis as {self._metric}: its isometry group is "
                             "a permutation of PseudoOrthogonal(p, q, r); build the algebra as "
                             "CliffordAlgebra(p, q, r) to use the group")
        return PseudoOrthogonal(self.p, self.q, self.r)

    def __repr__(self) -> str:
        if self._metric is not None:
            return f"CliffordAlgebra.from_metric({self._metric})"
        return f"CliffordAlgebra({self.p}, {self.q}, {self.r})"

    @property
    def default_metric(self) -> tuple[int, ...]:
        """``(1^p, (-1)^q, 0^r)``: the standard basis order."""
        return (1,) * self.p + (-1,) * self.q + (0,) * self.r

    # ----------------------------------------------------------------- structure
    @property
    def n(self) -> int:
        """Dimension of the vector space ``p + q + r``."""
        return self.p + self.q + self.r

    @property
    def dim(self) -> int:
        """Number of blades ``2^n``."""
        return 1 << self.n

    @property
    def metric(self) -> tuple[int, ...]:
        """``(e_1², …, e_n²)``."""
        return self._metric if self._metric is not None else self.default_metric

    def table(self, name: str, dtype: torch.dtype | None = None, device=None) -> torch.Tensor:
        """A cached integer table, optionally cast to ``dtype`` on ``device``.

        Names: ``bitmaps``, ``grades``, ``right`` / ``right_flat`` (right blade of each
        (left, output) pair), ``sign``, ``outer``, ``inner`` (their coefficients),
        ``quadratic`` (``q(e_A)``).
        """
        return _on(self.metric, name, dtype, str(torch.device(device or "cpu")))

    @property
    def grades(self) -> torch.Tensor:
        """``(2^n,)`` grade of each blade."""
        return self.table("grades")

    @property
    def blade_names(self) -> tuple[str, ...]:
        """Names ``'1', 'e1', …, 'e12', …`` in storage order."""
        names = []
        for bm in self.table("bitmaps").tolist():
            digits = "".join(str(i + 1) for i in range(self.n) if bm >> i & 1)
            names.append("e" + digits if digits else "1")
        return tuple(names)

    def grade_dims(self) -> tuple[int, ...]:
        """``(C(n, 0), …, C(n, n))``."""
        return tuple(math.comb(self.n, k) for k in range(self.n + 1))

    def grade_slice(self, k: int) -> slice:
        """Contiguous slice of the grade-``k`` blades."""
        self._check_grade(k)
        start = sum(math.comb(self.n, g) for g in range(k))
        return slice(start, start + math.comb(self.n, k))

    def type_dims(self) -> tuple[int, int, int, int]:
        """Dimensions of the quaternion types ``Cl^{0̄} … Cl^{3̄}`` (exact binomial sums)."""
        return quaternion_type_dims(self.n)

    def subspace_index(self, subspaces: str) -> torch.Tensor:
        """``(2^n,)`` subspace id of each blade.

        ``'grade'`` (0..n), ``'type'`` (grade mod 4, GLGENN's quaternion types) or ``'none'``
        (all 0).
        """
        if subspaces == "grade":
            return self.grades
        if subspaces == "type":
            return self.grades % 4
        if subspaces == "none":
            return torch.zeros_like(self.grades)
        raise ValueError(f"subspaces must be 'grade', 'type' or 'none', got {subspaces!r}")

    def num_subspaces(self, subspaces: str) -> int:
        """``n + 1`` for ``'grade'``, 4 for ``'type'``, 1 for ``'none'``."""
        self.subspace_index(subspaces)
        return {"grade": self.n + 1, "type": 4, "none": 1}[subspaces]

    def blade(self, name: str, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """The basis blade called ``name`` (``'1'``, ``'e13'``) as a ``(2^n,)`` multivector."""
        try:
            index = self.blade_names.index(name)
        except ValueError:
            raise ValueError(f"unknown blade {name!r}; blades are {self.blade_names}") from None
        out = torch.zeros(self.dim, dtype=dtype, device=device)
        out[index] = 1
        return out

    def basis_vector(self, i: int, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """``e_{i+1}`` (0-based ``i``) as a ``(2^n,)`` multivector."""
        i = check_int("i", i, minimum=0, maximum=self.n - 1)
        out = torch.zeros(self.dim, dtype=dtype, device=device)
        out[1 + i] = 1
        return out

    def cayley(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """Dense ``(2^n, 2^n, 2^n)`` table ``C[i, j, k]`` with ``e_i e_j = Σ_k C[i, j, k] e_k``.

        For tests and the dense baseline only; products never use it.
        """
        return _dense(self.metric, "sign", dtype, str(torch.device(device or "cpu"))).clone()

    # ----------------------------------------------------------------- checks
    def _check_grade(self, k) -> None:
        check_int("grade", k, minimum=0, maximum=self.n)

    def _check_mv(self, x: torch.Tensor, name: str = "x") -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() == 0 or x.shape[-1] != self.dim:
            raise ValueError(
                f"{name} must be a multivector of shape (..., {self.dim}) for {self}, "
                f"got {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")

    # ----------------------------------------------------------------- products
    @property
    def product_backend(self) -> str:
        """Default product route: ``'dense'`` (Cayley einsum) for ``n ≤ 4``, else ``'gather'``.

        On one CPU thread (``docs/clifford.md``) the ``8^n`` dense einsum is cheap and beats
        the gather for ``n ≤ 4``; from ``n = 5`` the gather wins.
        """
        return "dense" if self.n <= 4 else "gather"

    def _product(self, a: torch.Tensor, b: torch.Tensor, signs: str,
                 backend: str | None) -> torch.Tensor:
        self._check_mv(a, "a")
        self._check_mv(b, "b")
        if a.dtype != b.dtype:
            raise TypeError(f"a and b must have the same dtype, got {a.dtype} and {b.dtype}")
        try:
            torch.broadcast_shapes(a.shape[:-1], b.shape[:-1])
        except RuntimeError:
            raise ValueError(f"the batch shapes of a {tuple(a.shape)} and b {tuple(b.shape)} do "
                             "not broadcast (leading axes must be equal or 1); reshape or "
                             "unsqueeze one of them") from None
        backend = self.product_backend if backend is None else backend
        if backend == "dense":
            table = _dense(self.metric, signs, a.dtype, str(a.device))
            return torch.einsum("...i,ijk,...j->...k", a, table, b)
        if backend != "gather":
            raise ValueError(f"backend must be 'dense', 'gather' or None, got {backend!r}")
        a, b = torch.broadcast_tensors(a, b)
        sign = self.table(signs, a.dtype, a.device)
        index = self.table("right_flat", device=b.device)
        gathered = _gather_pairs(b, index) * sign
        return torch.matmul(a.unsqueeze(-2), gathered).squeeze(-2)  # Σ_i a_i b_{i^k} s_ik

    def geometric_product(self, a: torch.Tensor, b: torch.Tensor, *,
                          backend: str | None = None) -> torch.Tensor:
        """``a b`` for multivectors ``(..., 2^n)`` (broadcast).

        ``backend``: ``'gather'`` (``4^n`` work, index gather), ``'dense'`` (Cayley einsum,
        ``8^n``) or ``None`` for :attr:`product_backend`.
        """
        return self._product(a, b, "sign", backend)

    def outer_product(self, a: torch.Tensor, b: torch.Tensor, *,
                      backend: str | None = None) -> torch.Tensor:
        """``a ∧ b``: the part of ``e_A e_B`` with ``A ∩ B = ∅``, summed bilinearly."""
        return self._product(a, b, "outer", backend)

    def inner_product(self, a: torch.Tensor, b: torch.Tensor, *,
                      backend: str | None = None) -> torch.Tensor:
        """Left contraction ``a ⌋ b``: ``e_A ⌋ e_B = <e_A e_B>_{|B|-|A|}`` if ``A ⊆ B``, else 0."""
        return self._product(a, b, "inner", backend)

    left_contraction = inner_product

    def scalar_product(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``<a b>_0`` as ``(...)``: ``Σ_A a_A b_A e_A²``."""
        self._check_mv(a, "a")
        self._check_mv(b, "b")
        square = self.table("sign", a.dtype, a.device)[:, 0]
        return (a * b * square).sum(-1)

    # ----------------------------------------------------------------- grades
    def grade_projection(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """``<x>_k`` as a full ``(..., 2^n)`` multivector (other grades zeroed)."""
        self._check_mv(x)
        self._check_grade(k)
        mask = (self.table("grades", device=x.device) == k).to(x.dtype)
        return x * mask

    def embed_grade(self, values: torch.Tensor, k: int) -> torch.Tensor:
        """``(..., C(n, k))`` coefficients → ``(..., 2^n)`` grade-``k`` multivectors."""
        self._check_grade(k)
        width = math.comb(self.n, k)
        if not isinstance(values, torch.Tensor) or values.dim() == 0 or values.shape[-1] != width:
            shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values)
            raise ValueError(f"values must have shape (..., {width}) for grade {k}, got {shape}")
        out = values.new_zeros(*values.shape[:-1], self.dim)
        out[..., self.grade_slice(k)] = values
        return out

    def _signed(self, x: torch.Tensor, exponent: torch.Tensor) -> torch.Tensor:
        self._check_mv(x)
        return x * (1 - 2 * (exponent % 2)).to(device=x.device, dtype=x.dtype)

    def grade_involution(self, x: torch.Tensor) -> torch.Tensor:
        """``α(x)``: grade ``g`` times ``(-1)^g`` (an automorphism)."""
        return self._signed(x, self.grades)

    def reversion(self, x: torch.Tensor) -> torch.Tensor:
        """``β(x)`` (``x̃``): grade ``g`` times ``(-1)^{g(g-1)/2}`` (an anti-automorphism)."""
        g = self.grades
        return self._signed(x, g * (g - 1) // 2)

    def clifford_conjugation(self, x: torch.Tensor) -> torch.Tensor:
        """``γ(x) = α(β(x))``: grade ``g`` times ``(-1)^{g(g+1)/2}``."""
        g = self.grades
        return self._signed(x, g * (g + 1) // 2)

    # ----------------------------------------------------------------- norms
    def quadratic_form(self, x: torch.Tensor, subspaces: str | None = None) -> torch.Tensor:
        """``q(x) = <β(x) x>_0 = Σ_A x_A² Π_{i∈A} m_i``.

        Returns ``(...)``, or ``(..., S)`` per subspace when ``subspaces`` is ``'grade'``
        (``S = n + 1``) or ``'type'`` (``S = 4``). Invariant under the outermorphism of every
        isometry of the metric, degenerate ones included.
        """
        self._check_mv(x)
        weighted = x * x * self.table("quadratic", x.dtype, x.device)
        if subspaces is None:
            return weighted.sum(-1)
        index = self.subspace_index(subspaces).to(x.device)
        out = weighted.new_zeros(*x.shape[:-1], self.num_subspaces(subspaces))
        return out.index_add_(-1, index, weighted)

    def norm(self, x: torch.Tensor, subspaces: str | None = None, eps: float = 1e-16):
        """Smooth ``sqrt|q(x)|`` as ``(q² + eps)^{1/4}``.

        Finite gradient at 0; works for indefinite ``q``. Whole multivector or per subspace as
        :meth:`quadratic_form`.
        """
        return (self.quadratic_form(x, subspaces).square() + eps).pow(0.25)

    def reverse_norm_inverse(self, x: torch.Tensor) -> torch.Tensor:
        """``β(x) / q(x)``, the inverse of a versor ``x`` (raises if ``q(x)`` vanishes)."""
        q = self.quadratic_form(x)
        if bool((q.abs() < 1e-12).any()):
            raise ValueError("x has q(x) = 0 (null or degenerate): it has no versor inverse")
        return self.reversion(x) / q.unsqueeze(-1)

    # ----------------------------------------------------------------- paths
    def product_paths(self, subspaces: str = "grade") -> torch.Tensor:
        """Boolean ``(S, S, S)`` table of the subspace triples that a product can connect.

        ``[i, j, k]`` is true iff some blades ``e_A`` in subspace ``i`` and ``e_B`` in ``j``
        have a non-zero product in subspace ``k`` (CGENN's geometric-product paths for
        ``'grade'``; GLGENN's admissible type triples for ``'type'``).
        """
        return _paths(self.metric, subspaces)


@functools.lru_cache(maxsize=64)
def _paths(metric: tuple[int, ...], subspaces: str) -> torch.Tensor:
    algebra = CliffordAlgebra.from_metric(metric)
    index = algebra.subspace_index(subspaces)
    size = algebra.num_subspaces(subspaces)
    tables = _tables(metric)
    nonzero = tables["sign"] != 0
    left = index.unsqueeze(1).expand_as(nonzero)[nonzero]
    right = index[tables["right"]][nonzero]
    out = index.unsqueeze(0).expand_as(nonzero)[nonzero]
    paths = torch.zeros(size, size, size, dtype=torch.bool)
    paths[left, right, out] = True
    return paths
