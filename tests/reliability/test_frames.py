"""Frame averaging under bad inputs: padding with NaN/Inf, huge coordinates, compilation."""

import pytest
import torch
from torch import nn

from geomlayers.groups import OrthogonalGroup
from geomlayers.nn import FrameAveraging, PCAFrame

F64 = torch.float64


def _mlp(n, d=3, out=1, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(n * d, 16), nn.Tanh(), nn.Linear(16, out)).double()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_or_inf_in_padding_never_reaches_real_nodes(bad):
    torch.manual_seed(0)
    x = torch.randn(3, 6, 3, dtype=F64)
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 3 + [0] * 3], dtype=torch.bool)
    clean = x.masked_fill(~mask.unsqueeze(-1), 0.0)
    dirty = x.masked_fill(~mask.unsqueeze(-1), bad)
    fa = FrameAveraging(_mlp(6), "E3", "invariant")
    assert torch.equal(fa(dirty, mask=mask), fa(clean, mask=mask))
    elements = PCAFrame(3)(dirty, mask=mask)
    assert torch.isfinite(elements.elements).all()


def test_nan_in_padding_of_graph_frames_stays_out():
    adjacency = torch.zeros(2, 4, 4, dtype=F64)
    adjacency[:, 0, 1] = adjacency[:, 1, 0] = adjacency[:, 1, 2] = adjacency[:, 2, 1] = 1.0
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 0]], dtype=torch.bool)
    dirty = adjacency.clone()
    dirty[:, 3, :] = dirty[:, :, 3] = float("nan")
    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Flatten(), nn.Linear(16, 1)).double()
    fa = FrameAveraging(backbone, "Sn", "invariant")
    out = fa(dirty, mask=mask)
    assert torch.equal(out, fa(adjacency, mask=mask))


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e300])
def test_huge_or_tiny_coordinates_give_the_unit_scale_frame(scale):
    torch.manual_seed(1)
    x = torch.randn(2, 9, 3, dtype=F64)
    unit = PCAFrame(3)(x)
    big = PCAFrame(3)(x * scale)
    assert torch.allclose(big.rotation, unit.rotation, atol=1e-12)
    assert torch.allclose(big.translation / scale, unit.translation, rtol=1e-12, atol=0)


def test_frame_averaging_of_far_out_clouds_is_finite_and_equivariant():
    torch.manual_seed(2)
    x = torch.randn(2, 5, 3, dtype=F64) * 1e200
    fa = FrameAveraging(_mlp(5), OrthogonalGroup(3), "invariant")
    out = fa(x / 1e200)
    q = OrthogonalGroup(3).sample(1, generator=0)[0]
    assert torch.isfinite(fa(x)).all()
    assert torch.allclose(fa((x / 1e200) @ q.T), out, atol=1e-10)


# ---------------------------------------------------------------- the n-body reference files


def test_reference_charges_are_checked_on_load(shared_data, tmp_path):
    from geomlayers.data.nbody import load_reference_charges

    charges = load_reference_charges("valid")
    assert charges.shape == (2000, 5) and set(charges.ravel().tolist()) == {-1.0, 1.0}
    name = "charges_valid_charged5_initvel1small.npy"
    data = (shared_data / "nbody" / name).read_bytes()
    (tmp_path / name).write_bytes(data[:50_000])
    with pytest.raises(ValueError, match=rf"{name}.*truncated.*copy it again"):
        load_reference_charges("valid", tmp_path)
    (tmp_path / name).write_bytes(data[:-8] + bytes(8))  # same size, other content
    with pytest.raises(ValueError, match="SHA-256"):
        load_reference_charges("valid", tmp_path)


# ---------------------------------------------------------------- layering of this family


def test_frames_clifford_lie_import_only_downwards():
    """clifford/ -> groups only; nn/{frames,clifford,lie} -> no models or integrations;
    the models of these families -> no integrations (function-local imports included)."""
    import ast
    from pathlib import Path

    import geomlayers

    root = Path(geomlayers.__file__).parent

    def imports(path):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        return {n.split(".")[1] for n in names if n.startswith("geomlayers.")}

    rules = {"clifford": {"nn", "models", "integrations", "ops", "bases", "data"},
             "nn/frames": {"models", "integrations", "data"},
             "nn/clifford": {"models", "integrations", "data"},
             "nn/lie": {"models", "integrations", "data"}}
    for folder, forbidden in rules.items():
        for path in sorted((root / folder).rglob("*.py")):
            assert not imports(path) & forbidden, f"{path.relative_to(root)}"
    for name in ("affine.py", "clifford.py"):
        assert "integrations" not in imports(root / "models" / name)
