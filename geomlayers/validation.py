"""Argument checks shared by the whole library (the one home for them).

Every check raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, out of
range) with a message that names the argument, shows what was given and says what is
accepted. The rules:

* counts and sizes are integers: Python ``int``, NumPy integers and 0-d integer tensors are
  accepted; ``bool`` is refused (``True`` is not a count) and so is every float, even an
  integral one (``5.0``), because a float count is almost always a mistake upstream;
* index tensors (``edge_index``, permutation images) may arrive as floats from a file or an
  array library: integral floats are accepted, a non-integral or non-finite entry is refused
  instead of being truncated (``1.5`` never becomes ``1``).

This module imports nothing from geomlayers, so every layer of the library may use it.

>>> check_int("n", 5, minimum=1)
5
>>> check_int("n", True)
Traceback (most recent call last):
    ...
TypeError: n must be an int, got bool True
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence

import torch

__all__ = [
    "check_int",
    "check_float",
    "check_bool",
    "check_choice",
    "check_integral_tensor",
    "check_int_sequence",
]


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def check_int(
    name: str,
    value: object,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """Return ``value`` as a Python ``int`` after checking it is an integer in range.

    Args:
        name: the argument's name, used in the message.
        value: an ``int``, a NumPy integer or a 0-d integer tensor; ``bool`` and floats are
            refused.
        minimum, maximum: inclusive bounds (``None``: unbounded).

    Raises:
        TypeError: ``value`` is not an integer.
        ValueError: ``value`` is outside ``[minimum, maximum]``.

    >>> import numpy as np
    >>> check_int("n", np.int64(4), minimum=1)
    4

    """
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise TypeError(f"{name} must be an int, got {_describe(value)}")
    if isinstance(value, torch.Tensor) and (
        value.dim() != 0 or value.is_floating_point() or value.dtype == torch.bool
        or value.is_complex()
    ):
        raise TypeError(f"{name} must be an int, got a tensor of shape {tuple(value.shape)} "
                        f"and dtype {value.dtype}")
    try:
        result = operator.index(value)
    except TypeError:
        hint = ""
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            hint = f" (pass {int(value)}, not {value!r})"
        raise TypeError(f"{name} must be an int, got {_describe(value)}{hint}") from None
    if minimum is not None and result < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {result}")
    if maximum is not None and result > maximum:
        raise ValueError(f"{name} must be an int <= {maximum}, got {result}")
    return int(result)


def check_float(
    name: str,
    value: object,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    positive: bool = False,
) -> float:
    """Return ``value`` as a finite Python ``float`` after checking its range.

    Ints and NumPy scalars are accepted; ``bool``, NaN and infinities are refused.
    ``positive=True`` requires ``value > 0``; ``minimum``/``maximum`` are inclusive.

    >>> check_float("scale", 2)
    2.0
    """
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise TypeError(f"{name} must be a float, got {_describe(value)}")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a float, got {_describe(value)}")
    if isinstance(value, torch.Tensor):
        if value.dim() != 0:
            raise TypeError(f"{name} must be a float, got a tensor of shape "
                            f"{tuple(value.shape)}")
        value = value.item()
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a float, got {_describe(value)}") from None
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {result}")
    if positive and not result > 0:
        raise ValueError(f"{name} must be > 0, got {result}")
    if minimum is not None and result < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {result}")
    if maximum is not None and result > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {result}")
    return result


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is a ``bool`` (or NumPy bool); refuse ``0``/``1`` and others."""
    if isinstance(value, bool):
        return value
    if type(value).__name__ == "bool_":
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {_describe(value)}")


def check_choice(name: str, value: object, choices: Iterable[object]) -> object:
    """Return ``value`` if it is one of ``choices``; the message lists them."""
    options = tuple(choices)
    try:
        ok = value in options
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, "
                         f"got {value!r}")
    return value


def check_integral_tensor(name: str, value: object, *, ndim: int | None = None) -> torch.Tensor:
    """Return ``value`` as an int64 tensor, refusing entries that are not integers.

    Args:
        name: the argument's name, used in the message.
        value: a tensor, NumPy array or nested sequence. Integer dtypes pass; floating
            dtypes pass only when every entry is finite and integral (``1.0``); a
            non-integral entry (``1.5``) raises instead of being truncated. ``bool`` and
            complex dtypes are refused.
        ndim: the required number of axes (``None``: any).

    Raises:
        TypeError: the value cannot be read as numbers, or has a bool / complex dtype.
        ValueError: a non-integral or non-finite entry, or the wrong number of axes.

    >>> check_integral_tensor("edge_index", [[0.0, 1.0], [1.0, 2.0]]).tolist()
    [[0, 1], [1, 2]]

    """
    try:
        tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a tensor, array or nested sequence of integers, "
                        f"got {type(value).__name__}: {err}") from None
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise TypeError(f"{name} must hold integers, got dtype {tensor.dtype}")
    if ndim is not None and tensor.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} axes, got shape {tuple(tensor.shape)}")
    if tensor.is_floating_point():
        finite = torch.isfinite(tensor)
        integral = finite & (tensor == torch.round(tensor))
        if not bool(integral.all()):
            bad = tensor[~integral].flatten()[0].item()
            raise ValueError(
                f"{name} must hold integers, got the non-integral value {bad!r} "
                f"(dtype {tensor.dtype}); pass integer indices (e.g. a torch.long tensor) "
                "instead of rounding silently"
            )
        if tensor.numel() and float(tensor.abs().max()) > 2.0**53:
            raise ValueError(
                f"{name} holds {float(tensor.abs().max()):.3g}, too large to be an exact "
                f"integer in {tensor.dtype}; pass an integer tensor"
            )
    return tensor.detach().to(torch.int64)


def check_int_sequence(
    name: str, value: object, *, minimum: int | None = None
) -> tuple[int, ...]:
    """Return a sequence of integers as a tuple of ``int``, each checked by :func:`check_int`."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, Iterable)):
        raise TypeError(f"{name} must be a sequence of ints, got {_describe(value)}")
    if isinstance(value, torch.Tensor):
        value = check_integral_tensor(name, value).tolist()
    return tuple(check_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(value))
