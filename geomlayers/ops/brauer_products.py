"""Products of Brauer, symplectic Brauer and Brauer–Grood diagrams (compatibility module).

The kernels live in :mod:`geomlayers.ops.brauer_kernels`; the choice of executor for a
list of elements in :mod:`geomlayers.ops.dispatch`. Names stay importable from here.
"""

from geomlayers.ops.brauer_kernels import (
    apply_brauer_grood,
    apply_form,
    apply_symplectic_brauer,
    levi_civita_tables,
)
from geomlayers.ops.dispatch import apply_element, apply_elements

__all__ = [
    "apply_element",
    "apply_elements",
    "apply_symplectic_brauer",
    "apply_brauer_grood",
    "apply_form",
    "levi_civita_tables",
]
