"""The group-action abstraction shared by every part of geomlayers.

A :class:`Group` is a matrix group given by its *defining representation* on ``R^n``.
Every group can

* ``sample(m)`` random elements as a ``(m, n, n)`` tensor,
* ``act(g, x, rep)`` through a representation value
  (:mod:`geomlayers.groups.representations`: tensor powers, points, vectors, congruence,
  subspaces, multivectors, trivial); ``act(g, x, order=k)`` is ``g^{⊗k}`` on the last ``k``
  axes of ``x``, never formed,
* give ``identity()``, test ``contains(g)``,
* describe itself: ``is_finite``, ``order()`` (finite groups) or ``dimension`` (Lie groups),
  ``generators()`` (discrete generators, one per connected component for Lie groups) and
  ``lie_algebra()`` (a basis of the Lie algebra; empty for finite groups).

Generators plus Lie algebra are exactly what the numeric basis solver needs (Finzi et al.,
ICML 2021, §4): a tensor is invariant iff it is fixed by every discrete generator and
annihilated by every Lie-algebra generator.

Group objects are immutable, hashable and printable value types (``SymmetricGroup(5)``), so
they can key caches; ``str(group)`` is a short string (``S5``, ``O(1,3,0)``, ``Aff(SL2)``)
that :func:`geomlayers.groups.parse_group` reads back to an equal group.
"""

from __future__ import annotations

import abc
import numbers

import torch

from geomlayers.groups.representations import (
    Congruence,
    Multivectors,
    Points,
    Representation,
    Subspaces,
    TensorPower,
    Trivial,
    Vectors,
    as_representation,
    tensor_power_act,
)
from geomlayers.validation import check_int

__all__ = ["Group", "act", "as_generator"]


def as_generator(generator: torch.Generator | int | None) -> torch.Generator | None:
    """Turn a seed or generator into a ``torch.Generator`` (``None`` stays ``None``)."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        gen = torch.Generator()
        gen.manual_seed(int(generator))
        return gen
    raise TypeError(f"generator must be a torch.Generator, an int seed or None, got {generator!r}")


def act(g: torch.Tensor, x: torch.Tensor, order: int) -> torch.Tensor:
    """Apply ``g^{⊗order}`` to the last ``order`` axes of ``x``.

    Args:
        g: ``(n, n)`` one matrix applied to all of ``x``, or ``(m, n, n)`` one matrix per
            leading entry of ``x`` (then ``x.shape[0] == m``).
        x: ``(..., n, ..., n)`` with at least ``order`` trailing axes of size ``n``.
        order: number of trailing tensor axes ``k >= 0``.

    Returns:
        Tensor of the shape of ``x``: ``y[..., i_1..i_k] = Σ_j g[i_1,j_1]…g[i_k,j_k] x[..., j]``.
        The cost is ``k`` matrix products of size ``n`` (``g^{⊗k}`` is never formed). The same
        as ``TensorPower(order).act(g, x)``; ``Group.act`` dispatches to any representation.

    Raises:
        TypeError: ``order`` is not an integer (``bool`` and floats included), as for every
            count in the library (``geomlayers.validation.check_int``); ``act`` raised
            ``ValueError`` for these before December 2026. A negative ``order`` still does.
        ValueError: ``order < 0``, or ``x`` / ``g`` have the wrong shape.

    """
    return tensor_power_act(g, x, order)


class Group(abc.ABC):
    """A matrix group acting on ``R^n`` through its defining representation.

    Subclasses are frozen dataclasses (hashable, comparable, printable) and implement
    :meth:`sample`, :meth:`contains` and the structural descriptions. Matrices are float64
    on the CPU unless ``dtype``/``device`` are given.
    """

    #: dimension of the defining representation
    n: int

    @property
    @abc.abstractmethod
    def is_finite(self) -> bool:
        """Whether the group is finite."""

    @abc.abstractmethod
    def sample(
        self,
        m: int = 1,
        generator: torch.Generator | int | None = None,
        *,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """Draw ``m`` random elements as a ``(m, n, n)`` tensor (distribution per subclass)."""

    @abc.abstractmethod
    def contains(self, g: torch.Tensor, atol: float = 1e-8) -> bool:
        """Whether every matrix of ``g`` (``(n, n)`` or ``(m, n, n)``) lies in the group."""

    def generators(
        self, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """Discrete generators as a ``(g, n, n)`` tensor.

        For a finite group they generate it; for a Lie group, together with
        :meth:`lie_algebra` they generate it (one element per non-identity component).
        """
        return torch.empty(0, self.n, self.n, dtype=dtype, device=device)

    def lie_algebra(
        self, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """A basis of the Lie algebra as a ``(d, n, n)`` tensor (``d = 0`` for finite groups)."""
        return torch.empty(0, self.n, self.n, dtype=dtype, device=device)

    def order(self) -> int:
        """Number of elements of a finite group."""
        raise TypeError(f"{self} is not finite: it has no order; see .dimension")

    @property
    def dimension(self) -> int:
        """Dimension of the group as a manifold (0 for finite groups)."""
        return len(self.lie_algebra())

    def identity(
        self, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """The identity matrix ``(n, n)``."""
        return torch.eye(self.n, dtype=dtype, device=device)

    @property
    def space_dim(self) -> int:
        """Dimension of the space moved: ``n`` (``n - 1`` in homogeneous coordinates)."""
        return self.n

    #: the representation types this group acts through (see :meth:`act`)
    representation_types: tuple[type[Representation], ...] = (
        Trivial, TensorPower, Vectors, Points, Congruence, Subspaces, Multivectors,
    )

    def acts_through(self, rep: Representation | str | int) -> bool:
        """Whether :meth:`act` accepts the representation ``rep``."""
        return isinstance(as_representation(rep), self.representation_types)

    def act(
        self,
        g: torch.Tensor,
        x: torch.Tensor,
        rep: Representation | str | int | None = None,
        *,
        order: int | None = None,
    ) -> torch.Tensor:
        """Apply the elements ``g`` to ``x`` through the representation ``rep``.

        Args:
            g: ``(n, n)`` or ``(m, n, n)`` elements of this group (one per leading entry of
                ``x`` when batched).
            x: a tensor of the representation (shapes in
                :mod:`geomlayers.groups.representations`).
            rep: a :class:`~geomlayers.groups.representations.Representation`, its string
                (``"T2"``, ``"points"``, ``"congruence"``…) or an int ``k`` (tensor power).
            order: ``k`` for the tensor power ``g^{⊗k}`` (the older call form
                ``act(g, x, order=k)``); give either ``rep`` or ``order``.

        Returns:
            ``g·x``, the shape of ``x``.

        >>> from geomlayers.groups import OrthogonalGroup
        >>> group = OrthogonalGroup(2)
        >>> x = torch.eye(2, dtype=torch.float64)
        >>> bool(torch.equal(group.act(group.identity(), x, "congruence"), x))
        True

        """
        if (rep is None) == (order is None):
            raise TypeError("give exactly one of rep (a Representation, its string or an "
                            f"int order) and order=k, got rep={rep!r}, order={order!r}")
        rep = as_representation(rep if order is None else order)
        homogeneous_only = getattr(rep, "homogeneous_only", False)  # images: groups/images.py
        if homogeneous_only and self.space_dim == self.n:
            raise ValueError(f"{self} acts linearly, but {rep} is moved by homogeneous elements "
                             "[[A, t], [0, 1]]: use the affine group (e.g. Affine(GLPlus(2)))")
        if not homogeneous_only and not isinstance(rep, self.representation_types):
            names = ", ".join(t.__name__ for t in self.representation_types)
            raise ValueError(f"{self} does not act through {rep!r}; it acts through {names}")
        if not isinstance(g, torch.Tensor) or g.dim() not in (2, 3) or \
                g.shape[-2:] != (self.n, self.n):
            shape = tuple(g.shape) if isinstance(g, torch.Tensor) else type(g).__name__
            raise ValueError(
                f"g must be ({self.n}, {self.n}) or (m, {self.n}, {self.n}) matrices for "
                f"{self}, got {shape}"
            )
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a tensor, got {type(x).__name__}")
        d = rep.space_dim_of(x)
        if d is not None and d != self.space_dim and not (
            d == self.n and isinstance(rep, Vectors | Points)
        ):
            raise ValueError(
                f"{rep} for {self} must live over d={self.space_dim} dimensions "
                f"(shape {rep.shape(self.n, self.space_dim)} at the end), got x of shape "
                f"{tuple(x.shape)}"
            )
        return rep.act(g, x)

    def _check_count(self, m: int) -> None:
        check_int("m (number of samples)", m, minimum=1)
