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


def _check_dtype(module, x) -> None:
    """``x`` has the dtype of ``module``'s parameters (a ``TypeError`` naming both if not)."""
    param = next(module.parameters(), None)
    if param is not None and x.dtype != param.dtype:
        raise TypeError(f"the input has dtype {x.dtype} but the parameters of "
                        f"{type(module).__name__} are {param.dtype}: convert one of them "
                        f"(x.to({param.dtype}) or layer.to({x.dtype}))")
