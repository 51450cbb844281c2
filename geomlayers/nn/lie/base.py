"""Argument checks shared by the affine-group layers."""

from __future__ import annotations

from geomlayers.groups.affine import Affine, GLPlus
from geomlayers.validation import check_int


def _check_group(group: object) -> tuple[Affine, GLPlus]:
    """``(Rⁿ ⋊ G, G)`` from ``Affine(G)`` or from ``G`` itself (``GLPlus(n)`` or ``SL(n)``)."""
    linear = group.linear if isinstance(group, Affine) else group
    if not isinstance(linear, GLPlus):
        raise TypeError(f"group must be Affine(GLPlus(n)), Affine(SL(n)), GLPlus(n) or SL(n), "
                        f"got {group!r}")
    if linear.n not in (1, 2, 3):
        raise ValueError(f"the linear group must act on 1, 2 or 3 spatial axes, got n={linear.n}")
    return (group if isinstance(group, Affine) else Affine(linear)), linear


def _check_channels(name: str, value: object) -> int:
    return check_int(name, value, minimum=1)


def _check_padding(mode: object) -> str:
    if mode not in ("zeros", "circular"):
        raise ValueError(f"padding_mode must be 'zeros' or 'circular', got {mode!r}")
    return mode  # type: ignore[return-value]


def _check_conv_args(
    group: object, in_channels: object, out_channels: object, padding_mode: object
) -> tuple[Affine, GLPlus, int, int, str]:
    """The checks shared by :class:`AffineLifting` and :class:`AffineGroupConv`.

    Returns ``(Rⁿ ⋊ G, G, in_channels, out_channels, padding_mode)``, each checked
    (channels are ints >= 1, NumPy integers accepted; padding ``'zeros'`` or ``'circular'``).
    """
    affine, linear = _check_group(group)
    return (affine, linear, _check_channels("in_channels", in_channels),
            _check_channels("out_channels", out_channels), _check_padding(padding_mode))


def _check_dtype(module, x) -> None:
    """``x`` has the dtype of ``module``'s parameters (a ``TypeError`` naming both if not)."""
    param = next(module.parameters(), None)
    if param is not None and x.dtype != param.dtype:
        raise TypeError(f"the input has dtype {x.dtype} but the parameters of "
                        f"{type(module).__name__} are {param.dtype}: convert one of them "
                        f"(x.to({param.dtype}) or layer.to({x.dtype}))")
