"""Pictures of diagrams with matplotlib (imported lazily, only when a picture is drawn).

Layout (the convention of every diagram in geomlayers, ``docs/diagrams.md``): the ``l`` top
vertices ``0..l-1`` are the output indices, the ``k`` bottom vertices ``l..l+k-1`` the input
indices, each row centred. What the artists are (tests and callers can find them by ``gid``):

* ``"vertices"``: one scatter collection holding the ``k + l`` vertices.
* ``"block"``: one line per block with two or more vertices (one per pair for Brauer-type
  diagrams): arcs join neighbouring vertices of a block on the same row (cups hang below the
  top row, caps rise above the bottom row) and one straight strand joins the rows when the
  block propagates. Singleton blocks have no line. Orbit elements ``X_π`` are drawn dashed
  (the index is *exactly* constant on blocks, distinct across them).
* ``"block-label"``: jellyfish diagrams ``J_π`` (Pearce-Crump, arXiv 2301.10152) number their
  blocks ``1..t`` in the order that fixes the sign ``sgn(v_1, …, v_t[, m])``.
* ``"orientation"``: symplectic caps and cups (``J`` resp. ``J⁻¹`` on the ordered pair
  ``u < v``; Pearce-Crump, arXiv 2212.08630, §2.5) carry an arrowhead pointing from ``u`` to
  ``v``.
* ``"epsilon"`` / ``"epsilon-edges"``: a Brauer–Grood diagram's ``n`` free vertices are joined
  to one node labelled ``ε`` (the Levi-Civita symbol, §2.4).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["plot_diagram", "plot_basis", "vertex_positions"]

_ROW_TOP, _ROW_BOTTOM = 1.0, 0.0
_ARC_POINTS = 24


def _pyplot() -> Any:
    """Import ``matplotlib.pyplot`` or raise an ImportError that says how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "drawing diagrams needs matplotlib, which is not installed: "
            "pip install matplotlib (or the 'docs' extra: pip install 'geomlayers[docs]')"
        ) from error
    return plt


def vertex_positions(k: int, l: int) -> list[tuple[float, float]]:  # noqa: E741
    """``(x, y)`` of vertices ``0..l+k-1``: top row (outputs) at ``y=1``, bottom at ``y=0``.

    >>> vertex_positions(1, 2)
    [(-0.5, 1.0), (0.5, 1.0), (0.0, 0.0)]
    """
    top = [(i - (l - 1) / 2, _ROW_TOP) for i in range(l)]
    bottom = [(j - (k - 1) / 2, _ROW_BOTTOM) for j in range(k)]
    return top + bottom


def _arc(p: tuple[float, float], q: tuple[float, float]) -> tuple[list[float], list[float]]:
    """Points of an arc between two vertices of one row, bulging towards the other row."""
    (x1, y), (x2, _) = p, q
    height = min(0.12 + 0.08 * abs(x2 - x1), 0.4)
    sign = -1.0 if y == _ROW_TOP else 1.0
    ts = [i / (_ARC_POINTS - 1) for i in range(_ARC_POINTS)]
    xs = [x1 + (x2 - x1) * t for t in ts]
    ys = [y + sign * height * math.sin(math.pi * t) for t in ts]
    return xs, ys


def _block_path(
    block: Sequence[int], pos: list[tuple[float, float]], l: int  # noqa: E741
) -> tuple[list[float], list[float]]:
    """One polyline (NaN-separated pieces) connecting the vertices of ``block``."""
    top = sorted((v for v in block if v < l), key=lambda v: pos[v][0])
    bottom = sorted((v for v in block if v >= l), key=lambda v: pos[v][0])
    xs: list[float] = []
    ys: list[float] = []
    for row in (top, bottom):
        for u, v in zip(row, row[1:], strict=False):
            ax_, ay_ = _arc(pos[u], pos[v])
            xs += ax_ + [math.nan]
            ys += ay_ + [math.nan]
    if top and bottom:
        (x1, y1), (x2, y2) = pos[top[0]], pos[bottom[0]]
        xs += [x1, x2, math.nan]
        ys += [y1, y2, math.nan]
    return xs[:-1], ys[:-1]


def _new_axes(k: int, l: int) -> Any:  # noqa: E741
    plt = _pyplot()
    width = 0.7 * max(k, l, 1) + 0.8
    _, ax = plt.subplots(figsize=(width, 1.8))
    return ax


def _finish_axes(ax: Any, k: int, l: int, title: str | None) -> None:  # noqa: E741
    half = max(k, l, 1) / 2
    ax.set_xlim(-half - 0.1, half + 0.1)
    ax.set_ylim(-0.35, 1.35)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)


#: a diagram's ``symbol`` → how it is drawn; anything else with ``k``, ``l`` and ``blocks``
#: is drawn as a partition diagram.
_STYLES = {"X": "orbit", "J": "jellyfish", "F": "symplectic", "H": "brauer-grood"}


def _kind(element: Any) -> str:
    """``"partition"``, ``"orbit"``, ``"jellyfish"``, ``"symplectic"`` or ``"brauer-grood"``.

    Read from the element's attributes (``k``, ``l``, ``blocks``, ``symbol`` and, for
    Brauer–Grood diagrams, ``free``), so this module imports no diagram class and every
    diagram module may import it.
    """
    blocks = getattr(element, "blocks", None)
    if not (isinstance(getattr(element, "k", None), int)
            and isinstance(getattr(element, "l", None), int)
            and isinstance(blocks, tuple)):
        raise TypeError(
            f"cannot draw a {type(element).__name__}: plot_diagram draws partition, orbit, "
            "jellyfish, (symplectic) Brauer and Brauer–Grood diagrams"
        )
    style = _STYLES.get(getattr(element, "symbol", None), "partition")
    if style == "brauer-grood" and not getattr(element, "free", None):
        raise TypeError(
            f"cannot draw a {type(element).__name__} with symbol 'H' but no free vertices: "
            "plot_diagram draws Brauer–Grood diagrams, not bilabelled graphs"
        )
    return style


def plot_diagram(element: Any, ax: Any = None, *, title: str | None = None) -> Any:
    """Draw one diagram on ``ax`` (a new figure when ``None``) and return the Axes.

    Args:
        element: a :class:`~geomlayers.diagrams.diagram.PartitionDiagram`,
            :class:`~geomlayers.diagrams.diagram.OrbitElement`,
            :class:`~geomlayers.diagrams.diagram.JellyfishDiagram`,
            :class:`~geomlayers.diagrams.brauer.SymplecticBrauerDiagram` or
            :class:`~geomlayers.diagrams.brauer.BrauerGroodDiagram`.
        ax: a matplotlib Axes to draw on.
        title: the title; default ``str(element)``.

    Returns:
        The matplotlib Axes.

    Raises:
        TypeError: for any other object.
        ImportError: when matplotlib is not installed.

    """
    kind = _kind(element)
    k, l = element.k, element.l  # noqa: E741
    if ax is None:
        ax = _new_axes(k, l)
    pos = vertex_positions(k, l)
    colors = [f"C{i % 10}" for i in range(len(element.blocks))]
    style = "--" if kind == "orbit" else "-"
    for index, block in enumerate(element.blocks):
        if len(block) < 2:
            continue
        xs, ys = _block_path(block, pos, l)
        ax.plot(xs, ys, style, color=colors[index], lw=1.8, gid="block", zorder=1)
    if kind == "jellyfish":
        _label_blocks(ax, element, pos)
    elif kind == "symplectic":
        _orient_pairs(ax, element, pos)
    elif kind == "brauer-grood":
        _draw_epsilon(ax, element, pos)
    xs = [p[0] for p in pos]
    ys = [p[1] for p in pos]
    ax.scatter(xs, ys, s=36, c="black", zorder=3, gid="vertices")
    _finish_axes(ax, k, l, str(element) if title is None else title)
    return ax


def _label_blocks(ax: Any, element: Any, pos: list[tuple[float, float]]) -> None:
    """Number the blocks ``1..t`` (their order in the sign) next to their first vertex."""
    for index, block in enumerate(element.blocks):
        x, y = pos[block[0]]
        dy = 0.2 if y == _ROW_TOP else -0.22
        ax.text(x, y + dy, str(index + 1), ha="center", va="center", fontsize=8,
                color=f"C{index % 10}", gid="block-label")


def _orient_pairs(ax: Any, element: Any, pos: list[tuple[float, float]]) -> None:
    """An arrowhead at the middle of every cap / cup, pointing from ``u`` to ``v``."""
    for index, ((u, v), kind) in enumerate(zip(element.blocks, element.pair_kinds(),
                                               strict=True)):
        if kind == "through":
            continue
        xs, ys = _arc(pos[u], pos[v])
        middle = len(xs) // 2
        marker = ">" if pos[v][0] > pos[u][0] else "<"
        ax.plot([xs[middle]], [ys[middle]], marker=marker, ms=7, color=f"C{index % 10}",
                gid="orientation", zorder=2)


def _draw_epsilon(ax: Any, element: Any, pos: list[tuple[float, float]]) -> None:
    """A node labelled ``ε`` joined to every free vertex."""
    free = element.free
    cx = sum(pos[v][0] for v in free) / len(free)
    cy = 0.5
    xs: list[float] = []
    ys: list[float] = []
    for v in free:
        xs += [cx, pos[v][0], math.nan]
        ys += [cy, pos[v][1], math.nan]
    ax.plot(xs[:-1], ys[:-1], ":", color="0.3", lw=1.4, gid="epsilon-edges", zorder=1)
    ax.text(cx, cy, "ε", ha="center", va="center", fontsize=10, gid="epsilon", zorder=4,
            bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": "0.3"})


def plot_basis(basis: Any, max_elements: int = 12, ncols: int = 4) -> Any:
    """Draw the first ``max_elements`` elements of a basis on a grid; return the Figure.

    Args:
        basis: a :class:`~geomlayers.bases.basis.Basis` of diagram elements.
        max_elements: how many elements to draw (>= 1); the title says how many were left out.
        ncols: columns of the grid (>= 1).

    Returns:
        The matplotlib Figure (one Axes per drawn element, titled ``"index: element"``).

    Raises:
        ValueError: for ``max_elements`` or ``ncols`` < 1.
        TypeError: for bases whose elements are not diagrams (numeric, bilabelled graphs).

    """
    for name, value in (("max_elements", max_elements), ("ncols", ncols)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    elements = list(basis)[:max_elements]
    if basis.kind == "numeric" or not all(_drawable(e) for e in elements):
        raise TypeError(
            f"basis.plot() draws diagram bases only; this basis has kind={basis.kind!r} "
            "(numeric bases and bilabelled graphs have no diagram picture)"
        )
    plt = _pyplot()
    count = max(len(elements), 1)
    ncols = min(ncols, count)
    nrows = math.ceil(count / ncols)
    width = 0.7 * max(basis.k, basis.l, 1) + 0.9
    size = (max(width * ncols, 4.0), 2.0 * nrows)  # wide enough for the title
    fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False)
    flat = [a for row in axes for a in row]
    for index, (element, ax) in enumerate(zip(elements, flat, strict=False)):
        plot_diagram(element, ax, title=f"{index}: {element}")
    for ax in flat[len(elements):]:
        ax.set_axis_off()
    shown = f"first {len(elements)} of {len(basis)}" if len(basis) > len(elements) else (
        f"{len(basis)} elements")
    fig.suptitle(f"{basis.group}, k={basis.k}, l={basis.l}: {shown}", fontsize=10)
    fig.tight_layout()
    return fig


def _drawable(element: Any) -> bool:
    try:
        _kind(element)
    except TypeError:
        return False
    return True
