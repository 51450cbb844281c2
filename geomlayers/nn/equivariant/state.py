"""A fingerprint of a basis's element order, stored with a layer's weights.

Row ``i`` of a diagram layer's weight multiplies basis element ``i``; a state dict is only
meaningful for the same elements in the same order. :func:`basis_fingerprint` names that
order in a short string that a layer keeps in its ``_extra_state`` (plain ``str`` / ``int``
values, so ``torch.load(weights_only=True)`` reads it) and checks when loading.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import torch

__all__ = ["basis_fingerprint", "check_fingerprint"]

#: format of the stored state; bumped when its meaning changes
STATE_VERSION = 1


def _describe(element) -> bytes:
    """Bytes that identify one element (its printed diagram, or a tensor's content)."""
    if isinstance(element, torch.Tensor):
        data = element.detach().to(torch.float64).contiguous().cpu()
        return b"tensor" + str(tuple(data.shape)).encode() + data.numpy().tobytes()
    return str(element).encode()


def basis_fingerprint(elements: Iterable, k: int, l: int) -> str:  # noqa: E741
    """SHA-256 (first 16 hex digits) of the orders and the elements in order.

    >>> from geomlayers.bases import equivariant_basis
    >>> from geomlayers.groups import SymmetricGroup
    >>> a = equivariant_basis(SymmetricGroup(5), 1, 1, use_cache=False)
    >>> basis_fingerprint(a, 1, 1) == basis_fingerprint(list(a)[::-1], 1, 1)
    False

    """
    digest = hashlib.sha256(f"k={k};l={l}".encode())
    for element in elements:
        digest.update(b"\0")
        digest.update(_describe(element))
    return digest.hexdigest()[:16]


def check_fingerprint(stored, expected: str, size: int, where: str) -> None:
    """Refuse a stored state whose basis order differs from the layer's.

    Raises:
        ValueError: the stored fingerprint or basis size differs, naming both.

    """
    if not isinstance(stored, dict) or "basis" not in stored:
        raise ValueError(f"{where}: unreadable layer state {stored!r} (expected a dict with "
                         "'basis' and 'size')")
    if stored.get("basis") != expected or stored.get("size") != size:
        raise ValueError(
            f"{where}: the state dict was saved for a basis with fingerprint "
            f"{stored.get('basis')!r} ({stored.get('size')} elements); this layer's basis is "
            f"{expected!r} ({size} elements). The weights multiply basis elements by position, "
            "so they would compute something else: rebuild the layer with the basis the "
            "weights were trained on (same group, orders and library version)"
        )
