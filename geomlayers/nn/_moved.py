"""Deprecated aliases of the networks that moved from ``geomlayers.nn`` to ``models``.

They are kept for one release.

The alias imports its target by name on first access only, so no ``geomlayers.nn`` module
imports :mod:`geomlayers.models` (the layering of ``docs/architecture.md``).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable

#: name -> module of :mod:`geomlayers.models` that now holds it
MOVED_TO_MODELS = {
    "AffineInvariantCNN": "geomlayers.models.affine",
    "ConvexHullNet": "geomlayers.models.clifford",
    "O5RegressionNet": "geomlayers.models.clifford",
    "SPDNet": "geomlayers.models.spdnet",
    "ConvSPDNet": "geomlayers.models.spdnet",
    "GrNet": "geomlayers.models.grnet",
}


def moved_attribute(package: str, names: tuple[str, ...]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package`` that serves ``names`` from their new home.

    Each access warns with a ``DeprecationWarning`` naming the new import path; any other name
    raises the usual ``AttributeError``.
    """

    def __getattr__(name: str) -> object:
        if name in names:
            target = MOVED_TO_MODELS[name]
            warnings.warn(f"{package}.{name} moved to geomlayers.models.{name}; import it from "
                          "there (this alias goes in the next release)", DeprecationWarning,
                          stacklevel=2)
            return getattr(importlib.import_module(target), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
