"""Shared helpers and reference data for the tests."""

import json
from pathlib import Path

import torch

DIMS_JSON = Path(__file__).parent / "data" / "equivariant-bases-dims.json"


def dims_table() -> dict:
    """Published dimension tables (copied from shared/research; provenance in the file)."""
    return json.loads(DIMS_JSON.read_text())


def matrix_fn(matrix: torch.Tensor, n: int, k: int, l: int):  # noqa: E741
    """x (*batch, n^(k)) -> (*batch, n^(l)) through a dense (n^l, n^k) matrix."""

    def fn(x):
        batch = x.shape[: x.dim() - k]
        flat = x.reshape(-1, n**k).to(matrix.dtype)
        return (flat @ matrix.T).reshape(*batch, *([n] * l))

    return fn


def all_elements_fn(basis):
    """x (batch, n^(k)) -> (batch, len, n^(l)): every element applied (dense)."""
    dense = basis.dense()
    n, k, l = basis.n, basis.k, basis.l

    def fn(x):
        flat = x.reshape(x.shape[0], n**k)
        return torch.einsum("mij,bj->bmi", dense, flat).reshape(x.shape[0], len(basis), *[n] * l)

    return fn


def rank(matrices: torch.Tensor) -> int:
    return int(torch.linalg.matrix_rank(matrices.reshape(matrices.shape[0], -1)))


def burnside_dimension(images: list, n: int, r: int) -> int:
    """(1/|G|) Σ_g fix(g)^r over an explicit element list (exact integers)."""
    total = sum(sum(1 for i in range(n) if g[i] == i) ** r for g in images)
    assert total % len(images) == 0
    return total // len(images)


# sklearn's generic estimator checks that fit on generated 2-D (n_samples, n_features) data; the
# EEG estimators take 3-D trials and refuse anything else with a ValueError naming the shape.
# Each file that runs the checks tests the same properties on its own 3-D data.
SKLEARN_CHECKS_NEEDING_2D_INPUT = (
    "check_classifier_data_not_an_array", "check_classifiers_classes", "check_classifiers_train",
    "check_decision_proba_consistency", "check_dict_unchanged",
    "check_dont_overwrite_parameters", "check_dtype_object", "check_estimators_dtypes",
    "check_estimators_empty_data_messages", "check_estimators_fit_returns_self",
    "check_estimators_nan_inf", "check_estimators_overwrite_params", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_fit2d_1feature", "check_fit2d_predict1d",
    "check_fit_check_is_fitted", "check_fit_idempotent", "check_fit_score_takes_y",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_n_features_in", "check_n_features_in_after_fitting", "check_pipeline_consistency",
    "check_positive_only_tag_during_fit", "check_readonly_memmap_input",
    "check_supervised_y_2d",
)


def random_graph(n, features, edge_features, generator, dtype=torch.float64):
    """Undirected Erdős-Rényi graph (PyG ``Data``) with random node and edge features,
    coalesced: ``x (n, features)``, ``edge_attr (E, edge_features)``, both directions."""
    from torch_geometric.data import Data
    from torch_geometric.utils import coalesce, to_undirected

    if n > 1:
        upper = torch.triu_indices(n, n, 1)
        keep = torch.rand(upper.shape[1], generator=generator) < 0.5
        edge_index = to_undirected(upper[:, keep], num_nodes=n)
    else:
        edge_index = torch.zeros(2, 0, dtype=torch.int64)
    attr = torch.randn(edge_index.shape[1] // 2, edge_features, generator=generator, dtype=dtype)
    edge_index, edge_attr = coalesce(
        torch.cat([edge_index[:, edge_index[0] < edge_index[1]],
                   edge_index[:, edge_index[0] < edge_index[1]].flip(0)], 1),
        torch.cat([attr, attr]), num_nodes=n,
    )
    x = torch.randn(n, features, generator=generator, dtype=dtype)
    return Data(x=x, edge_index=edge_index, edge_attr=edge_attr, num_nodes=n)


# Optional dependencies, by the name a test, example or notebook imports them under. A
# geomlayers module that needs one at import time is mapped to it.
OPTIONAL_IMPORTS = {
    "torch_geometric": "graphs", "sklearn": "spd", "pyriemann": "spd", "mne": "spd",
    "escnn": "escnn", "matplotlib": "docs",
}
OPTIONAL_GEOMLAYERS_MODULES = {
    "geomlayers.pyg": "torch_geometric", "geomlayers.integrations.pyg": "torch_geometric",
    "geomlayers.integrations.sklearn": "sklearn",
}


def optional_imports(source: str) -> list[str]:
    """The optional packages that Python ``source`` imports (directly or via geomlayers)."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:  # notebook magics: drop them and try once more
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        tree = ast.parse("\n".join(lines))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            root = name.split(".")[0]
            needed = root if root in OPTIONAL_IMPORTS else None
            for module, package in OPTIONAL_GEOMLAYERS_MODULES.items():
                if name == module or name.startswith(module + "."):
                    needed = package
            if needed and needed not in found:
                found.append(needed)
    return found


def skip_without_optional_imports(source: str, what: str) -> None:
    """``pytest.skip`` naming the extra to install when ``source`` needs an absent package."""
    import importlib.util

    import pytest

    for package in optional_imports(source):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"{what} needs {package}: pip install "
                        f"'geomlayers[{OPTIONAL_IMPORTS[package]}]'")


def assert_all_close(actual, expected, *, rtol: float = 0.0, atol: float = 0.0) -> None:
    """Each tensor of ``actual`` equals its partner in ``expected`` (the same number of them)
    within ``rtol``/``atol`` (``torch.testing.assert_close``); the default asks for the same
    values, as ``torch.equal`` does (dtype, shape and device included)."""
    for got, want in zip(actual, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=rtol, atol=atol)
