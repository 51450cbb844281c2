"""Combinatorics of diagrams.

Set partitions, partition / orbit / jellyfish / Brauer / Brauer–Grood / symplectic Brauer
diagrams, bilabelled graphs, and their tensors.
"""

from geomlayers.diagrams.bilabelled import BilabelledGraph
from geomlayers.diagrams.brauer import (
    BrauerGroodDiagram,
    SymplecticBrauerDiagram,
    brauer_diagrams,
    brauer_grood_diagrams,
    count_brauer,
    count_brauer_grood,
    perfect_matchings,
    symplectic_brauer_diagrams,
)
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
from geomlayers.diagrams.plot import plot_basis, plot_diagram

__all__ = [
    "BilabelledGraph",
    "BrauerGroodDiagram",
    "SymplecticBrauerDiagram",
    "brauer_diagrams",
    "brauer_grood_diagrams",
    "count_brauer",
    "count_brauer_grood",
    "perfect_matchings",
    "symplectic_brauer_diagrams",
    "JellyfishDiagram",
    "OrbitElement",
    "PartitionDiagram",
    "SetPartitionElement",
    "bell",
    "blocks_from_rgs",
    "count_partitions",
    "double_factorial",
    "permutation_signs",
    "plot_basis",
    "plot_diagram",
    "set_partitions",
    "stirling2",
]
