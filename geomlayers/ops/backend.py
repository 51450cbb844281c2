"""Which executor runs the diagram products: ``"torch"`` (reference) or ``"cpp"`` (csrc/).

``$GEOMLAYERS_BACKEND`` = ``auto`` (default) | ``cpp`` | ``torch`` sets the default; a layer's
``backend=`` argument overrides it. ``auto`` uses the C++ extension when it builds and falls
back to torch with one warning; ``cpp`` raises if the extension cannot be built.
"""

from __future__ import annotations

import os
import warnings

__all__ = ["BACKENDS", "resolve_backend"]

BACKENDS = ("auto", "cpp", "torch")
_warned = False


def resolve_backend(requested: str | None = None) -> str:
    """The backend that will run: ``"cpp"`` or ``"torch"``.

    Raises:
        ValueError: for an unknown name.
        RuntimeError: for ``"cpp"`` when the extension cannot be built.

    """
    global _warned
    name = requested or os.environ.get("GEOMLAYERS_BACKEND", "auto")
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS} (or GEOMLAYERS_BACKEND), "
                         f"got {name!r}")
    if name == "torch":
        return "torch"
    from geomlayers.ops import extension

    error = extension.load_error()
    if error is None:
        return "cpp"
    if name == "cpp":
        raise RuntimeError(f"the C++ extension could not be built: {error}")
    if not _warned:
        warnings.warn(f"geomlayers: C++ extension unavailable, using the torch backend ({error})",
                      RuntimeWarning, stacklevel=3)
        _warned = True
    return "torch"
