"""Draw the pictures of the docs: diagrams (docs/_static/diagrams/), benchmark plots.

Run by the Sphinx build (docs/conf.py) so the pictures always show the current code; can also
be run by hand: ``python docs/make_figures.py``.
"""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "_static", "diagrams")
LAYER_JSON = os.path.join(os.path.dirname(HERE), "benchmarks", "results", "layer.json")


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


def layer_table(path: str = LAYER_JSON) -> tuple[list[str], list[list]]:
    """Columns and rows of the k = l = 2 table of the S_n layer results (first table)."""
    with open(path, encoding="utf-8") as handle:
        doc = json.load(handle)
    if not doc.get("tables"):
        raise ValueError(f"{path} holds no table")
    first = doc["tables"][0]
    return first["columns"], first["rows"]


def _number(cell) -> float | None:
    """A timing cell as a float (numbers, or strings like "2.84"); None for "—" and text."""
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return float(cell)
    try:
        return float(str(cell).replace(",", ""))
    except ValueError:
        return None


def layer_timing_figure(path: str = LAYER_JSON):
    """Log-log plot of the S_n layer timings (ms vs n) of benchmarks/results/layer.json."""
    import matplotlib.pyplot as plt

    header, rows = layer_table(path)
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for column, name in enumerate(header[1:6], start=1):
        points = [(_number(row[0]), _number(row[column])) for row in rows]
        points = [p for p in points if p[0] is not None and p[1] is not None]
        if points:
            ax.plot(*zip(*points, strict=True), "o-", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n")
    ax.set_ylabel("forward + backward (ms)")
    ax.set_title("S_n layer, k = l = 2 (benchmarks/bench_layer.py)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


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
    bench_dir = os.path.join(os.path.dirname(out_dir), "benchmarks")
    os.makedirs(bench_dir, exist_ok=True)
    path = os.path.join(bench_dir, "layer_times.png")
    fig = layer_timing_figure()
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)
    paths.append(path)
    return paths


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(HERE))
    for p in main():
        print(p, os.path.getsize(p), "bytes")
