"""IGN and PPGN (geomlayers.pyg) vs a PyG GIN baseline: TU benchmarks and expressivity.

Run: .venv/bin/python benchmarks/bench_pyg.py [--datasets MUTAG PTC ...] [--epochs 40]
     -> benchmarks/results/pyg.md (rewritten after every dataset)

Classification: 10-fold cross-validation on the standard s2v splits (the GIN / IGN / PPGN
protocol), the models trained in this one script with the same features and optimiser
(GIN on uniformly random batches, the dense models on batches of similar size, which saves
padding; a row names its schedule). Reported: test accuracy mean ± std over the folds at the
last epoch, and at the epoch whose fold-averaged test accuracy is best (the protocol of Xu
et al. 2019 §7, also used by Maron et al. 2019 a/b, which is optimistic), plus training time
per epoch.
Expressivity: models at random init (float64) on EXP (600 1-WL-equivalent pairs) and
graph8c (all pairs of the 11,117 connected 8-node graphs): pairs whose outputs agree within
``tol`` = 1e-9 · (largest output entry) are counted as not distinguished.
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
from torch_geometric.data import Batch
from torch_geometric.nn import GINConv, global_add_pool

from geomlayers.data.graphs import load_exp, load_graph8c, load_s2v, s2v_splits
from geomlayers.integrations.pyg.crossval import TrainingRecipe, cross_validate
from geomlayers.pyg import (
    PPGN,
    InvariantGraphNetwork,
    ign3,
    ppgn_paper,
)

RESULTS = Path(__file__).parent / "results"
ANCHORS = {  # IGN (Maron et al. 2019) and PPGN (Maron et al. 2019b) as given in issue 6, %
    "MUTAG": (83.9, 90.6), "PTC": (58.5, "—"), "PROTEINS": (76.6, 77.2),
    "NCI1": (74.3, "—"), "IMDBBINARY": (72.0, 73.0), "IMDBMULTI": (48.7, "—"),
}
GIN_PAPER = {"MUTAG": 89.4, "PTC": 64.6, "PROTEINS": 76.2, "NCI1": 82.7, "IMDBBINARY": 75.1,
             "IMDBMULTI": 52.3}  # Xu et al. 2019, Table 1 (GIN-0)


#: the hand-written reading of these results: a dated lab note
NOTES = "docs/notes/2026-12-07-pyg-benchmark.md"


#: the settings of most rows; the table names a row's other settings in its model cell
DEFAULTS = {"lr": 1e-2, "hidden": 16, "gin_hidden": 32, "batch_size": 32}


class GIN(nn.Module):
    """GIN-0 (Xu et al. 2019, §4 and §7): MLP(sum of neighbours + self), BN, sum readout of
    every layer (jumping knowledge), one linear head per layer, dropout before the heads."""

    def __init__(self, in_channels, hidden, out_channels, num_layers=4, dropout=0.5):
        super().__init__()
        self.convs = nn.ModuleList()
        widths = [in_channels] + [hidden] * num_layers
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            mlp = nn.Sequential(nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU(), nn.Linear(b, b),
                                nn.BatchNorm1d(b), nn.ReLU())
            self.convs.append(GINConv(mlp, train_eps=False))
        self.heads = nn.ModuleList(nn.Linear(w, out_channels) for w in widths)
        self.dropout = nn.Dropout(dropout)

    def forward(self, data):
        h, out = data.x, 0
        for index, head in enumerate(self.heads):
            if index:
                h = self.convs[index - 1](h, data.edge_index)
            out = out + self.dropout(head(global_add_pool(h, data.batch, data.num_graphs)))
        return out


def make_model(name, in_channels, classes, hidden, gin_hidden=None, dtype=torch.float32):
    if name == "IGN":
        return InvariantGraphNetwork(in_channels, hidden, classes, num_layers=3, readout="sum",
                                     mlp_channels=(2 * hidden,), dtype=dtype)
    if name == "IGN-3":  # 2→3, 3→3, 3→2 layers (52 + 203 + 52 diagrams)
        return ign3(in_channels, hidden, classes, dtype=dtype)
    if name == "IGN-paper":  # Maron et al.'s 10-fold config: widths 16/32/256, max, FC 512/256
        return InvariantGraphNetwork(in_channels, (16, 32, 256), classes, readout="max",
                                     mlp_channels=(512, 256), dtype=dtype)
    if name == "PPGN":
        return PPGN(in_channels, hidden, classes, num_blocks=3, depth=2, readout="sum",
                    mlp_channels=(2 * hidden,), dtype=dtype)
    if name == "PPGN-paper":  # the authors' code: max readout, a linear head per block, no s(n)
        return ppgn_paper(in_channels, hidden, classes, dtype=dtype)
    if name == "GIN":
        return GIN(in_channels, gin_hidden or hidden, classes).to(dtype)
    raise ValueError(name)


def power(name):
    """The exponent of a model's cost in the node count (None: a sparse model, no padding)."""
    if name == "GIN":
        return None
    return 3 if name.startswith("PPGN") or name == "IGN-3" else 2


def recipe(args):
    """The :class:`TrainingRecipe` of the command line."""
    return TrainingRecipe(lr=args.lr, batch_size=args.batch_size, lr_step=args.lr_step,
                          lr_gamma=args.lr_gamma, iters_per_epoch=args.iters_per_epoch,
                          batching=args.batching, device=args.device)


def model_factory(name, args):
    """``(in_channels, classes) -> model`` for :func:`train_fold`."""
    return lambda in_channels, classes: make_model(name, in_channels, classes, args.hidden,
                                                   args.gin_hidden)


def classify(spec, args, log):
    """``spec`` = ``NAME[:folds[:epochs]]`` (defaults ``--folds``, ``--epochs``)."""
    dataset, *rest = spec.split(":")
    folds = int(rest[0]) if rest else args.folds
    epochs = int(rest[1]) if len(rest) > 1 else args.epochs
    graphs = load_s2v(dataset)
    splits = s2v_splits(dataset)[:folds]
    row_epochs = min(epochs, args.until_epoch or epochs)
    row = {"dataset": dataset, "graphs": len(graphs), "folds": len(splits),
           "epochs": row_epochs, "models": {}}
    for name in args.models:
        cache = None
        if args.fold_cache is not None:
            cache = [fold_cache_path(args, dataset, name, fold, len(splits), epochs)
                     for fold in range(len(splits))]
        folds = cross_validate(model_factory(name, args), graphs, splits, recipe(args), epochs,
                               power=power(name), seed=args.seed, cache=cache,
                               until_epoch=args.until_epoch, only_folds=args.only_folds,
                               log=lambda message, name=name: log(f"{dataset} {name} {message}"))
        done = [fold for fold in folds if fold is not None]
        curves, times = [c for c, _ in done], [t for _, t in done]
        if len(curves) < len(splits):
            log(f"{dataset} {name}: {len(curves)} of {len(splits)} folds done; the row is "
                "written once a run finds every fold in --fold-cache")
            continue
        final = [c[-1] for c in curves]
        mean_curve = [statistics.mean(c[e] for c in curves) for e in range(row_epochs)]
        best_epoch = max(range(row_epochs), key=mean_curve.__getitem__)
        best = [c[best_epoch] for c in curves]
        row["models"][name] = {
            "final": (statistics.mean(final), statistics.pstdev(final)),
            "best_epoch": best_epoch + 1,
            "best": (statistics.mean(best), statistics.pstdev(best)),
            "epoch_s": statistics.mean(times),
            "lr": args.lr, "hidden": hidden_channels(args, name),
            "batch_size": args.batch_size, "lr_step": args.lr_step, "lr_gamma": args.lr_gamma,
            "device": args.device, "iters_per_epoch": args.iters_per_epoch,
        }
        if row_epochs < epochs:
            row["models"][name]["schedule_epochs"] = epochs
    return row


def hidden_channels(args, name):
    """The width ``name`` trains at: ``--gin-hidden`` for GIN, IGN-paper's own, ``--hidden``
    for the others."""
    if name == "IGN-paper":
        return "16-32-256"
    return args.gin_hidden if name == "GIN" else args.hidden


def fold_cache_path(args, dataset, name, fold, folds, epochs):
    """Where one fold's accuracy curve is kept with ``--fold-cache`` (None without it): the
    name holds every setting that changes the curve, so a cached fold is only reused as is."""
    if args.fold_cache is None:
        return None
    key = (f"{dataset}-{name}-fold{fold + 1}of{folds}-epochs{epochs}-seed{args.seed}-"
           f"lr{args.lr:g}-hidden{hidden_channels(args, name)}-batch{args.batch_size}")
    if args.lr_step is not None or args.lr_gamma != 0.5:  # older caches: the default schedule
        key += f"-step{recipe(args).step_size(epochs)}-gamma{args.lr_gamma:g}"
    if args.iters_per_epoch:
        key += f"-iters{args.iters_per_epoch}"
    if args.device != "cpu":
        key += f"-{args.device.replace(':', '')}"
    key += ".json"
    Path(args.fold_cache).mkdir(parents=True, exist_ok=True)
    return Path(args.fold_cache) / key


def fold_numbers(text):
    """``"1-5"`` -> {1, 2, 3, 4, 5}; ``"2,7"`` -> {2, 7} (1-based fold numbers)."""
    numbers = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        numbers.update(range(int(first), int(last or first) + 1))
    return numbers


def merged_rows(saved, fresh):
    """The saved classification rows with this run's rows in: a rerun model replaces its
    saved result; the data set's other models stay, in the same row when they ran at the same
    folds and epochs as this run, else in a row of their own (the table names each row's
    budget). A fresh row takes the place of its data set's saved row."""
    fresh = {row["dataset"]: row for row in fresh}
    layout = []  # saved rows kept, and the names of the data sets whose fresh row goes there
    for row in saved:
        name = row["dataset"]
        if name not in fresh:
            layout.append(row)
            continue
        kept = {k: {"command": row.get("command"), **v} for k, v in row["models"].items()
                if k not in fresh[name]["models"]}
        if (row["folds"], row["epochs"]) == (fresh[name]["folds"], fresh[name]["epochs"]):
            fresh[name] = {**fresh[name], "models": {**kept, **fresh[name]["models"]}}
        elif kept:
            layout.append({**row, "models": kept})
        if name not in layout:
            layout.append(name)
    rows = [fresh.pop(entry) if isinstance(entry, str) else entry for entry in layout]
    return rows + list(fresh.values())


def undistinguished_pairs(outputs, pairs=None, rel_tol=1e-9):
    """Pairs with ``max |f(G) - f(H)| <= rel_tol · max |f|`` (all pairs when ``pairs`` is None)."""
    tol = rel_tol * float(outputs.abs().max())
    if pairs is not None:
        return int(((outputs[pairs[:, 0]] - outputs[pairs[:, 1]]).abs().amax(1) <= tol).sum())
    count = 0
    for start in range(0, len(outputs), 512):
        block = torch.cdist(outputs[start : start + 512], outputs, p=float("inf"))
        close = block <= tol
        rows = torch.arange(start, start + len(block))[:, None]
        count += int((close & (torch.arange(len(outputs))[None, :] > rows)).sum())
    return count


def embed(model, graphs, batch_size=256):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(Batch.from_data_list(graphs[i : i + batch_size]))
                          for i in range(0, len(graphs), batch_size)])


def expressivity(args, log):
    rows = []
    for dataset, loader in (("EXP", load_exp), ("graph8c", load_graph8c)):
        graphs = loader()
        for g in graphs:
            g.x = g.x.double()
        if dataset == "EXP":
            pairs = torch.arange(len(graphs)).reshape(-1, 2)
            total = len(pairs)
        else:
            pairs, total = None, len(graphs) * (len(graphs) - 1) // 2
        row = {"dataset": dataset, "pairs": total, "models": {}}
        for name in args.models:
            torch.manual_seed(0)
            model = make_model(name, graphs[0].x.shape[1], 16, 16, dtype=torch.float64)
            start = time.perf_counter()
            # order-3 features take n³ · 16 doubles per graph (33 MB at EXP's n = 64)
            outputs = embed(model, graphs, batch_size=8 if name == "IGN-3" else 256)
            row["models"][name] = (undistinguished_pairs(outputs, pairs),
                                   time.perf_counter() - start)
            log(f"{dataset} {name}: {row['models'][name][0]} of {total} pairs not distinguished")
        rows.append(row)
    return rows


def markdown(command, args, classification, separation):
    lines = ["## Equivariant GNNs (geomlayers.pyg) vs PyG GIN", "",
             provenance(command), "",
             f"Training (defaults; a row's other settings are named in its model cell): Adam lr "
             f"{DEFAULTS['lr']} halved after half of the epochs, batch "
             f"{DEFAULTS['batch_size']} (size-bucketed; GIN: uniformly random), hidden "
             f"{DEFAULTS['hidden']} (GIN: "
             f"{DEFAULTS['gin_hidden']}, its paper's size), float32; otherwise the "
             "same for all models. IGN: 3 masked 2→2 diagram layers (15 diagrams), "
             "diagonal/off-diagonal sum readout, MLP. IGN-3: orders 2→3→3→2 "
             "(52 + 203 + 52 diagrams). IGN-paper: Maron et al.'s 10-fold model (2→2 layers "
             "of widths 16 / 32 / 256, diagonal/off-diagonal max readout, fully connected "
             "512 / 256). PPGN: 3 blocks (MLP depth 2), sum "
             "readout of every block, MLP. PPGN-paper: the PPGN authors' code's head "
             "(diagonal/off-diagonal max readout of every block, one linear head per block, "
             "summed) and unnormalised products. GIN-0: 4 GINConv layers with BN, sum readout of "
             "every layer, dropout 0.5 (its paper's set-up; its paper's training where the cell "
             "says 50 sampled batches an epoch and lr ×0.5 every 50 epochs). Accuracy (%) "
             "mean ± std over the folds: *last* = last epoch; *best-epoch* = the epoch with "
             "the best fold-averaged test accuracy (the papers' protocol, optimistic). "
             "Time: training seconds per epoch (1 thread, shared CPU).", "",
             "| dataset | graphs | folds | epochs | model | last epoch | best-epoch (epoch) "
             "| s/epoch | paper (IGN / PPGN / GIN) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in classification:
        ign, ppgn = ANCHORS[row["dataset"]]
        paper = f"{ign} / {ppgn} / {GIN_PAPER[row['dataset']]}"
        for name, r in row["models"].items():
            default_hidden = DEFAULTS["gin_hidden" if name == "GIN" else "hidden"]
            settings = (("lr", DEFAULTS["lr"]), ("hidden", default_hidden),
                        ("batch_size", DEFAULTS["batch_size"]))
            changed = [f"{key.replace('_size', '')} {r[key]}" for key, default in settings
                       if r.get(key, default) != default]
            if r.get("lr_step") or r.get("lr_gamma", 0.5) != 0.5:
                changed.append(f"lr ×{r['lr_gamma']:g} every {r['lr_step'] or 'half'} epochs")
            if r.get("iters_per_epoch"):
                changed.append(f"{r['iters_per_epoch']} sampled batches an epoch")
            if r.get("schedule_epochs"):
                changed.append(f"stopped at epoch {row['epochs']} of {r['schedule_epochs']}")
            if r.get("device", "cpu") != "cpu":
                changed.append(f"on {r['device']}")
            label = f"{name} ({', '.join(changed)})" if changed else name
            lines.append(
                f"| {row['dataset']} | {row['graphs']} | {row['folds']} | {row['epochs']} | "
                f"{label} | "
                f"{r['final'][0]:.1f} ± {r['final'][1]:.1f} | {r['best'][0]:.1f} ± "
                f"{r['best'][1]:.1f} ({r['best_epoch']}) | {r['epoch_s']:.2f} | {paper} |")
    commands = {}
    for row in classification:
        for name, r in row["models"].items():
            command = r.get("command") or row.get("command", "an earlier run")
            commands.setdefault(command, []).append(f"{row['dataset']} {name}")
    if len(commands) > 1:
        lines += ["", "Rows come from: " + "; ".join(f"{', '.join(v)}: `{k}`"
                                                    for k, v in commands.items()) + "."]
    if separation:
        lines += ["", "### Expressivity: pairs not distinguished at random init (float64)", "",
                  "Outputs (16 numbers per graph, hidden 16) equal within 1e-9 × the largest "
                  "output entry count as not distinguished. EXP: the 600 pairs (1-WL fails on "
                  "all); graph8c: all pairs of the 11,117 graphs (1-WL fails on 312 pairs, "
                  "3-WL on none: Balcilar et al. 2021, Table 1).", "",
                  "| benchmark | pairs | " + " | ".join(separation[0]["models"]) + " |",
                  "|---|---|" + "---|" * len(separation[0]["models"])]
        for row in separation:
            cells = " | ".join(f"{value[0]} ({value[1]:.0f} s)"
                               for value in row["models"].values())
            lines.append(f"| {row['dataset']} | {row['pairs']} | {cells} |")
    lines += ["", f"Reading: [{NOTES}](../../{NOTES}) (hand-written notes on these runs)."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="*", default=["MUTAG", "PTC", "IMDBBINARY",
                                                          "IMDBMULTI"],
                        help="NAME[:folds[:epochs]] each")
    parser.add_argument("--models", nargs="*", default=["IGN", "PPGN", "GIN"])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--hidden", type=int, default=DEFAULTS["hidden"])
    parser.add_argument("--gin-hidden", type=int, default=DEFAULTS["gin_hidden"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    parser.add_argument("--lr-step", type=int, default=None,
                        help="epochs between learning-rate decays (default: half of the epochs)")
    parser.add_argument("--lr-gamma", type=float, default=0.5,
                        help="learning-rate factor at each decay (default 0.5)")
    parser.add_argument("--iters-per-epoch", type=int, default=None,
                        help="an epoch is this many batches, each a fresh random sample of "
                             "the training graphs (Xu et al.'s GIN: 50); default: one pass")
    parser.add_argument("--batching", choices=["jitter", "size-aware"], default="jitter",
                        help="batches of the dense models: size-sorted with a jitter (the "
                             "recorded rows) or SizeAwareBatchSampler's (bounded padding)")
    parser.add_argument("--device", default="cpu",
                        help="torch device to train on (e.g. cuda); default cpu")
    parser.add_argument("--seed", type=int, default=0,
                        help="fold k trains with torch seed k + 100 * seed (default 0: seed k)")
    parser.add_argument("--fold-cache", default=None,
                        help="folder keeping each fold's accuracy curve: folds found there "
                             "are read, not retrained; an unfinished fold's training state "
                             "(*.ckpt, saved every epoch) is resumed")
    parser.add_argument("--only-folds", type=fold_numbers, default=None,
                        help="train only these folds (e.g. 1-5), for splitting one "
                             "cross-validation over processes with --fold-cache; a row is "
                             "written by the run that finds all its folds")
    parser.add_argument("--until-epoch", type=int, default=None,
                        help="train each fold only up to this epoch of its schedule (resumed "
                             "from --fold-cache by a later run) and write the row of these "
                             "epochs, which are a run of this many epochs (needs --lr-step)")
    parser.add_argument("--no-expressivity", action="store_true")
    parser.add_argument("--out", default=str(RESULTS / "pyg.md"))
    parser.add_argument("--merge", action="store_true",
                        help="keep the existing results of the data sets and models not rerun, "
                             "and the expressivity table unless rerun")
    args = parser.parse_args(argv)
    if args.only_folds and args.fold_cache is None:
        parser.error("--only-folds needs --fold-cache, where the other folds' runs meet")
    if args.until_epoch is not None and (args.fold_cache is None or args.lr_step is None
                                         or args.until_epoch < 1):
        parser.error("--until-epoch K needs K >= 1, --fold-cache (to resume from) and "
                     "--lr-step (so that the first K epochs do not depend on the total)")
    torch.set_num_threads(1)
    command = ".venv/bin/python benchmarks/bench_pyg.py " + " ".join(argv or sys.argv[1:])

    def log(message):
        print(time.strftime("%H:%M:%S"), message, flush=True)

    separation = [] if args.no_expressivity else expressivity(args, log)
    classification = []
    for dataset in args.datasets:
        row = classify(dataset, args, log)
        row["command"] = command
        for result in row["models"].values():
            result["command"] = command
        if row["models"]:
            classification.append(row)
        save(args, command, classification, separation)
    save(args, command, classification, separation)


def merged_with_saved(out, classification, separation):
    """This run's rows merged into the results saved in ``out``'s JSON *now*.

    Reading the file at save time (not at start) lets runs of different data sets overlap
    without one dropping the other's rows.
    """
    path = Path(out).with_suffix(".json")
    if not path.exists():
        return classification, separation
    saved = json.loads(path.read_text())
    rows = merged_rows(saved["classification"], classification)
    rerun = {row["dataset"]: row for row in separation}
    kept_separation = saved["expressivity"]
    for row in kept_separation:  # models rerun now replace or join the saved ones
        row["models"].update(rerun.get(row["dataset"], {"models": {}})["models"])
    return rows, kept_separation


def save(args, command, classification, separation):
    """Write the markdown table and the JSON that ``--merge`` reads back.

    A run with no finished row (``--only-folds`` before the last fold) writes nothing: it
    would otherwise replace the saved results with an empty table.
    """
    if not classification and not separation:
        return
    if args.merge:
        classification, separation = merged_with_saved(args.out, classification, separation)
    Path(args.out).write_text(markdown(command, args, classification, separation))
    Path(args.out).with_suffix(".json").write_text(json.dumps(
        {"classification": classification, "expressivity": separation}, indent=1))


if __name__ == "__main__":
    main()
