"""Euclidean groups E(d) = R^d ⋊ O(d) and SE(d) = R^d ⋊ SO(d), and the translations T(d).

Elements are stored as **homogeneous** ``(d+1) x (d+1)`` matrices

    g = [[R, t],
         [0, 1]],     R ∈ O(d) (SO(d), or I for T(d)),  t ∈ R^d,

so the defining representation is on ``R^{d+1}`` (``group.n == d + 1``), ``g`` maps the
homogeneous point ``(x, 1)`` to ``(R x + t, 1)`` and composition is the matrix product.
:func:`split` and :func:`compose` convert to and from the pair ``(R, t)``;
:meth:`EuclideanGroup.act_points` applies elements to ordinary points ``(..., d)`` and
:meth:`EuclideanGroup.act_vectors` to translation-invariant vectors (``R v``).

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
from geomlayers.groups.permutation import _check_n

__all__ = ["EuclideanGroup", "SpecialEuclideanGroup", "TranslationGroup", "split", "compose"]


def split(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(..., d+1, d+1)`` homogeneous matrices -> ``R (..., d, d)``, ``t (..., d)``."""
    if g.dim() < 2 or g.shape[-1] != g.shape[-2] or g.shape[-1] < 2:
        raise ValueError(f"g must have shape (..., d+1, d+1) with d >= 1, got {tuple(g.shape)}")
    return g[..., :-1, :-1], g[..., :-1, -1]


def compose(rotation: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
    """``R (..., d, d)``, ``t (..., d)`` -> homogeneous ``(..., d+1, d+1)``."""
    d = rotation.shape[-1]
    if rotation.shape[-2] != d or translation.shape[-1] != d:
        raise ValueError(
            f"rotation must be (..., d, d) and translation (..., d), got "
            f"{tuple(rotation.shape)} and {tuple(translation.shape)}"
        )
    batch = torch.broadcast_shapes(rotation.shape[:-2], translation.shape[:-1])
    g = rotation.new_zeros(*batch, d + 1, d + 1)
    g[..., :d, :d] = rotation
    g[..., :d, d] = translation
    g[..., d, d] = 1
    return g


class _EuclideanFamily(Group):
    """Shared parts: homogeneous embedding, point actions, membership, Lie algebra."""

    d: int
    translation_scale: float
    _linear: Group | None  # the linear part's group (None: translations only)

    def __post_init__(self) -> None:
        _check_n(self.d)
        if not self.translation_scale > 0:
            raise ValueError(
                f"translation_scale must be > 0, got {self.translation_scale!r}"
            )

    @property
    def n(self) -> int:  # type: ignore[override]
        """Size of the homogeneous matrices, ``d + 1``."""
        return self.d + 1

    @property
    def is_finite(self) -> bool:
        """``False``."""
        return False

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
        """``R p + t`` for points ``(..., d)``.

        ``g`` is ``(d+1, d+1)`` or ``(m, d+1, d+1)`` with ``points.shape[0] == m`` (one
        element per leading entry).
        """
        rotation, t = self._split_for(g, points)
        return self._rotate(rotation, points) + self._expand(t, points)

    def act_vectors(self, g: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        """``R v`` for translation-invariant vectors ``(..., d)`` (velocities, normals)."""
        rotation, _ = self._split_for(g, vectors)
        return self._rotate(rotation, vectors)

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        """``(R, t)^{-1} = (Rᵀ, -Rᵀ t)`` for ``(..., d+1, d+1)``."""
        rotation, t = split(g)
        rt = rotation.transpose(-1, -2)
        return compose(rt, -(rt @ t.unsqueeze(-1)).squeeze(-1))

    def _split_for(self, g, x):
        if g.shape[-2:] != (self.n, self.n) or g.dim() not in (2, 3):
            raise ValueError(f"g must be ({self.n}, {self.n}) or (m, {self.n}, {self.n}) for "
                             f"{self}, got {tuple(g.shape)}")
        if x.shape[-1] != self.d:
            raise ValueError(f"points must end in an axis of size d={self.d}, got {tuple(x.shape)}")
        if g.dim() == 3 and (x.dim() < 2 or x.shape[0] != g.shape[0]):
            raise ValueError(f"{g.shape[0]} elements need points with leading axis "
                             f"{g.shape[0]}, got {tuple(x.shape)}")
        return split(g.to(dtype=x.dtype, device=x.device))

    @staticmethod
    def _rotate(rotation, x):
        if rotation.dim() == 2:
            return x @ rotation.transpose(-1, -2)
        r_t = rotation.transpose(-1, -2)
        if x.dim() == 2:
            return (x.unsqueeze(-2) @ r_t).squeeze(-2)
        return x @ r_t.reshape(r_t.shape[0], *[1] * (x.dim() - 3), *r_t.shape[-2:])

    @staticmethod
    def _expand(t, x):
        if t.dim() == 1:
            return t
        return t.reshape(t.shape[0], *[1] * (x.dim() - 2), t.shape[-1])


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
