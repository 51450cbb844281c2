"""Fast products of diagram-basis elements with tensors (torch reference and C++ backends)."""

from geomlayers.ops.brauer_products import (
    apply_brauer_grood,
    apply_element,
    apply_elements,
    apply_symplectic_brauer,
)
from geomlayers.ops.diagram_products import apply_partition_diagram, apply_sparse
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
    "Embedding",
    "LayerPlan",
    "Reduction",
    "apply_brauer_grood",
    "apply_diagrams",
    "apply_element",
    "apply_elements",
    "apply_symplectic_brauer",
    "apply_partition_diagram",
    "apply_sparse",
    "diagonal_embed",
    "diagonal_reduce",
    "diagram_layer",
    "plan_layer",
]
