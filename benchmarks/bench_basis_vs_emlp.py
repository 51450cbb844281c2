"""Basis generation for S_n: geomlayers vs EMLP (Finzi et al. 2021), side by side in one run.

Run: python benchmarks/bench_basis_vs_emlp.py [--quick | --full] [--seed S] [--out PATH]
-> benchmarks/results/basis_generation.json (the harness document RESULTS.md is built from)
and benchmarks/results/basis_generation.md (every column). ``--quick`` (n <= 10, k + l <= 3,
seconds) writes to a temporary file unless ``--out`` is given.

EMLP runs in its own venv (.venv-emlp: `python3 -m venv .venv-emlp && .venv-emlp/bin/pip
install emlp six`), one subprocess per case with a wall-clock timeout and a 16 GB address-space
cap; a case that fails or times out is reported as such and larger n at the same k+l skipped.
When `.venv-emlp` is absent the EMLP figures of the last run that had it (kept in the JSON
under ``emlp_recorded``, with its date) are reused and the table note says so.
Ours: `equivariant_basis` (the diagrams), plus `Basis.sparse()` (all entries materialised, the
closest analogue of EMLP's dense output) where n^(k+l)·|basis| fits.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _harness import parser, results_document, setup, table, write_results  # sibling module

from geomlayers.bases import equivariant_basis
from geomlayers.groups import SymmetricGroup

HERE = Path(__file__).parent
EMLP_PYTHON = HERE.parent / ".venv-emlp" / "bin" / "python"
SPLITS = [(1, 1), (2, 1), (2, 2)]
SIZES = [5, 10, 20, 50]
TIMEOUT_S = 240
EXTRA = [(100, 3, 3), (100, 2, 4)]
NOT_ATTEMPTED = "not attempted (n^(k+l) = 10^12)"
#: the short form of EMLP's failures in the summary table
SHORT = {"error: TypeError": "did not finish (error in EMLP's Krylov solver)"}


def ours(n, k, l):  # noqa: E741
    start = time.perf_counter()
    basis = equivariant_basis(SymmetricGroup(n), k, l, use_cache=False)
    generate = time.perf_counter() - start
    sparse = None
    if len(basis) * n ** (k + l) <= 2e8:
        start = time.perf_counter()
        basis.sparse()
        sparse = time.perf_counter() - start
    return len(basis), generate, sparse


def emlp(n, k, l):  # noqa: E741
    command = f"ulimit -v 16000000; exec {EMLP_PYTHON} {HERE / '_emlp_case.py'} {n} {k} {l}"
    try:
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                              timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"failed": f"timeout > {TIMEOUT_S} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1][:80]
        return {"failed": f"error: {last}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def emlp_versions():
    return subprocess.run(
        [str(EMLP_PYTHON), "-c", "import emlp, jax; print(emlp.__version__, jax.__version__)"],
        capture_output=True, text=True).stdout.strip()


def measure(splits, sizes, extra, recorded):
    """Rows ``(n, k, l, dim, generate_s, sparse_s, emlp_result)``."""
    run_emlp = EMLP_PYTHON.exists()
    rows = []
    for k, l in splits:  # noqa: E741
        emlp_gave_up = False
        for n in sizes:
            dim, generate, sparse = ours(n, k, l)
            if not run_emlp:
                theirs = dict(recorded.get(f"{n},{k},{l}", {"failed": "not run"}))
            elif emlp_gave_up:
                theirs = {"failed": "skipped (smaller n failed)"}
            else:
                theirs = emlp(n, k, l)
            if "failed" in theirs:
                emlp_gave_up = True
            elif theirs["dim"] != dim:
                raise SystemExit(f"dimension mismatch at n={n}, k={k}, l={l}: {dim} vs {theirs}")
            rows.append((n, k, l, dim, generate, sparse, theirs))
            print(rows[-1], flush=True)
    for n, k, l in extra:  # noqa: E741
        dim, generate, sparse = ours(n, k, l)
        rows.append((n, k, l, dim, generate, sparse, {"failed": NOT_ATTEMPTED}))
        print(rows[-1], flush=True)
    return rows


def _short(failure: str) -> str:
    return next((text for key, text in SHORT.items() if failure.startswith(key)), failure)


def main():
    p = parser("S_n basis generation: geomlayers vs EMLP", family="basis_generation")
    args = setup(p.parse_args())
    recorded_path = HERE / "results" / "basis_generation.json"
    try:
        recorded = json.loads(recorded_path.read_text(encoding="utf-8")).get("emlp_recorded", {})
    except (OSError, json.JSONDecodeError):
        recorded = {}
    load = os.getloadavg()[0]
    rows = measure(args.pick(quick=SPLITS[:2], default=SPLITS),
                   args.pick(quick=SIZES[:2], default=SIZES),
                   args.pick(quick=[], default=EXTRA), recorded.get("cases", {}))
    if EMLP_PYTHON.exists():
        versions = emlp_versions()
        note = f"EMLP, jax {versions} ran in this run (CPU, own venv `.venv-emlp`)."
        recorded = {"date": time.strftime("%Y-%m-%d"), "versions": versions,
                    "cases": {f"{n},{k},{l}": dict(t, speedup_same_run=t["seconds"] / g)
                              if "seconds" in t else t for n, k, l, _, g, _, t in rows
                              if t.get("failed") != NOT_ATTEMPTED}}
    else:
        note = (f"EMLP is not installed here (`.venv-emlp`): its columns and the speed-up "
                f"(EMLP ÷ our diagrams, both timed in that run) are the run of "
                f"{recorded.get('date', '?')} (emlp, jax {recorded.get('versions', '?')}); "
                "the other columns are this run's.")
    summary, full = [], []
    same_run = EMLP_PYTHON.exists()
    for n, k, l, dim, generate, sparse, theirs in rows:  # noqa: E741
        seconds = theirs.get("seconds")
        # a speed-up divides two times of one run: ours now when EMLP ran now, else the
        # recorded run's own ratio
        ratio = (None if seconds is None else seconds / generate if same_run
                 else theirs.get("speedup_same_run"))
        ratio = None if ratio is None else f"{ratio:,.0f}x"
        summary.append([n, k, l, dim, 1e3 * generate,
                        "too large" if sparse is None else 1e3 * sparse,
                        seconds if seconds is not None else _short(theirs["failed"]), ratio])
        full.append([n, k, l, dim, 1e3 * generate, "too large" if sparse is None else 1e3 * sparse,
                     seconds if seconds is not None else theirs["failed"], theirs.get("peak_mb"),
                     ratio, None if seconds is None or not sparse or not same_run
                     else f"{seconds / sparse:,.0f}x"])
    if not args.pick(quick=True, default=False):
        summary = [r for r, (*_, t) in zip(summary, rows, strict=True)
                   if not t.get("failed", "").startswith("skipped")]
    details = Path(args.out).with_suffix(".md")
    details.write_text("\n".join([
        "## Basis generation: geomlayers vs EMLP (S_n)", "", note, "",
        table(["n", "k", "l", "dim", "ours: diagrams (ms)", "ours: + sparse() (ms)", "EMLP (s)",
               "EMLP peak RSS (MB)", "speed-up (diagrams)", "speed-up (+ sparse)"], full), "",
        "EMLP's errors are its own: above about 3·10^7 constraint entries it switches to its "
        "iterative (Krylov) solver, whose progress logging calls `timedelta(np.float32)` and "
        "raises a TypeError with this jax/numpy; we report the case as not finished.", ""]),
        encoding="utf-8")
    doc = results_document(
        "basis_generation", "Basis generation: geomlayers vs EMLP (S_n)", args=args,
        tables=[{"columns": ["n", "k", "l", "dim", "ours: diagrams (ms)",
                             "ours: + sparse() (ms)", "EMLP (s)", "speed-up (diagrams)"],
                 "rows": summary, "note": note}],
        setup="Time to build the basis of the S_n-equivariant maps (R^n)^⊗k → (R^n)^⊗l. "
              "`ours: diagrams` is the structured basis a layer uses (independent of n); "
              "`+ sparse()` also writes every non-zero entry. EMLP runs in one subprocess per "
              f"case (its JAX compilation included), {TIMEOUT_S} s timeout, 16 GB cap; "
              "dimensions agree wherever both finish (checked by the script). Cases EMLP "
              "skipped after a smaller n failed are in the full table. Load average "
              f"{load:.1f} on {os.cpu_count()} cores at the start of the run.",
        anchors="EMLP 1.0.3 (Finzi et al., ICML 2021), jax 0.10.2 on the CPU.",
        details=f"benchmarks/results/{details.name}", emlp_recorded=recorded)
    print(write_results(doc, args.out))


if __name__ == "__main__":
    sys.exit(main())
