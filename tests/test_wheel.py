"""The wheel carries the C++ sources and the C++ backend runs from an installed copy.

The package is copied to a temporary folder (so the checkout gets no build/ or egg-info),
built with ``pip wheel . --no-deps --no-build-isolation``, installed with
``pip install --no-deps --target`` outside the checkout, and imported from there in a
subprocess whose working directory is outside the checkout too.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RUN_FROM_INSTALL = """
import sys, torch
import geomlayers
from geomlayers.groups import SymmetricGroup
from geomlayers.nn import EquivariantLinear
from geomlayers.ops import extension
assert geomlayers.__file__.startswith(sys.argv[1]), geomlayers.__file__
assert str(extension.sources()[0]).startswith(sys.argv[1]), extension.sources()
print("error:", extension.load_error())
layers = [EquivariantLinear(SymmetricGroup(5), 2, 2, 2, 3, backend=b, dtype=torch.float64)
          for b in ("cpp", "torch")]
layers[1].load_state_dict(layers[0].state_dict())
x = torch.randn(2, 2, 6, 6, dtype=torch.float64)
print("diff:", float((layers[0](x) - layers[1](x)).abs().max()), layers[0].backend)
"""


def _pip(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if shutil.which("ninja") is None and not (Path(sys.executable).parent / "ninja").exists():
        pytest.skip("ninja is needed to build the extension")
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "geomlayers", source / "geomlayers",
                    ignore=shutil.ignore_patterns("__pycache__"))
    _pip("wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", str(base / "dist"),
         cwd=source)
    (wheel,) = (base / "dist").glob("geomlayers-*.whl")
    target = base / "site"
    _pip("install", "--no-deps", "-q", "--target", str(target), str(wheel), cwd=base)
    return wheel, target


def _run_installed(target: Path, extension_dir: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(target), "GEOMLAYERS_EXTENSION_DIR": str(extension_dir)}
    done = subprocess.run([sys.executable, "-c", RUN_FROM_INSTALL, str(target)], env=env,
                          cwd=target.parent, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_wheel_contains_the_cpp_sources(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("geomlayers/csrc/diagram_ops.cpp", "geomlayers/csrc/diagram_ops_cuda.cu",
                 "geomlayers/csrc/fused_two_to_two.cpp"):
        assert name in names, sorted(n for n in names if "csrc" in n)


def test_cpp_backend_runs_from_the_installed_copy(installed):
    from geomlayers.ops import extension

    if extension.load_error() is not None:
        pytest.skip(f"C++ extension unavailable here: {extension.load_error()}")
    _, target = installed
    out = _run_installed(target, extension.extension_dir())
    assert "error: None" in out and out.strip().endswith(" cpp"), out
    assert float(out.split("diff:")[1].split()[0]) < 1e-12


@pytest.mark.slow
def test_cpp_backend_builds_from_the_installed_copy(installed, tmp_path):
    """A fresh extension folder: the library is compiled from the installed sources."""
    _, target = installed
    out = _run_installed(target, tmp_path / "extensions")
    assert "error: None" in out and out.strip().endswith(" cpp"), out
    assert list((tmp_path / "extensions").glob("*/src/diagram_ops.cpp"))
