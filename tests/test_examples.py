import runpy
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, capsys):
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out


def test_demo_module_runs(capsys):
    from geomlayers import demo

    demo.tour_symmetric()
    demo.tour_alternating()
    demo.tour_graph()
    printed = capsys.readouterr().out
    assert "dim 15" in printed and "J[a / b c]" in printed
