"""Graph models at scale: loader epoch times, compiled training steps, on PROTEINS.

* ``--loaders``: one IGN training epoch on PROTEINS (hidden 16, batch 32, one thread) with
  PyG's shuffled ``DataLoader`` and with ``SizeAwareBatchSampler`` (same model, same data).
* ``--compile``: training-step time of IGN and PPGN eager and under
  ``torch.compile(model, dynamic=True)`` (inductor), with the size-aware sampler's batches;
  the number of compilations and graph breaks, and the first (compiling) pass's time.

Results go to ``benchmarks/results/pyg_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from _machine import provenance  # sibling module of this script
from torch import nn
from torch_geometric.loader import DataLoader

from geomlayers.data.graphs import load_s2v
from geomlayers.pyg import PPGN, InvariantGraphNetwork, SizeAwareBatchSampler

RESULTS = Path(__file__).parent / "results"


def make_model(name, in_channels, classes, hidden):
    if name == "IGN":
        return InvariantGraphNetwork(in_channels, hidden, classes, num_layers=3, readout="sum",
                                     mlp_channels=(2 * hidden,))
    return PPGN(in_channels, hidden, classes, num_blocks=3, depth=2, readout="sum",
                mlp_channels=(2 * hidden,))


def train_steps(model, loader, limit=None):
    """Run training steps over ``loader``; the CPU seconds of each step.

    CPU time of this (one-thread) process, so that other work on a shared machine does not
    count; batching (collation) is included in neither loader's time.
    """
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for index, batch in enumerate(loader):
        if limit is not None and index >= limit:
            break
        start = time.process_time()
        loss = nn.functional.cross_entropy(model(batch), batch.y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        times.append(time.process_time() - start)
    return times


def loader_epochs(graphs, args):
    """Epoch seconds of an IGN epoch with each loader (second epoch: the first builds the
    bases and warms the allocator)."""
    rows = {}
    sizes = [g.num_nodes for g in graphs]
    for name in ("shuffled DataLoader", "SizeAwareBatchSampler"):
        torch.manual_seed(args.seed)
        model = make_model("IGN", graphs[0].x.shape[1], 2, args.hidden)
        if name == "shuffled DataLoader":
            loader = DataLoader(graphs, batch_size=args.batch_size, shuffle=True)
        else:
            sampler = SizeAwareBatchSampler(sizes, args.batch_size, power=2, seed=args.seed)
            loader = DataLoader(graphs, batch_sampler=sampler)
            rows.setdefault("padding_waste", sampler.padding_waste())
        epochs = [sum(train_steps(model, loader)) for _ in range(args.epochs)]
        rows[name] = {"epoch_s": epochs, "batches": len(loader)}
        print(f"{name}: {[round(e, 2) for e in epochs]} s per epoch", flush=True)
    return rows


def compiled_steps(graphs, args):
    """Median training-step seconds eager and compiled, compile counts and first-pass time."""
    from torch._dynamo.testing import CompileCounterWithBackend
    from torch._dynamo.utils import counters

    sizes = [g.num_nodes for g in graphs]
    rows = {}
    for name in args.models:
        power = 2 if name == "IGN" else 3
        sampler = SizeAwareBatchSampler(sizes, args.batch_size, power=power, seed=args.seed)
        batches = list(DataLoader(graphs, batch_sampler=sampler))[: args.steps]
        torch.manual_seed(args.seed)
        model = make_model(name, graphs[0].x.shape[1], 2, args.hidden)
        train_steps(model, batches[:2])  # bases, allocator
        eager = train_steps(model, batches)
        torch._dynamo.reset()
        counters.clear()
        counter = CompileCounterWithBackend("inductor")
        compiled = torch.compile(model, dynamic=True, backend=counter)
        start = time.process_time()
        first = train_steps(compiled, batches)
        first_pass = time.process_time() - start
        again = train_steps(compiled, batches)
        rows[name] = {
            "steps": len(batches),
            "eager_step_ms": 1e3 * statistics.median(eager),
            "compiled_step_ms": 1e3 * statistics.median(again),
            "eager_pass_s": sum(eager),
            "compiled_pass_s": sum(again),
            "first_compiled_pass_s": first_pass,
            "compilations": counter.frame_count,
            "graph_breaks": sum(counters["graph_break"].values()),
            "distinct_padded_sizes": len({int(b.batch.bincount().max()) for b in batches}),
        }
        del first
        print(name, rows[name], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loaders", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--dataset", default="PROTEINS")
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--models", nargs="*", default=["IGN", "PPGN"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS / "pyg_scale.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    graphs = load_s2v(args.dataset)
    out = Path(args.out)
    saved = json.loads(out.read_text()) if out.exists() else {}
    settings = {"dataset": args.dataset, "hidden": args.hidden, "batch_size": args.batch_size,
                "threads": 1, "seed": args.seed,
                "clock": "process CPU seconds"}
    if args.loaders:
        saved["loaders"] = {"settings": settings, **loader_epochs(graphs, args)}
    if args.compile:
        saved["compile"] = {"settings": settings, **compiled_steps(graphs, args)}
    command = "benchmarks/bench_pyg_scale.py " + " ".join(argv or sys.argv[1:])
    saved["provenance"] = provenance(command)
    out.write_text(json.dumps(saved, indent=1))


if __name__ == "__main__":
    main()
