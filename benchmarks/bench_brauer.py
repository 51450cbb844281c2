"""O(n) EquivariantLinear (Brauer diagrams, factored) vs dense matmul; Sp/SO element products.

Run: python benchmarks/bench_brauer.py [--quick | --full] [--seed S] [--out PATH]
-> benchmarks/results/brauer.json (the harness document RESULTS.md is built from) and
benchmarks/results/brauer.md (every column). ``--quick`` (n <= 10, Sp(4)/O(2) small-n rows,
seconds) writes to a temporary file unless ``--out`` is given.
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
Table 4: small-n bases, where the spanning set is dependent: `equivariant_basis(...,
use_cache=False)` at k + l = 11..12 (the selection rules of geomlayers.bases.standard, the
SO(n) Levi-Civita half included), size against the exact dimension
(geomlayers.bases.dimension); wall and CPU time (the CPU time is the figure to compare on a
shared machine). `--small-n` runs this table alone.

EMLP columns: when `.venv-emlp` is absent the EMLP figures of the last run that had it (kept
in the JSON under ``emlp_recorded``, with its date) are reused and the table note says so;
everything else is measured in this run.
"""

import json
import os
import subprocess
import time
from pathlib import Path

import torch
from _harness import parser, results_document, setup, table, write_results  # sibling module
from _machine import best_of  # sibling module of this script

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


QUICK_CASES = [case for case in CASES if case[0] <= 10 and case[1] == 2]


def layer_rows(cases=CASES):
    rows = []
    for n, k, batch, channels in cases:
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


def emlp_rows(rows, recorded=None):
    """EMLP's basis route for the O(n) cases of `rows` (from `layer_rows`).

    ``recorded`` (``"n,k"`` -> result): reuse an earlier run's EMLP figures instead of
    running EMLP (it is not installed).
    """
    out = []
    for n, k, batch, channels, size, ours, *_ in rows:
        start = time.perf_counter()
        ours_size = len(equivariant_basis(OrthogonalGroup(n), k, k, use_cache=False))
        ours_basis = time.perf_counter() - start
        assert ours_size == size
        if recorded is not None:
            theirs = dict(recorded.get(f"{n},{k}", {"failed": "not run: .venv-emlp absent"}))
        elif not EMLP_PYTHON.exists():
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
           (SymplecticGroup(4), 6, 6), (OrthogonalGroup(2), 6, 6), (SymplecticGroup(6), 6, 6),
           # SO(n) with a dependent Levi-Civita half (the nested-fan rule)
           (SpecialOrthogonalGroup(2), 6, 6), (SpecialOrthogonalGroup(4), 6, 6),
           (SpecialOrthogonalGroup(6), 6, 6), (SpecialOrthogonalGroup(3), 5, 6),
           (SpecialOrthogonalGroup(5), 5, 6)]
QUICK_SMALL_N = [(OrthogonalGroup(2), 3, 3), (SymplecticGroup(4), 3, 3)]
SMALL_N_TITLE = "Small-n bases (dependent spanning sets), generation time"
SMALL_N_COLUMNS = ["group", "k", "l", "spanning set", "basis", "exact dimension",
                   "time (s, best of 3; 1 above 2 s)", "CPU time (s)"]


def small_n_rows(cases=SMALL_N):
    rows = []
    for group, k, l in cases:  # noqa: E741
        times, cpu = [], []
        while len(times) < 3 and (not times or min(times) < 2.0):
            start, start_cpu = time.perf_counter(), time.process_time()
            basis = equivariant_basis(group, k, l, use_cache=False, progress=False,
                                      max_elements=10**6)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        spanning = equivariant_basis(group, k, l, spanning=True, use_cache=False,
                                     max_elements=10**6)
        exact = equivariant_dimension(group, k, l)
        if len(basis) != exact:
            raise SystemExit(f"{group}, {k} -> {l}: basis {len(basis)} != dimension {exact}")
        rows.append([str(group), k, l, len(spanning), len(basis), exact, min(times), min(cpu)])
        print(rows[-1], flush=True)
    return rows


def ms(value):
    return "—" if value is None else f"{value * 1e3:.2f}"


def _recorded_emlp(path: Path) -> dict:
    """The EMLP figures of the last run that had EMLP, from the recorded JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("emlp_recorded", {})
    except (OSError, json.JSONDecodeError):
        return {}


def summary_tables(rows, emlp, elements, small, emlp_note):
    layer_table = {
        "title": "O(n) `EquivariantLinear`, factored product vs dense matmul and EMLP's basis "
                 "route",
        "columns": ["n", "k = l", "basis", "ours (ms)", "dense matmul (ms)",
                    "speed-up vs matmul", "EMLP forward (ms)", "EMLP: solve basis (s)", "EMLP"],
        "rows": [], "note": emlp_note}
    for (n, k, _b, ch, size, ours, dense, _build, _err), (*_, theirs) in zip(rows, emlp,
                                                                            strict=True):
        dense_cell = (f"not built ({(ch * n**k) ** 2:.1e} entries)" if dense is None
                      else 1e3 * dense)
        speed = None if dense is None else f"{dense / ours:.2g}x"
        forward = theirs.get("forward_seconds")
        basis_s = theirs.get("basis_seconds")
        layer_table["rows"].append([n, k, size, 1e3 * ours, dense_cell, speed,
                                    None if forward is None else 1e3 * forward, basis_s,
                                    theirs.get("failed", "finished")])
    element_table = {
        "title": "One Sp(n) / SO(n) element: `apply_element` vs dense `matrix(n) @ x`",
        "columns": ["group", "element", "k", "l", "batch", "apply_element (ms)",
                    "dense matmul (ms)", "building matrix (ms)"],
        "rows": [[f"{fam}({n})", f"`{name}`", k, l, batch, 1e3 * fast,
                  None if dense is None else 1e3 * dense, None if build is None else 1e3 * build]
                 for fam, name, n, k, l, batch, fast, dense, build, _ in elements]}
    small_table = {"title": SMALL_N_TITLE, "columns": SMALL_N_COLUMNS, "rows": small}
    return [layer_table, element_table, small_table]


def details_markdown(rows, emlp, elements, small, emlp_note) -> str:
    """Every column, for benchmarks/results/brauer.md."""
    layer = [[n, k, b, ch, size, 1e3 * ours, None if dense is None else 1e3 * dense,
              None if build is None else 1e3 * build,
              None if dense is None else f"{dense / ours:.2g}x", err]
             for n, k, b, ch, size, ours, dense, build, err in rows]
    their = [[n, k, b, ch, size, 1e3 * ours_basis, t.get("basis_seconds"),
              t.get("layer_seconds"), 1e3 * ours,
              None if "forward_seconds" not in t else 1e3 * t["forward_seconds"],
              None if "matmul_seconds" not in t else 1e3 * t["matmul_seconds"],
              t.get("peak_mb"), t.get("failed", "finished")]
             for n, k, b, ch, size, ours_basis, ours, t in emlp]
    element = [[f"{fam}({n})", f"`{name}`", n, k, l, batch, 1e3 * fast,
                None if dense is None else 1e3 * dense, None if build is None else 1e3 * build,
                err] for fam, name, n, k, l, batch, fast, dense, build, err in elements]
    parts = [
        "## O(n) EquivariantLinear (Brauer basis) vs dense matmul (float32, forward, CPU)", "",
        table(["n", "k = l", "batch", "C", "basis", "factored (ms)", "dense matmul (ms)",
               "building dense W (ms)", "speed-up vs matmul", "max abs diff"], layer), "",
        "## The same O(n) layers through EMLP's basis route", "", emlp_note, "",
        table(["n", "k = l", "batch", "C", "basis", "ours: basis (ms)",
               "EMLP: solve basis (s)", "EMLP: build Linear (s)", "ours: forward (ms)",
               "EMLP forward (ms)", "EMLP matmul (ms)", "EMLP peak RSS (MB)", "status"], their),
        "", "## One Sp(n) / SO(n) element: `apply_element` vs dense `matrix(n) @ x`", "",
        table(["group", "element", "n", "k", "l", "batch", "apply_element (ms)",
               "dense matmul (ms)", "building matrix (ms)", "max abs diff"], element), "",
        f"## {SMALL_N_TITLE}", "", table(SMALL_N_COLUMNS, small), ""]
    return "\n".join(parts)


def main():
    p = parser("O(n), SO(n), Sp(n) layers and elements (Brauer diagrams)", family="brauer")
    p.add_argument("--small-n", action="store_true",
                   help="only the small-n basis table (replaces it in the recorded JSON)")
    args = setup(p.parse_args())
    recorded_path = Path(__file__).parent / "results" / "brauer.json"
    if args.small_n:
        doc = json.loads(recorded_path.read_text(encoding="utf-8"))
        doc["tables"] = [t for t in doc["tables"] if t.get("title") != SMALL_N_TITLE]
        doc["tables"].append({"title": SMALL_N_TITLE, "columns": SMALL_N_COLUMNS,
                              "rows": small_n_rows(args.pick(quick=QUICK_SMALL_N,
                                                             default=SMALL_N))})
        write_results(doc, args.out if args.size == "quick" else recorded_path)
        return
    load = os.getloadavg()[0]
    rows = layer_rows(args.pick(quick=QUICK_CASES, default=CASES))
    recorded = _recorded_emlp(recorded_path)
    if EMLP_PYTHON.exists():
        emlp = emlp_rows(rows)
        emlp_note = (f"EMLP, jax {emlp_versions()} run in this run (own venv `.venv-emlp`, "
                     f"one subprocess per case, {EMLP_TIMEOUT_S} s timeout, 16 GB cap).")
        recorded = {"date": time.strftime("%Y-%m-%d"), "versions": emlp_versions(),
                    "cases": {f"{n},{k}": t for n, k, *_, t in emlp}}
    else:
        emlp = emlp_rows(rows, recorded.get("cases", {}))
        emlp_note = (f"EMLP is not installed here (`.venv-emlp`): its columns are the run of "
                     f"{recorded.get('date', '?')} (emlp, jax {recorded.get('versions', '?')}); "
                     "the other columns are this run's.")
    elements = element_rows()
    small = small_n_rows(args.pick(quick=QUICK_SMALL_N, default=SMALL_N))
    details = Path(args.out).with_suffix(".md")
    details.write_text(details_markdown(rows, emlp, elements, small, emlp_note),
                       encoding="utf-8")
    doc = results_document(
        "brauer", "O(n), SO(n), Sp(n) layers (Brauer diagrams): forward, float32, CPU",
        args=args, tables=summary_tables(rows, emlp, elements, small, emlp_note),
        setup="One thread; times: best of 5 after a warm-up call. Batch and channels per row "
              "as in the full table (batch 32 → 2 as n grows, 16 or 8 channels). EMLP's "
              "forward is `emlp.nn.Linear` under `jax.jit` (it projects its weight on every "
              "call); its basis is solved numerically, ours is generated without solving "
              "anything; the basis sizes agree (checked by the script). Load average "
              f"{load:.1f} on {os.cpu_count()} cores at the start of the run.",
        anchors="a dense matmul with the layer's n^k × n^k weight; EMLP 1.0.3 (Finzi et al., "
                "ICML 2021) in its own venv.",
        details=f"benchmarks/results/{details.name}", emlp_recorded=recorded)
    print(write_results(doc, args.out))


if __name__ == "__main__":
    main()
