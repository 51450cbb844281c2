"""benchmarks/bench_pyg.py on the harness: ``--render`` rebuilds the recorded ``gnn.json`` from
the store ``pyg.json``, and ``--quick`` trains for seconds and writes a valid results document
beside its ``--out``, never over the recorded results.

The script is imported (its module-level imports are torch and PyG, which the suite has
anyway); the quick run is called in-process with ``sys.argv`` set, so the document records
the command as a shell would have run it.
"""

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results"
SCHEMA = "geomlayers-bench/1"


@pytest.fixture(scope="module")
def bench_pyg():
    pytest.importorskip("torch_geometric")
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    import bench_pyg

    return bench_pyg


@pytest.fixture
def isolated_state():
    """The harness seeds every generator and sets the thread count: restore them after."""
    threads, py_state, np_state = torch.get_num_threads(), random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        yield
    torch.set_num_threads(threads)
    random.setstate(py_state)
    np.random.set_state(np_state)


def _recorded():
    return {path.name: path.read_bytes() for path in
            (RESULTS / "gnn.json", RESULTS / "pyg.json", RESULTS / "pyg.md")}


def test_render_reproduces_the_recorded_document(bench_pyg, tmp_path, monkeypatch,
                                                 isolated_state):
    """gnn.json is exactly what --render makes of pyg.json (its tables, provenance, command),
    so the two cannot drift apart."""
    before = _recorded()
    out = tmp_path / "gnn.json"
    monkeypatch.setattr(sys, "argv", ["benchmarks/bench_pyg.py", "--render", "--out", str(out)])
    bench_pyg.main(sys.argv[1:])
    rendered = json.loads(out.read_text(encoding="utf-8"))
    recorded = json.loads((RESULTS / "gnn.json").read_text(encoding="utf-8"))
    assert rendered["tables"] == recorded["tables"]
    assert rendered == recorded
    assert _recorded() == before
    # the figures are the store's: MUTAG IGN's last-epoch accuracy, formatted as in pyg.md
    store = json.loads((RESULTS / "pyg.json").read_text(encoding="utf-8"))
    [mutag] = [row for row in store["classification"]
               if row["dataset"] == "MUTAG" and "IGN" in row["models"]]
    final = mutag["models"]["IGN"]["final"]
    [cells] = [row for row in rendered["tables"][0]["rows"] if row[:2] == ["MUTAG", "IGN"]]
    assert cells[3] == f"{final[0]:.1f} ± {final[1]:.1f}"


def test_quick_run_writes_a_valid_document_beside_its_out(bench_pyg, tmp_path, monkeypatch,
                                                          isolated_state, shared_data):
    before = _recorded()
    out = tmp_path / "results" / "gnn.json"
    argv = ["benchmarks/bench_pyg.py", "--quick", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    bench_pyg.main(argv[1:])
    assert _recorded() == before  # the recorded store, full tables and document are untouched
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["schema"] == SCHEMA and doc["family"] == "gnn"
    assert doc["size"] == "quick" and doc["seed"] == 0
    assert "--quick" in doc["command"] and doc["versions"]["torch"] == torch.__version__
    assert doc["store"] == str(out.with_name("gnn.pyg.json"))
    assert out.with_name("gnn.pyg.md").read_text().startswith("## Equivariant GNNs")
    tu, separation = doc["tables"]
    assert tu["columns"][:2] == ["dataset", "folds"]  # one fold, not the standard ten
    assert [row[2] for row in tu["rows"]] == ["IGN", "PPGN", "GIN"]
    for row in tu["rows"]:
        assert len(row) == len(tu["columns"])
        assert row[:2] == ["MUTAG", "1"] and row[3] == "2"
        assert 0 <= float(row[4].split(" ± ")[0]) <= 100
    # EXP pairs are 1-WL-equivalent: GIN and order-2 IGN separate none, PPGN (3-WL) all
    exp = next(row for row in separation["rows"] if row[0] == "EXP")
    cells = dict(zip(separation["columns"], exp, strict=True))
    assert cells["pairs"] == "8"
    assert cells["GIN"].startswith("8 (") and cells["IGN"].startswith("8 (")
    assert cells["PPGN"].startswith("0 (")
    assert separation["note"].startswith("A subset only (smoke run): EXP 8 of 600 pairs")
    # make_results.py takes the document (the store beside it, without the schema, is skipped)
    (out.parent / "gnn.reading.md").write_text("**Reading.** Smoke run.\n")
    done = subprocess.run([sys.executable, str(BENCH / "make_results.py"), "--results-dir",
                           str(out.parent), "--out", str(tmp_path / "R.md")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "R.md").read_text()
    assert "**TU benchmarks: accuracy (%), mean ± std over the folds**" in text
    assert "| MUTAG | 1 | PPGN | 2 |" in text


def test_default_store_goes_with_the_recorded_document_only(bench_pyg, tmp_path):
    assert bench_pyg.default_store(RESULTS / "gnn.json") == RESULTS / "pyg.json"
    assert bench_pyg.default_store(tmp_path / "x.json") == tmp_path / "x.pyg.json"


def test_provenance_widens_as_rows_join_the_store(bench_pyg):
    measured = {"date": "2026-11-25 to 2026-12-05",
                "machine": {"cpu": "AMD EPYC / Intel(R) Xeon(R) Processor", "threads": 1,
                            "gpu": None},
                "versions": {"python": "3.11.7", "torch": "2.13.0+cpu"}}
    run = {"date": "2026-12-08", "machine": {"cpu": "Intel(R) Xeon(R) Processor",
                                             "threads": 2, "gpu": "NVIDIA H100"},
           "versions": {"python": "3.11.7", "torch": "2.14.0", "commit": "abc1234"}}
    widened = bench_pyg.widened(measured, run)
    assert widened["date"] == "2026-11-25 to 2026-12-08"
    assert widened["machine"] == {"cpu": "AMD EPYC / Intel(R) Xeon(R) Processor",
                                  "threads": "1 / 2", "gpu": "no GPU / NVIDIA H100"}
    # no commit is claimed for the older rows; a differing version names both
    assert widened["versions"] == {"python": "3.11.7", "torch": "2.13.0+cpu / 2.14.0"}
    assert bench_pyg.widened(None, run) == run
    assert bench_pyg.widened(run, run) == run
    cpu_only = {**run, "machine": {**run["machine"], "gpu": None}}
    assert bench_pyg.widened(cpu_only, cpu_only)["machine"]["gpu"] is None


def test_a_document_of_rows_from_several_commands_names_their_pattern(bench_pyg, tmp_path):
    """The document names one command, or the pattern of several (pyg.md lists each); a
    store whose rows are not all 10-fold gets a folds column and says so in the pattern."""
    result = {"final": [80.0, 5.0], "best": [82.5, 4.0], "best_epoch": 7, "epoch_s": 0.5}
    store = {"classification": [{"dataset": "MUTAG", "graphs": 188, "folds": 3, "epochs": 9,
                                 "models": {"IGN": {**result, "command": "a"},
                                            "GIN": {**result, "command": "b"}}}],
             "expressivity": [],
             "measured": {"date": "2026-12-08", "machine": {"cpu": "c", "threads": 1},
                          "versions": {"python": "3.11.7"}}}
    doc = bench_pyg.gnn_document(store, tmp_path / "s.json")
    assert doc["command"] == bench_pyg.SEVERAL_COMMANDS.format(folds="FOLDS")
    assert doc["date"] == "2026-12-08" and doc["machine"] == {"cpu": "c", "threads": 1}
    [table] = doc["tables"]
    assert table["rows"][0] == ["MUTAG", "3", "IGN", "9", "80.0 ± 5.0", "82.5 ± 4.0 (7)", "0.50",
                                "83.9 / 90.6 / 89.4"]
    store["classification"][0]["models"]["GIN"]["command"] = "a"
    assert bench_pyg.gnn_document(store, tmp_path / "s.json")["command"] == "a"


def test_full_tables_are_the_stores(bench_pyg):
    """pyg.md is what markdown() makes of pyg.json, but for its first line (the machine and
    date of the run that last wrote it)."""
    store = json.loads((RESULTS / "pyg.json").read_text(encoding="utf-8"))
    lines = bench_pyg.markdown("x", store["classification"], store["expressivity"]).splitlines()
    recorded = (RESULTS / "pyg.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(recorded)
    assert [i for i, (a, b) in enumerate(zip(lines, recorded, strict=True)) if a != b] == [2]
