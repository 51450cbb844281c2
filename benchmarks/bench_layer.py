"""S_n layer forward+backward: dense, IGN layout, our torch and C++ paths, and matmul baselines.

Run: .venv/bin/python benchmarks/bench_layer.py [--quick] [--clock cpu]
  --quick: n = 10, 20, 40 -> benchmarks/results/layer_speed.json (about 30 s)
  otherwise: n up to 80 and k = l = 3, 4 -> benchmarks/results/layer.md and layer.json

Per case (S_n, float32, CPU, batch B, channels C → D), one training step's forward and
backward (gradients for the input and the weights):

(a) dense: ``W = Σ_i Λ_i ⊗ n^{-s_i} B_i`` built from the parameters every step (the basis
    route of EMLP-style layers), then one ``(B, C·n^k) × (C·n^k, D·n^l)`` matmul;
(b) the layout of the public IGN code (Maron et al. 2019): the 15 operations stacked into a
    ``(B, C, 15, n, n)`` tensor, then mixed by one einsum with ``(C, D, 15)`` coefficients
    (written here from that description);
(c) ``EquivariantLinear(backend="torch")``; (d) ``EquivariantLinear(backend="cpp")``;
(e) two separate channel matmuls for k = l = 2: the identity and transpose diagrams computed
    directly, ``(B·n², C) × (C, D)`` each (every other diagram acts on order ≤ 1 tensors); the
    C++ kernel computes the pair with one matmul's flops (symmetric and antisymmetric
    triangles, ``docs/backends.md``), so this is no longer a lower bound;
(f) one matmul of the same size: ``(B·n², C) × (C, D)``.

Each is timed forward only and forward + backward; the JSON has both and the ratios.

Higher orders (k = l = 3, 4 at n = 20) report time and the memory autograd saves for the
backward pass, next to the size the dense weight would need.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import torch
from _machine import best_of, provenance  # sibling module of this script

from geomlayers.groups import SymmetricGroup
from geomlayers.nn import EquivariantLinear

THREADS = 1
ROUNDS = 60  # interleaved rounds of the small-n table (medians are reported)
DENSE_LIMIT = 1.5e8  # entries of W beyond which (a) is not run
# the small-n table's clock: wall time (default) or this thread's CPU time (--clock cpu), which
# leaves out the time other processes hold the core on a shared machine
CLOCK = [time.perf_counter]



def step(forward, inputs):
    """One forward and backward through ``forward(*inputs)``."""
    out = forward(*inputs)
    out.backward(torch.ones_like(out))


class DenseLayer(torch.nn.Module):
    """(a): the dense basis route, W rebuilt from Λ each step."""

    def __init__(self, layer: EquivariantLinear):
        super().__init__()
        self.weight = torch.nn.Parameter(layer.weight.detach().clone())
        scales = layer.element_scales().float()[:, None, None]
        self.register_buffer("basis", layer.basis.dense(torch.float32, 10**9) * scales)
        self.shape = (layer.out_channels, *[layer.group.n] * layer.l)

    def forward(self, x):
        w = torch.einsum("ioc,iab->oacb", self.weight, self.basis)
        w = w.reshape(self.shape[0] * self.basis.shape[1], -1)
        return (x.reshape(x.shape[0], -1) @ w.T).reshape(x.shape[0], *self.shape)


class IGNLayout(torch.nn.Module):
    """(b): the 15 operations stacked to (B, C, 15, n, n), then one einsum."""

    def __init__(self, channels: int, out_channels: int):
        super().__init__()
        self.coeffs = torch.nn.Parameter(torch.randn(channels, out_channels, 15) / 8)

    def forward(self, x):
        n = x.shape[-1]
        diag = torch.diagonal(x, dim1=-2, dim2=-1)  # (B, C, n)
        rows, cols = x.sum(-1) / n, x.sum(-2) / n
        total, trace = x.sum((-1, -2)) / n**2, diag.sum(-1) / n
        ones = torch.ones(n, n, dtype=x.dtype)

        def on_diag(v):
            return torch.diag_embed(v)

        ops = [
            on_diag(diag), on_diag(trace[..., None].expand_as(diag)), on_diag(rows),
            on_diag(cols), on_diag(total[..., None].expand_as(diag)),
            cols[..., :, None] * ones, rows[..., :, None] * ones, cols[..., None, :] * ones,
            rows[..., None, :] * ones, x, x.transpose(-1, -2), diag[..., :, None] * ones,
            diag[..., None, :] * ones, trace[..., None, None] * ones,
            total[..., None, None] * ones,
        ]
        stacked = torch.stack(ops, dim=2)  # (B, C, 15, n, n)
        return torch.einsum("cds,bcsij->bdij", self.coeffs, stacked)


class LowerBound(torch.nn.Module):
    """(e): identity and transpose terms as two separate (B·n², C)×(C, D) matmuls."""

    def __init__(self, channels: int, out_channels: int):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(out_channels, channels) / 8)
        self.b = torch.nn.Parameter(torch.randn(out_channels, channels) / 8)

    def forward(self, x):
        return torch.einsum("dc,bcij->bdij", self.a, x) + torch.einsum(
            "dc,bcji->bdij", self.b, x)


class OneMatmul(torch.nn.Module):
    """(f): one (B·n², C)×(C, D) channel matmul."""

    def __init__(self, channels: int, out_channels: int):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(out_channels, channels) / 8)

    def forward(self, x):
        return torch.einsum("dc,bcij->bdij", self.a, x)


def forward_only(forward, inputs):
    with torch.no_grad():
        forward(*inputs)


def saved_bytes(module, x) -> int:
    """Bytes of the tensors autograd saves for the backward pass of ``module(x)``."""
    total = 0
    seen = set()

    def pack(tensor):
        nonlocal total
        key = (tensor.data_ptr(), tensor.numel())
        if key not in seen:
            seen.add(key)
            total += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        module(x)
    return total


def interleaved_times(modules: dict, x: torch.Tensor, rounds: int) -> dict:
    """Every time of each module, forward + backward and forward only, over ``rounds`` rounds.

    Every round runs every module once in turn, so load on a shared machine falls on all of
    them alike; two warm-up rounds first.
    """
    times: dict[str, list[float]] = {}
    for round_ in range(rounds + 2):
        for name, module in modules.items():
            for key, fn in ((name, step), (f"{name}_fwd", forward_only)):
                start = CLOCK[0]()
                fn(module, (x,))
                elapsed = CLOCK[0]() - start
                if round_ >= 2:
                    times.setdefault(key, []).append(elapsed)
    return times


def order_two_rows(ns, batch, channels, rounds=ROUNDS):
    """Median times (and the minima, ``*_min``) of the 2 → 2 candidates, interleaved.

    ``torch`` is the fused PyTorch path (``backend="torch"``), ``cpp`` the C++ kernel
    (``backend="cpp"``, the default where the extension builds); the ratios use the faster
    of the two by median (``ours``).
    """
    rows = []
    for n in ns:
        torch.manual_seed(0)
        group = SymmetricGroup(n)
        layers = {b: EquivariantLinear(group, 2, 2, channels, channels, bias=False, backend=b)
                  for b in ("torch", "cpp")}
        layers["cpp"].load_state_dict(layers["torch"].state_dict())
        x = torch.randn(batch, channels, n, n, requires_grad=True)
        modules = {"ign": IGNLayout(channels, channels), "torch": layers["torch"],
                   "cpp": layers["cpp"], "bound": LowerBound(channels, channels),
                   "matmul": OneMatmul(channels, channels)}
        row = {"n": n}
        if (channels * n * n) ** 2 <= DENSE_LIMIT:
            row["dense"] = best_of(lambda: step(DenseLayer(layers["torch"]), (x,)), 3)  # noqa: B023
        times = interleaved_times(modules, x, rounds)
        row.update({key: statistics.median(values) for key, values in times.items()})
        row.update({f"{key}_min": min(values) for key, values in times.items()})
        with torch.no_grad():
            row["diff"] = float((layers["cpp"](x) - layers["torch"](x)).abs().max())
        for mode in ("", "_fwd"):
            best = "cpp" if row["cpp" + mode] <= row["torch" + mode] else "torch"
            row["ours" + mode] = best
            row["ign_over_ours" + mode] = row["ign" + mode] / row[best + mode]
            row["ours_over_matmul" + mode] = row[best + mode] / row["matmul" + mode]
            row["ours_over_matmul_min" + mode] = (min(row[f"cpp{mode}_min"],
                                                      row[f"torch{mode}_min"])
                                                  / row[f"matmul{mode}_min"])
        print({k: (round(v * 1e3, 4) if isinstance(v, float) and k not in ("diff",)
                   and "over" not in k else v) for k, v in row.items()}, flush=True)
        rows.append(row)
    return rows


def higher_order_rows(cases, batch, channels):
    rows = []
    for n, order in cases:
        torch.manual_seed(0)
        row = {"n": n, "k": order, "dense_gb": (channels * n**order) ** 2 * 4 / 1e9}
        for backend in ("torch", "cpp"):
            layer = EquivariantLinear(SymmetricGroup(n), order, order, channels, channels,
                                      bias=False, backend=backend)
            x = torch.randn(batch, channels, *[n] * order, requires_grad=True)
            row[backend] = best_of(lambda: step(layer, (x,)), 2)  # noqa: B023
            row["basis"] = len(layer.basis)
        row["saved_mb"] = saved_bytes(layer, x) / 1e6
        print(row, flush=True)
        rows.append(row)
    return rows


def fmt(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1e3:.2f}"


def speed_document(rows, batch, channels, load: str = "", clock: str = "wall") -> dict:
    """The small-n speed table as a ``geomlayers-bench/1`` document (family ``layer_speed``)."""
    from _harness import results_document

    columns = ["n", "IGN layout fwd+bwd (ms)", "ours torch", "ours C++", "one matmul",
               "IGN/ours fwd+bwd", "ours/matmul fwd+bwd", "IGN/ours fwd", "ours/matmul fwd",
               "ours/matmul fwd+bwd, minima"]
    table = [[r["n"], r["ign"] * 1e3, r["torch"] * 1e3, r["cpp"] * 1e3, r["matmul"] * 1e3,
              round(r["ign_over_ours"], 2), round(r["ours_over_matmul"], 2),
              round(r["ign_over_ours_fwd"], 2), round(r["ours_over_matmul_fwd"], 2),
              round(r["ours_over_matmul_min"], 2)]
             for r in rows]
    title = (f"batch {batch}, channels {channels} → {channels}, float32, 1 thread; medians of "
             f"{ROUNDS} interleaved rounds ({'thread CPU time' if clock == 'cpu' else 'wall'} "
             "clock); ours = the faster backend (C++ kernel or fused PyTorch path)")
    if load:
        title += f"; load average at the start: {load}"
    return results_document(
        "layer_speed", "S_n 2 → 2 layer at small n against the IGN layout and one matmul",
        tables=[{"title": title, "columns": columns, "rows": table}],
        command="python benchmarks/bench_layer.py --quick"
                + (" --clock cpu" if clock == "cpu" else ""),
        setup="One forward (no grad) or forward + backward of EquivariantLinear(S_n, 2, 2) "
              "against the IGN layout (15 stacked operations, one einsum) and one "
              "(B·n², C) × (C, D) matmul (einsum 'dc,bcij->bdij', with its backward), all in "
              "the same process, interleaved round by round.",
        anchors="goal (issue 36): IGN/ours >= 2 at n = 10 and >= 5 at n = 20; ours/matmul <= 3 "
                "from n = 20",
        raw=rows)


def write_speed_results(rows, batch, channels, load: str = "", clock: str = "wall") -> None:
    from _harness import write_results

    write_results(speed_document(rows, batch, channels, load, clock),
                  Path(__file__).parent / "results" / "layer_speed.json")


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 10, 20, 40 only")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="time the small-n table by wall clock (default) or by this "
                             "thread's CPU time (for a shared, loaded machine)")
    args = parser.parse_args()
    if args.clock == "cpu":
        CLOCK[0] = time.thread_time
    torch.set_num_threads(THREADS)
    batch, channels = 8, 32
    load = " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else ""
    print(f"load average: {load}", flush=True)
    rows = order_two_rows([10, 20, 40] if args.quick else [10, 20, 40, 80], batch, channels)
    high = [] if args.quick else higher_order_rows([(20, 3), (20, 4)], 2, 4)
    if args.quick:  # layer_speed.json; the full run writes layer.md and layer.json
        write_speed_results(rows, batch, channels, load, args.clock)
        return
    lines = [
        "## S_n layers: forward + backward (float32, CPU)",
        "",
        provenance(".venv/bin/python benchmarks/bench_layer.py"
                   + (" --clock cpu" if args.clock == "cpu" else ""))
        + f" {THREADS} thread; times are medians of {ROUNDS} interleaved rounds ("
        + ("thread CPU time; " if args.clock == "cpu" else "")
        + f"dense: best of 3 steps, wall clock), in ms; load average {load} at the start.",
        "",
        f"k = l = 2, batch {batch}, channels {channels} → {channels}. (a) dense basis matmul, "
        "W rebuilt from Λ each step; (b) IGN layout (15 ops stacked, one einsum); (c) ours, "
        "torch path; (d) ours, C++ path; (e) identity + transpose as two channel matmuls at n²; "
        "(f) one channel matmul at n².",
        "",
        "| n | (a) dense | (b) IGN layout | (c) ours torch | (d) ours C++ | (e) two matmuls "
        "| (f) one matmul | (b)/best(c,d) | best/(f) | forward: (b)/best | forward: best/(f) "
        "| max abs diff (c)-(d) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']} | {fmt(r.get('dense'))} | {fmt(r['ign'])} | {fmt(r['torch'])} | "
            f"{fmt(r['cpp'])} | {fmt(r['bound'])} | {fmt(r['matmul'])} | "
            f"{r['ign_over_ours']:.1f}x | {r['ours_over_matmul']:.1f}x | "
            f"{r['ign_over_ours_fwd']:.1f}x | {r['ours_over_matmul_fwd']:.1f}x | "
            f"{r['diff']:.1e} |"
        )
    lines += [
        "",
        "Higher orders, n = 20, batch 2, channels 4 → 4, best of 2 steps by wall clock (dense "
        "cannot run: its weight alone would need the size shown):",
        "",
        "| n | k = l | basis | ours torch (ms) | ours C++ (ms) | saved for backward (MB) "
        "| dense W would need (GB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in high:
        lines.append(f"| {r['n']} | {r['k']} | {r['basis']} | {fmt(r['torch'])} | "
                     f"{fmt(r['cpp'])} | {r['saved_mb']:.1f} | {r['dense_gb']:,.0f} |")
    out = Path(__file__).parent / "results" / "layer.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    from _harness import write_results

    write_results(layer_document(rows, high, batch, channels, load, args.clock),
                  Path(__file__).parent / "results" / "layer.json")


def layer_document(rows, high, batch, channels, load: str = "", clock: str = "wall") -> dict:
    """The full run (k = l = 2 up to n = 80, higher orders) as the ``layer`` family document."""
    from _harness import results_document

    def ms(value):
        return None if value is None else value * 1e3

    main_rows = [[r["n"], ms(r.get("dense")), ms(r["ign"]), ms(r["torch"]), ms(r["cpp"]),
                  ms(r["bound"]), ms(r["matmul"]), round(r["ign_over_ours"], 2),
                  round(r["ours_over_matmul"], 2), round(r["ign_over_ours_fwd"], 2),
                  round(r["ours_over_matmul_fwd"], 2), r["diff"]] for r in rows]
    high_rows = [[r["n"], r["k"], r["basis"], ms(r["torch"]), ms(r["cpp"]),
                  round(r["saved_mb"], 1), round(r["dense_gb"])] for r in high]
    clock_name = "thread CPU time" if clock == "cpu" else "wall clock"
    return results_document(
        "layer", "S_n layers: forward + backward (float32, CPU)",
        tables=[
            {"title": f"k = l = 2, batch {batch}, channels {channels} → {channels}; medians of "
                      f"{ROUNDS} interleaved rounds ({clock_name}; dense: best of 3 steps), "
                      f"ms; load average at the start: {load}",
             "columns": ["n", "(a) dense", "(b) IGN layout", "(c) ours torch", "(d) ours C++",
                         "(e) two matmuls", "(f) one matmul", "(b)/ours", "ours/(f)",
                         "forward: (b)/ours", "forward: ours/(f)", "max abs diff (c)-(d)"],
             "rows": main_rows},
            {"title": "Higher orders, n = 20, batch 2, channels 4 → 4 (the dense weight cannot "
                      "be built); best of 2 steps",
             "columns": ["n", "k = l", "basis", "ours torch (ms)", "ours C++ (ms)",
                         "saved for backward (MB)", "dense W would need (GB)"],
             "rows": high_rows},
        ],
        command="python benchmarks/bench_layer.py" + (" --clock cpu" if clock == "cpu" else ""),
        setup="One forward and backward step of EquivariantLinear over S_n, 1 thread. (a) dense "
              "basis matmul, W rebuilt from Λ each step; (b) IGN layout (the 15 operations "
              "stacked, one einsum); (c) ours, torch backend; (d) ours, C++ backend (the "
              "fused 2 → 2 kernel); (e) the identity and transpose terms as two channel "
              "matmuls at n²; (f) one channel matmul at n². ours = the faster of (c), (d).",
        anchors="the IGN layout of Maron et al. (ICLR 2019) and the dense basis matmul, both "
                "run here; one and two channel matmuls of the same size.",
        details="benchmarks/results/layer.md", raw={"order_two": rows, "higher": high})


if __name__ == "__main__":
    main()
