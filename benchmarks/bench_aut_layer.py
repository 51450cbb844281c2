"""Aut(G) layers on sparse graphs: build time, forward + backward time and peak memory.

Run: .venv/bin/python benchmarks/bench_aut_layer.py [--quick]
  -> benchmarks/results/aut_layer.json

Each case runs in a fresh process (peak resident memory is per process): an
``EquivariantLinear(AutomorphismGroup(G), k, l, C, C)`` over the orbit basis of Aut(G)
(Pearce-Crump & Knottenbelt, arXiv 2307.07810), built, then one forward + backward on a
batch of ``B``. ``dense_stack_gb`` is what stacking the elements as dense ``n^l x n^k``
matrices (float64) would take, the layout the index tables replace.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from _harness import results_document, write_results  # sibling module of this script

CASE = Path(__file__).with_name("_aut_layer_case.py")  # one case per fresh process

FULL = [("cycle", 100, 1, 1), ("cycle", 500, 1, 1), ("cycle", 2000, 1, 1),
        ("grid", 100, 1, 1), ("grid", 500, 1, 1), ("grid", 2000, 1, 1),
        ("random3", 100, 1, 1), ("random3", 500, 1, 1),
        ("cycle", 10, 2, 2), ("cycle", 20, 2, 2), ("cycle", 40, 2, 2)]
QUICK = [("cycle", 100, 1, 1), ("cycle", 500, 1, 1), ("cycle", 10, 2, 2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--channels", type=int, default=8)
    args = parser.parse_args()
    rows = []
    for kind, n, k, l in QUICK if args.quick else FULL:
        done = subprocess.run(
            [sys.executable, str(CASE), kind, str(n), str(k), str(l), str(args.batch),
             str(args.channels)], capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            row = {"graph": kind, "n": n, "k": k, "l": l,
                   "error": done.stderr.strip().splitlines()[-1][:300]}
        else:
            row = json.loads(done.stdout.strip().splitlines()[-1])
        print(row, flush=True)
        rows.append(row)
    write_results(document(rows, args.batch, args.channels),
                  Path(__file__).parent / "results" / "aut_layer.json")


def document(rows, batch, channels) -> dict:
    """The rows as a ``geomlayers-bench/1`` document (family ``aut_layer``)."""
    columns = ["graph", "n", "k → l", "elements", "table entries", "build (s)", "step (s)",
               "peak RSS (MB)", "growth (MB)", "dense stack would need (GB)"]
    table = [[r["graph"], r["n"], f"{r['k']} → {r['l']}", r.get("elements"),
              r.get("table_entries"), r.get("build_s"), r.get("step_s"), r.get("peak_rss_mb"),
              r.get("growth_mb"), r.get("dense_stack_gb")] if "error" not in r else
             [r["graph"], r["n"], f"{r['k']} → {r['l']}", "refused: " + r["error"][:80]]
             + [None] * 6 for r in rows]
    return results_document(
        "aut_layer", "Aut(G) layers on sparse graphs: build, step time, peak memory",
        tables=[{"title": f"batch {batch}, channels {channels} → {channels}, float32, 1 thread",
                 "columns": columns, "rows": table}],
        command="python benchmarks/bench_aut_layer.py",
        setup="Each case in a fresh process: EquivariantLinear(AutomorphismGroup(G), k, l) over "
              "the orbit basis, built, then the best of 3 forward + backward steps; peak "
              "resident memory of the process and its growth over the imports.",
        anchors="the dense layout it replaces (elements stacked as n^l × n^k float64 "
                "matrices, last column)",
        raw=rows)


if __name__ == "__main__":
    main()
