"""Combinatorics of diagrams.

Set partitions, partition / orbit / jellyfish diagrams, bilabelled graphs, and their tensors.
"""

from geomlayers.diagrams.bilabelled import BilabelledGraph
from geomlayers.diagrams.diagram import (
    JellyfishDiagram,
    OrbitElement,
    PartitionDiagram,
    SetPartitionElement,
    permutation_signs,
)
from geomlayers.diagrams.partitions import (
    bell,
    blocks_from_rgs,
    count_partitions,
    double_factorial,
    set_partitions,
    stirling2,
)

__all__ = [
    "BilabelledGraph",
    "JellyfishDiagram",
    "OrbitElement",
    "PartitionDiagram",
    "SetPartitionElement",
    "bell",
    "blocks_from_rgs",
    "count_partitions",
    "double_factorial",
    "permutation_signs",
    "set_partitions",
    "stirling2",
]
