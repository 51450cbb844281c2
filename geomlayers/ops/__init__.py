"""Executors of diagram bases: plans, torch and C++ backends, and the one dispatch point.

:func:`execute` (:mod:`geomlayers.ops.dispatch`) runs a list of basis elements with weights on
an input; ``Basis.apply`` and ``EquivariantLinear`` both call it (``docs/backends.md``).
"""

from geomlayers.ops.brauer_kernels import apply_brauer_grood, apply_symplectic_brauer
from geomlayers.ops.diagram_products import apply_partition_diagram, apply_sparse
from geomlayers.ops.dispatch import (
    ElementProgram,
    IndexTable,
    apply_element,
    apply_elements,
    apply_weighted,
    build_program,
    execute,
)
from geomlayers.ops.layer import (
    Embedding,
    LayerPlan,
    Reduction,
    apply_diagrams,
    diagonal_embed,
    diagonal_reduce,
    diagram_layer,
    plan_layer,
)

__all__ = [
    "ElementProgram",
    "Embedding",
    "IndexTable",
    "LayerPlan",
    "Reduction",
    "apply_brauer_grood",
    "apply_diagrams",
    "apply_element",
    "apply_elements",
    "apply_weighted",
    "build_program",
    "apply_symplectic_brauer",
    "apply_partition_diagram",
    "apply_sparse",
    "diagonal_embed",
    "diagonal_reduce",
    "diagram_layer",
    "execute",
    "plan_layer",
]
