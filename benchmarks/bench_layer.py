"""EquivariantLinear (factored, PyTorch path) vs a dense matmul with the materialised weight.

Run: .venv/bin/python benchmarks/bench_layer.py   -> benchmarks/results/layer.md
Dense baseline: W = Σ_i Λ_i ⊗ n^{-s_i} B_i as a (C_out·n^l, C_in·n^k) matrix built once
(its build time reported separately), then one matmul per forward: the strongest dense route.
"""

import time
from pathlib import Path

import torch
from _machine import provenance  # sibling module of this script

from geomlayers.groups import SymmetricGroup
from geomlayers.nn import EquivariantLinear

CASES = [  # n, k, l, batch, channels
    (10, 2, 2, 32, 32),
    (20, 2, 2, 16, 16),
    (40, 2, 2, 8, 16),
    (8, 3, 3, 8, 16),
    (12, 3, 3, 4, 16),
]


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


def main():
    torch.manual_seed(0)
    rows = []
    for n, k, l, batch, channels in CASES:
        layer = EquivariantLinear(SymmetricGroup(n), k, l, channels, channels, bias=False)
        x = torch.randn(batch, channels, *[n] * k)
        with torch.no_grad():
            ours = best_of(lambda: layer(x))  # noqa: B023 (called immediately)
            dense_entries = (channels * n**l) * (channels * n**k)
            if dense_entries <= 3e8 and len(layer.basis) * n ** (k + l) <= 2e8:
                start = time.perf_counter()
                weight = dense_weight(layer)
                build = time.perf_counter() - start
                flat = x.reshape(batch, -1)
                dense = best_of(lambda: flat @ weight.T)  # noqa: B023
                error = float((flat @ weight.T - layer(x).reshape(batch, -1)).abs().max())
                rows.append((n, k, l, batch, channels, len(layer.basis), ours, dense, build, error))
            else:
                rows.append((n, k, l, batch, channels, len(layer.basis), ours, None, None, None))
            print(rows[-1], flush=True)
    lines = [
        "## EquivariantLinear vs dense matmul (S_n, float32, forward, CPU)",
        "",
        provenance(".venv/bin/python benchmarks/bench_layer.py") + " Times: best of 5.",
        "",
        "| n | k | l | batch | C_in=C_out | basis | factored (ms) | dense matmul (ms) "
        "| building dense W (ms) | speed-up vs matmul | max abs diff |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, k, l, batch, ch, size, ours, dense, build, error in rows:
        if dense is None:
            lines.append(f"| {n} | {k} | {l} | {batch} | {ch} | {size} | {ours * 1e3:.1f} | "
                         "dense W too large to build here | — | — | — |")
        else:
            lines.append(f"| {n} | {k} | {l} | {batch} | {ch} | {size} | {ours * 1e3:.1f} | "
                         f"{dense * 1e3:.1f} | {build * 1e3:.0f} | {dense / ours:.1f}x | "
                         f"{error:.1e} |")
    out = Path(__file__).parent / "results" / "layer.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
