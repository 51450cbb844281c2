"""Finite permutation groups acting on ``R^n`` by permutation matrices.

Convention (Pearce-Crump, arXiv 2212.08630, §2): a permutation ``σ`` is stored as its image array
``σ = (σ(0), …, σ(n-1))`` and acts by ``P_σ e_j = e_{σ(j)}``, i.e. ``P_σ[σ(j), j] = 1`` and
``(P_σ x)[i] = x[σ^{-1}(i)]``.

Group-theoretic work (order, membership, uniform sampling) is done by Schreier–Sims in
:mod:`sympy.combinatorics`, so nothing here ever enumerates ``n!`` elements.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from sympy.combinatorics import Permutation
from sympy.combinatorics import PermutationGroup as _SympyGroup

from geomlayers.groups.base import Group, as_generator
from geomlayers.validation import check_int, check_int_sequence, check_integral_tensor

__all__ = [
    "FinitePermutationGroup",
    "PermutationGroup",
    "SymmetricGroup",
    "AlternatingGroup",
    "permutation_matrices",
    "cycle_string",
    "parse_cycles",
]


def _check_n(n: object) -> int:
    """``n`` as an ``int >= 1`` (NumPy integers accepted; bool and floats refused)."""
    return check_int("n (the number of points)", n, minimum=1)


def cycle_string(images: Sequence[int]) -> str:
    """Cycle notation of an image tuple, fixed points omitted: ``(1, 2, 0, 3)`` → ``(0 1 2)``.

    >>> cycle_string((1, 0, 3, 2))
    '(0 1)(2 3)'
    """
    seen, cycles = set(), []
    for start in range(len(images)):
        if start in seen or images[start] == start:
            continue
        cycle, point = [], start
        while point not in seen:
            seen.add(point)
            cycle.append(point)
            point = images[point]
        cycles.append("(" + " ".join(map(str, cycle)) + ")")
    return "".join(cycles) or "()"


def parse_cycles(text: str, n: int) -> tuple[int, ...]:
    """Image tuple of a permutation of ``0..n-1`` in cycle notation (``"(0 1 2)(3 4)"``).

    >>> parse_cycles("(0 2)", 3), parse_cycles("(0, 1, 2)", 3)
    ((2, 1, 0), (1, 2, 0))
    """
    images = list(range(n))
    text = text.replace(",", " ")
    body = text.replace(" ", "")
    if body in ("", "()"):
        return tuple(images)
    seen: set[int] = set()
    if not re.fullmatch(r"(\(\s*\d+(?:\s+\d+)*\s*\)\s*)+", text.strip()):
        raise ValueError(f"cycle notation must look like '(0 1 2)(3 4)', got {text!r}")
    for cycle_text in re.findall(r"\(([^)]*)\)", text):
        cycle = [int(v) for v in cycle_text.split()]
        for point in cycle:
            if not 0 <= point < n or point in seen:
                raise ValueError(f"cycles {text!r} must use distinct points of 0..{n - 1}")
            seen.add(point)
        for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True):
            images[a] = b
    return tuple(images)


def permutation_matrices(
    images: torch.Tensor, *, dtype: torch.dtype = torch.float64, device=None
) -> torch.Tensor:
    """Permutation matrices ``P[σ(j), j] = 1`` of image arrays.

    Args:
        images: ``(m, n)`` integer tensor, row ``a`` is ``(σ_a(0), …, σ_a(n-1))``.

    Returns:
        ``(m, n, n)`` tensor of 0/1 entries.

    """
    m, n = images.shape
    mats = torch.zeros(m, n, n, dtype=dtype, device=device)
    cols = torch.arange(n, device=images.device).expand(m, n)
    mats[torch.arange(m).unsqueeze(1), images.to(mats.device), cols.to(mats.device)] = 1
    return mats


class FinitePermutationGroup(Group):
    """Base of all permutation groups; subclasses provide :meth:`generator_images`."""

    @property
    def is_finite(self) -> bool:
        """Always ``True``."""
        return True

    def generator_images(self) -> tuple[tuple[int, ...], ...]:
        """Generators as image tuples ``(σ(0), …, σ(n-1))``."""
        raise NotImplementedError

    @functools.cached_property
    def _sympy(self) -> _SympyGroup:
        gens = [Permutation(list(images)) for images in self.generator_images()]
        if not gens:
            gens = [Permutation(list(range(self.n)))]
        return _SympyGroup(gens)

    def order(self) -> int:
        """Number of elements (Schreier–Sims; never enumerates the group)."""
        return int(self._sympy.order())

    def generators(self, *, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
        """Generators as ``(g, n, n)`` permutation matrices."""
        images = self.generator_images()
        if not images:
            return torch.empty(0, self.n, self.n, dtype=dtype, device=device)
        return permutation_matrices(torch.tensor(images), dtype=dtype, device=device)

    def sample_images(
        self, m: int = 1, generator: torch.Generator | int | None = None
    ) -> torch.Tensor:
        """``m`` uniformly random elements as ``(m, n)`` image arrays (int64).

        Uniform over the group: a uniform rank in ``[0, order)`` is unranked through the
        Schreier–Sims base and strong generating set (coset unranking).
        """
        self._check_count(m)
        gen = as_generator(generator)
        order = self.order()
        if order == 1:
            return torch.arange(self.n).expand(m, self.n).clone()
        rows = []
        for _ in range(m):
            rank = _uniform_below(order, gen)
            rows.append(self._sympy.coset_unrank(rank).array_form)
        return torch.tensor(rows, dtype=torch.int64).reshape(m, self.n)

    def sample(
        self,
        m: int = 1,
        generator: torch.Generator | int | None = None,
        *,
        dtype: torch.dtype = torch.float64,
        device=None,
    ) -> torch.Tensor:
        """``m`` uniformly random elements as ``(m, n, n)`` permutation matrices."""
        return permutation_matrices(self.sample_images(m, generator), dtype=dtype, device=device)

    def contains(self, g: torch.Tensor, atol: float = 1e-8) -> bool:
        """Whether every ``(n, n)`` matrix of ``g`` is a permutation matrix of the group."""
        mats = g.reshape(-1, *g.shape[-2:]) if g.dim() >= 2 else g
        if mats.dim() != 3 or mats.shape[-2:] != (self.n, self.n):
            return False
        for mat in mats.detach().cpu().to(torch.float64):
            images = _images_of_matrix(mat, atol)
            if images is None or not self._sympy.contains(Permutation(images)):
                return False
        return True

    def __str__(self) -> str:
        return repr(self)


def _uniform_below(bound: int, gen: torch.Generator | None) -> int:
    """A uniform integer in ``[0, bound)`` for arbitrarily large ``bound`` (exact, by words)."""
    if bound <= 1:
        return 0
    words = (bound.bit_length() + 62) // 63 + 1  # one extra word makes the bias < 2^-63
    value = 0
    for _ in range(words):
        value = (value << 63) | int(torch.randint(0, 2**63 - 1, (1,), generator=gen))
    return value % bound


def _images_of_matrix(mat: torch.Tensor, atol: float) -> list[int] | None:
    n = mat.shape[0]
    rows = mat.argmax(dim=0)
    expected = torch.zeros_like(mat)
    expected[rows, torch.arange(n)] = 1
    if not torch.allclose(mat, expected, atol=atol, rtol=0) or len(set(rows.tolist())) != n:
        return None
    return rows.tolist()


@dataclass(frozen=True)
class SymmetricGroup(FinitePermutationGroup):
    """The symmetric group ``S_n`` of all permutations of ``n`` points.

    >>> SymmetricGroup(4).order()
    24
    """

    n: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _check_n(self.n))

    def __str__(self) -> str:
        return f"S{self.n}"

    def generator_images(self) -> tuple[tuple[int, ...], ...]:
        """The transposition ``(0 1)`` and the ``n``-cycle ``(0 1 … n-1)``."""
        n = self.n
        if n == 1:
            return ()
        swap = (1, 0, *range(2, n))
        cycle = tuple((i + 1) % n for i in range(n))
        return (swap, cycle) if n > 2 else (swap,)

    def order(self) -> int:
        """``n!``."""
        import math

        return math.factorial(self.n)


@dataclass(frozen=True)
class AlternatingGroup(FinitePermutationGroup):
    """The alternating group ``A_n`` of even permutations of ``n`` points.

    >>> AlternatingGroup(4).order()
    12
    """

    n: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _check_n(self.n))

    def __str__(self) -> str:
        return f"A{self.n}"

    def generator_images(self) -> tuple[tuple[int, ...], ...]:
        """The 3-cycles ``(0 1 i)`` for ``i = 2 … n-1`` (they generate ``A_n``)."""
        gens = []
        for i in range(2, self.n):
            images = list(range(self.n))
            images[0], images[1], images[i] = 1, i, 0
            gens.append(tuple(images))
        return tuple(gens)

    def order(self) -> int:
        """``n!/2`` (1 for ``n <= 2``)."""
        import math

        return max(1, math.factorial(self.n) // 2)


@dataclass(frozen=True)
class PermutationGroup(FinitePermutationGroup):
    """The group generated by the given permutations of ``{0, …, n-1}``.

    Args:
        generators: image tuples ``(σ(0), …, σ(n-1))`` (any iterables of ints); may be empty
            only when ``n`` is given.
        n: number of points (inferred from the generators when omitted).

    >>> PermutationGroup([(1, 2, 0)]).order()
    3

    """

    generators_: tuple[tuple[int, ...], ...]
    n: int

    def __init__(self, generators: Iterable[Sequence[int]], n: int | None = None):
        if isinstance(generators, (str, bytes)):
            raise TypeError("generators must be image tuples such as [(1, 2, 0)], got a str; "
                            "use parse_group('Perm3<(0 1 2)>') for cycle notation")
        if isinstance(generators, torch.Tensor):
            generators = check_integral_tensor("generators", generators, ndim=2).tolist()
        gens = tuple(check_int_sequence(f"generators[{i}]", images, minimum=0)
                     for i, images in enumerate(generators))
        if n is None:
            if not gens:
                raise ValueError("generators is empty: pass n to define the trivial group")
            n = len(gens[0])
        n = _check_n(n)
        for images in gens:
            if len(images) != n or sorted(images) != list(range(n)):
                raise ValueError(
                    f"each generator must be a permutation of 0..{n - 1} given as its image "
                    f"tuple, got {images}"
                )
        identity = tuple(range(n))
        gens = tuple(sorted(set(gens) - {identity}))
        object.__setattr__(self, "generators_", gens)
        object.__setattr__(self, "n", n)

    def generator_images(self) -> tuple[tuple[int, ...], ...]:
        """The (deduplicated, sorted) generators."""
        return self.generators_

    def __repr__(self) -> str:
        return f"PermutationGroup({list(self.generators_)}, n={self.n})"

    def __str__(self) -> str:
        return f"Perm{self.n}<{','.join(cycle_string(g) for g in self.generators_)}>"
