"""The one benchmark harness: command line, timing, memory, tables, training loop, JSON results.

A benchmark script builds on it in five steps (``docs/benchmarks.md`` has a complete example)::

    from _harness import parser, results_document, setup, time_call, write_results

    args = setup(parser("S_n layer timings", family="layer").parse_args())
    sizes = args.pick(quick=[10], default=[10, 20, 40], full=[10, 20, 40, 80])
    rows = [[n, time_call(lambda: step(n)).ms] for n in sizes]
    doc = results_document("layer", "S_n layers: forward + backward", args=args,
                           tables=[{"columns": ["n", "ours (ms)"], "rows": rows}])
    write_results(doc, args.out)

``benchmarks/make_results.py`` then turns every ``benchmarks/results/<family>.json`` into
``benchmarks/RESULTS.md``. Timings are medians of repeats after warm-up calls, never asserted
on in tests.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import resource
import shlex
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from _format import cell, fmt  # noqa: F401 (fmt is part of this module's API); sibling module
from _machine import machine_info, versions  # sibling module of this file

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: the format of a results document; make_results.py reads only documents carrying it
SCHEMA = "geomlayers-bench/1"
SIZES = ("quick", "default", "full")


# -- command line -------------------------------------------------------------------------

class _Args(argparse.Namespace):
    """Parsed arguments with :meth:`pick` for size-dependent settings."""

    size: str

    def pick(self, *, quick, default, full=None):
        """The setting for this run's size (``full`` defaults to ``default``)."""
        return {"quick": quick, "default": default,
                "full": default if full is None else full}[self.size]


def parser(description: str, *, family: str) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with the options every benchmark shares.

    ``--quick`` (a smoke run in seconds; its JSON goes to a temporary file unless ``--out`` is
    given, so a quick run never overwrites the recorded results), ``--full`` (the sizes of the
    recorded tables, where they differ from the default), ``--seed``, ``--threads`` and
    ``--out`` (default ``benchmarks/results/<family>.json``). Scripts add their own options.
    """
    p = argparse.ArgumentParser(description=description)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="size", action="store_const", const="quick",
                      help="smallest sizes only, seconds in all (smoke test)")
    size.add_argument("--full", dest="size", action="store_const", const="full",
                      help="every size of the recorded tables")
    p.set_defaults(size="default", family=family)
    p.add_argument("--seed", type=int, default=0, help="seed of torch, numpy and random")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    p.add_argument("--out", type=Path, default=None,
                   help=f"results JSON (default benchmarks/results/{family}.json)")
    return p


def setup(args: argparse.Namespace) -> _Args:
    """Seed every generator, set the thread count and resolve ``--out``; returns the args."""
    ns = _Args(**vars(args))
    random.seed(ns.seed)
    torch.manual_seed(ns.seed)
    try:
        import numpy

        numpy.random.seed(ns.seed)
    except ImportError:  # pragma: no cover - numpy is a core dependency
        pass
    torch.set_num_threads(ns.threads)
    if ns.out is None:
        ns.out = (Path(os.environ.get("TMPDIR", "/tmp")) / f"{ns.family}.quick.json"
                  if ns.size == "quick" else RESULTS_DIR / f"{ns.family}.json")
    ns.command = command_line()
    return ns


def command_line() -> str:
    """This process's command, with the script path relative to the repository."""
    argv = list(sys.argv)
    if argv and argv[0]:
        script = Path(argv[0]).resolve()
        root = RESULTS_DIR.parent.parent
        if script.is_relative_to(root):
            argv[0] = str(script.relative_to(root))
    return "python " + " ".join(shlex.quote(a) for a in argv)


# -- timing and memory --------------------------------------------------------------------

@dataclass(frozen=True)
class Timing:
    """Wall times of repeated calls, in seconds."""

    median_s: float
    min_s: float
    repeats: int
    warmup: int

    @property
    def ms(self) -> float:
        """The median in milliseconds (what tables report)."""
        return 1e3 * self.median_s


def _sync() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def time_call(fn: Callable[[], object], *, warmup: int = 1, repeats: int = 5) -> Timing:
    """Median and minimum wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls.

    CUDA work is synchronised before each clock read, so asynchronous kernels are counted.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"time_call needs repeats >= 1 and warmup >= 0, got {repeats}, {warmup}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _sync()
        start = time.perf_counter()
        fn()
        _sync()
        times.append(time.perf_counter() - start)
    times.sort()
    mid = len(times) // 2
    median = times[mid] if len(times) % 2 else 0.5 * (times[mid - 1] + times[mid])
    return Timing(median_s=median, min_s=times[0], repeats=repeats, warmup=warmup)


def saved_tensor_bytes(fn: Callable[[], object]) -> int:
    """Bytes of the tensors autograd saves for the backward pass of ``fn()`` (each storage once).

    Deterministic and device-independent: the memory a training step holds between forward and
    backward, beyond parameters and inputs.
    """
    seen: dict[tuple[int, torch.device], int] = {}

    def pack(t):
        storage = t.untyped_storage()
        seen[(storage.data_ptr(), t.device)] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


def peak_memory(fn: Callable[[], object], device: str | torch.device = "cpu") -> dict:
    """Peak memory of one call ``fn()``.

    On CUDA: ``{"peak_cuda_mb"}``, the allocator's peak above what was allocated before the
    call (exact). On the CPU: ``{"peak_rss_mb"}``, the growth of the process's resident-set
    high-water mark during the call (0 when the call stays under an earlier peak: measure in a
    fresh process for a per-call figure).
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        return {"peak_cuda_mb": (torch.cuda.max_memory_allocated(device) - base) / 2**20}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fn()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"peak_rss_mb": (after - before) / 1024}  # ru_maxrss is in KiB on Linux


# -- the training loop --------------------------------------------------------------------

def train(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
          batches: Callable[[int], Iterable], loss_fn: Callable, *,
          epochs: int | None = None, steps: int | None = None, budget_s: float | None = None,
          scheduler=None, scheduler_per: str = "epoch",
          evaluate: Callable[[torch.nn.Module], dict] | None = None, eval_every: int = 1,
          select: tuple[str, str] | None = None,
          on_epoch: Callable[[dict], None] | None = None) -> dict:
    """Train ``model`` and return its history; the one training loop of the benchmarks.

    ``batches(epoch)`` yields ``(inputs, target)`` pairs, ``inputs`` a tensor or a tuple of
    arguments of ``model``; ``loss_fn(model(*inputs), target)`` is minimised. Training stops
    after ``epochs`` epochs, ``steps`` optimiser steps or ``budget_s`` seconds of training
    (evaluation time not counted), whichever comes first (at least one must be given).
    ``scheduler.step()`` runs after every epoch or every step (``scheduler_per``).
    ``evaluate(model)`` runs every ``eval_every`` epochs and after the last one, in eval mode
    under ``torch.no_grad``, and returns a dict of metrics. ``select = (metric, "min"|"max")``
    names the entry reported as ``best`` (e.g. the test error at the best validation error).

    Returns ``{"history": [per-evaluation dicts: epoch, step, train_loss, train_s, metrics],
    "epochs", "steps", "train_s", "best"}``.
    """
    if epochs is None and steps is None and budget_s is None:
        raise ValueError("train needs epochs, steps or budget_s; got none of them")
    if scheduler_per not in ("epoch", "step"):
        raise ValueError(f"scheduler_per must be 'epoch' or 'step', got {scheduler_per!r}")
    history: list[dict] = []
    step = epoch = 0
    train_s = 0.0

    def done() -> bool:
        return ((epochs is not None and epoch >= epochs) or (steps is not None and step >= steps)
                or (budget_s is not None and train_s >= budget_s))

    while not done():
        model.train()
        total, count = 0.0, 0
        start = time.perf_counter()
        for inputs, target in batches(epoch):
            inputs = inputs if isinstance(inputs, tuple) else (inputs,)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(*inputs), target)
            loss.backward()
            optimizer.step()
            if scheduler is not None and scheduler_per == "step":
                scheduler.step()
            total += float(loss.detach())
            count += 1
            step += 1
            if (steps is not None and step >= steps) or (
                    budget_s is not None and train_s + time.perf_counter() - start >= budget_s):
                break
        train_s += time.perf_counter() - start
        epoch += 1
        if scheduler is not None and scheduler_per == "epoch":
            scheduler.step()
        entry = {"epoch": epoch, "step": step, "train_loss": total / max(count, 1),
                 "train_s": train_s}
        if evaluate is not None and (epoch % eval_every == 0 or done()):
            model.eval()
            with torch.no_grad():
                entry.update(evaluate(model))
            history.append(entry)
        elif evaluate is None:
            history.append(entry)
        if on_epoch is not None:
            on_epoch(entry)
    best = history[-1] if history else None
    if select is not None and history:
        key, mode = select
        scored = [h for h in history if key in h]
        if scored:
            best = (min if mode == "min" else max)(scored, key=lambda h: h[key])
    return {"history": history, "epochs": epoch, "steps": step, "train_s": train_s,
            "best": best}


# -- tables and results documents ---------------------------------------------------------

def table(columns: list[str], rows: list[list]) -> str:
    """A markdown table; cells go through :func:`_format.fmt` (``|`` inside a cell escaped)."""
    lines = ["| " + " | ".join(cell(c) for c in columns) + " |",
             "|" + "---|" * len(columns)]
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"table row {row!r} has {len(row)} cells for {len(columns)} columns")
        lines.append("| " + " | ".join(cell(c) for c in row) + " |")
    return "\n".join(lines)


def tables_from_markdown(lines: list[str], title: str = "") -> list[dict]:
    """The markdown tables in ``lines`` as results-document tables.

    A ``### `` heading titles the tables under it (``title`` before the first heading); a
    non-table line ends a table; cells are kept as strings.
    """
    tables, current = [], None
    for line in lines:
        if line.startswith("### "):
            title, current = line[4:].strip(), None
        elif line.startswith("|") and not set(line) <= set("|-: "):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if current is None:
                current = {"title": title, "columns": cells, "rows": []}
                tables.append(current)
            else:
                current["rows"].append(cells)
        elif not line.startswith("|"):
            current = None
    return tables


def results_document(family: str, title: str, *, tables: list[dict],
                     args: argparse.Namespace | None = None, command: str | list[str] = "",
                     setup: str = "", anchors: str = "", date: str | None = None,
                     details: str | None = None, **extra) -> dict:
    """A results document in the :data:`SCHEMA` format, with this machine and versions.

    ``tables``: ``[{"title"?, "columns": [...], "rows": [[...], ...], "note"?}]`` (cells are
    numbers, strings or None). ``setup``: one paragraph on the protocol; ``anchors``: what
    the rows are compared with (paper figures, a peer library). ``details``: a longer results
    file, if any. ``extra`` keys are kept as they are (raw data a script wants to keep).
    """
    for t in tables:
        missing = {"columns", "rows"} - set(t)
        if missing:
            raise ValueError(f"table {t.get('title', '')!r} lacks {sorted(missing)}")
    doc = {
        "schema": SCHEMA, "family": family, "title": title,
        "command": command or (getattr(args, "command", "") if args is not None else ""),
        "date": date or datetime.date.today().isoformat(),
        "machine": machine_info(), "versions": versions(),
        "setup": setup, "anchors": anchors, "tables": tables,
    }
    if args is not None:
        doc["size"] = getattr(args, "size", "default")
        doc["seed"] = getattr(args, "seed", None)
    if details:
        doc["details"] = details
    doc.update(extra)
    return doc


def write_results(doc: dict, out: str | Path | None = None) -> Path:
    """Write ``doc`` as JSON to ``out`` (default ``results/<family>.json``), atomically."""
    path = Path(out) if out is not None else RESULTS_DIR / f"{doc['family']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
