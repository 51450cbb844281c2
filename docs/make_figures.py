"""Draw the diagram pictures used by docs/diagrams.md into docs/_static/diagrams/.

Run by the Sphinx build (docs/conf.py) so the pictures always show the current code; can also
be run by hand: ``python docs/make_figures.py``.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "_static", "diagrams")


def figures() -> dict:
    """``{file name: matplotlib Figure}`` for every picture of the diagrams page."""
    import matplotlib.pyplot as plt

    from geomlayers.bases.api import equivariant_basis
    from geomlayers.diagrams.brauer import BrauerGroodDiagram, SymplecticBrauerDiagram
    from geomlayers.diagrams.diagram import JellyfishDiagram, OrbitElement, PartitionDiagram
    from geomlayers.groups import (
        AlternatingGroup,
        OrthogonalGroup,
        SpecialOrthogonalGroup,
        SymmetricGroup,
        SymplecticGroup,
    )

    out = {}
    fig, axes = plt.subplots(1, 5, figsize=(12.5, 2.2))
    PartitionDiagram(k=3, l=2, blocks=((0, 2), (1, 3, 4))).plot(axes[0])
    OrbitElement(k=3, l=2, blocks=((0, 2), (1, 3, 4))).plot(axes[1])
    JellyfishDiagram(k=2, l=2, blocks=((0, 2), (1,), (3,))).plot(axes[2])
    SymplecticBrauerDiagram(k=2, l=2, blocks=((0, 1), (2, 3))).plot(axes[3])
    BrauerGroodDiagram(k=2, l=3, blocks=((0, 3),), free=(1, 2, 4)).plot(axes[4])
    fig.tight_layout()
    out["element_types.png"] = fig
    bases = {
        "basis_s3_k2_l1.png": (SymmetricGroup(3), 2, 1, {}),
        "basis_a3_k2_l1.png": (AlternatingGroup(3), 2, 1, {}),
        "basis_o3_k2_l2.png": (OrthogonalGroup(3), 2, 2, {}),
        "basis_so3_k3_l2.png": (SpecialOrthogonalGroup(3), 3, 2, {}),
        "basis_sp4_k2_l2.png": (SymplecticGroup(4), 2, 2, {}),
    }
    for name, (group, k, l, options) in bases.items():  # noqa: E741
        basis = equivariant_basis(group, k, l, use_cache=False, **options)
        out[name] = basis.plot(max_elements=10, ncols=5)
    return out


def main(out_dir: str = OUT) -> list[str]:
    """Write the PNGs (Agg backend, fixed metadata) and return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, fig in figures().items():
        path = os.path.join(out_dir, name)
        fig.savefig(path, dpi=80, metadata={"Software": None})
        plt.close(fig)
        paths.append(path)
    return paths


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(HERE))
    for p in main():
        print(p, os.path.getsize(p), "bytes")
