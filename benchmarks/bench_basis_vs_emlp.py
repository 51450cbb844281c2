"""Basis generation for S_n: geomlayers vs EMLP (Finzi et al. 2021), side by side in one run.

Run: .venv/bin/python benchmarks/bench_basis_vs_emlp.py  -> benchmarks/results/basis_generation.md
EMLP runs in its own venv (.venv-emlp: `python3 -m venv .venv-emlp && .venv-emlp/bin/pip
install emlp six`), one subprocess per case with a wall-clock timeout and a 16 GB address-space
cap; a case that fails or times out is reported as such and larger n at the same k+l skipped.
Ours: `equivariant_basis` (the diagrams), plus `Basis.sparse()` (all entries materialised, the
closest analogue of EMLP's dense output) where n^(k+l)·|basis| fits.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

from _machine import provenance  # sibling module of this script

from geomlayers.bases import equivariant_basis
from geomlayers.groups import SymmetricGroup

HERE = Path(__file__).parent
EMLP_PYTHON = HERE.parent / ".venv-emlp" / "bin" / "python"
SPLITS = [(1, 1), (2, 1), (2, 2)]
SIZES = [5, 10, 20, 50]
TIMEOUT_S = 240
EXTRA = [(100, 3, 3), (100, 2, 4)]


def ours(n, k, l):
    start = time.perf_counter()
    basis = equivariant_basis(SymmetricGroup(n), k, l, use_cache=False)
    generate = time.perf_counter() - start
    sparse = None
    if len(basis) * n ** (k + l) <= 2e8:
        start = time.perf_counter()
        basis.sparse()
        sparse = time.perf_counter() - start
    return len(basis), generate, sparse


def emlp(n, k, l):
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


def main():
    have_emlp = EMLP_PYTHON.exists()
    rows = []
    for k, l in SPLITS:
        emlp_gave_up = not have_emlp
        for n in SIZES:
            dim, generate, sparse = ours(n, k, l)
            theirs = {"failed": "skipped (smaller n failed)"} if emlp_gave_up else emlp(n, k, l)
            if "failed" in theirs:
                emlp_gave_up = True
            elif theirs["dim"] != dim:
                raise SystemExit(f"dimension mismatch at n={n}, k={k}, l={l}: {dim} vs {theirs}")
            rows.append((n, k, l, dim, generate, sparse, theirs))
            print(rows[-1], flush=True)
    for n, k, l in EXTRA:
        dim, generate, sparse = ours(n, k, l)
        rows.append((n, k, l, dim, generate, sparse, {"failed": "not attempted (n^(k+l) = 10^12)"}))
    write(rows, have_emlp)


def write(rows, have_emlp):
    versions = ""
    if have_emlp:
        versions = subprocess.run(
            [str(EMLP_PYTHON), "-c", "import emlp, jax; print(emlp.__version__, jax.__version__)"],
            capture_output=True, text=True).stdout.strip()
    lines = [
        "## Basis generation: geomlayers vs EMLP (S_n)",
        "",
        provenance(".venv/bin/python benchmarks/bench_basis_vs_emlp.py")
        + f" EMLP, jax: {versions or 'not installed'} (CPU). EMLP: one subprocess per case "
        f"(includes its JAX compilation), {TIMEOUT_S} s timeout, 16 GB cap. Dimensions agree "
        "wherever both finish (checked by the script).",
        "",
        "| n | k | l | dim | ours: diagrams (ms) | ours: + sparse() (ms) | EMLP (s) "
        "| EMLP peak RSS (MB) | speed-up (diagrams) | speed-up (+ sparse) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, k, l, dim, generate, sparse, theirs in rows:
        sparse_text = f"{sparse * 1e3:.1f}" if sparse is not None else "too large"
        if "failed" in theirs:
            lines.append(f"| {n} | {k} | {l} | {dim} | {generate * 1e3:.2f} | {sparse_text} | "
                         f"{theirs['failed']} | — | — | — |")
            continue
        ratio_sparse = f"{theirs['seconds'] / sparse:,.0f}x" if sparse else "—"
        lines.append(
            f"| {n} | {k} | {l} | {dim} | {generate * 1e3:.2f} | {sparse_text} | "
            f"{theirs['seconds']:.2f} | {theirs['peak_mb']:.0f} | "
            f"{theirs['seconds'] / generate:,.0f}x | {ratio_sparse} |"
        )
    lines += [
        "",
        "EMLP's errors are its own: above about 3·10^7 constraint entries it switches to its "
        "iterative (Krylov) solver, whose progress logging calls `timedelta(np.float32)` and "
        "raises a TypeError with this jax/numpy; we report the case as not finished. "
        "`ours: diagrams` is the structured basis a layer uses (independent of n); "
        "`+ sparse()` additionally writes every non-zero entry of every element.",
    ]
    (HERE / "results" / "basis_generation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
