"""Argument checks shared by the affine-group layers."""

from __future__ import annotations

from geomlayers.groups.affine import GLPlus


def _check_group(group: object) -> GLPlus:
    if not isinstance(group, GLPlus):
        raise TypeError(f"group must be GLPlus(n) or SL(n), got {group!r}")
    if group.n not in (1, 2, 3):
        raise ValueError(f"group.n must be 1, 2 or 3 (spatial axes), got {group.n}")
    return group


def _check_channels(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return value
