"""Equivariance testing as public API (in the spirit of e3nn's ``assert_equivariant``).

A layer that declares ``group``, ``rep_in`` and ``rep_out`` (see ``docs/architecture.md``) is
checked without being told anything else::

    layer = EquivariantLinear(...)           # layer.group, layer.rep_in, layer.rep_out
    assert_equivariant(layer)

The group elements come from ``group.sample``, the inputs from ``rep.random`` (valid points
of each representation: SPD matrices for ``Congruence``, orthonormal bases for
``Subspaces``), the group acts through its own :meth:`~geomlayers.groups.Group.act`, and
the transforms and comparisons are done in float64. The explicit forms still work:

>>> import torch
>>> from geomlayers.groups import SymmetricGroup, TensorPower
>>> errors = assert_equivariant(lambda x: x.sum(-1, keepdim=True).expand_as(x),
...                             SymmetricGroup(4), in_order=1, out_order=1)
>>> errors[0] < 1e-12
True
>>> assert_equivariant(lambda x: x.sum(-1), SymmetricGroup(4), rep_in="T1",
...                    rep_out="trivial")[0] < 1e-12
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from geomlayers.groups.base import Group
from geomlayers.groups.parse import parse_group
from geomlayers.groups.representations import (
    Representation,
    TensorPower,
    as_representation,
)

__all__ = ["equivariance_error", "assert_equivariant", "declared"]


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _reps(value, what: str) -> tuple[Representation, ...] | Representation:
    if isinstance(value, (tuple, list)):
        return tuple(as_representation(v) for v in value)
    if isinstance(value, str) and "," in value:
        return tuple(as_representation(v) for v in value.split(","))
    return as_representation(value)


def declared(module: object) -> tuple[Group, object, object]:
    """``(group, rep_in, rep_out)`` declared by a module, each checked.

    ``group`` may be a :class:`Group` or its string; ``rep_in``/``rep_out`` a representation,
    its string, an int order, or a tuple of these (several inputs / outputs). Any of them
    may be ``None`` (a size-free module, or inputs the module cannot type): the tester then
    needs it as an argument.
    """
    missing = [name for name in ("group", "rep_in", "rep_out") if not hasattr(module, name)]
    if missing:
        raise TypeError(
            f"{type(module).__name__} does not declare {', '.join(missing)}: give the module "
            "attributes group, rep_in and rep_out, or pass them to assert_equivariant "
            "(group, rep_in=..., rep_out=...)"
        )
    group = None if module.group is None else parse_group(module.group)
    rep_in = None if module.rep_in is None else _reps(module.rep_in, "rep_in")
    rep_out = None if module.rep_out is None else _reps(module.rep_out, "rep_out")
    return group, rep_in, rep_out


def _module_dtype(fn) -> torch.dtype:
    if isinstance(fn, torch.nn.Module):
        for tensor in list(fn.parameters()) + list(fn.buffers()):
            if tensor.is_floating_point():
                return tensor.dtype
    return torch.float64


def _module_device(fn) -> torch.device:
    if isinstance(fn, torch.nn.Module):
        for tensor in list(fn.parameters()) + list(fn.buffers()):
            return tensor.device
    return torch.device("cpu")


def _resolve(fn, group, in_order, out_order, rep_in, rep_out):
    if in_order is not None and rep_in is not None:
        raise TypeError("give rep_in or in_order, not both")
    if out_order is not None and rep_out is not None:
        raise TypeError("give rep_out or out_order, not both")
    declared_group = declared_in = declared_out = None
    if group is None or (rep_in is None and in_order is None) or \
            (rep_out is None and out_order is None):
        if all(hasattr(fn, name) for name in ("group", "rep_in", "rep_out")):
            declared_group, declared_in, declared_out = declared(fn)
        elif group is None:
            declared(fn)  # raises, naming what is missing
    group = parse_group(group) if group is not None else declared_group
    if group is None:
        raise TypeError(f"{type(fn).__name__}.group is None (a size-free module): pass the "
                        "group, e.g. assert_equivariant(module, EuclideanGroup(3))")
    if rep_in is None:
        rep_in = TensorPower(in_order) if in_order is not None else declared_in
    if rep_out is None:
        rep_out = (_reps(tuple(out_order), "out_order") if isinstance(out_order, Sequence)
                   else TensorPower(out_order) if out_order is not None else declared_out)
    for name, value in (("rep_in", rep_in), ("rep_out", rep_out)):
        if value is None:
            raise TypeError(f"{name} is unknown ({type(fn).__name__} declares none): pass "
                            f"{name}= (or in_order / out_order), or declare it on the module")
    return group, _reps(rep_in, "rep_in"), _reps(rep_out, "rep_out")


def _to64(x):
    return x.detach().to(torch.float64) if x.is_floating_point() else x


def equivariance_error(
    fn: Callable[..., torch.Tensor | Sequence[torch.Tensor]],
    group: Group | str | None = None,
    *,
    rep_in: Representation | str | int | Sequence | None = None,
    rep_out: Representation | str | int | Sequence | None = None,
    in_order: int | None = None,
    out_order: int | Sequence[int] | None = None,
    x: torch.Tensor | Sequence[torch.Tensor] | None = None,
    batch_shape: Sequence[int] = (3,),
    num_elements: int = 4,
    generator: torch.Generator | int | None = 0,
    elements: torch.Tensor | None = None,
    dtype: torch.dtype | None = None,
) -> list[float]:
    """Worst relative error ``max|f(g·x) - g·f(x)| / max(1, max|g·f(x)|)`` per output.

    Args:
        fn: a function or module mapping the input(s) to one tensor or a tuple of tensors.
            A module that declares ``group``, ``rep_in`` and ``rep_out`` needs nothing else.
        group: the group (or its string, e.g. ``"S5"``); default ``fn.group``.
            ``num_elements`` elements are drawn with ``group.sample`` unless ``elements``
            ``(m, n, n)`` is given.
        rep_in: the input representation (:mod:`geomlayers.groups.representations`, its
            string or an int order), or a tuple of them when ``fn`` takes several inputs
            (``fn(*x)``); default ``fn.rep_in``.
        rep_out: one representation for every output, or one per output (0 / ``trivial``
            = invariant); default ``fn.rep_out``.
        in_order, out_order: the older spelling of ``rep_in=TensorPower(k)`` /
            ``rep_out=TensorPower(l)`` (``out_order`` may be a sequence, one per output).
        x: the input (a tuple for several inputs); default ``rep.random`` of shape
            ``(*batch_shape, [channels,] *rep.shape)`` per input, at ``dtype`` and on the
            module's device.
        dtype: dtype of the default input: the module's parameter dtype, else float64.
        generator: seed or generator for ``x`` and the sampled elements.

    Returns:
        One float per output: the worst error over the group elements. ``g`` acts through
        ``group.act`` in float64; ``fn`` sees inputs at the dtype of ``x``; outputs are
        compared in float64 (subspaces through their projectors, ``rep.comparable``).

    """
    group, rep_in, rep_out = _resolve(fn, group, in_order, out_order, rep_in, rep_out)
    several = isinstance(rep_in, tuple)
    reps_in = rep_in if several else (rep_in,)
    gen = torch.Generator().manual_seed(generator) if isinstance(generator, int) else generator
    if x is None:
        dtype = dtype or _module_dtype(fn)
        device = _module_device(fn)
        inputs = tuple(rep.random(group.n, group.space_dim, tuple(batch_shape), gen,
                                  dtype).to(device) for rep in reps_in)
    else:
        inputs = _as_tuple(x) if several else (x,)
        if len(inputs) != len(reps_in):
            raise ValueError(f"rep_in has {len(reps_in)} entries but {len(inputs)} inputs "
                             "were given")
    if elements is None:
        elements = group.sample(num_elements, generator=gen)
    elements = elements.to(torch.float64)
    if elements.dim() == 2:
        elements = elements.unsqueeze(0)
    reference = _as_tuple(fn(*inputs))
    reps_out = rep_out if isinstance(rep_out, tuple) else (rep_out,) * len(reference)
    if len(reps_out) != len(reference):
        raise ValueError(f"rep_out has {len(reps_out)} entries but fn returned "
                         f"{len(reference)} outputs")
    worst = [0.0] * len(reference)
    for g in elements:
        moved = tuple(group.act(g.to(device=t.device), _to64(t), rep).to(t.dtype)
                      for t, rep in zip(inputs, reps_in, strict=True))
        outputs = _as_tuple(fn(*moved))
        if len(outputs) != len(reference):
            raise ValueError(f"fn returned {len(outputs)} outputs for a moved input, "
                             f"{len(reference)} for the original")
        for index, (out, ref, rep) in enumerate(zip(outputs, reference, reps_out,
                                                    strict=True)):
            expected = rep.comparable(group.act(g.to(device=ref.device), _to64(ref), rep))
            got = rep.comparable(_to64(out))
            if got.shape != expected.shape:
                raise ValueError(f"output {index} has shape {tuple(got.shape)} for the moved "
                                 f"input but {tuple(expected.shape)} for the original")
            error = (got - expected).abs().max() if expected.numel() else torch.tensor(0.0)
            scale = max(1.0, float(expected.abs().max())) if expected.numel() else 1.0
            value = float(error) / scale
            if value != value:  # NaN: report it as the worst possible error
                value = float("inf")
            worst[index] = max(worst[index], value)
    return worst


def _default_tol(fn, x, dtype) -> float:
    if x is not None:
        first = _as_tuple(x)[0]
        dtype = first.dtype
    dtype = dtype or _module_dtype(fn)
    return {torch.float64: 1e-10, torch.float32: 1e-4}.get(dtype, 1e-2)


def assert_equivariant(
    fn: Callable[..., torch.Tensor | Sequence[torch.Tensor]],
    group: Group | str | None = None,
    *,
    tol: float | None = None,
    **kwargs,
) -> list[float]:
    """Assert ``fn(g·x) == g·fn(x)`` for random group elements; return the worst errors.

    ``assert_equivariant(module)`` reads ``module.group``, ``module.rep_in`` and
    ``module.rep_out``; explicit ``group``, ``rep_in=``/``rep_out=`` (or the older
    ``in_order=``/``out_order=``) override them. ``tol`` defaults to ``1e-10`` for float64
    inputs, ``1e-4`` for float32 and ``1e-2`` below. Other arguments as for
    :func:`equivariance_error`.

    Raises:
        AssertionError: naming the output, its representation, its worst error, the
            tolerance and the group.

    """
    errors = equivariance_error(fn, group, **kwargs)
    if tol is None:
        tol = _default_tol(fn, kwargs.get("x"), kwargs.get("dtype"))
    resolved_group, _, rep_out = _resolve(
        fn, group, kwargs.get("in_order"), kwargs.get("out_order"), kwargs.get("rep_in"),
        kwargs.get("rep_out"))
    reps_out = rep_out if isinstance(rep_out, tuple) else (rep_out,) * len(errors)
    for index, error in enumerate(errors):
        if not error <= tol:
            raise AssertionError(
                f"output {index} is not equivariant under {resolved_group} (as "
                f"{reps_out[index]}): worst relative error {error:.3e} > tol {tol:.1e}"
            )
    return errors
