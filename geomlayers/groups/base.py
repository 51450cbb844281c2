"""The group-action abstraction shared by every part of geomlayers.

A :class:`Group` is a matrix group given by its *defining representation* on ``R^n``.
Every group can

* ``sample(m)`` random elements as a ``(m, n, n)`` tensor,
* ``act(g, x, order=k)`` with ``g^{⊗k}`` on the last ``k`` axes of ``x`` without forming it,
* give ``identity()``, test ``contains(g)``,
* describe itself: ``is_finite``, ``order()`` (finite groups) or ``dimension`` (Lie groups),
  ``generators()`` (discrete generators, one per connected component for Lie groups) and
  ``lie_algebra()`` (a basis of the Lie algebra; empty for finite groups).

Generators plus Lie algebra are exactly what the numeric basis solver needs (Finzi et al.,
ICML 2021, §4): a tensor is invariant iff it is fixed by every discrete generator and
annihilated by every Lie-algebra generator.

Group objects are immutable, hashable and printable value types (``SymmetricGroup(5)``), so
they can key caches.
"""

from __future__ import annotations

import abc

import torch

__all__ = ["Group", "act", "as_generator"]


def as_generator(generator: torch.Generator | int | None) -> torch.Generator | None:
    """Turn a seed or generator into a ``torch.Generator`` (``None`` stays ``None``)."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, int):
        gen = torch.Generator()
        gen.manual_seed(generator)
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
        The cost is ``k`` matrix products of size ``n`` (``g^{⊗k}`` is never formed).

    """
    if not isinstance(order, int) or order < 0:
        raise ValueError(f"order must be an int >= 0, got {order!r}")
    if g.dim() not in (2, 3) or g.shape[-1] != g.shape[-2]:
        raise ValueError(f"g must have shape (n, n) or (m, n, n), got {tuple(g.shape)}")
    n = g.shape[-1]
    if order == 0:
        return x
    if x.dim() < order or any(s != n for s in x.shape[x.dim() - order :]):
        raise ValueError(
            f"x must end in {order} axes of size n={n} (order={order}), got shape {tuple(x.shape)}"
        )
    g = g.to(dtype=x.dtype, device=x.device)
    batched = g.dim() == 3
    if batched:
        if x.dim() == order or x.shape[0] != g.shape[0]:
            raise ValueError(
                f"a batch of {g.shape[0]} group elements needs x with leading axis of size "
                f"{g.shape[0]}, got x of shape {tuple(x.shape)}"
            )
        # (m, n, n) -> (m, 1, ..., 1, n, n) so it broadcasts against x's middle axes.
        g_t = g.transpose(-1, -2).reshape(g.shape[0], *([1] * (x.dim() - 2)), n, n)
    else:
        g_t = g.transpose(-1, -2)
    first = x.dim() - order
    for axis in range(first, x.dim()):
        moved = x.movedim(axis, -1)
        if batched:
            moved = torch.matmul(moved.unsqueeze(-2), g_t).squeeze(-2)
        else:
            moved = torch.matmul(moved, g_t)
        x = moved.movedim(-1, axis)
    return x


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

    def act(self, g: torch.Tensor, x: torch.Tensor, order: int) -> torch.Tensor:
        """Apply ``g^{⊗order}`` to the last ``order`` axes of ``x``; see :func:`act`."""
        if g.shape[-1] != self.n:
            raise ValueError(
                f"g must be {self.n}x{self.n} matrices for {self}, got {tuple(g.shape)}"
            )
        return act(g, x, order)

    def _check_count(self, m: int) -> None:
        if not isinstance(m, int) or m < 1:
            raise ValueError(f"m (number of samples) must be an int >= 1, got {m!r}")
