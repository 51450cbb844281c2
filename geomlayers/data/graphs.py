"""Graph-classification benchmarks from the shared data folder, loaded with no network.

Two public formats, both under ``data_dir()/graphs`` (see the data folder's README):

- ``tu/NAME/raw``: the TU Dortmund text files (Morris et al. 2020). :func:`load_tu` links them
  into a cache root and opens them with :class:`torch_geometric.datasets.TUDataset`, which
  reads local raw files and never downloads when they are present.
- ``s2v/NAME.zip``: the "s2v" text format of DGCNN (Zhang et al. 2018) with the standard
  10-fold splits used by GIN (Xu et al. 2019, §7), IGN (Maron et al. 2019, §6) and PPGN
  (Maron et al. 2019b, §7). :func:`load_s2v` parses a zip into PyG ``Data`` objects with
  GIN's node features (one-hot node tags, or one-hot degrees for the social networks) and
  :func:`s2v_splits` returns the 10 (train, test) index pairs.
- ``expressivity/``: EXP (Abboud et al. 2021; :func:`load_exp`), 600 pairs of graphs that
  1-WL cannot tell apart, and graph8c (:func:`load_graph8c`), all 11,117 connected graphs on
  8 nodes, the graph-separation benchmarks of Balcilar et al. (ICML 2021).
"""

from __future__ import annotations

import functools
import hashlib
import io
import zipfile
from pathlib import Path

import torch

from geomlayers.data.graph_checksums import GRAPH_FILES
from geomlayers.data_dir import data_dir
from geomlayers.paths import processed_dir

__all__ = [
    "DataFileError",
    "S2V_COUNTS",
    "S2V_NAMES",
    "TU_NAMES",
    "load_exp",
    "load_graph8c",
    "load_s2v",
    "load_tu",
    "s2v_splits",
    "tu_cache_root",
    "verify_graph_file",
]

#: Datasets available as s2v zips, with (graphs, classes) as documented by GIN/DGCNN.
S2V_COUNTS: dict[str, tuple[int, int]] = {
    "MUTAG": (188, 2),
    "PTC": (344, 2),
    "PROTEINS": (1113, 2),
    "NCI1": (4110, 2),
    "NCI109": (4127, 2),
    "ENZYMES": (600, 6),
    "IMDBBINARY": (1000, 2),
    "IMDBMULTI": (1500, 3),
    "COLLAB": (5000, 3),
}
S2V_NAMES = tuple(S2V_COUNTS)
#: Datasets available in TU raw format.
TU_NAMES = ("MUTAG", "PTC_MR", "NCI1", "ENZYMES", "IMDB-BINARY", "IMDB-MULTI", "PROTEINS")
#: Social networks without node labels: GIN uses one-hot degrees as node tags for them.
_DEGREE_AS_TAG = {"IMDBBINARY", "IMDBMULTI", "COLLAB"}


class DataFileError(ValueError):
    """A data file differs from the published one (truncated, damaged or another version)."""


def verify_graph_file(path: Path) -> Path:
    """Check ``path`` (under ``data_dir()/graphs``) against its recorded size and SHA-256.

    Every graph file this module reads is recorded in
    :data:`~geomlayers.data.graph_checksums.GRAPH_FILES`; a file of another size or digest
    (a copy cut short, even at a line boundary, a damaged download, another version) raises
    :class:`DataFileError` naming the file, instead of loading part of a data set.

    Returns:
        ``path``.

    """
    root = data_dir() / "graphs"
    try:
        key = Path(path).relative_to(root).as_posix()
    except ValueError:
        return path
    if key not in GRAPH_FILES:
        return path
    stat = Path(path).stat()
    expected_size, expected_digest = GRAPH_FILES[key]
    digest = _sha256(str(path), stat.st_size, stat.st_mtime_ns)
    if stat.st_size != expected_size or digest != expected_digest:
        raise DataFileError(
            f"{path} is not the published file: {stat.st_size} bytes with SHA-256 "
            f"{digest[:16]}…, expected {expected_size} bytes with SHA-256 "
            f"{expected_digest[:16]}… (truncated or damaged copy?). Copy it again from the "
            "data set's source (see the data folder's README), or point GEOMLAYERS_DATA_DIR "
            "at an intact copy")
    return path


@functools.lru_cache(maxsize=256)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file, cached per (path, size, modification time)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tu_files(name: str, source: Path) -> list[Path]:
    """The recorded raw files of TU data set ``name``, each verified (missing ones named)."""
    prefix = f"tu/{name}/raw/"
    files = [data_dir() / "graphs" / key for key in GRAPH_FILES if key.startswith(prefix)]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise DataFileError(f"TU data set {name} is incomplete: missing {', '.join(missing)}; "
                            "copy the whole raw folder again")
    return [verify_graph_file(f) for f in files] or sorted(source.iterdir())


def tu_cache_root() -> Path:
    """Folder holding the TUDataset roots: ``$GEOMLAYERS_TU_ROOT`` or ``<cache root>/tu``.

    See :func:`geomlayers.paths.processed_dir`.
    """
    return processed_dir("tu")


def load_tu(name: str, root: str | Path | None = None, **kwargs):
    """Open a TU benchmark with :class:`torch_geometric.datasets.TUDataset`, offline.

    The raw files in ``data_dir()/graphs/tu/NAME/raw`` are checked against their recorded
    sizes and SHA-256 (:func:`verify_graph_file`) and symlinked into
    ``root/KEY/NAME/raw`` (default root :func:`tu_cache_root`), where PyG finds them and
    processes them once into ``root/KEY/NAME/processed``; ``KEY`` is a digest of the raw
    files, so processed data are never reused for other sources.

    Args:
        name: one of :data:`TU_NAMES` (e.g. ``"MUTAG"``, ``"PTC_MR"``, ``"IMDB-BINARY"``).
        root: the TUDataset root (a writable folder).
        **kwargs: passed to ``TUDataset`` (``transform``, ``use_node_attr``, …).

    Returns:
        The ``TUDataset``.

    """
    from torch_geometric.datasets import TUDataset

    if name not in TU_NAMES:
        raise ValueError(f"name must be one of {TU_NAMES}, got {name!r}")
    source = data_dir() / "graphs" / "tu" / name / "raw"
    if not source.is_dir():
        raise FileNotFoundError(f"TU raw files not found at {source} (set GEOMLAYERS_DATA_DIR)")
    files = _tu_files(name, source)
    key = hashlib.sha256()
    for file in files:
        stat = file.stat()
        key.update(f"{file.name}:{_sha256(str(file), stat.st_size, stat.st_mtime_ns)};".encode())
    # processed data are keyed by the sources' digest: other sources never reuse them
    root = (Path(root) if root is not None else tu_cache_root()) / key.hexdigest()[:16]
    raw = root / name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for file in files:
        link = raw / file.name
        if link.is_symlink() and link.resolve() != file.resolve():
            link.unlink()  # points into another (maybe moved or deleted) data folder
        if not link.exists():
            link.symlink_to(file.resolve())
    return TUDataset(str(root), name, **kwargs)


def _s2v_zip(name: str) -> zipfile.ZipFile:
    if name not in S2V_COUNTS:
        raise ValueError(f"name must be one of {S2V_NAMES}, got {name!r}")
    path = data_dir() / "graphs" / "s2v" / f"{name}.zip"
    if not path.is_file():
        raise FileNotFoundError(f"s2v zip not found at {path} (set GEOMLAYERS_DATA_DIR)")
    return zipfile.ZipFile(verify_graph_file(path))


def _parse_s2v(text: str) -> list[dict]:
    """Graphs of one s2v file: ``{'label', 'tags', 'neighbours', 'attributes'}`` each."""
    lines = iter(text.split("\n"))
    graphs = []
    for _ in range(int(next(lines).strip())):
        num_nodes, label = (int(v) for v in next(lines).split())
        tags, neighbours, attributes = [], [], []
        for _ in range(num_nodes):
            row = next(lines).split()
            degree = int(row[1])
            tags.append(int(row[0]))
            neighbours.append([int(v) for v in row[2 : 2 + degree]])
            attributes.append([float(v) for v in row[2 + degree :]])
        graphs.append({"label": label, "tags": tags, "neighbours": neighbours,
                       "attributes": attributes})
    return graphs


def _edge_index(neighbours: list[list[int]]) -> torch.Tensor:
    pairs = {(i, j) for i, row in enumerate(neighbours) for j in row}
    pairs |= {(j, i) for i, j in pairs}  # both directions, as GIN's loader
    if not pairs:
        return torch.zeros(2, 0, dtype=torch.int64)
    return torch.tensor(sorted(pairs), dtype=torch.int64).T.contiguous()


def load_s2v(name: str, *, degree_as_tag: bool | None = None) -> list:
    """Graphs of an s2v zip as PyG ``Data`` objects, in file order (the splits index them).

    Node features follow GIN's loader (Xu et al. 2019, ``util.load_data``): one-hot node tags
    over the tags of the whole dataset (in order of first appearance), or one-hot degrees
    when ``degree_as_tag`` (default: True for IMDBBINARY, IMDBMULTI, COLLAB, whose tags are
    all zero). Graph labels are relabelled ``0..C-1`` in order of first appearance.

    Args:
        name: one of :data:`S2V_NAMES`.
        degree_as_tag: use node degrees as tags.

    Returns:
        ``list[Data]`` with ``x`` ``(n, F)`` float32, ``edge_index`` ``(2, E)`` (both
        directions), ``y`` ``(1,)`` int64, ``num_nodes``; ``node_attr`` ``(n, A)`` when the
        file has continuous attributes.

    """
    from torch_geometric.data import Data

    with _s2v_zip(name) as archive:
        text = archive.read(f"{name}/{name}.txt").decode()
    graphs = _parse_s2v(text)
    if degree_as_tag is None:
        degree_as_tag = name in _DEGREE_AS_TAG
    if degree_as_tag:
        for graph in graphs:
            graph["tags"] = [len(row) for row in graph["neighbours"]]
    tag_index: dict[int, int] = {}
    label_index: dict[int, int] = {}
    for graph in graphs:
        label_index.setdefault(graph["label"], len(label_index))
        for tag in graph["tags"]:
            tag_index.setdefault(tag, len(tag_index))
    out = []
    for graph in graphs:
        tags = torch.tensor([tag_index[t] for t in graph["tags"]], dtype=torch.int64)
        data = Data(
            x=torch.nn.functional.one_hot(tags, len(tag_index)).float(),
            edge_index=_edge_index(graph["neighbours"]),
            y=torch.tensor([label_index[graph["label"]]]),
            num_nodes=len(tags),
        )
        if graph["attributes"] and graph["attributes"][0]:
            data.node_attr = torch.tensor(graph["attributes"], dtype=torch.float32)
        out.append(data)
    return out


def s2v_splits(name: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The standard 10-fold splits of an s2v zip: ``[(train_idx, test_idx)] * 10``.

    Indices are 0-based positions in :func:`load_s2v`'s list (``10fold_idx/*_idx-{1..10}``).
    """
    splits = []
    with _s2v_zip(name) as archive:
        for fold in range(1, 11):
            pair = []
            for part in ("train", "test"):
                raw = archive.read(f"{name}/10fold_idx/{part}_idx-{fold}.txt").decode()
                values = [int(v) for v in io.StringIO(raw).read().split()]
                pair.append(torch.tensor(values, dtype=torch.int64))
            splits.append((pair[0], pair[1]))
    return splits


def load_exp() -> list:
    """EXP (Abboud et al., IJCAI 2021): 1,200 graphs in 600 pairs ``(2i, 2i + 1)``.

    The two graphs of a pair are not isomorphic (different SAT labels ``y``) but 1-WL cannot
    distinguish them.

    Returns:
        ``list[Data]`` with ``x`` ``(n, 2)`` float32 (one-hot of the 0/1 node label),
        ``edge_index``, ``y`` ``(1,)`` and ``num_nodes`` (32–64 nodes).

    """
    import pickle

    from torch_geometric.data import Data

    path = data_dir() / "graphs" / "expressivity" / "EXP_GRAPHSAT.pkl"
    if not path.is_file():
        raise FileNotFoundError(f"EXP not found at {path} (set GEOMLAYERS_DATA_DIR)")
    with verify_graph_file(path).open("rb") as handle:
        stored = pickle.load(handle)  # old-PyG Data objects: read their fields directly
    out = []
    for graph in stored:
        fields = graph.__dict__
        labels = fields["x"].reshape(-1).long()
        out.append(Data(x=torch.nn.functional.one_hot(labels, 2).float(),
                        edge_index=fields["edge_index"].long(), y=fields["y"].reshape(1),
                        num_nodes=len(labels)))
    return out


def load_graph8c() -> list:
    """graph8c: the 11,117 connected non-isomorphic simple graphs on 8 nodes (graph6 file).

    Returns:
        ``list[Data]`` with ``x = ones(8, 1)`` and ``edge_index`` (both directions).

    """
    import networkx as nx
    from torch_geometric.data import Data

    path = data_dir() / "graphs" / "expressivity" / "graph8c.g6"
    if not path.is_file():
        raise FileNotFoundError(f"graph8c not found at {path} (set GEOMLAYERS_DATA_DIR)")
    out = []
    for graph in nx.read_graph6(verify_graph_file(path)):
        edges = torch.tensor(list(graph.edges), dtype=torch.int64).reshape(-1, 2).T
        edge_index = torch.cat([edges, edges.flip(0)], dim=1)
        n = graph.number_of_nodes()
        out.append(Data(x=torch.ones(n, 1), edge_index=edge_index, num_nodes=n))
    return out
