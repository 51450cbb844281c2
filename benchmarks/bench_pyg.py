"""IGN and PPGN (geomlayers.pyg) vs a PyG GIN baseline: TU benchmarks and expressivity.

    python benchmarks/bench_pyg.py --quick     # seconds: MUTAG fold 1, 2 epochs; EXP subset
    python benchmarks/bench_pyg.py --datasets MUTAG:10:100 --models IGN --merge   # one recorded row
    python benchmarks/bench_pyg.py --render    # rebuild results/gnn.json from results/pyg.json

Writes ``benchmarks/results/gnn.json`` (the harness's results document, read by
``make_results.py``) from the store ``benchmarks/results/pyg.json`` (every row's figures and
command, read back by ``--merge``), and the full tables ``benchmarks/results/pyg.md``. A run
whose ``--out`` is not the recorded ``gnn.json`` (``--quick`` included) keeps its store and
full tables beside its ``--out``, so it never changes the recorded results.

Classification: 10-fold cross-validation on the standard s2v splits (the GIN / IGN / PPGN
protocol), the models trained in this one script with the same features and optimiser
(GIN on uniformly random batches, the dense models on batches of similar size, which saves
padding; a row names its schedule). Reported: test accuracy mean ± std over the folds at the
last epoch, and at the epoch whose fold-averaged test accuracy is best (the protocol of Xu
et al. 2019 §7, also used by Maron et al. 2019 a/b, which is optimistic), plus training time
per epoch; fold k trains with torch seed k + 100 · ``--seed``. The recorded rows each come
from their own command (named in ``pyg.md``); the default and ``--full`` sizes only pick the
data sets (four small ones; all six).
Expressivity: models at random init (float64) on EXP (600 1-WL-equivalent pairs) and
graph8c (all pairs of the 11,117 connected 8-node graphs): pairs whose outputs agree within
``tol`` = 1e-9 · (largest output entry) are counted as not distinguished.
"""

from __future__ import annotations

import datetime
import json
import statistics
import time
from pathlib import Path

import torch
from _harness import RESULTS_DIR, parser, results_document, setup, write_results  # sibling
from _machine import machine_info, provenance, versions  # sibling module of this script
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

RESULTS = RESULTS_DIR
#: the recorded store of per-row results, its full tables, and the results document
STORE = RESULTS / "pyg.json"
DOCUMENT = RESULTS / "gnn.json"
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


#: pairs of the whole EXP and graph8c sets (a row with fewer ran on a subset)
FULL_PAIRS = {"EXP": 600, "graph8c": 11117 * 11116 // 2}


def expressivity(args, log, subset=None):
    """Rows of the expressivity table; ``subset`` = ``(EXP pairs, graph8c graphs)`` runs on
    the first pairs / graphs only (the smoke run)."""
    rows = []
    for dataset, loader in (("EXP", load_exp), ("graph8c", load_graph8c)):
        graphs = loader()
        if subset is not None:
            graphs = graphs[: 2 * subset[0]] if dataset == "EXP" else graphs[: subset[1]]
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


def subset_note(separation):
    """A sentence naming the expressivity rows run on a subset ("" when none was)."""
    parts = [f"{row['dataset']} {row['pairs']} of {FULL_PAIRS[row['dataset']]} pairs"
             for row in separation if row["pairs"] != FULL_PAIRS.get(row["dataset"])]
    return f"A subset only (smoke run): {', '.join(parts)}. " if parts else ""


def model_label(row, name, r):
    """The model cell: ``name``, then in brackets the settings that differ from
    :data:`DEFAULTS` (and the schedule, batches per epoch, early stop, device)."""
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
    return f"{name} ({', '.join(changed)})" if changed else name


def paper_cell(dataset):
    """The published IGN / PPGN / GIN-0 accuracies of ``dataset``."""
    ign, ppgn = ANCHORS[dataset]
    return f"{ign} / {ppgn} / {GIN_PAPER[dataset]}"


def accuracy_cells(r):
    """``(last epoch, best-epoch (epoch), s/epoch)`` cells of one model's result."""
    return (f"{r['final'][0]:.1f} ± {r['final'][1]:.1f}",
            f"{r['best'][0]:.1f} ± {r['best'][1]:.1f} ({r['best_epoch']})",
            f"{r['epoch_s']:.2f}")


def markdown(command, classification, separation, here=RESULTS):
    """The full tables (``pyg.md``, written in the folder ``here``)."""
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
        for name, r in row["models"].items():
            last, best, seconds = accuracy_cells(r)
            lines.append(
                f"| {row['dataset']} | {row['graphs']} | {row['folds']} | {row['epochs']} | "
                f"{model_label(row, name, r)} | {last} | {best} | {seconds} | "
                f"{paper_cell(row['dataset'])} |")
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
                  "output entry count as not distinguished. " + subset_note(separation) +
                  "EXP: the 600 pairs (1-WL fails on "
                  "all); graph8c: all pairs of the 11,117 graphs (1-WL fails on 312 pairs, "
                  "3-WL on none: Balcilar et al. 2021, Table 1).", "",
                  "| benchmark | pairs | " + " | ".join(separation[0]["models"]) + " |",
                  "|---|---|" + "---|" * len(separation[0]["models"])]
        for row in separation:
            cells = " | ".join(f"{value[0]} ({value[1]:.0f} s)"
                               for value in row["models"].values())
            lines.append(f"| {row['dataset']} | {row['pairs']} | {cells} |")
    link = f"../../{NOTES}" if here == RESULTS else RESULTS.parent.parent / NOTES
    lines += ["", f"Reading: [{NOTES}]({link}) (hand-written notes on these runs)."]
    return "\n".join(lines)


#: the default data sets; ``--full``: all six; ``--quick``: MUTAG's first fold, 2 epochs
DATASETS = {"quick": ["MUTAG:1:2"], "default": ["MUTAG", "PTC", "IMDBBINARY", "IMDBMULTI"],
            "full": ["MUTAG", "PTC", "IMDBBINARY", "IMDBMULTI", "NCI1", "PROTEINS"]}
#: ``--quick``'s expressivity subset: the first 8 EXP pairs, all pairs of 64 graph8c graphs
QUICK_SUBSET = (8, 64)
#: the document's command when its rows come from several commands (``pyg.md`` lists each)
SEVERAL_COMMANDS = (".venv/bin/python benchmarks/bench_pyg.py --datasets NAME:{folds}:EPOCHS "
                    "--models MODEL [settings] --no-expressivity --merge")
TITLE = "Equivariant GNNs (geomlayers.pyg) vs PyG GIN"
SETUP = (f"Adam lr {DEFAULTS['lr']} halved after half of the epochs, batch "
         f"{DEFAULTS['batch_size']}, hidden {DEFAULTS['hidden']} (GIN: {DEFAULTS['gin_hidden']}), "
         "float32 unless a model cell names other settings. IGN: 3 masked 2→2 diagram layers; "
         "IGN-paper and PPGN-paper: the authors' heads; GIN-0: 4 GINConv layers, its paper's "
         "training where the cell says 50 sampled batches an epoch. Each row's exact command is "
         "listed in the full table. *last* = last epoch; *best-epoch* = the epoch with the best "
         "fold-averaged test accuracy (the papers' protocol, optimistic). Time: training "
         "seconds per epoch, 1 thread of a shared CPU.")
ANCHOR_TEXT = ("the published IGN (Maron et al., ICLR 2019), PPGN (Maron et al., NeurIPS 2019) "
               "and GIN-0 (Xu et al., ICLR 2019, Table 1) figures; PyG's GINConv run here.")
EXPRESSIVITY_NOTE = ("EXP: its 600 pairs (1-WL fails on all); graph8c: all pairs of its 11,117 "
                     "graphs (1-WL fails on 312, 3-WL on none: Balcilar et al. 2021, Table 1).")


def main(argv=None):
    p = parser(__doc__.split("\n")[0], family="gnn")
    p.add_argument("--datasets", nargs="*", default=None,
                   help="NAME[:folds[:epochs]] each (default MUTAG PTC IMDBBINARY IMDBMULTI; "
                        "--full: also NCI1 PROTEINS; --quick: MUTAG:1:2)")
    p.add_argument("--models", nargs="*", default=["IGN", "PPGN", "GIN"],
                   help="of IGN, IGN-3, IGN-paper, PPGN, PPGN-paper, GIN")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--folds", type=int, default=10)
    p.add_argument("--hidden", type=int, default=DEFAULTS["hidden"])
    p.add_argument("--gin-hidden", type=int, default=DEFAULTS["gin_hidden"])
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    p.add_argument("--lr-step", type=int, default=None,
                   help="epochs between learning-rate decays (default: half of the epochs)")
    p.add_argument("--lr-gamma", type=float, default=0.5,
                   help="learning-rate factor at each decay (default 0.5)")
    p.add_argument("--iters-per-epoch", type=int, default=None,
                   help="an epoch is this many batches, each a fresh random sample of "
                        "the training graphs (Xu et al.'s GIN: 50); default: one pass")
    p.add_argument("--batching", choices=["jitter", "size-aware"], default="jitter",
                   help="batches of the dense models: size-sorted with a jitter (the "
                        "recorded rows) or SizeAwareBatchSampler's (bounded padding)")
    p.add_argument("--device", default="cpu",
                   help="torch device to train on (e.g. cuda); default cpu")
    p.add_argument("--fold-cache", default=None,
                   help="folder keeping each fold's accuracy curve: folds found there "
                        "are read, not retrained; an unfinished fold's training state "
                        "(*.ckpt, saved every epoch) is resumed")
    p.add_argument("--only-folds", type=fold_numbers, default=None,
                   help="train only these folds (e.g. 1-5), for splitting one "
                        "cross-validation over processes with --fold-cache; a row is "
                        "written by the run that finds all its folds")
    p.add_argument("--until-epoch", type=int, default=None,
                   help="train each fold only up to this epoch of its schedule (resumed "
                        "from --fold-cache by a later run) and write the row of these "
                        "epochs, which are a run of this many epochs (needs --lr-step)")
    p.add_argument("--no-expressivity", action="store_true")
    p.add_argument("--merge", action="store_true",
                   help="keep the stored results of the data sets and models not rerun, "
                        "and the expressivity table unless rerun")
    p.add_argument("--store", type=Path, default=None,
                   help="the per-row results (JSON; its full tables go beside it as .md); "
                        "default benchmarks/results/pyg.json with --render or when --out is "
                        "the recorded gnn.json, else OUT_STEM.pyg.json beside --out")
    p.add_argument("--render", action="store_true",
                   help="train nothing: rebuild the results document --out from --store")
    args = setup(p.parse_args(argv))
    if args.only_folds and args.fold_cache is None:
        p.error("--only-folds needs --fold-cache, where the other folds' runs meet")
    if args.until_epoch is not None and (args.fold_cache is None or args.lr_step is None
                                         or args.until_epoch < 1):
        p.error("--until-epoch K needs K >= 1, --fold-cache (to resume from) and "
                "--lr-step (so that the first K epochs do not depend on the total)")
    if args.store is None:  # --render reads the recorded store wherever it writes
        args.store = STORE if args.render else default_store(args.out)
    if args.render:
        store = json.loads(Path(args.store).read_text(encoding="utf-8"))
        write_results(gnn_document(store, args.store), args.out)
        return
    if args.datasets is None:
        args.datasets = args.pick(**DATASETS)
    command = args.command

    def log(message):
        print(time.strftime("%H:%M:%S"), message, flush=True)

    subset = args.pick(quick=QUICK_SUBSET, default=None)
    separation = [] if args.no_expressivity else expressivity(args, log, subset)
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


def default_store(out):
    """The store that goes with the results document ``out``: the recorded ``pyg.json`` for
    the recorded ``gnn.json``, else ``<out stem>.pyg.json`` beside ``out``."""
    out = Path(out).resolve()
    if out == DOCUMENT.resolve():
        return STORE
    return out.with_name(f"{out.stem}.pyg.json")


def merged_with_saved(store, classification, separation):
    """This run's rows merged into the results saved in ``store`` *now*.

    Reading the file at save time (not at start) lets runs of different data sets overlap
    without one dropping the other's rows. Returns ``(classification, separation, measured)``.
    """
    path = Path(store)
    if not path.exists():
        return classification, separation, None
    saved = json.loads(path.read_text())
    rows = merged_rows(saved["classification"], classification)
    rerun = {row["dataset"]: row for row in separation}
    kept_separation = saved["expressivity"]
    for row in kept_separation:  # models rerun now replace or join the saved ones
        row["models"].update(rerun.get(row["dataset"], {"models": {}})["models"])
    return rows, kept_separation, saved.get("measured")


def this_run():
    """The ``measured`` block of this process: date, machine, versions."""
    machine = machine_info()
    return {"date": datetime.date.today().isoformat(),
            "machine": {"cpu": machine["cpu"], "threads": machine["threads"],
                        "gpu": machine["gpu"]},
            "versions": versions()}


def joined(old, new):
    """``old`` and ``new`` as one value: ``old`` when equal, else ``"old / new"`` (a value
    already listed in ``old`` is not repeated)."""
    if old == new:
        return old
    if old is None or new is None:
        return old if new is None else new
    parts = str(old).split(" / ")
    return old if str(new) in parts else f"{old} / {new}"


def widened(measured, run):
    """The provenance of a store's rows after ``run``'s rows join them: the date range from
    the first to the last day, each machine and version entry joined (a GPU with "no GPU"
    when only some rows had one; a version only where both name it, so a commit is not
    claimed for older rows)."""
    if measured is None:
        return run
    first, _, last = measured["date"].partition(" to ")
    dates = sorted({first, last or first, run["date"]})
    machine = {key: joined(measured["machine"].get(key), run["machine"].get(key))
               for key in ("cpu", "threads")}
    gpu = joined(measured["machine"].get("gpu") or "no GPU", run["machine"].get("gpu") or "no GPU")
    machine["gpu"] = None if gpu == "no GPU" else gpu
    shared = [key for key in measured["versions"] if key in run["versions"]]
    return {"date": dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}",
            "machine": machine,
            "versions": {key: joined(measured["versions"][key], run["versions"][key])
                         for key in shared}}


def save(args, command, classification, separation):
    """Write the store (read back by ``--merge``), its full tables and the results document.

    A run with no finished row (``--only-folds`` before the last fold) writes nothing: it
    would otherwise replace the saved results with an empty table.
    """
    if not classification and not separation:
        return
    measured = None
    if args.merge:
        classification, separation, measured = merged_with_saved(args.store, classification,
                                                                 separation)
    store = {"classification": classification, "expressivity": separation,
             "measured": widened(measured, this_run())}
    store_path = Path(args.store)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    store_path.with_suffix(".md").write_text(
        markdown(command, classification, separation, store_path.resolve().parent))
    store_path.write_text(json.dumps(store, indent=1))
    doc = gnn_document(store, store_path, size=args.size, seed=args.seed)
    write_results(doc, args.out)


def shown_path(path):
    """``path`` relative to the repository when inside it (as the documents name files)."""
    path = Path(path).resolve()
    root = RESULTS.parent.parent
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def gnn_document(store, store_path, **extra):
    """The results document of family ``gnn`` built from a store (``pyg.json``): the
    classification table (``pyg.md``'s, without the graphs and folds columns when every row
    has the standard 10 folds) and the expressivity table, with the store's provenance."""
    classification, separation = store["classification"], store["expressivity"]
    folds = {row["folds"] for row in classification}
    standard = folds == {10}
    columns = ["dataset", "model", "epochs", "last epoch", "best-epoch (epoch)", "s/epoch",
               "paper (IGN / PPGN / GIN)"]
    if not standard:
        columns.insert(1, "folds")
    rows = []
    for row in classification:
        for name, r in row["models"].items():
            cells = [row["dataset"], model_label(row, name, r), str(row["epochs"]),
                     *accuracy_cells(r), paper_cell(row["dataset"])]
            if not standard:
                cells.insert(1, str(row["folds"]))
            rows.append(cells)
    tables = []
    if rows:
        tables.append({"title": "TU benchmarks: accuracy (%), mean ± std over the "
                                + ("standard 10 folds" if standard else "folds"),
                       "columns": columns, "rows": rows})
    if separation:
        names = list(separation[0]["models"])
        tables.append({
            "title": "Expressivity: pairs not distinguished at random init (float64; "
                     "seconds in brackets)",
            "columns": ["benchmark", "pairs", *names],
            "rows": [[row["dataset"], str(row["pairs"]),
                      *(f"{row['models'][n][0]} ({row['models'][n][1]:.0f} s)"
                        if n in row["models"] else None for n in names)]
                     for row in separation],
            "note": subset_note(separation) + EXPRESSIVITY_NOTE})
    commands = {r.get("command") or row.get("command") for row in classification
                for r in row["models"].values()}
    command = (commands.pop() if len(commands) == 1
               else SEVERAL_COMMANDS.format(folds="10" if standard else "FOLDS"))
    measured = store["measured"]
    return results_document("gnn", TITLE, tables=tables, command=command,
                            setup=SETUP, anchors=ANCHOR_TEXT, date=measured["date"],
                            details=shown_path(Path(store_path).with_suffix(".md")),
                            machine=measured["machine"], versions=measured["versions"],
                            store=shown_path(store_path), **extra)


if __name__ == "__main__":
    main()
