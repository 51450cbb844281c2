"""Fast products of diagram-basis elements with tensors."""

from geomlayers.ops.diagram_products import (
    DiagramPlan,
    apply_partition_diagram,
    apply_sparse,
    diagram_plan,
)

__all__ = ["DiagramPlan", "apply_partition_diagram", "apply_sparse", "diagram_plan"]
