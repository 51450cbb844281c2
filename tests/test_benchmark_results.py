"""benchmarks/RESULTS.md is generated from the JSON results, stays short, and the harness works.

No benchmark script is imported: the generator and a small harness script run as subprocesses.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
SCHEMA = "geomlayers-bench/1"


def _documents() -> list[tuple[Path, dict]]:
    out = []
    for path in sorted((BENCH / "results").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and doc.get("schema") == SCHEMA:
            out.append((path, doc))
    return out


def _run(*args, env=None, cwd=ROOT):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)


def test_results_md_is_up_to_date_with_the_json():
    done = _run(BENCH / "make_results.py", "--check")
    assert done.returncode == 0, done.stderr


def test_results_md_is_under_400_lines():
    lines = (BENCH / "RESULTS.md").read_text(encoding="utf-8").count("\n")
    assert lines < 400, f"RESULTS.md has {lines} lines"


def test_every_family_has_a_well_formed_document_and_a_reading():
    docs = _documents()
    families = {doc["family"] for _, doc in docs}
    assert {"basis_generation", "layer", "brauer", "spd_speed", "spd", "eeg", "gnn", "frames",
            "clifford", "lie"} <= families
    for path, doc in docs:
        assert doc["family"] == path.stem
        for key in ("title", "command", "date", "machine", "versions", "tables", "anchors"):
            assert doc.get(key), f"{path.name} lacks {key}"
        for table in doc["tables"]:
            assert table["rows"], f"{path.name}: empty table {table.get('title')}"
            assert all(len(row) == len(table["columns"]) for row in table["rows"]), path.name
        reading = path.with_name(f"{doc['family']}.reading.md")
        assert reading.read_text(encoding="utf-8").startswith("**Reading.**"), reading.name


def test_generator_refuses_a_ragged_table(tmp_path):
    doc = {"schema": SCHEMA, "family": "bad", "title": "Bad", "tables": [
        {"columns": ["a", "b"], "rows": [[1, 2], [3]]}]}
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    done = _run(BENCH / "make_results.py", "--results-dir", tmp_path, "--out",
                tmp_path / "R.md")
    assert done.returncode != 0
    assert "has 1 cells for 2 columns" in done.stderr


HARNESS_SCRIPT = '''
"""A tiny benchmark on the harness."""

import torch

from _harness import (parser, results_document, saved_tensor_bytes, setup, time_call, train,
                      write_results)


def main():
    p = parser(__doc__, family="tiny")
    args = setup(p.parse_args())
    steps = args.pick(quick=300, default=1000)
    x = torch.linspace(-1, 1, 64).unsqueeze(1)
    y = 2 * x + 1
    model = torch.nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    run = train(model, opt, lambda epoch: [(x, y)], torch.nn.functional.mse_loss, steps=steps,
                evaluate=lambda m: {"mse": float(torch.nn.functional.mse_loss(m(x), y))},
                eval_every=50, select=("mse", "min"))
    timing = time_call(lambda: model(x), warmup=1, repeats=3)
    saved = saved_tensor_bytes(lambda: torch.sin(x.requires_grad_()))
    doc = results_document(
        "tiny", "Tiny: a line fit", args=args, setup="SGD on y = 2x + 1.", anchors="exact fit",
        tables=[{"columns": ["steps", "first mse", "best mse", "forward (ms)", "saved bytes"],
                 "rows": [[run["steps"], run["history"][0]["mse"], run["best"]["mse"],
                           timing.ms, saved]]}])
    write_results(doc, args.out)


if __name__ == "__main__":
    main()
'''


def test_harness_script_to_results_md(tmp_path):
    script = tmp_path / "bench_tiny.py"
    script.write_text(textwrap.dedent(HARNESS_SCRIPT))
    results = tmp_path / "results"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BENCH), str(ROOT)]),
               OMP_NUM_THREADS="1")
    done = _run(script, "--quick", "--seed", "3", "--out", results / "tiny.json", env=env,
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads((results / "tiny.json").read_text())
    assert doc["schema"] == SCHEMA and doc["size"] == "quick" and doc["seed"] == 3
    assert "--quick" in doc["command"] and doc["versions"]["torch"]
    [[steps, first, best, forward_ms, saved]] = doc["tables"][0]["rows"]
    assert steps == 300
    assert best < 1e-3 < first  # the training loop fits the line
    assert forward_ms > 0
    assert saved == 64 * 4  # sin saves its float32 input, 64 values
    (results / "tiny.reading.md").write_text("**Reading.** The line is fitted.\n")
    out = tmp_path / "RESULTS.md"
    done = _run(BENCH / "make_results.py", "--results-dir", results, "--out", out)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "## Tiny: a line fit" in text and "**Reading.** The line is fitted." in text
    assert "| steps | first mse | best mse | forward (ms) | saved bytes |" in text
    assert _run(BENCH / "make_results.py", "--results-dir", results, "--out", out,
                "--check").returncode == 0


def test_harness_sizes_are_exclusive(tmp_path):
    script = tmp_path / "bench_tiny.py"
    script.write_text(textwrap.dedent(HARNESS_SCRIPT))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BENCH), str(ROOT)]))
    done = _run(script, "--quick", "--full", env=env, cwd=tmp_path)
    assert done.returncode == 2 and "not allowed with argument" in done.stderr


CELLS = [float("nan"), 1.5e-05, 12345678.0, 0.5, 12345, "a|b", None, True, 0.0, 123.456789]
EXPECTED_ROW = ("| NaN | 1.500e-05 | 1.235e+07 | 0.5 | 12,345 | a\\|b | — | yes | 0 "
                "| 123.5 |")


def test_one_cell_formatter_for_the_harness_and_the_generator(tmp_path):
    """_harness.table and make_results render a cell alike (benchmarks/_format.py): NaN as
    NaN, floats outside 1e-3..1e6 in scientific notation, | escaped."""
    columns = [f"c{i}" for i in range(len(CELLS))]
    doc = {"schema": SCHEMA, "family": "cells", "title": "Cells", "command": "x",
           "tables": [{"columns": columns, "rows": [CELLS]}]}
    (tmp_path / "cells.json").write_text(json.dumps(doc))
    done = _run(BENCH / "make_results.py", "--results-dir", tmp_path, "--out", tmp_path / "R.md")
    assert done.returncode == 0, done.stderr
    assert EXPECTED_ROW in (tmp_path / "R.md").read_text().splitlines()
    code = (f"import sys, json; sys.path.insert(0, {str(BENCH)!r}); from _harness import table; "
            f"print(table({columns!r}, [json.loads({json.dumps(json.dumps(CELLS))})]))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == EXPECTED_ROW


def test_generator_layout_is_compact(tmp_path):
    """The machine and versions most sections share are named once at the top; readings are
    unwrapped paragraph by paragraph (lists kept); a table title sits right above its table."""
    for family in ("one", "two", "three"):
        doc = {"schema": SCHEMA, "family": family, "title": family.title(), "command": "c",
               "date": "2026-12-07", "anchors": "a",
               "machine": {"cpu": "Other CPU" if family == "three" else "Shared CPU",
                           "threads": 1},
               "versions": {"python": "3.11.7", "torch": "2.13.0+cpu"},
               "tables": [{"title": "T", "columns": ["a"], "rows": [[1]]}]}
        (tmp_path / f"{family}.json").write_text(json.dumps(doc))
    (tmp_path / "one.reading.md").write_text(
        "**Reading.** A wrapped\nparagraph.\n\n- a list item\n- another\n")
    out = tmp_path / "R.md"
    done = _run(BENCH / "make_results.py", "--results-dir", tmp_path, "--out", out)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    head, _, body = text.partition("\n## ")
    assert "CPU Shared CPU, Python 3.11.7, torch 2.13.0+cpu" in head
    assert "Shared CPU" not in body and "Python" not in body
    assert "*Measured 2026-12-07 on Other CPU, 1 thread. Command: `c`.*" in body
    assert "*Measured 2026-12-07, 1 thread. Command: `c`.*" in body
    assert "**Reading.** A wrapped paragraph.\n\n- a list item\n- another\n" in body
    assert "**T**\n| a |\n|---|\n| 1 |\n" in body


EEG_BASELINE_SCRIPT = '''
import json, sys
from pathlib import Path
import numpy as np
import bench_eeg

def splits(key):  # five splits of random 4x4 SPD matrices, two classes
    rng = np.random.default_rng(0)
    a = rng.standard_normal((40, 4, 8))
    x, y = a @ a.transpose(0, 2, 1) / 8, np.repeat([0, 1], 20)
    for fold in range(5):
        te = np.arange(40) % 5 == fold
        yield x[~te], y[~te], x[te], y[te], fold, x[~te], x[te]

bench_eeg.cov_splits = splits
log = Path(sys.argv[1])
bench_eeg.run_covariances(["lr22"], ["MDM"], [0, 1, 2], log)
bench_eeg.run_covariances(["lr22"], ["MDM"], [1, 2], log)  # a later run for more seeds
rows = [json.loads(line) for line in log.read_text().splitlines()]
print(json.dumps({"seeds": [r["seed"] for r in rows],
                  "summary": bench_eeg.summarise_covariances(rows)["lr22"]["MDM"]["seeds"]}))
'''


def test_eeg_baselines_run_once_whatever_the_seeds(tmp_path):
    """bench_eeg's deterministic baselines (MDM, FgMDM, TS+LR) are one run, recorded as seed 0:
    a run asked for seeds 1 2 of the networks neither refits them nor shows them with 2 seeds."""
    script = tmp_path / "eeg_baselines.py"
    script.write_text(EEG_BASELINE_SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BENCH), str(ROOT)]),
               OMP_NUM_THREADS="1")
    done = _run(script, tmp_path / "eeg.jsonl", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"seeds": [0] * 5, "summary": [0]}
