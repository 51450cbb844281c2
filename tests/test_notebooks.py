"""Execute the tutorial notebooks with nbclient (the suite's CI check of notebooks/)."""

import json
from pathlib import Path

import pytest
from helpers import skip_without_optional_imports

nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]' (nbformat)")
nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]' (nbclient)")
pytest.importorskip("ipykernel", reason="pip install -e '.[test]' (ipykernel)")

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_tutorials_present():
    names = {p.stem for p in NOTEBOOKS}
    assert {"bases_and_diagrams", "eeg_spd_networks", "equivariant_gnns_pyg"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


def _kernel_manager():
    """A kernel running *this* interpreter, whatever kernels Jupyter has registered.

    ipykernel's built-in ``python3`` spec starts ``sys.executable -m ipykernel_launcher``, so
    no ``jupyter kernelspec install`` is needed (CI, clean venvs).
    """
    from ipykernel.kernelspec import RESOURCES, get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import KernelManager

    spec = KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())
    manager = KernelManager(kernel_name="python3")
    manager._kernel_spec = spec
    return manager


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path, monkeypatch):
    code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                     if c["cell_type"] == "code")
    skip_without_optional_imports(code, path.name)
    monkeypatch.setenv("GEOMLAYERS_PROGRESS", "0")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports this checkout's geomlayers
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     km=_kernel_manager(),
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    printed = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert printed, f"{path.name} printed nothing"
