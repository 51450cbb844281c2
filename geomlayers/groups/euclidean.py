"""Euclidean groups E(d) = R^d ⋊ O(d) and SE(d) = R^d ⋊ SO(d), and the translations T(d).

Elements are stored as **homogeneous** ``(d+1) x (d+1)`` matrices

    g = [[R, t],
         [0, 1]],     R ∈ O(d) (SO(d), or I for T(d)),  t ∈ R^d,

so the defining representation is on ``R^{d+1}`` (``group.n == d + 1``), ``g`` maps the
homogeneous point ``(x, 1)`` to ``(R x + t, 1)`` and composition is the matrix product.
:func:`split` and :func:`compose` (the same functions as
:func:`~geomlayers.groups.representations.split_homogeneous` and
:func:`~geomlayers.groups.representations.join_homogeneous`, shared with ``Affine``) convert
to and from the pair ``(R, t)``. Elements act on points ``(..., d)`` through
:class:`~geomlayers.groups.representations.Points` (``R p + t``; also
:meth:`EuclideanGroup.act_points`) and on translation-invariant vectors through
:class:`~geomlayers.groups.representations.Vectors` (``R v``; :meth:`~EuclideanGroup.act_vectors`).
Short strings: ``E3``, ``SE2``, ``T3`` (``E(3,translation_scale=2.0)`` off the default).

``sample`` draws ``R`` Haar-random and ``t ~ N(0, scale² I)`` (``scale = 1`` by default): the
group is not compact, so this is a documented choice, not a Haar measure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from geomlayers.groups.base import Group, as_generator
from geomlayers.groups.orthogonal import (
    OrthogonalGroup,
    SpecialOrthogonalGroup,
    _antisymmetric_basis,
)
from geomlayers.groups.representations import (
    Points,
    Vectors,
    join_homogeneous,
    split_homogeneous,
)
from geomlayers.validation import check_float, check_int

__all__ = ["EuclideanGroup", "SpecialEuclideanGroup", "TranslationGroup", "split", "compose"]


#: ``(..., d+1, d+1)`` homogeneous matrices -> ``R (..., d, d)``, ``t (..., d)``.
split = split_homogeneous
#: ``R (..., d, d)``, ``t (..., d)`` -> homogeneous ``(..., d+1, d+1)``.
compose = join_homogeneous


class _EuclideanFamily(Group):
    """Shared parts: homogeneous embedding, point actions, membership, Lie algebra."""

    d: int
    translation_scale: float
    _linear: Group | None  # the linear part's group (None: translations only)

    def __post_init__(self) -> None:
        object.__setattr__(self, "d", check_int("d", self.d, minimum=1))
        object.__setattr__(self, "translation_scale",
                           check_float("translation_scale", self.translation_scale,
                                       positive=True))

    @property
    def n(self) -> int:  # type: ignore[override]
        """Size of the homogeneous matrices, ``d + 1``."""
        return self.d + 1

    @property
    def space_dim(self) -> int:
        """``d``, the dimension of the space moved."""
        return self.d

    @property
    def is_finite(self) -> bool:
        """``False``."""
        return False

    def __str__(self) -> str:
        return _short_name(self._symbol, self.d, self.translation_scale)

    def _linear_sample(self, m, generator, dtype) -> torch.Tensor:
        if self._linear is None:
            return torch.eye(self.d, dtype=dtype).expand(m, self.d, self.d)
        return self._linear.sample(m, generator, dtype=dtype)

    def sample(self, m=1, generator=None, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """``m`` elements ``(m, d+1, d+1)``: Haar linear part, ``t ~ N(0, scale² I)``."""
        self._check_count(m)
        gen = as_generator(generator)
        rotation = self._linear_sample(m, gen, torch.float64)
        t = torch.randn(m, self.d, generator=gen, dtype=torch.float64) * self.translation_scale
        return compose(rotation, t).to(dtype=dtype, device=device)

    def contains(self, g: torch.Tensor, atol: float = 1e-8) -> bool:
        """Whether ``g`` is homogeneous, bottom row ``(0, …, 0, 1)``, linear part in the group."""
        if g.shape[-2:] != (self.n, self.n):
            return False
        g = g.reshape(-1, self.n, self.n).to(torch.float64)
        bottom = torch.zeros(self.n, dtype=g.dtype, device=g.device)
        bottom[-1] = 1
        if not torch.allclose(g[:, -1, :], bottom.expand(g.shape[0], -1), atol=atol, rtol=0):
            return False
        rotation = g[:, :-1, :-1]
        if self._linear is None:
            eye = torch.eye(self.d, dtype=g.dtype, device=g.device)
            return bool(torch.allclose(rotation, eye.expand_as(rotation), atol=atol, rtol=0))
        return self._linear.contains(rotation, atol)

    def lie_algebra(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """The linear part's algebra (embedded), then the ``d`` translations ``E_{i,d}``."""
        d = self.d
        parts = []
        if self._linear is not None:
            rot = _antisymmetric_basis(d, dtype, device)
            parts.append(torch.nn.functional.pad(rot, (0, 1, 0, 1)))
        trans = torch.zeros(d, d + 1, d + 1, dtype=dtype, device=device)
        trans[torch.arange(d), torch.arange(d), d] = 1
        parts.append(trans)
        return torch.cat(parts)

    def generators(self, *, dtype=torch.float64, device=None) -> torch.Tensor:
        """The linear part's discrete generators, embedded."""
        if self._linear is None:
            return torch.empty(0, self.n, self.n, dtype=dtype, device=device)
        gens = self._linear.generators(dtype=dtype, device=device)
        return compose(gens, gens.new_zeros(gens.shape[0], self.d))

    def act_points(self, g: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """``R p + t`` for points ``(..., d)``: ``self.act(g, points, Points())``.

        ``g`` is ``(d+1, d+1)`` or ``(m, d+1, d+1)`` with ``points.shape[0] == m`` (one
        element per leading entry).
        """
        return self.act(g, points, Points())

    def act_vectors(self, g: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        """``R v`` for translation-invariant vectors ``(..., d)``: ``act(g, v, Vectors())``."""
        return self.act(g, vectors, Vectors())

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        """``(R, t)^{-1} = (Rᵀ, -Rᵀ t)`` for ``(..., d+1, d+1)``."""
        rotation, t = split(g)
        rt = rotation.transpose(-1, -2)
        return compose(rt, -(rt @ t.unsqueeze(-1)).squeeze(-1))


def _short_name(symbol: str, d: int, translation_scale: float) -> str:
    if translation_scale == 1.0:
        return f"{symbol}{d}"
    return f"{symbol}({d},translation_scale={translation_scale!r})"


@dataclass(frozen=True)
class EuclideanGroup(_EuclideanFamily):
    """E(d) = R^d ⋊ O(d) (rotations, reflections, translations) as ``(d+1)x(d+1)`` matrices.

    >>> g = EuclideanGroup(3)
    >>> g.n, g.dimension
    (4, 6)
    >>> bool(g.contains(g.sample(2, generator=0)))
    True
    """

    d: int
    translation_scale: float = 1.0
    _linear: Group | None = field(init=False, repr=False, compare=False, default=None)
    _symbol = "E"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "_linear", OrthogonalGroup(self.d))


@dataclass(frozen=True)
class SpecialEuclideanGroup(_EuclideanFamily):
    """SE(d) = R^d ⋊ SO(d) (rotations and translations) as ``(d+1)x(d+1)`` matrices.

    >>> SpecialEuclideanGroup(3).dimension
    6
    """

    d: int
    translation_scale: float = 1.0
    _linear: Group | None = field(init=False, repr=False, compare=False, default=None)
    _symbol = "SE"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "_linear", SpecialOrthogonalGroup(self.d))


@dataclass(frozen=True)
class TranslationGroup(_EuclideanFamily):
    """T(d) ≅ R^d, translations only, as ``(d+1)x(d+1)`` matrices ``[[I, t], [0, 1]]``.

    >>> TranslationGroup(2).dimension
    2
    """

    d: int
    translation_scale: float = 1.0
    _linear: Group | None = field(init=False, repr=False, compare=False, default=None)
    _symbol = "T"
