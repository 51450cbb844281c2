"""Graph models at scale: loader epoch times and compiled training steps, on PROTEINS.

* ``--loaders``: one IGN training epoch on PROTEINS (hidden 16, batch 32, one thread) with
  PyG's shuffled ``DataLoader`` and with ``SizeAwareBatchSampler`` (same model, same data).
* ``--compile``: training-step time of IGN and PPGN eager and under
  ``torch.compile(model, dynamic=True)`` (inductor), on the size-aware sampler's batches; the
  number of compilations and graph breaks, and the first (compiling) pass's time. A third
  column runs the eager model on the padded batch, as the compiled model does (eager calls
  crop each batch and split it into size groups; compiled calls cannot, the cut sizes being
  data), to separate the cost of padding from the speed of the compiled code. Inductor's
  caches are off, so the first pass includes a cold compile.

Times are CPU seconds of this (one-thread) process, so that other work on a shared machine
does not count; collation is counted in no column, nor the C++ compiler that inductor runs as
a subprocess during the first compiled pass. A run with only one of the two options
keeps the other's table from the results file; a run naming neither runs both. Results:
``benchmarks/results/pyg_scale.json`` (harness format; ``benchmarks/make_results.py`` puts it
into ``RESULTS.md``).
"""

from __future__ import annotations

import json
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

import torch
from _harness import parser, results_document, setup, write_results
from torch import nn
from torch_geometric.loader import DataLoader

from geomlayers.data.graphs import load_s2v
from geomlayers.pyg import PPGN, InvariantGraphNetwork, SizeAwareBatchSampler

LOADER_TITLE = "IGN training epoch (hidden 16, batch 32, 1 thread), CPU seconds"
COMPILE_TITLE = ("training step, eager and torch.compile(dynamic=True, inductor), median CPU ms "
                 "over the steps")


def make_model(name, in_channels, classes, hidden):
    """The benchmark's IGN (3 layers) or PPGN (3 blocks), sum readout, one hidden MLP layer."""
    if name == "IGN":
        return InvariantGraphNetwork(in_channels, hidden, classes, num_layers=3, readout="sum",
                                     mlp_channels=(2 * hidden,))
    return PPGN(in_channels, hidden, classes, num_blocks=3, depth=2, readout="sum",
                mlp_channels=(2 * hidden,))


def train_steps(model, batches, optimiser):
    """One training step per batch; the CPU seconds of each (this process, one thread)."""
    times = []
    for batch in batches:
        start = time.process_time()
        loss = nn.functional.cross_entropy(model(batch), batch.y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        times.append(time.process_time() - start)
    return times


@contextmanager
def padded_eager():
    """Eager calls take the compiled path's padded batch: no size groups, no crop."""
    from geomlayers.models.graphs import ign, ppgn

    saved = [(module, module.crop, module.forward_by_size) for module in (ign, ppgn)]
    for module, _, _ in saved:
        module.crop = lambda dense, mask: (dense, mask)
        module.forward_by_size = lambda forward, dense, mask, power: forward(dense, mask)
    try:
        yield
    finally:
        for module, crop, forward_by_size in saved:
            module.crop, module.forward_by_size = crop, forward_by_size


def loader_epochs(graphs, args):
    """Epoch CPU seconds of IGN with each loader (the last of ``epochs``: the first builds the
    bases and warms the allocator)."""
    rows, sizes = [], [g.num_nodes for g in graphs]
    for name in ("shuffled DataLoader", "SizeAwareBatchSampler"):
        torch.manual_seed(args.seed)
        model = make_model("IGN", graphs[0].x.shape[1], 2, args.hidden)
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
        waste = None
        if name == "shuffled DataLoader":
            loader = DataLoader(graphs, batch_size=args.batch_size, shuffle=True)
        else:
            sampler = SizeAwareBatchSampler(sizes, args.batch_size, power=2, seed=args.seed)
            loader = DataLoader(graphs, batch_sampler=sampler)
            waste = sampler.padding_waste()
        epochs = [sum(train_steps(model, loader, optimiser)) for _ in range(args.epochs)]
        rows.append([name, len(loader), epochs[-1], waste])
        print(f"{name}: {[round(e, 2) for e in epochs]} s per epoch", flush=True)
    return rows


def compiled_steps(graphs, args):
    """Per model: compilations, graph breaks, first-pass seconds and median step times."""
    from torch._dynamo.testing import CompileCounterWithBackend
    from torch._dynamo.utils import counters
    from torch._inductor import config

    config.force_disable_caches = True  # time a cold compile, not the on-disk cache

    sizes = [g.num_nodes for g in graphs]
    rows, raw = [], {}
    for name in args.models:
        power = 2 if name == "IGN" else 3
        sampler = SizeAwareBatchSampler(sizes, args.batch_size, power=power, seed=args.seed)
        batches = list(DataLoader(graphs, batch_sampler=sampler))[: args.steps]
        torch.manual_seed(args.seed)
        model = make_model(name, graphs[0].x.shape[1], 2, args.hidden)
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
        train_steps(model, batches[:2], optimiser)  # bases, allocator
        torch._dynamo.reset()
        counters.clear()
        counter = CompileCounterWithBackend("inductor")
        compiled = torch.compile(model, dynamic=True, backend=counter)
        first = sum(train_steps(compiled, batches, optimiser))
        # interleaved passes, so that a change of machine load hits all three alike
        eager, padded, fast = [], [], []
        for _ in range(args.rounds):
            eager.append(train_steps(model, batches, optimiser))
            with padded_eager():
                padded.append(train_steps(model, batches, optimiser))
            fast.append(train_steps(compiled, batches, optimiser))
        step_ms = [1e3 * min(statistics.median(p) for p in passes)
                   for passes in (eager, padded, fast)]
        pass_s = [min(sum(p) for p in passes) for passes in (eager, padded, fast)]
        row = [name, len(batches), len({int(b.batch.bincount().max()) for b in batches}),
               counter.frame_count, sum(counters["graph_break"].values()), first, *step_ms,
               step_ms[0] / step_ms[2], *pass_s]
        rows.append(row)
        raw[name] = {"eager_steps_s": eager, "eager_padded_steps_s": padded,
                     "compiled_steps_s": fast,
                     "unique_graphs": counters["stats"]["unique_graphs"]}
        print(name, [round(v, 3) if isinstance(v, float) else v for v in row], flush=True)
    return rows, raw


def saved_table(out: Path, title: str):
    """The table called ``title`` in the results file at ``out``, if it holds one."""
    if not out.exists():
        return None
    doc = json.loads(out.read_text())
    return next((t for t in doc.get("tables", []) if t.get("title") == title), None)


def main(argv=None):
    p = parser(__doc__.split("\n")[0], family="pyg_scale")
    p.add_argument("--loaders", action="store_true")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--dataset", default=None, help="s2v data set (default PROTEINS; "
                   "--quick: MUTAG)")
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--steps", type=int, default=None, help="training steps per pass "
                   "(default 20; --quick: 4)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved timed passes per model")
    p.add_argument("--models", nargs="*", default=None, help="IGN, PPGN (--quick: IGN)")
    args = setup(p.parse_args(argv))
    args.dataset = args.dataset or args.pick(quick="MUTAG", default="PROTEINS")
    args.steps = args.steps or args.pick(quick=4, default=20)
    args.models = args.models or args.pick(quick=["IGN"], default=["IGN", "PPGN"])
    if not (args.loaders or args.compile):  # neither named: both (as run_all.py calls it)
        args.loaders = args.compile = True
    graphs = load_s2v(args.dataset)
    out = Path(args.out)
    tables = []
    loaders = saved_table(out, LOADER_TITLE)
    if args.loaders:
        loaders = {"title": LOADER_TITLE,
                   "columns": ["loader", "batches", "epoch (CPU s)", "padding factor"],
                   "rows": loader_epochs(graphs, args),
                   "note": f"{args.dataset}, epoch {args.epochs} of {args.epochs}; "
                           f"`{args.command}`"}
    if loaders is not None:
        tables.append(loaders)
    raw = {}
    compiled = saved_table(out, COMPILE_TITLE)
    if args.compile:
        rows, raw = compiled_steps(graphs, args)
        compiled = {"title": COMPILE_TITLE,
                    "columns": ["model", "steps", "padded sizes", "compilations",
                                "graph breaks", "first pass (CPU s)", "eager (ms)",
                                "eager padded (ms)", "compiled (ms)", "eager/compiled",
                                "eager pass (s)", "eager padded pass (s)", "compiled pass (s)"],
                    "rows": rows,
                    "note": f"{args.dataset}, hidden {args.hidden}, batch {args.batch_size}, "
                            f"SizeAwareBatchSampler batches; best of {args.rounds} "
                            f"interleaved passes; `{args.command}`"}
    if compiled is not None:
        tables.append(compiled)
    doc = results_document(
        "pyg_scale", "Graph models at scale: loaders and torch.compile (PROTEINS, 1 thread)",
        args=args, tables=tables,
        setup="IGN (3 masked 2→2 layers) and PPGN (3 blocks), hidden 16, sum readout, Adam; "
              "CPU seconds of the one-thread process. Loaders: an IGN epoch with PyG's "
              "shuffled DataLoader and with SizeAwareBatchSampler (power 2). Compile: the "
              "same steps eager, eager on the padded batch (what the compiled model runs), "
              "and compiled with inductor; first pass = the compiled pass that compiles (cold, "
              "inductor caches off; its C++ compiler subprocesses not counted).",
        anchors="issue 36: at most two compilations over batches of varying size; eager "
                "against compiled in the same process.",
        raw=raw)
    write_results(doc, out)


if __name__ == "__main__":
    main()
