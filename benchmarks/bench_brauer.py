"""O(n) EquivariantLinear (Brauer diagrams, factored) vs dense matmul; Sp/SO element products.

Run: .venv/bin/python benchmarks/bench_brauer.py   -> benchmarks/results/brauer.md
Table 1: `EquivariantLinear(OrthogonalGroup(n), k, k, C, C)` — every Brauer diagram is a
PartitionDiagram, so the layer's shared-reduction path runs — against the strongest dense
route: W = Σ_i Λ_i ⊗ n^{-s_i} E_i materialised once as a (C·n^l, C·n^k) matrix (build time
reported separately), then one matmul per forward.
Table 2: the same O(n) cases through EMLP's basis route (Finzi et al. 2021, emlp 1.0.3): the
numerically solved basis of `V**k >> V**k` (its size checked against ours) and the forward of
`emlp.nn.Linear(C*V**k, C*V**k)`. EMLP runs in its own venv (.venv-emlp at the repository root:
`python3 -m venv .venv-emlp && .venv-emlp/bin/pip install emlp==1.0.3 jax==0.10.2
jaxlib==0.10.2 six`), one subprocess per case (benchmarks/_emlp_brauer_case.py) with a
wall-clock timeout and a 16 GB address-space cap, as in bench_basis_vs_emlp.py.
Table 3: one symplectic Brauer / Brauer–Grood element, `apply_element` vs `matrix(n) @ x`.
Table 4: small-n bases, where the spanning set is dependent: `equivariant_basis(..., use_cache=
False)` at k + l = 12 (the selection rule of geomlayers.bases.standard), size against the
exact dimension (geomlayers.bases.dimension). `--small-n` runs this table alone and records it
in benchmarks/results/brauer.json.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from _machine import best_of, provenance  # sibling module of this script

from geomlayers.bases import equivariant_basis
from geomlayers.bases.dimension import equivariant_dimension
from geomlayers.diagrams.brauer import brauer_grood_diagrams, symplectic_brauer_diagrams
from geomlayers.groups import OrthogonalGroup, SpecialOrthogonalGroup
from geomlayers.groups.symplectic import SymplecticGroup
from geomlayers.nn.equivariant import EquivariantLinear
from geomlayers.ops import apply_element

CASES = [  # n, k = l, batch, channels
    (3, 2, 32, 16), (10, 2, 32, 16), (50, 2, 8, 16),
    (3, 3, 32, 8), (10, 3, 8, 8), (50, 3, 2, 8),
]
MAX_DENSE_ENTRIES = 1.2e8  # 480 MB of float32
HERE = Path(__file__).parent
EMLP_PYTHON = HERE.parent / ".venv-emlp" / "bin" / "python"
EMLP_TIMEOUT_S = 300
# EMLP's Krylov solver (used above 3e7 constraint entries) draws a tqdm bar whose formatting
# raises a TypeError (`timedelta(np.float32)`) with this jax/numpy; the bar is switched off so
# that the solver itself is what gets timed.
EMLP_ENV = {**os.environ, "TQDM_DISABLE": "1", "JAX_PLATFORMS": "cpu",
            "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}



def dense_weight(layer):
    n, k, l = layer.group.n, layer.k, layer.l
    matrices = layer.basis.dense(torch.float32, max_entries=10**9)
    matrices = matrices * layer.element_scales().float()[:, None, None]
    w = torch.einsum("ioc,iab->oacb", layer.weight.detach(), matrices)
    return w.reshape(layer.out_channels * n**l, layer.in_channels * n**k)


def layer_rows():
    rows = []
    for n, k, batch, channels in CASES:
        layer = EquivariantLinear(OrthogonalGroup(n), k, k, channels, channels, bias=False)
        x = torch.randn(batch, channels, *[n] * k)
        with torch.no_grad():
            ours = best_of(lambda: layer(x))  # noqa: B023 (called immediately)
            dense_entries = (channels * n**k) ** 2
            row = [n, k, batch, channels, len(layer.basis), ours, None, None, None]
            if dense_entries <= MAX_DENSE_ENTRIES:
                start = time.perf_counter()
                weight = dense_weight(layer)
                row[7] = time.perf_counter() - start
                flat = x.reshape(batch, -1)
                row[6] = best_of(lambda: flat @ weight.T)  # noqa: B023
                row[8] = float((flat @ weight.T - layer(x).reshape(batch, -1)).abs().max())
        rows.append(row)
        print(row, flush=True)
    return rows


def emlp_case(n, k, batch, channels):
    """One EMLP case in .venv-emlp; the last JSON line it printed (partial if it failed later)."""
    command = (f"ulimit -v 16000000; exec {EMLP_PYTHON} {HERE / '_emlp_brauer_case.py'} "
               f"{n} {k} {batch} {channels}")
    try:
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                              timeout=EMLP_TIMEOUT_S, env=EMLP_ENV)
        stdout, failure = done.stdout, None
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["?"])[-1][:160]
            failure = f"error (exit {done.returncode}): {last}"
    except subprocess.TimeoutExpired as expired:
        stdout = expired.stdout.decode() if isinstance(expired.stdout, bytes) else expired.stdout
        failure = f"did not finish in {EMLP_TIMEOUT_S} s"
    lines = [line for line in (stdout or "").splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    if failure:
        result["failed"] = failure
    return result


def emlp_rows(rows):
    """EMLP's basis route for the O(n) cases of `rows` (from `layer_rows`)."""
    out = []
    for n, k, batch, channels, size, ours, *_ in rows:
        start = time.perf_counter()
        ours_size = len(equivariant_basis(OrthogonalGroup(n), k, k, use_cache=False))
        ours_basis = time.perf_counter() - start
        assert ours_size == size
        if not EMLP_PYTHON.exists():
            theirs = {"failed": "not run: .venv-emlp absent"}
        else:
            theirs = emlp_case(n, k, batch, channels)
        if "dim" in theirs and theirs["dim"] != size:
            raise SystemExit(f"basis size mismatch at O({n}), k=l={k}: ours {size}, EMLP {theirs}")
        out.append((n, k, batch, channels, size, ours_basis, ours, theirs))
        print(out[-1], flush=True)
    return out


def emlp_versions():
    if not EMLP_PYTHON.exists():
        return "not installed"
    return subprocess.run(
        [str(EMLP_PYTHON), "-c", "import emlp, jax; print(emlp.__version__, jax.__version__)"],
        capture_output=True, text=True, env=EMLP_ENV).stdout.strip()


def field(result, key, scale):
    return f"{result[key] * scale:.2f}" if key in result else "—"


def emlp_lines(rows):
    lines = [
        "## The same O(n) layers through EMLP's basis route (float32, forward, CPU)",
        "",
        f"EMLP, jax: {emlp_versions()} (CPU, own venv `.venv-emlp`), one subprocess per case "
        f"({EMLP_TIMEOUT_S} s timeout, 16 GB address-space cap). EMLP solves the basis of "
        "`(V**k >> V**k)(O(n))` numerically (dense SVD of the constraint matrix up to 3·10^7 "
        "entries, its iterative Krylov solver above); its size is checked against ours "
        "(`len(equivariant_basis(OrthogonalGroup(n), k, k))`) by the script. `EMLP forward` is "
        "`emlp.nn.Linear(C*V**k, C*V**k)`'s `__call__` under `jax.jit` (it projects the "
        "weight with its lazy P = QQᵀ on every call, then one matmul); `EMLP matmul` is the "
        "matmul alone with the projected dense weight precomputed. `ours` is the factored "
        "forward of the first table (same batch and channels); our basis is the Brauer "
        "diagrams, generated without solving anything.",
        "",
        "| n | k = l | batch | C | basis (ours = EMLP) | ours: basis (ms) | EMLP: solve basis (s) "
        "| EMLP: build Linear (s) | ours: forward (ms) | EMLP forward (ms) "
        "| EMLP matmul (ms) | EMLP peak RSS (MB) | status |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, k, batch, ch, size, ours_basis, ours, theirs in rows:
        dim = theirs.get("dim")
        size_text = f"{size} = {dim}" if dim is not None else f"{size} (EMLP: —)"

        peak = f"{theirs['peak_mb']:.0f}" if "peak_mb" in theirs else "—"
        status = theirs.get("failed", "finished").replace("|", "/")
        lines.append(f"| {n} | {k} | {batch} | {ch} | {size_text} | {ours_basis * 1e3:.2f} | "
                     f"{field(theirs, 'basis_seconds', 1)} | {field(theirs, 'layer_seconds', 1)} | "
                     f"{ms(ours)} | {field(theirs, 'forward_seconds', 1e3)} | "
                     f"{field(theirs, 'matmul_seconds', 1e3)} | {peak} | "
                     f"{status} |")
    lines += [
        "",
        "`status` is the last line of EMLP's own error where it failed. EMLP needs the "
        "dense basis Q of shape (n^(2k), r) and a constraint matrix with n^(2k) rows per "
        "generator (the reflection and the n(n−1)/2 Lie-algebra generators): its Krylov "
        "solver refuses when that row count times 2r exceeds 2·10^9 (r = 5 at the start),"
        " and at n = 50, k = 3 it fails allocating an int64 array of length n^(2k). "
        "EMLP's Krylov progress bar (tqdm) is switched off (`TQDM_DISABLE=1`) because its"
        " formatting raises a TypeError with this jax/numpy; `objax.Jit` fails with jax "
        "0.10.2, so the layer's `__call__` is jitted with its variables passed in (same "
        "arithmetic). EMLP's times include JAX compilation in the basis solve, not in the"
        " forward (best of 5 after a warm-up call).",
    ]
    return lines


def element_rows():
    cases = [
        ("Sp", symplectic_brauer_diagrams(3, 3)[0], 8, 16),
        ("Sp", symplectic_brauer_diagrams(3, 3)[7], 16, 8),
        ("SO", brauer_grood_diagrams(4, 2, 2)[0], 4, 64),
        ("SO", brauer_grood_diagrams(5, 3, 4)[10], 5, 8),
        ("SO", brauer_grood_diagrams(6, 3, 3)[0], 6, 8),
    ]
    rows = []
    for family, element, n, batch in cases:
        x = torch.randn(batch, *[n] * element.k)
        fast = best_of(lambda: apply_element(element, x, n))  # noqa: B023
        entries = n ** (element.k + element.l)
        dense = build = error = None
        if entries <= MAX_DENSE_ENTRIES:
            start = time.perf_counter()
            matrix = element.matrix(n, torch.float32)
            build = time.perf_counter() - start
            flat = x.reshape(batch, -1)
            dense = best_of(lambda: flat @ matrix.T)  # noqa: B023
            error = float((flat @ matrix.T - apply_element(element, x, n).reshape(batch, -1))
                          .abs().max())
        rows.append([family, str(element), n, element.k, element.l, batch, fast, dense, build,
                     error])
        print(rows[-1], flush=True)
    return rows


SMALL_N = [(SpecialOrthogonalGroup(3), 6, 6), (OrthogonalGroup(3), 6, 6),
           (SymplecticGroup(4), 6, 6), (OrthogonalGroup(2), 6, 6), (SymplecticGroup(6), 6, 6)]
SMALL_N_TITLE = "Small-n bases at k + l = 12 (dependent spanning sets), generation time"
SMALL_N_COLUMNS = ["group", "k", "l", "spanning set", "basis", "exact dimension",
                   "time (s, best of 3)"]


def small_n_rows():
    rows = []
    for group, k, l in SMALL_N:  # noqa: E741
        times = []
        for _ in range(3):
            start = time.perf_counter()
            basis = equivariant_basis(group, k, l, use_cache=False, progress=False)
            times.append(time.perf_counter() - start)
        spanning = equivariant_basis(group, k, l, spanning=True, use_cache=False)
        rows.append([str(group), str(k), str(l), f"{len(spanning):,}", f"{len(basis):,}",
                     f"{equivariant_dimension(group, k, l):,}", f"{min(times):.2f}"])
        print(rows[-1], flush=True)
    return rows


def record_small_n(rows):
    """Put Table 4 into benchmarks/results/brauer.json (replacing an older copy)."""
    path = Path(__file__).parent / "results" / "brauer.json"
    doc = json.loads(path.read_text())
    doc["tables"] = [t for t in doc["tables"] if t.get("title") != SMALL_N_TITLE]
    doc["tables"].append({"title": SMALL_N_TITLE, "columns": SMALL_N_COLUMNS, "rows": rows})
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


def ms(value):
    return "—" if value is None else f"{value * 1e3:.2f}"


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    if "--small-n" in sys.argv[1:]:
        record_small_n(small_n_rows())
        return
    rows = layer_rows()
    emlp = emlp_rows(rows)
    elements = element_rows()
    lines = [
        "## O(n) EquivariantLinear (Brauer basis) vs dense matmul (float32, forward, CPU)",
        "",
        provenance(".venv/bin/python benchmarks/bench_brauer.py")
        + " One thread; times: best of 5.",
        "",
        "| n | k = l | batch | C_in = C_out | basis | factored (ms) | dense matmul (ms) "
        "| building dense W (ms) | speed-up vs matmul | max abs diff |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, k, batch, ch, size, ours, dense, build, error in rows:
        if dense is None:
            lines.append(f"| {n} | {k} | {batch} | {ch} | {size} | {ms(ours)} | dense W has "
                         f"{(ch * n**k) ** 2:.1e} entries: not built | — | — | — |")
        else:
            lines.append(f"| {n} | {k} | {batch} | {ch} | {size} | {ms(ours)} | {ms(dense)} | "
                         f"{ms(build)} | {dense / ours:.1f}x | {error:.1e} |")
    lines += ["", *emlp_lines(emlp)]
    lines += [
        "",
        "## One Sp(n) / SO(n) element: `apply_element` vs dense `matrix(n) @ x` (float32, forward)",
        "",
        "| group | element | n | k | l | batch | apply_element (ms) | dense matmul (ms) "
        "| building matrix (ms) | max abs diff |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for family, name, n, k, l, batch, fast, dense, build, error in elements:
        diff = "—" if error is None else f"{error:.1e}"
        lines.append(f"| {family}({n}) | `{name}` | {n} | {k} | {l} | {batch} | {ms(fast)} | "
                     f"{ms(dense)} | {ms(build)} | {diff} |")
    small = small_n_rows()
    lines += ["", f"## {SMALL_N_TITLE}", "", "| " + " | ".join(SMALL_N_COLUMNS) + " |",
              "|" + "---|" * len(SMALL_N_COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in small]
    out = Path(__file__).parent / "results" / "brauer.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
