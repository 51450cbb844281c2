"""GLGENN vs CGENN vs MLP (O(5) regression, O(5) convex hull) and the geometric-product speed.

Run: .venv/bin/python benchmarks/bench_clifford.py   -> benchmarks/results/clifford.md
(``--tasks paper strict`` re-runs only those sections and keeps the others from the old file).

One script, one process, 1 thread; every model is trained here on the same data.

* O(5) regression, two protocols on the same training draws (run r: seed 100 + r):
  *paper*: the GLGENN repo's settings (batch 15, constant lr 1e-3, steps 1000 / 1000 / 300 /
  3000, 5 runs, 100-sample validation set per run), reported in standardised units (MSE ÷ σ²_y
  of the training split) next to the paper and to the authors' own code run on this machine;
  *strict*: ours, batch 32, cosine decay, longer training, 16,384 test samples, target units.
* Hull volume: batch 32, cosine, 2,000-4,000 steps (GLGENN repo: 512-2,048 steps of batch
  128-256; CGENN: 131,072), one run, test MSE in volume units.
* Speed: our index-gather geometric product vs the dense Cayley einsum that the CGENN / GLGENN
  code uses (a ``(2^n, 2^n, 2^n)`` table; for a layer, a per-channel weighted Cayley tensor
  ``(C, 2^n, 2^n, 2^n)`` rebuilt at every forward).
"""

import math
import statistics
import sys
import time
from pathlib import Path

import torch
from _harness import parser as harness_parser
from _harness import results_document, setup, tables_from_markdown, write_results
from _machine import best_of, provenance  # sibling modules of this script
from torch import nn

from geomlayers.clifford import CliffordAlgebra
from geomlayers.clifford.datasets import convex_hull_volume, o5_regression, o5_standardization
from geomlayers.models import ConvexHullNet, O5RegressionNet
from geomlayers.nn.clifford import CliffordGeometricProduct

RESULTS = Path(__file__).parent / "results" / "clifford.md"
REG_SIZES = (30, 300, 3000, 30000)
HULL_SIZES = (256, 1024, 4096, 16384)
REG_ANCHORS = {"GLGENN": (0.1055, 0.0020, 0.0031, 0.0011),
               "CGENN": (0.0791, 0.0089, 0.0012, 0.0003),
               "MLP": (28.10, 0.248, 0.0623, 0.0622)}
HULL_ANCHORS = {"GLGENN": (16.94, 10.40, 6.20, 4.46), "CGENN": (18.71, 11.93, 6.10, 4.11)}
MODELS = ("GLGENN", "CGENN", "MLP")
PAPER_STEPS, PAPER_BATCH = (1000, 1000, 300, 3000), 15  # GLGENN repo, experiments/regression.csv

# The authors' own code (github.com/katyafilimoshina/glgenn @ e7f4c2b: OnDataset, OnGLGMLP
# with the CSV's 8→380→380→1 head, their Trainer; CGENN: DavidRuhe/clifford-group-equivariant-
# neural-networks, O5CGMLP with the same head, in the same pipeline), run on this machine in a
# scratch copy outside the repository: 5 trials (numpy/torch seeds 0-4), batch 15, Adam lr 1e-3,
# no schedule, steps 1000 / 1000 / 300 / 3000, evaluated after the last step. Per N: the val-100
# MSE ÷ σ²_y of the trial's training split (mean, median), the val-100 MSE and the MSE on 16,384
# fresh samples in target units (means).
AUTHORS_RUN_HERE = {
    "GLGENN": [{"val_std": (0.0653, 0.03235), "val": 1.666, "test": 1.933},
               {"val_std": (0.0136, 0.01042), "val": 0.4131, "test": 0.2741},
               {"val_std": (0.01704, 0.02189), "val": 0.6621, "test": 0.5736},
               {"val_std": (0.003017, 0.0009202), "val": 0.1139, "test": 0.1503}],
    "CGENN": [{"val_std": (0.08062, 0.03438), "val": 2.068, "test": 2.145},
              {"val_std": (0.005376, 0.004093), "val": 0.1691, "test": 0.1614},
              {"val_std": (0.007585, 0.004597), "val": 0.2938, "test": 0.2585},
              {"val_std": (0.00124, 0.0003301), "val": 0.04746, "test": 0.05457}]
}


#: the hand-written reading of these results: a dated lab note
NOTES = "docs/notes/2026-12-07-clifford-benchmark.md"



# ---------------------------------------------------------------- dense (authors') layout
def dense_product(a, b, cayley):
    return torch.einsum("...i,ijk,...j->...k", a, cayley, b)


def dense_layer_forward(layer: CliffordGeometricProduct, x: torch.Tensor, cayley: torch.Tensor):
    """The same layer, computed as the CGENN/GLGENN code does: weights expanded to a
    (C, 2^n, 2^n, 2^n) weighted Cayley tensor, then one dense einsum."""
    algebra = layer.algebra
    index = algebra.subspace_index(layer.subspaces)
    paths = algebra.product_paths(layer.subspaces)
    path_id = torch.full(paths.shape, -1)
    path_id[paths] = torch.arange(int(paths.sum()))
    blade_path = path_id[index][:, index][:, :, index]  # (left, right, out)
    weight = layer.weight[:, blade_path.clamp(min=0)] * (blade_path >= 0) * cayley
    y = layer.linear_right(x)
    if layer.normalization is not None:
        y = layer.normalization(y)
    out = torch.einsum("bci,cijk,bcj->bck", x, weight, y)
    if layer.linear_left is not None:
        out = (layer.linear_left(x) + out) / math.sqrt(2)
    return out


def speed_rows(quick=False):
    rows = []
    for n in (3,) if quick else (3, 4, 5, 6):
        algebra = CliffordAlgebra(n)
        cayley = algebra.cayley(dtype=torch.float32)
        a, b = torch.randn(1024, algebra.dim), torch.randn(1024, algebra.dim)
        ours = best_of(lambda: algebra.geometric_product(a, b, backend="gather"))  # noqa: B023
        dense = best_of(lambda: dense_product(a, b, cayley))  # noqa: B023
        ref = dense_product(a, b, cayley)
        error = float((algebra.geometric_product(a, b, backend="gather") - ref).abs().max())
        rows.append((f"geometric product (gather; default route: {algebra.product_backend}), "
                     "1024 multivectors", n, ours, dense, error))
        print(rows[-1], flush=True)
    algebra = CliffordAlgebra(5)
    cayley = algebra.cayley(dtype=torch.float32)
    cases = (("GLGENN QTGP", "type", False), ("CGENN SteerableGP", "grade", True))
    for name, subspaces, first in cases:
        layer = CliffordGeometricProduct(algebra, 32, subspaces=subspaces, first_order=first)
        x = torch.randn(32, 32, algebra.dim, requires_grad=True)
        grad = torch.randn(32, 32, algebra.dim)
        with torch.no_grad():
            error = float((layer(x) - dense_layer_forward(layer, x, cayley)).abs().max())
        with torch.no_grad():
            ours = best_of(lambda: layer(x))  # noqa: B023
            dense = best_of(lambda: dense_layer_forward(layer, x, cayley))  # noqa: B023
        rows.append((f"{name} layer forward, batch 32 x 32 channels", 5, ours, dense, error))
        ours = best_of(lambda: layer(x).backward(grad))  # noqa: B023
        dense = best_of(lambda: dense_layer_forward(layer, x, cayley).backward(grad))  # noqa: B023
        rows.append((f"{name} layer forward+backward, batch 32 x 32 channels", 5, ours, dense,
                     error))
        print(rows[-2:], flush=True)
    return rows


# ---------------------------------------------------------------- training
class MLP(nn.Module):
    def __init__(self, inputs, width, act):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(inputs, width), act(),
                                 nn.Linear(width, width), act(), nn.Linear(width, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)


def batches(size, batch, gen):
    """Endless mini-batch indices: a fresh permutation per epoch, last partial batch dropped
    (the authors' ``DataLoader(shuffle=True, drop_last=True)``)."""
    while True:
        perm = torch.randperm(size, generator=gen)
        for start in range(0, size - batch + 1, batch):
            yield perm[start:start + batch]


def train(model, x, z, steps, batch, cosine, seed, lr=1e-3):
    """Adam on standardised targets ``z``; cosine decay to 0 or constant lr. Returns samples/s."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if cosine else None
    batch = min(batch, len(x))
    start = time.perf_counter()
    for _, idx in zip(range(steps), batches(len(x), batch, gen), strict=False):
        loss = (model(x[idx]) - z[idx]).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
    return steps * batch / (time.perf_counter() - start)


def predict(model, x):
    with torch.no_grad():
        return torch.cat([model(chunk) for chunk in x.split(1024)])


def regression_run(make, x, y, val, test, steps, protocol, seed):
    """One training run on (x, y) under ``protocol``; returns the metrics of the run."""
    scale, mean, std = o5_standardization(x, y)
    scale = scale.reshape(1, -1, 1)
    torch.manual_seed(seed)
    model = make()
    batch, cosine = (PAPER_BATCH, False) if protocol == "paper" else (32, True)
    speed = train(model, x / scale, (y - mean) / std, steps, batch, cosine, seed)
    result = {"speed": speed, "std": float(std)}
    for name, (xs, ys) in (("val", val), ("test", test)):
        mse = float((predict(model, xs / scale) * std + mean - ys).square().mean())
        result[name] = mse
        result[name + "_std"] = mse / float(std) ** 2
    return result


def regression(makers, steps, runs, protocol, test):
    """``runs`` runs per (model, N); run r trains on the first N samples of its own draw
    (seed 100 + r) and is validated on its own 100 samples (seed 200 + r), as the GLGENN repo
    draws fresh data per trial; the 16,384-sample test set (seed 2) is shared."""
    out = {}
    for run in range(runs):
        x_all, y_all = (t.float() for t in o5_regression(max(REG_SIZES), seed=100 + run))
        val = tuple(t.float() for t in o5_regression(100, seed=200 + run))
        for size in REG_SIZES:
            for name, make in makers.items():
                res = regression_run(make, x_all[:size], y_all[:size], val, test,
                                     steps[size], protocol, seed=run)
                out.setdefault((name, size), []).append(res)
                print(protocol, name, size, run, {k: round(v, 5) for k, v in res.items()},
                      flush=True)
    return out


def hull_task(makers, steps, data, test):
    """Hull volume: one run per (model, N), batch 32, cosine; test MSE in volume units."""
    (x_all, y_all), (x_test, y_test) = data, test
    out = {}
    for size in HULL_SIZES:
        x, y = x_all[:size], y_all[:size]
        mean, std = y.mean(), y.std(correction=0)
        for name, make in makers.items():
            torch.manual_seed(0)
            model = make()
            speed = train(model, x, (y - mean) / std, steps[size], 32, True, 0)
            mse = float((predict(model, x_test) * std + mean - y_test).square().mean())
            out[(name, size)] = (mse, speed)
            print("hull", name, size, out[(name, size)], flush=True)
    return out


# ---------------------------------------------------------------- tables
def count(model):
    return sum(p.numel() for p in model.parameters())


def _stat(results, key, how):
    values = [r[key] for r in results]
    return statistics.mean(values) if how == "mean" else statistics.median(values)


def _cells(results, key):
    return [f"{_stat(r, key, 'mean'):.4g} ({_stat(r, key, 'median'):.4g})" for r in results]


def _header(first, sizes, last=None):
    cols = first.split(" | ") + [f"N={s}" for s in sizes] + ([last] if last else [])
    return ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]


def paper_protocol_tables(res, runs, steps):
    steps_text = " / ".join(f"{steps[s]:,}" for s in REG_SIZES)
    lines = ["### O(5) regression, GLGENN-repo protocol (side by side with the paper)", "",
             f"The settings of the GLGENN repo's `experiments/regression.csv`: batch {PAPER_BATCH} "
             "(epoch shuffling, last partial batch dropped), Adam lr 1e-3 constant (no schedule), "
             f"steps {steps_text}, MLP head 8→380→380→1, {runs} runs, each on its own training "
             "draw, validated on its own 100 samples (`num_test_samples=100`). ", "",
             "**(a) val-100 MSE in standardised units** (MSE ÷ σ²_y of the run's training split), "
             "mean (median) over runs. The paper rows are the means of the CSV's `val loss`.", ""]
    lines += _header("model", REG_SIZES)
    for name in MODELS:
        lines.append(f"| {name} (ours) | " + " | ".join(
            _cells([res[(name, s)] for s in REG_SIZES], "val_std")) + " |")
    for name, values in AUTHORS_RUN_HERE.items():
        lines.append(f"| {name} (authors' code, run here) | " + " | ".join(
            f"{v['val_std'][0]:.4g} ({v['val_std'][1]:.4g})" for v in values) + " |")
    for name in ("GLGENN", "CGENN"):
        lines.append(f"| {name} (paper) | " + " | ".join(f"{v:g}" for v in REG_ANCHORS[name])
                     + " |")
    lines += ["", "**(b) the same runs in target units**: val-100 MSE / 16,384-sample test MSE, "
              "means over runs. The MLP paper row is the CGENN/GLGENN papers' MLP baseline "
              "(target units, longer training).", ""]
    lines += _header("model", REG_SIZES)
    for name in MODELS:
        lines.append(f"| {name} (ours) | " + " | ".join(
            f"{_stat(res[(name, s)], 'val', 'mean'):.4g} / "
            f"{_stat(res[(name, s)], 'test', 'mean'):.4g}" for s in REG_SIZES) + " |")
    for name, values in AUTHORS_RUN_HERE.items():
        lines.append(f"| {name} (authors' code, run here) | " + " | ".join(
            f"{v['val']:.4g} / {v['test']:.4g}" for v in values) + " |")
    lines.append("| MLP (paper) | " + " | ".join(f"{v:g}" for v in REG_ANCHORS["MLP"]) + " |")
    return lines


def strict_table(res, runs, steps, params):
    steps_text = " / ".join(f"{steps[s]:,}" for s in REG_SIZES)
    lines = ["### O(5) regression, our protocol (trained to convergence, large test set)", "",
             "Test MSE in target units on 16,384 samples (seed 2), mean (median) over "
             f"{runs} runs on the same training draws as above; batch 32 (epoch shuffling), "
             f"Adam lr 1e-3 with cosine decay to 0, steps {steps_text}. Training "
             "throughput is the mean over N.", ""]
    lines += _header("model | params", REG_SIZES, "train samples/s")
    for name in MODELS:
        rows = [res[(name, s)] for s in REG_SIZES]
        speed = statistics.mean(_stat(r, "speed", "mean") for r in rows)
        lines.append(f"| {name} (ours) | {params[name]:,} | " + " | ".join(_cells(rows, "test"))
                     + f" | {speed:,.0f} |")
    lines += ["", "The same runs scored as the GLGENN repo scores (each run's own 100 validation "
              "samples): val-100 MSE in target units / in standardised units, means over runs.",
              ""]
    lines += _header("model", REG_SIZES)
    for name in MODELS:
        lines.append(f"| {name} (ours) | " + " | ".join(
            f"{_stat(res[(name, s)], 'val', 'mean'):.3g} / "
            f"{_stat(res[(name, s)], 'val_std', 'mean'):.3g}" for s in REG_SIZES) + " |")
    return lines


def hull_table(res, steps, params, test):
    steps_text = " / ".join(f"{steps[s]:,}" for s in HULL_SIZES)
    lines = ["### O(5) convex hull volume, 16 points (train N)", "",
             f"Test MSE in volume units on {test:,} test samples, 1 run; batch 32, Adam lr 1e-3 "
             f"cosine, steps {steps_text}. Paper rows: means of 5 runs that saw 65k-524k samples "
             "(GLGENN repo CSV).", ""]
    lines += _header("model | params", HULL_SIZES, "train samples/s")
    for name in params:
        speed = statistics.mean(res[(name, s)][1] for s in HULL_SIZES)
        lines.append(f"| {name} (ours) | {params[name]:,} | " + " | ".join(
            f"{res[(name, s)][0]:.4g}" for s in HULL_SIZES) + f" | {speed:,.0f} |")
    for name, values in HULL_ANCHORS.items():
        lines.append(f"| {name} (paper) | | " + " | ".join(f"{v:g}" for v in values) + " | |")
    return lines


def speed_table(speed):
    lines = ["### Geometric product: index gather (ours) vs dense Cayley einsum (authors' "
             "layout)", "", "Times: best of 5, float32, 1 thread.", "",
             "| operation | n | ours (ms) | dense einsum (ms) | speed-up | max abs diff |",
             "|---|---|---|---|---|---|"]
    for op, n, ours, dense, error in speed:
        lines.append(f"| {op} | {n} | {ours * 1e3:.2f} | {dense * 1e3:.2f} | "
                     f"{dense / ours:.1f}x | {error:.1e} |")
    return lines


def old_sections(path):
    """``### title`` → lines of the previous results file (kept for tasks not re-run)."""
    sections, title = {}, None
    if path.exists():
        for line in path.read_text().splitlines():
            if line.startswith("### "):
                title = line
                sections[title] = []
            if title is not None:
                sections[title].append(line)
    return sections


def kept(prefix, path):
    lines = []
    for title, body in old_sections(path).items():
        if title.startswith(prefix):
            lines += [*body] if body[-1] == "" else [*body, ""]
    return lines[:-1] if lines else [f"{prefix} (not run)"]


def previous_run(path, tasks):
    """The provenance of the run whose sections are kept (when not all sections re-run)."""
    if set(tasks) == {"speed", "paper", "strict", "hull"} or not path.exists():
        return []
    first = next((line for line in path.read_text().splitlines()
                  if line.startswith("Machine:")), None)
    return ["", "Sections not re-run come from the previous run: " + first] if first else []


def main():
    parser = harness_parser(__doc__.splitlines()[0], family="clifford")
    parser.add_argument("--tasks", nargs="+", default=["speed", "paper", "strict", "hull"],
                        choices=["speed", "paper", "strict", "hull"],
                        help="sections to run; the others are copied from the old results")
    parser.add_argument("--paper-steps", type=int, nargs=4, default=list(PAPER_STEPS))
    parser.add_argument("--paper-runs", type=int, default=5)
    parser.add_argument("--reg-steps", type=int, nargs=4, default=[1000, 2000, 5000, 10000],
                        help="steps of our protocol for N = 30, 300, 3000, 30000")
    parser.add_argument("--reg-runs", type=int, default=3)
    parser.add_argument("--hull-steps", type=int, nargs=4, default=[2000, 2500, 3500, 4000])
    parser.add_argument("--hull-test", type=int, default=2048)
    parser.add_argument("--markdown", type=Path, default=None,
                        help="the longer markdown report (default benchmarks/results/"
                             "clifford.md; none for --quick)")
    args = setup(parser.parse_args())
    if args.size == "quick":  # a smoke run: tiny training runs, no speed sweep beyond n = 3
        args.paper_steps, args.paper_runs, args.reg_steps = [5] * 4, 1, [5] * 4
        args.reg_runs, args.hull_steps, args.hull_test = 1, [5] * 4, 64
    markdown = args.markdown or (None if args.size == "quick" else RESULTS)
    wall = time.perf_counter()
    reg_makers = {"GLGENN": lambda: O5RegressionNet("glgenn"),
                  "CGENN": lambda: O5RegressionNet("cgenn"),
                  "MLP": lambda: MLP(10, 380, nn.ReLU)}
    hull_makers = {"GLGENN": lambda: ConvexHullNet("glgenn"),
                   "CGENN": lambda: ConvexHullNet("cgenn"),
                   "MLP": lambda: MLP(80, 128, nn.SiLU)}
    reg_models = {name: make() for name, make in reg_makers.items()}
    hull_models = {name: make() for name, make in hull_makers.items()}
    test = tuple(t.float() for t in o5_regression(args.pick(quick=256, default=16384),
                                                   seed=2))
    sections = {}
    if "speed" in args.tasks:
        sections["speed"] = speed_table(speed_rows(quick=args.size == "quick"))
    if "paper" in args.tasks:
        steps = dict(zip(REG_SIZES, args.paper_steps, strict=True))
        res = regression(reg_makers, steps, args.paper_runs, "paper", test)
        sections["paper"] = paper_protocol_tables(res, args.paper_runs, steps)
    if "strict" in args.tasks:
        steps = dict(zip(REG_SIZES, args.reg_steps, strict=True))
        res = regression(reg_makers, steps, args.reg_runs, "strict", test)
        sections["strict"] = strict_table(res, args.reg_runs, steps,
                                          {k: count(v) for k, v in reg_models.items()})
    if "hull" in args.tasks:
        hx, hy = convex_hull_volume(max(HULL_SIZES), seed=3)
        hx_test, hy_test = convex_hull_volume(args.hull_test, seed=4)
        steps = dict(zip(HULL_SIZES, args.hull_steps, strict=True))
        res = hull_task(hull_makers, steps, (hx.float(), hy.float()),
                        (hx_test.float(), hy_test.float()))
        sections["hull"] = hull_table(res, steps, {k: count(v) for k, v in hull_models.items()},
                                      args.hull_test)
    wall = time.perf_counter() - wall
    command = ".venv/bin/python benchmarks/bench_clifford.py " + " ".join(sys.argv[1:])
    lines = ["## Clifford layers: GLGENN vs CGENN vs MLP (CPU, float32)", "",
             provenance(command.strip()) + f" Wall time {wall:.0f} s; sections run: "
             f"{', '.join(args.tasks)}.", *previous_run(markdown or RESULTS, args.tasks),
             "", "### Parameter counts (test-checked)", "",
             "| task | GLGENN | CGENN | paper GLGENN / CGENN |", "|---|---|---|---|",
             f"| O(5) regression, Clifford block | "
             f"{reg_models['GLGENN'].clifford_parameters():,} | "
             f"{reg_models['CGENN'].clifford_parameters():,} | 608 / 1,296 (counted from the "
             "authors' code; the GLGENN paper lists 1.8K for CGENN) |",
             f"| O(5) regression, whole model (MLP 8→380→380→1) | {count(reg_models['GLGENN']):,} "
             f"| {count(reg_models['CGENN']):,} | 149,189 / 149,877 |",
             f"| convex hull, whole model | {count(hull_models['GLGENN']):,} | "
             f"{count(hull_models['CGENN']):,} | 24,129 / 58,849 |", ""]
    titles = {"paper": "### O(5) regression, GLGENN-repo protocol",
              "strict": "### O(5) regression, our protocol",
              "hull": "### O(5) convex hull", "speed": "### Geometric product"}
    for key, prefix in titles.items():
        lines += sections.get(key) or kept(prefix, markdown or RESULTS)
        lines += [""]
    lines += [f"Reading: [{NOTES}](../../{NOTES}) (hand-written notes on these runs)."]
    if markdown is not None:
        markdown.parent.mkdir(exist_ok=True)
        markdown.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    doc = results_document(
        "clifford", "Clifford layers: GLGENN vs CGENN vs MLP (CPU, float32)", args=args,
        tables=tables_from_markdown(lines), details=None if markdown is None else str(markdown),
        setup="O(5) regression (GLGENN-repo protocol and ours), O(5) convex hull volume, and "
              "the geometric product against the dense Cayley einsum; see the module docstring.",
        anchors="GLGENN (Filimoshina & Shirokov, ICML 2025) and CGENN (Ruhe et al., NeurIPS "
                "2023) paper figures; the authors' code run here.")
    print(f"results: {write_results(doc, args.out)}")


if __name__ == "__main__":
    main()
