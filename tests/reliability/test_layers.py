"""Reliability of the diagram layers and their executors: bad inputs, memory, state, faults.

Each test names the failure it guards against; all run on CPU in seconds.
"""

import subprocess
import sys
import textwrap
import warnings

import networkx as nx
import pytest
import torch

from geomlayers.bases import equivariant_basis
from geomlayers.groups import AlternatingGroup, AutomorphismGroup, SymmetricGroup
from geomlayers.nn import EquivariantLinear


def _dense_layer(layer, x):
    """Independent truth: Σ_i Λ_i ⊗ s_i B_i as dense matrices (small n only)."""
    n, k, l = x.shape[-1], layer.k, layer.l
    mats = layer.basis.dense(torch.float64) * layer.element_scales(n)[:, None, None]
    flat = x.to(torch.float64).reshape(x.shape[0], x.shape[1], n**k)
    out = torch.einsum("moc,mij,bcj->boi", layer.weight.detach().double(), mats, flat)
    return out.reshape(x.shape[0], -1, *([n] * l))


# -- one dispatch point: dtypes, empty batches, n = 0 -------------------------------------
def test_basis_apply_promotes_integer_input():
    # int64 input used to cast the weights to int (12-69 % wrong, silently)
    basis = equivariant_basis(SymmetricGroup(4), 2, 2)
    weights = torch.linspace(-1.3, 2.7, len(basis), dtype=torch.float64)
    x = torch.randint(-5, 5, (3, 4, 4))
    got = basis.apply(weights, x)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, basis.apply(weights, x.double()))


@pytest.mark.parametrize("group", [AutomorphismGroup(nx.cycle_graph(5)), AlternatingGroup(4)],
                         ids=["aut", "alternating"])
def test_basis_apply_promotes_integer_input_other_elements(group):
    basis = equivariant_basis(group, 1, 2)
    weights = torch.linspace(-1.3, 2.7, len(basis), dtype=torch.float64)
    x = torch.randint(-5, 5, (3, group.n))
    dense = basis.dense(torch.float64)
    want = torch.einsum("m,mij,bj->bi", weights, dense, x.double()).reshape(3, group.n,
                                                                            group.n)
    torch.testing.assert_close(basis.apply(weights, x), want)


@pytest.mark.parametrize("bad", [torch.float16, torch.int64, torch.float64])
def test_layer_names_both_dtypes(bad):
    layer = EquivariantLinear(SymmetricGroup(4), 2, 2, 2, 3)
    x = torch.ones(2, 2, 4, 4, dtype=bad)
    with pytest.raises(TypeError, match=f"{bad}.*torch.float32"):
        layer(x)


@pytest.mark.parametrize("group", [SymmetricGroup(4), AutomorphismGroup(nx.cycle_graph(4)),
                                   AlternatingGroup(3)], ids=["S4", "aut", "A3"])
def test_empty_batch_gives_empty_output(group):
    layer = EquivariantLinear(group, 2, 1, 2, 3)
    out = layer(torch.randn(0, 2, group.n, group.n))
    assert out.shape == (0, 3, group.n)
    out.sum().backward()  # an empty batch still trains like torch layers do


def test_zero_nodes_is_a_clear_error():
    layer = EquivariantLinear(SymmetricGroup(4), 2, 2, 2, 3)
    with pytest.raises(ValueError, match="n=0"):
        layer(torch.randn(2, 2, 0, 0))


@pytest.mark.parametrize("group,k,l", [
    (AutomorphismGroup(nx.cycle_graph(6)), 2, 1),
    (AutomorphismGroup(nx.path_graph(4)), 1, 2),
    (AlternatingGroup(4), 2, 1),
    (SymmetricGroup(3), 2, 2),
], ids=["aut-2-1", "aut-1-2", "A4-2-1", "S3-2-2"])
def test_layer_matches_dense_truth(group, k, l):
    torch.manual_seed(0)
    layer = EquivariantLinear(group, k, l, 3, 2, bias=False, dtype=torch.float64)
    x = torch.randn(4, 3, *([group.n] * k), dtype=torch.float64)
    torch.testing.assert_close(layer(x), _dense_layer(layer, x))


# -- memory: orbit elements never become dense matrices -----------------------------------
def _peak_rss_growth_mb(code: str) -> float:
    script = textwrap.dedent("""
        import resource, torch, networkx as nx
        from geomlayers.groups import AutomorphismGroup
        from geomlayers.nn import EquivariantLinear
        torch.set_num_threads(1)
        group = AutomorphismGroup(nx.cycle_graph(600))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    """) + textwrap.dedent(code) + textwrap.dedent("""
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) / 1024)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return float(done.stdout.strip().splitlines()[-1])


def test_orbit_layer_memory_is_proportional_to_support():
    # 1 -> 1 on a 600-node cycle: 301 orbits; stacking them dense took 301 * 600^2 * 8 bytes
    growth = _peak_rss_growth_mb("""
        layer = EquivariantLinear(group, 1, 1, 2, 2)
        layer(torch.randn(2, 2, 600)).sum().backward()
    """)
    assert growth < 200, f"peak memory grew by {growth:.0f} MB"


@pytest.mark.slow
def test_orbit_layer_on_a_2000_node_cycle_fits_in_memory():
    # stacking the 1001 orbits dense would take 32 GB
    script = textwrap.dedent("""
        import resource, torch, networkx as nx
        from geomlayers.groups import AutomorphismGroup
        from geomlayers.nn import EquivariantLinear
        layer = EquivariantLinear(AutomorphismGroup(nx.cycle_graph(2000)), 1, 1, 2, 2)
        layer(torch.randn(1, 2, 2000)).sum().backward()
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.split()[-1]) < 2500


def test_memory_guard_names_the_bytes(monkeypatch):
    monkeypatch.setenv("GEOMLAYERS_MAX_BYTES", "100000")
    with pytest.raises(MemoryError, match=r"MiB \([\d,]+ bytes\).*GEOMLAYERS_MAX_BYTES"):
        EquivariantLinear(AutomorphismGroup(nx.cycle_graph(300)), 1, 1, 2, 2)


# -- masks: padding never leaks into real nodes -----------------------------------------
@pytest.mark.parametrize("backend", ["torch", "cpp"])
@pytest.mark.parametrize("poison", [float("nan"), float("inf")])
def test_nan_padding_is_ignored(backend, poison):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = EquivariantLinear(SymmetricGroup(5), 2, 2, 2, 3, backend=backend)
    if layer.backend != backend:
        pytest.skip("C++ extension unavailable")
    real = torch.randn(1, 2, 4, 4)
    padded = torch.full((1, 2, 6, 6), poison)
    padded[..., :4, :4] = real
    mask = torch.tensor([[True] * 4 + [False] * 2])
    out = layer(padded, mask)
    torch.testing.assert_close(out[..., :4, :4], layer(real))
    assert bool((out[..., 4:, :] == 0).all()) and bool((out[..., :, 4:] == 0).all())


# -- variable n -------------------------------------------------------------------------
def test_small_basis_on_larger_inputs_warns():
    layer = EquivariantLinear(SymmetricGroup(2), 2, 2, 1, 1)
    assert len(layer.basis) == 8
    with pytest.warns(RuntimeWarning, match="8 diagrams.*S_n basis has 15"):
        layer(torch.randn(1, 1, 6, 6))


def test_symmetric_layer_for_any_n():
    torch.manual_seed(0)
    layer = EquivariantLinear.symmetric(2, 2, 2, 3, dtype=torch.float64)
    assert len(layer.basis) == 15 and "any n" in repr(layer)
    for n in (1, 2, 3, 7):
        x = torch.randn(2, 2, n, n, dtype=torch.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = layer(x)
        reference = EquivariantLinear(SymmetricGroup(n), 2, 2, 2, 3, dtype=torch.float64,
                                      bias=False)
        if len(reference.basis) == 15:  # same diagrams, same order, so the same weights
            reference.weight.data.copy_(layer.weight.data)
            torch.testing.assert_close(out, reference(x))


# -- state dict: the basis order travels with the weights -------------------------------
def _reversed_basis(real):
    def build(group, k, l, **kwargs):
        basis = real(group, k, l, **kwargs)
        if k + l < 4:  # the bias basis keeps its order
            return basis
        from geomlayers.bases.basis import Basis

        return Basis(basis.group, k, l, basis.elements[::-1], kind=basis.kind,
                     is_basis=basis.is_basis)
    return build


def test_state_dict_with_other_basis_order_is_refused(monkeypatch, tmp_path):
    layer = EquivariantLinear(SymmetricGroup(5), 2, 2, 2, 3)
    path = tmp_path / "layer.pt"
    torch.save(layer.state_dict(), path)
    state = torch.load(path, weights_only=True)
    same = EquivariantLinear(SymmetricGroup(7), 2, 2, 2, 3)  # same diagrams, same order
    same.load_state_dict(state)
    module = sys.modules[EquivariantLinear.__module__]
    monkeypatch.setattr(module, "equivariant_basis", _reversed_basis(module.equivariant_basis))
    other = EquivariantLinear(SymmetricGroup(5), 2, 2, 2, 3)
    with pytest.raises(ValueError, match="fingerprint"):
        other.load_state_dict(state)


# -- the C++ extension: verify before loading ---------------------------------------------
def _built_copy(tmp_path):
    """A copy of this process's verified build folder in a fresh extension dir."""
    import shutil

    from geomlayers.ops import extension

    if extension.load_error() is not None:
        pytest.skip(f"C++ extension unavailable: {extension.load_error()}")
    built = extension.build_folder()
    copy = tmp_path / "ext" / built.name
    shutil.copytree(built, copy, ignore=shutil.ignore_patterns("lock", "build.flock"))
    return copy, copy / f"geomlayers_ops_{built.name.rsplit('-', 1)[-1]}.so"


_PROBE = """
import warnings
from geomlayers.ops.backend import resolve_backend
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(resolve_backend("auto"))
print(" | ".join(str(w.message) for w in caught))
"""


def _run(code: str, extension_dir, **env):
    import os

    environment = {**os.environ, "GEOMLAYERS_EXTENSION_DIR": str(extension_dir), **env}
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("with_record", [False, True], ids=["prebuilt", "recorded"])
def test_truncated_library_is_never_loaded(tmp_path, with_record):
    # a truncated .so newer than its sources killed the process with SIGBUS at first use
    import os

    folder, library = _built_copy(tmp_path)
    record = library.with_name(library.name + ".json")
    if not with_record:
        record.unlink(missing_ok=True)
    data = library.read_bytes()
    library.write_bytes(data[: len(data) // 3])
    os.utime(library, (library.stat().st_atime + 60, library.stat().st_mtime + 60))
    done = _run(_PROBE, folder.parent, GEOMLAYERS_EXTENSION_BUILD="0")
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-1500:]}"
    backend, message = done.stdout.strip().splitlines()
    assert backend == "torch"
    assert "C++ extension unavailable" in message and library.name in message


def test_prebuilt_extension_loads_without_writing(tmp_path):
    # a complete extension in a read-only folder must load: no lock file, nothing written
    import os

    folder, _ = _built_copy(tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    for path in folder.iterdir():
        path.chmod(0o444)
    folder.chmod(0o555)
    try:
        done = _run(_PROBE, folder.parent)
    finally:
        folder.chmod(0o755)
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.strip().splitlines()[0] == "cpp", done.stdout
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    assert os.access(folder, os.W_OK)


@pytest.mark.slow
def test_truncated_library_is_rebuilt_when_building_is_allowed(tmp_path):
    folder, library = _built_copy(tmp_path)
    data = library.read_bytes()
    library.write_bytes(data[: len(data) // 3])
    (folder / "lock").write_text("")  # left by a killed build: must not hang the rebuild
    done = _run(_PROBE, folder.parent)
    assert done.returncode == 0, done.stderr[-1500:]
    assert not (folder / "lock").exists()
    assert done.stdout.strip().splitlines()[0] == "cpp"
    assert library.stat().st_size == len(data)


# -- torch.compile: one graph over varying n ---------------------------------------------
@pytest.mark.parametrize("backend", ["torch", "cpp"])
def test_compile_dynamic_has_no_graph_break_and_few_compilations(backend):
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = EquivariantLinear.symmetric(2, 2, 3, 4, backend=backend, dtype=torch.float64)
    if layer.backend != backend:
        pytest.skip("C++ extension unavailable")
    counter = CompileCounter()
    compiled = torch.compile(layer, backend=counter, dynamic=True, fullgraph=True)
    for n in (5, 7, 9, 12, 6):
        x = torch.randn(2, 3, n, n, dtype=torch.float64, requires_grad=True)
        out = compiled(x)
        torch.testing.assert_close(out, layer(x))
        (grad,) = torch.autograd.grad(out.sum(), x)
        torch.testing.assert_close(grad, torch.autograd.grad(layer(x).sum(), x)[0])
    assert counter.frame_count <= 2
