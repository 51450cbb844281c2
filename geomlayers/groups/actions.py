"""The matrix kernels behind the representations: tensor powers and homogeneous coordinates.

* :func:`tensor_power_act` applies ``g^{⊗k}`` to the last ``k`` axes of a tensor with ``k``
  matrix products (the tensor power is never formed);
* :func:`split_homogeneous` / :func:`join_homogeneous` are the one conversion between
  ``(A, t)`` and homogeneous matrices ``[[A, t], [0, 1]]``, used by E(d), SE(d), T(d) and
  ``Affine``.

The representation values in :mod:`geomlayers.groups.representations` are built on these.
"""

from __future__ import annotations

import torch

from geomlayers.validation import check_int

__all__ = ["tensor_power_act", "split_homogeneous", "join_homogeneous"]


# --------------------------------------------------------------------------- (A, t) <-> g


def split_homogeneous(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Homogeneous ``(..., d+1, d+1)`` ``[[A, t], [0, 1]]`` → ``A (..., d, d)``, ``t (..., d)``.

    The one conversion used by E(d), SE(d), T(d) and ``Affine`` (their ``split``).
    """
    if g.dim() < 2 or g.shape[-1] != g.shape[-2] or g.shape[-1] < 2:
        raise ValueError(f"g must have shape (..., d+1, d+1) with d >= 1, got {tuple(g.shape)}")
    return g[..., :-1, :-1], g[..., :-1, -1]


def join_homogeneous(linear: torch.Tensor, translation: torch.Tensor) -> torch.Tensor:
    """``A (..., d, d)``, ``t (..., d)`` → homogeneous ``(..., d+1, d+1)`` ``[[A, t], [0, 1]]``.

    Leading axes broadcast. The inverse of :func:`split_homogeneous`.
    """
    if linear.dim() < 2 or linear.shape[-1] != linear.shape[-2]:
        raise ValueError(f"linear part must be (..., d, d), got {tuple(linear.shape)}")
    d = linear.shape[-1]
    if translation.dim() < 1 or translation.shape[-1] != d:
        raise ValueError(
            f"linear part must be (..., d, d) and translation (..., d) with the same d, got "
            f"{tuple(linear.shape)} and {tuple(translation.shape)}"
        )
    batch = torch.broadcast_shapes(linear.shape[:-2], translation.shape[:-1])
    dtype = torch.promote_types(linear.dtype, translation.dtype)
    g = linear.new_zeros(*batch, d + 1, d + 1, dtype=dtype)
    g[..., :d, :d] = linear
    g[..., :d, d] = translation
    g[..., d, d] = 1
    return g


# --------------------------------------------------------------------------- tensor power


def tensor_power_act(g: torch.Tensor, x: torch.Tensor, order: int) -> torch.Tensor:
    """Apply ``g^{⊗order}`` to the last ``order`` axes of ``x`` (never forming ``g^{⊗k}``).

    Args:
        g: ``(n, n)`` one matrix applied to all of ``x``, or ``(m, n, n)`` one matrix per
            leading entry of ``x`` (then ``x.shape[0] == m``).
        x: ``(..., n, ..., n)`` with at least ``order`` trailing axes of size ``n``.
        order: number of trailing tensor axes ``k >= 0``.

    Returns:
        Tensor of the shape of ``x``: ``y[..., i_1..i_k] = Σ_j g[i_1,j_1]…g[i_k,j_k] x[..., j]``;
        ``k`` matrix products of size ``n``.

    """
    order = check_int("order", order, minimum=0)
    _check_g(g)
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
        _check_batch(g, x, order)
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


def _check_g(g: torch.Tensor) -> None:
    if not isinstance(g, torch.Tensor):
        raise TypeError(f"g must be a tensor of group elements, got {type(g).__name__}")
    if g.dim() not in (2, 3) or g.shape[-1] != g.shape[-2]:
        raise ValueError(f"g must have shape (n, n) or (m, n, n), got {tuple(g.shape)}")


def _check_batch(g: torch.Tensor, x: torch.Tensor, trailing: int) -> None:
    if g.dim() == 3 and (x.dim() <= trailing or x.shape[0] != g.shape[0]):
        raise ValueError(
            f"a batch of {g.shape[0]} group elements needs x with a leading axis of size "
            f"{g.shape[0]}, got x of shape {tuple(x.shape)}"
        )


def _parts(g: torch.Tensor, d: int, x: torch.Tensor, what: str):
    """``(A, t)`` of ``g`` for data in ``R^d``: homogeneous when ``g`` is ``(d+1)x(d+1)``."""
    _check_g(g)
    g = g.to(dtype=x.dtype, device=x.device)
    size = g.shape[-1]
    if size == d:
        return g, None
    if size == d + 1:
        return split_homogeneous(g)
    raise ValueError(
        f"{what} of size {d} need group elements of size {d} (linear) or {d + 1} "
        f"(homogeneous), got g of shape {tuple(g.shape)}"
    )


def _left(a: torch.Tensor, x: torch.Tensor, trailing: int) -> torch.Tensor:
    """``a @ x`` on the last two axes of ``x`` (``trailing`` = 2) or ``a @ x`` for vectors (1).

    ``a`` is ``(d, d)`` or ``(m, d, d)`` matched to ``x``'s leading axis.
    """
    if a.dim() == 3:
        a = a.reshape(a.shape[0], *([1] * (x.dim() - trailing - 1)), *a.shape[-2:])
    if trailing == 1:
        return (a @ x.unsqueeze(-1)).squeeze(-1)
    return a @ x
