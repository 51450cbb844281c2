"""Aut(G) layers: :mod:`geomlayers.nn.equivariant.automorphism` (their home).

While ``geomlayers.nn.equivariant`` is a single module rather than a package, that file is
loaded from its path here; once it is a package this is a plain re-export.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_NAME = "geomlayers.nn.equivariant.automorphism"

try:
    from geomlayers.nn.equivariant.automorphism import (  # noqa: F401
        AutomorphismLinear,
        AutomorphismNetwork,
    )
except ModuleNotFoundError:  # geomlayers.nn.equivariant is still a module
    if _NAME not in sys.modules:
        _path = Path(__file__).parent / "equivariant" / "automorphism.py"
        _spec = importlib.util.spec_from_file_location(_NAME, _path)
        _module = importlib.util.module_from_spec(_spec)
        sys.modules[_NAME] = _module
        _spec.loader.exec_module(_module)
    AutomorphismLinear = sys.modules[_NAME].AutomorphismLinear
    AutomorphismNetwork = sys.modules[_NAME].AutomorphismNetwork

__all__ = ["AutomorphismLinear", "AutomorphismNetwork"]
