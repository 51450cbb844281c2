"""Equivariance testing as public API (in the spirit of e3nn's ``assert_equivariant``).

>>> import torch
>>> from geomlayers.groups import SymmetricGroup
>>> errors = assert_equivariant(lambda x: x.sum(-1, keepdim=True).expand_as(x),
...                             SymmetricGroup(4), in_order=1, out_order=1)
>>> errors[0] < 1e-12
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from geomlayers.groups.base import Group, act

__all__ = ["equivariance_error", "assert_equivariant"]


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def equivariance_error(
    fn: Callable[[torch.Tensor], torch.Tensor | Sequence[torch.Tensor]],
    group: Group,
    *,
    in_order: int,
    out_order: int | Sequence[int],
    x: torch.Tensor | None = None,
    batch_shape: Sequence[int] = (3,),
    num_elements: int = 4,
    generator: torch.Generator | int | None = 0,
    elements: torch.Tensor | None = None,
) -> list[float]:
    """Worst relative error ``max|f(g·x) - g·f(x)| / max(1, max|g·f(x)|)`` per output.

    Args:
        fn: a function or module mapping ``x`` to one tensor or a tuple of tensors.
        group: the group; ``num_elements`` elements are drawn with ``group.sample`` unless
            ``elements`` ``(m, n, n)`` is given.
        in_order: ``k``: ``x`` ends in ``k`` axes of size ``n``.
        out_order: ``l`` per output (one int for all outputs, or one per output; 0 =
            invariant).
        x: the input; default: standard normal float64 of shape ``(*batch_shape, n^(k))``.
        generator: seed or generator for ``x`` and the sampled elements.

    Returns:
        One float per output: the worst error over the group elements. The transforms are
        applied in float64 and the outputs compared in float64.

    """
    n = group.n
    if x is None:
        gen = torch.Generator().manual_seed(generator) if isinstance(generator, int) else generator
        x = torch.randn(*batch_shape, *([n] * in_order), dtype=torch.float64, generator=gen)
    if elements is None:
        elements = group.sample(num_elements, generator=generator)
    reference = _as_tuple(fn(x))
    if isinstance(out_order, Sequence):
        orders = tuple(out_order)
    else:
        orders = (out_order,) * len(reference)
    if len(orders) != len(reference):
        raise ValueError(f"out_order has {len(orders)} entries but fn returned {len(reference)}")
    worst = [0.0] * len(reference)
    for g in elements.to(torch.float64):
        moved_x = act(g, x.to(torch.float64), in_order).to(x.dtype)
        outputs = _as_tuple(fn(moved_x))
        for index, (out, ref, order) in enumerate(zip(outputs, reference, orders, strict=True)):
            expected = act(g, ref.detach().to(torch.float64), order)
            error = (out.detach().to(torch.float64) - expected).abs().max()
            scale = max(1.0, float(expected.abs().max())) if expected.numel() else 1.0
            worst[index] = max(worst[index], float(error) / scale)
    return worst


def assert_equivariant(
    fn: Callable[[torch.Tensor], torch.Tensor | Sequence[torch.Tensor]],
    group: Group,
    *,
    in_order: int,
    out_order: int | Sequence[int],
    tol: float = 1e-10,
    **kwargs,
) -> list[float]:
    """Assert ``fn(g·x) == g·fn(x)`` for random group elements; return the worst errors.

    ``tol=1e-10`` suits float64; use about ``1e-5`` for float32 functions. Other arguments
    as for :func:`equivariance_error`.

    Raises:
        AssertionError: naming the output, its worst error and the tolerance.

    """
    errors = equivariance_error(fn, group, in_order=in_order, out_order=out_order, **kwargs)
    for index, error in enumerate(errors):
        if not error <= tol:
            raise AssertionError(
                f"output {index} is not equivariant under {group}: worst relative error "
                f"{error:.3e} > tol {tol:.1e}"
            )
    return errors
