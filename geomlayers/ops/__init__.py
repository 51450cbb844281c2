"""Fast products of diagram-basis elements with tensors (torch reference and C++ backends)."""

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
    "apply_diagrams",
    "apply_partition_diagram",
    "apply_sparse",
    "diagonal_embed",
    "diagonal_reduce",
    "diagram_layer",
    "plan_layer",
]
