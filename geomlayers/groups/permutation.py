"""Finite permutation groups acting on ``R^n`` by permutation matrices.

Convention (``docs/bases.md``): a permutation ``σ`` is stored as its image array
``σ = (σ(0), …, σ(n-1))`` and acts by ``P_σ e_j = e_{σ(j)}``, i.e. ``P_σ[σ(j), j] = 1`` and
``(P_σ x)[i] = x[σ^{-1}(i)]``.

Group-theoretic work (order, membership, uniform sampling) is done by Schreier–Sims in
:mod:`sympy.combinatorics`, so nothing here ever enumerates ``n!`` elements.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from sympy.combinatorics import Permutation
from sympy.combinatorics import PermutationGroup as _SympyGroup

from geomlayers.groups.base import Group, as_generator

__all__ = [
    "FinitePermutationGroup",
    "PermutationGroup",
    "SymmetricGroup",
    "AlternatingGroup",
    "permutation_matrices",
]


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be >= 1 (the number of points permuted), got {n}")
    return n


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
        _check_n(self.n)

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
        _check_n(self.n)

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
        gens = tuple(tuple(int(v) for v in images) for images in generators)
        if n is None:
            if not gens:
                raise ValueError("generators is empty: pass n to define the trivial group")
            n = len(gens[0])
        _check_n(n)
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
