"""O(n) EquivariantLinear (Brauer diagrams, factored) vs dense matmul; Sp/SO element products.

Run: .venv/bin/python benchmarks/bench_brauer.py   -> benchmarks/results/brauer.md
Table 1: `EquivariantLinear(OrthogonalGroup(n), k, k, C, C)` — every Brauer diagram is a
PartitionDiagram, so the layer's shared-reduction path runs — against the strongest dense
route: W = Σ_i Λ_i ⊗ n^{-s_i} E_i materialised once as a (C·n^l, C·n^k) matrix (build time
reported separately), then one matmul per forward.
Table 2: one symplectic Brauer / Brauer–Grood element, `apply_to` vs `matrix(n) @ x`.
EMLP's basis route is not run: it needs its own JAX venv (.venv-emlp), absent here.
"""

import time
from pathlib import Path

import torch
from _machine import provenance  # sibling module of this script

from geomlayers.diagrams.brauer import brauer_grood_diagrams, symplectic_brauer_diagrams
from geomlayers.groups import OrthogonalGroup
from geomlayers.nn.equivariant import EquivariantLinear

CASES = [  # n, k = l, batch, channels
    (3, 2, 32, 16), (10, 2, 32, 16), (50, 2, 8, 16),
    (3, 3, 32, 8), (10, 3, 8, 8), (50, 3, 2, 8),
]
MAX_DENSE_ENTRIES = 1.2e8  # 480 MB of float32


def best_of(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def dense_weight(layer):
    n, k, l = layer.group.n, layer.k, layer.l
    matrices = layer.basis.dense(torch.float32, max_entries=10**9)
    matrices = matrices * layer._scales.float()[:, None, None]
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
        fast = best_of(lambda: element.apply_to(x, n))  # noqa: B023
        entries = n ** (element.k + element.l)
        dense = build = error = None
        if entries <= MAX_DENSE_ENTRIES:
            start = time.perf_counter()
            matrix = element.matrix(n, torch.float32)
            build = time.perf_counter() - start
            flat = x.reshape(batch, -1)
            dense = best_of(lambda: flat @ matrix.T)  # noqa: B023
            error = float((flat @ matrix.T - element.apply_to(x, n).reshape(batch, -1))
                          .abs().max())
        rows.append([family, str(element), n, element.k, element.l, batch, fast, dense, build,
                     error])
        print(rows[-1], flush=True)
    return rows


def ms(value):
    return "—" if value is None else f"{value * 1e3:.2f}"


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rows = layer_rows()
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
    lines += [
        "",
        "EMLP's basis route (Finzi et al. 2021) is not in this table: it needs a separate JAX "
        "venv (`.venv-emlp`), which is absent on this machine.",
        "",
        "## One Sp(n) / SO(n) element: `apply_to` vs dense `matrix(n) @ x` (float32, forward)",
        "",
        "| group | element | n | k | l | batch | apply_to (ms) | dense matmul (ms) "
        "| building matrix (ms) | max abs diff |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for family, name, n, k, l, batch, fast, dense, build, error in elements:
        diff = "—" if error is None else f"{error:.1e}"
        lines.append(f"| {family}({n}) | `{name}` | {n} | {k} | {l} | {batch} | {ms(fast)} | "
                     f"{ms(dense)} | {ms(build)} | {diff} |")
    out = Path(__file__).parent / "results" / "brauer.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
