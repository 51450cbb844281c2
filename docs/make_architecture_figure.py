"""Draw ``docs/figures/architecture.svg``: the layers of geomlayers, most basic at the bottom.

Plain SVG written by hand (no plotting library, no network), from the same ``LAYERS`` table
that ``tests/test_architecture.py`` checks. Run ``python docs/make_architecture_figure.py``
after changing the layers.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "figures", "architecture.svg")

#: (row label, packages, one-line role), top row first
ROWS = [
    ("entry points", ["cli", "demo", "testing"], "command line, demos, assert_equivariant"),
    ("integrations", ["pyg", "sklearn"], "adapters to other libraries"),
    ("models", ["models"], "IGN, PPGN, SPDNet, GrNet, FAGNN, ..."),
    ("data", ["data"], "loaders, synthetic tasks"),
    ("nn", ["equivariant", "frames", "spd", "grassmann", "lie", "clifford"],
     "layers: declare group, rep_in, rep_out"),
    ("bases", ["bases"], "equivariant_basis -> Basis (what)"),
    ("ops", ["ops", "csrc"], "executors: plans, torch / C++ (how)"),
    ("geometry", ["diagrams", "manifolds", "clifford"], "combinatorics, metrics, algebras"),
    ("spine", ["groups", "linalg"], "Group, Representation, parse_group"),
    ("utilities", ["validation", "paths", "progress"], "argument checks, folders, progress"),
]

WIDTH, ROW_H, GAP, LEFT, RIGHT = 1000, 46, 14, 130, 350


def _box(x, y, w, h, text, fill):
    return (f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" '
            f'stroke="#345" stroke-width="1.2"/>'
            f'<text x="{x + w / 2}" y="{y + h / 2 + 5}" text-anchor="middle" '
            f'font-family="DejaVu Sans, Arial, sans-serif" font-size="13">{text}</text>')


def svg() -> str:
    """The figure as an SVG document."""
    height = len(ROWS) * (ROW_H + GAP) + 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
             f'viewBox="0 0 {WIDTH} {height}">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#345"/>'
             '</marker></defs>',
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="12" y="22" font-family="DejaVu Sans, Arial, sans-serif" font-size="14" '
             'font-weight="bold">geomlayers: each layer imports only from the layers below it'
             '</text>']
    palette = ["#eef3fb", "#e3ecf8", "#d9e6f5"]
    for row, (label, packages, role) in enumerate(ROWS):
        y = 40 + row * (ROW_H + GAP)
        parts.append(f'<text x="12" y="{y + ROW_H / 2 + 5}" font-family="DejaVu Sans, Arial, '
                     f'sans-serif" font-size="13" font-weight="bold">{label}</text>')
        usable = WIDTH - LEFT - RIGHT
        width = (usable - 8 * (len(packages) - 1)) / len(packages)
        for i, package in enumerate(packages):
            x = LEFT + i * (width + 8)
            fill = "#fde9c9" if label == "spine" else palette[row % len(palette)]
            parts.append(_box(x, y, width, ROW_H, package, fill))
        parts.append(f'<text x="{WIDTH - RIGHT + 20}" y="{y + ROW_H / 2 + 5}" font-family="DejaVu '
                     f'Sans, Arial, sans-serif" font-size="12" fill="#333">{role}</text>')
        if row < len(ROWS) - 1:
            cx = LEFT + (WIDTH - LEFT - RIGHT) / 2
            parts.append(f'<line x1="{cx}" y1="{y + ROW_H}" x2="{cx}" y2="{y + ROW_H + GAP}" '
                         'stroke="#345" stroke-width="1.5" marker-end="url(#arrow)"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> int:
    """Write the figure; return 0."""
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as handle:
        handle.write(svg())
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
