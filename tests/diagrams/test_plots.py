"""Diagram pictures: geomlayers.diagrams.plot, diagram.plot() and basis.plot()."""

import sys

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from geomlayers.bases.api import equivariant_basis  # noqa: E402
from geomlayers.diagrams.bilabelled import BilabelledGraph  # noqa: E402
from geomlayers.diagrams.brauer import (  # noqa: E402
    BrauerGroodDiagram,
    SymplecticBrauerDiagram,
    brauer_diagrams,
    brauer_grood_diagrams,
    symplectic_brauer_diagrams,
)
from geomlayers.diagrams.diagram import (  # noqa: E402
    JellyfishDiagram,
    OrbitElement,
    PartitionDiagram,
)
from geomlayers.diagrams.partitions import set_partitions  # noqa: E402
from geomlayers.diagrams.plot import _block_path, vertex_positions  # noqa: E402
from geomlayers.groups import (  # noqa: E402
    AlternatingGroup,
    OrthogonalGroup,
    SpecialOrthogonalGroup,
    SymmetricGroup,
    SymplecticGroup,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _by_gid(ax, gid):
    found = [a for a in ax.get_children() if a.get_gid() == gid]
    return found


def _num_vertices(ax):
    (collection,) = _by_gid(ax, "vertices")
    return len(collection.get_offsets())


def _vertex_coords(ax):
    (collection,) = _by_gid(ax, "vertices")
    return [tuple(map(float, p)) for p in collection.get_offsets()]


@pytest.mark.parametrize("cls", [PartitionDiagram, OrbitElement, JellyfishDiagram])
@pytest.mark.parametrize("k,l", [(0, 2), (2, 0), (1, 2), (2, 2), (3, 1)])
def test_set_partition_elements_all_partitions(cls, k, l):  # noqa: E741
    # every set partition of k + l vertices: k + l vertices, one line per non-singleton block
    for blocks in set_partitions(k + l):
        element = cls(k=k, l=l, blocks=blocks)
        ax = element.plot()
        assert isinstance(ax, Axes)
        assert _num_vertices(ax) == k + l
        lines = _by_gid(ax, "block")
        assert len(lines) == sum(len(b) >= 2 for b in element.blocks)
        assert ax.get_title() == str(element)
        plt.close("all")


def test_vertex_layout_top_outputs_bottom_inputs():
    ax = PartitionDiagram(k=3, l=2, blocks=((0, 2), (1,), (3, 4))).plot()
    coords = _vertex_coords(ax)
    assert coords == vertex_positions(3, 2)
    assert [y for _, y in coords] == [1.0, 1.0, 0.0, 0.0, 0.0]
    # rows centred, neighbours one unit apart
    assert [x for x, _ in coords] == [-0.5, 0.5, -1.0, 0.0, 1.0]


def test_block_path_visits_every_vertex_of_the_block():
    # a propagating block {0, 1 | 3, 4}: cup 0-1, cap 3-4 and one strand 0-3
    pos = vertex_positions(3, 2)
    xs, ys = _block_path((0, 1, 3, 4), pos, 2)
    points = {(round(x, 9), round(y, 9)) for x, y in zip(xs, ys, strict=True) if x == x}
    for v in (0, 1, 3, 4):
        assert (round(pos[v][0], 9), round(pos[v][1], 9)) in points
    assert (round(pos[2][0], 9), round(pos[2][1], 9)) not in points
    # three pieces separated by NaNs: two arcs and the strand
    assert sum(1 for x in xs if x != x) == 2
    # the cup hangs below the top row, the cap rises above the bottom row
    assert min(y for y in ys if y == y and y > 0.5) < 1.0
    assert max(y for y in ys if y == y and y < 0.5) > 0.0


def test_orbit_dashed_partition_solid():
    blocks = ((0, 1), (2,))
    (solid,) = _by_gid(PartitionDiagram(k=2, l=1, blocks=blocks).plot(), "block")
    (dashed,) = _by_gid(OrbitElement(k=2, l=1, blocks=blocks).plot(), "block")
    assert solid.get_linestyle() == "-"
    assert dashed.get_linestyle() == "--"


def test_jellyfish_blocks_numbered_in_sign_order():
    element = JellyfishDiagram(k=2, l=1, blocks=((0, 2), (1,)))
    ax = element.plot()
    labels = _by_gid(ax, "block-label")
    assert [t.get_text() for t in labels] == ["1", "2"]
    pos = vertex_positions(2, 1)
    assert labels[0].get_position()[0] == pos[0][0]  # block 1 starts at vertex 0
    assert labels[1].get_position()[0] == pos[1][0]  # block 2 at vertex 1
    assert not _by_gid(PartitionDiagram(k=2, l=1, blocks=element.blocks).plot(), "block-label")


@pytest.mark.parametrize("k,l", [(2, 0), (0, 2), (1, 1), (3, 1), (2, 2)])
def test_brauer_diagrams(k, l):  # noqa: E741
    for element in brauer_diagrams(k, l):
        ax = element.plot()
        assert _num_vertices(ax) == k + l
        assert len(_by_gid(ax, "block")) == (k + l) // 2
        plt.close("all")


@pytest.mark.parametrize("k,l", [(2, 0), (0, 2), (1, 1), (3, 1), (2, 2)])
def test_symplectic_pairs_oriented(k, l):  # noqa: E741
    for element in symplectic_brauer_diagrams(k, l):
        assert isinstance(element, SymplecticBrauerDiagram)
        ax = element.plot()
        assert _num_vertices(ax) == k + l
        assert len(_by_gid(ax, "block")) == len(element.blocks)
        kinds = element.pair_kinds()
        marks = _by_gid(ax, "orientation")
        assert len(marks) == sum(kind != "through" for kind in kinds)
        # u < v on one row: left to right, so every arrowhead points right
        assert all(m.get_marker() == ">" for m in marks)
        plt.close("all")


@pytest.mark.parametrize("n,k,l", [(3, 2, 1), (2, 1, 1), (2, 2, 2), (3, 3, 2)])
def test_brauer_grood_epsilon_node(n, k, l):  # noqa: E741
    for element in brauer_grood_diagrams(n, k, l):
        assert isinstance(element, BrauerGroodDiagram)
        ax = element.plot()
        assert _num_vertices(ax) == k + l
        assert len(_by_gid(ax, "block")) == len(element.blocks)
        (eps,) = _by_gid(ax, "epsilon")
        assert eps.get_text() == "ε"
        (edges,) = _by_gid(ax, "epsilon-edges")
        xs = edges.get_xdata()
        assert sum(1 for x in xs if x != x) == n - 1  # n spokes, NaN-separated
        plt.close("all")


def test_plot_on_given_axes_and_title():
    fig, ax = plt.subplots()
    out = PartitionDiagram(k=1, l=1, blocks=((0, 1),)).plot(ax, title="identity")
    assert out is ax
    assert ax.get_title() == "identity"
    assert fig.axes == [ax]


@pytest.mark.parametrize(
    "group,k,l,expected_kinds",
    [
        (SymmetricGroup(3), 2, 1, {"D"}),
        (AlternatingGroup(3), 2, 1, {"D", "J"}),
        (OrthogonalGroup(3), 2, 2, {"D"}),
        (SpecialOrthogonalGroup(3), 2, 1, {"H"}),
        (SymplecticGroup(2), 2, 2, {"F"}),
    ],
)
def test_basis_plot(group, k, l, expected_kinds):  # noqa: E741
    basis = equivariant_basis(group, k, l, use_cache=False)
    assert {type(e).symbol for e in basis} == expected_kinds
    fig = basis.plot(max_elements=4, ncols=3)
    assert isinstance(fig, Figure)
    drawn = min(4, len(basis))
    used = [ax for ax in fig.axes if _by_gid(ax, "vertices")]
    assert len(used) == drawn
    for index, ax in enumerate(used):
        assert ax.get_title() == f"{index}: {basis[index]}"
        assert _num_vertices(ax) == k + l
    cols = min(3, drawn)  # the grid never has more columns than elements
    assert len(fig.axes) == cols * -(-drawn // cols)
    if len(basis) > 4:
        assert f"first 4 of {len(basis)}" in fig._suptitle.get_text()


def test_orbit_basis_plot():
    basis = equivariant_basis(SymmetricGroup(4), 1, 1, kind="orbit", use_cache=False)
    fig = basis.plot()
    assert all(ax.get_title().startswith(str(i)) for i, ax in enumerate(fig.axes))


def test_basis_plot_bad_arguments():
    basis = equivariant_basis(SymmetricGroup(3), 1, 1, use_cache=False)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="max_elements must be a positive int"):
            basis.plot(max_elements=bad)
        with pytest.raises(ValueError, match="ncols must be a positive int"):
            basis.plot(ncols=bad)


def test_non_diagram_elements_rejected():
    from geomlayers.diagrams.plot import plot_diagram

    with pytest.raises(TypeError, match="cannot draw a str"):
        plot_diagram("D[a / a]")
    graph = BilabelledGraph(k=1, l=1, num_vertices=1, edges=(), labels=(0, 0))
    with pytest.raises(TypeError, match="cannot draw a BilabelledGraph"):
        plot_diagram(graph)


def test_numeric_basis_rejected():
    from geomlayers.bases.numeric import numeric_basis

    basis = numeric_basis(SymmetricGroup(3), 1, 1)
    with pytest.raises(TypeError, match="kind='numeric'"):
        basis.plot()


def test_missing_matplotlib_message(monkeypatch):
    element = PartitionDiagram(k=1, l=1, blocks=((0, 1),))
    basis = equivariant_basis(SymmetricGroup(3), 1, 1, use_cache=False)
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        element.plot()
    with pytest.raises(ImportError, match="needs matplotlib"):
        basis.plot()
